package charts

import (
	"strings"
	"testing"
)

// TestOneSeedTitlesSayWhatTheLinesAre: a run of one seed per group (as a
// single train chain) draws its curves titled as chains, not as "mean
// over seeds, 95% band", says so in the captions, and leaves out the
// spread across initializations with a note; with three seeds the titles
// and captions are those of means with bands.
func TestOneSeedTitlesSayWhatTheLinesAre(t *testing.T) {
	for _, seeds := range []int{1, 3} {
		cfg := smallConfig()
		cfg.Seeds = seeds
		cfg.Diverged, cfg.Incomplete = nil, nil
		dir := t.TempDir()
		writeSynthRun(t, dir, cfg)
		run, sum := mustLoad(t, dir)
		figs, notes, err := Figures(run, sum, Extra{})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]NamedFigure{}
		for _, f := range figs {
			byName[f.Name] = f
		}
		titles := func(name string) string {
			f, ok := byName[name]
			if !ok {
				t.Fatalf("seeds %d: no %s figure", seeds, name)
			}
			var ts []string
			for _, row := range f.Figure.Panels {
				for _, p := range row {
					if p != nil {
						ts = append(ts, p.Title.Text)
					}
				}
			}
			return strings.Join(ts, " | ")
		}
		curves, ladder, interp := titles("learning-curves"), titles("ladder"), titles("interpolation")
		all := curves + " " + ladder + " " + interp + " " + byName["learning-curves"].Caption + " " +
			byName["equipartition"].Caption + " " + byName["interpolation"].Caption
		_, spread := byName["spread"]
		if seeds == 1 {
			if strings.Contains(all, "mean over") || strings.Contains(all, "mean and") || strings.Contains(all, "95%") {
				t.Errorf("one seed: titles or captions speak of a mean or a band: %q", all)
			}
			if !strings.Contains(curves, "Test loss (one chain per group, no band)") || !strings.Contains(ladder, "one chain per τ") ||
				!strings.Contains(interp, "one chain per group") {
				t.Errorf("one seed: titles %q | %q | %q do not say they are chains", curves, ladder, interp)
			}
			if spread || !strings.Contains(strings.Join(notes, " "), "Spread across initializations: every group has one done replica") {
				t.Errorf("one seed: spread figure drawn %v, notes %q", spread, notes)
			}
			continue
		}
		if !strings.Contains(curves, "Test loss (mean over seeds, 95% band)") || !strings.Contains(ladder, "mean over seeds, 95% CI") ||
			!strings.Contains(interp, "mean and 95% band") || !strings.Contains(byName["learning-curves"].Caption, "95% Student-t") {
			t.Errorf("three seeds: titles %q | %q | %q, caption %q", curves, ladder, interp, byName["learning-curves"].Caption)
		}
		if !spread {
			t.Errorf("three seeds: no spread figure")
		}
	}
}

// TestStatisticLabel: the title words for each case.
func TestStatisticLabel(t *testing.T) {
	for _, tc := range []struct {
		lines, most int
		want        string
	}{{1, 1, "one chain"}, {3, 1, "one chain per group, no band"}, {1, 2, "mean over seeds, B"}, {4, 5, "mean over seeds, B"}, {0, 0, "one chain"}} {
		if got := statisticLabel(tc.lines, tc.most, "B"); got != tc.want {
			t.Errorf("statisticLabel(%d, %d) = %q, want %q", tc.lines, tc.most, got, tc.want)
		}
	}
	if n := maxReplicas([]Series{{Y: []float64{1}}}, []Series{{Y: []float64{1, 2}, N: []int{3, 2}}}); n != 3 {
		t.Errorf("maxReplicas = %d, want 3", n)
	}
	if n := maxReplicas([]Series{{Y: []float64{1}}}); n != 1 {
		t.Errorf("maxReplicas of a series without N = %d, want 1", n)
	}
}
