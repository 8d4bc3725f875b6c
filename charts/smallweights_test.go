package charts

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

// TestSmallFractions: per representative group, each done replica's
// fraction of parameters strictly below the threshold (computed here from
// the parameters written), their mean and interval, and the pairwise
// differences; adam (a third of its parameters ~1e-4) has a larger
// fraction below 1e-3 than the samplers, with an interval above zero.
func TestSmallFractions(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	// The threshold is the magnitude of one parameter of one replica of a
	// representative group: strictly below excludes it.
	reprs := Representatives(sum)
	var thr float64
	for _, r := range reps {
		if r.Group == reprs[0] && r.Status == "done" {
			thr = math.Abs(r.Params[5])
			break
		}
	}
	for _, threshold := range []float64{1e-3, thr} {
		got, diffs, warns, err := SmallFractions(run, sum, threshold, 500, 1)
		if err != nil || len(warns) != 0 {
			t.Fatalf("SmallFractions(%v): %v, warnings %v", threshold, err, warns)
		}
		if len(got) != len(reprs) {
			t.Fatalf("%d methods, want %d", len(got), len(reprs))
		}
		for k, sf := range got {
			done := doneOf(reps, reprs[k])
			sort.Slice(done, func(i, j int) bool { return done[i].ID < done[j].ID })
			if sf.Group != reprs[k] || len(sf.Fractions) != len(done) || len(done) == 0 {
				t.Fatalf("%s: group %s with %d fractions; want %s with %d", sf.Method, sf.Group, len(sf.Fractions), reprs[k], len(done))
			}
			var want []float64
			for i, r := range done {
				n := 0
				for _, v := range r.Params {
					if math.Abs(v) < threshold {
						n++
					}
				}
				want = append(want, float64(n)/float64(len(r.Params)))
				if sf.Replicas[i] != r.ID || sf.Fractions[i] != want[i] {
					t.Errorf("%s replica %s: fraction %v, want %v", sf.Method, sf.Replicas[i], sf.Fractions[i], want[i])
				}
			}
			m, lo, hi := ensemble.MeanCI95(want)
			if !sameFloat(sf.Mean, m) || !sameFloat(sf.Lo, lo) || !sameFloat(sf.Hi, hi) {
				t.Errorf("%s: mean %v [%v, %v], want %v [%v, %v]", sf.Method, sf.Mean, sf.Lo, sf.Hi, m, lo, hi)
			}
		}
		if n := len(got); len(diffs) != n*(n-1)/2 {
			t.Fatalf("%d differences for %d methods", len(diffs), n)
		}
		for _, d := range diffs {
			var a, b SmallFraction
			for _, sf := range got {
				if sf.Method == d.A {
					a = sf
				}
				if sf.Method == d.B {
					b = sf
				}
			}
			if math.Abs(d.Diff-(a.Mean-b.Mean)) > 1e-12 || !(d.Lo <= d.Diff && d.Diff <= d.Hi) {
				t.Errorf("%s − %s: %v [%v, %v], want %v inside its interval", d.A, d.B, d.Diff, d.Lo, d.Hi, a.Mean-b.Mean)
			}
			if threshold == 1e-3 && d.A == "adam" && !(d.Lo > 0) {
				t.Errorf("adam − %s below 1e-3: %v [%v, %v]; want an interval above 0", d.B, d.Diff, d.Lo, d.Hi)
			}
		}
	}
	for _, bad := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if _, _, _, err := SmallFractions(run, sum, bad, 100, 1); err == nil || !strings.Contains(err.Error(), "threshold") {
			t.Errorf("threshold %v: error %v, want one naming the threshold", bad, err)
		}
	}
}

// TestSmallFractionsDamagedFile: a damaged parameter file leaves its
// replica out with a warning naming the file; the others are counted.
func TestSmallFractionsDamagedFile(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	group := Representatives(sum)[0]
	done := doneOf(reps, group)
	sort.Slice(done, func(i, j int) bool { return done[i].ID < done[j].ID })
	if err := os.WriteFile(filepath.Join(done[0].Dir, rundir.FileLegacyParams), []byte("HBPARAM1\x05"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, warns, err := SmallFractions(run, sum, 1e-3, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], done[0].ID) || !strings.Contains(warns[0], "params") {
		t.Errorf("warnings %q, want one naming replica %s and its parameter file", warns, done[0].ID)
	}
	if got[0].Group != group || len(got[0].Fractions) != len(done)-1 {
		t.Errorf("%s: %d fractions, want %d", got[0].Group, len(got[0].Fractions), len(done)-1)
	}
}

// TestWeightsCaptionGivesSmallFractions: the parameter-magnitude chart's
// caption gives each method's fraction below 1e-3 with its interval and
// the pairwise differences, as SmallFractions computes them.
func TestWeightsCaptionGivesSmallFractions(t *testing.T) {
	_, _, run, sum := synthRun(t)
	figs, _, err := Figures(run, sum, Extra{})
	if err != nil {
		t.Fatal(err)
	}
	fr, diffs, _, err := SmallFractions(run, sum, SmallThresholdReport, 2000, 1)
	if err != nil || len(fr) == 0 || len(diffs) == 0 {
		t.Fatalf("SmallFractions: %v, %d methods, %d differences", err, len(fr), len(diffs))
	}
	var caption string
	for _, f := range figs {
		if f.Name == "weights" {
			caption = f.Caption
		}
	}
	want := []string{"Fraction of parameters with |θ| < 10⁻³ per replica"}
	for _, f := range fr {
		want = append(want, fmt.Sprintf("%s %.3f %s (n = %d)", f.Method, f.Mean, ensemble.FormatCI(f.Lo, f.Hi, 3), len(f.Fractions)))
	}
	want = append(want, fmt.Sprintf("%s − %s %+.3f [", diffs[0].A, diffs[0].B, diffs[0].Diff))
	for _, w := range want {
		if !strings.Contains(caption, w) {
			t.Errorf("weights caption lacks %q:\n%s", w, caption)
		}
	}
}

// TestReportStepsToReachByPair: report.html gives each comparison's steps
// to reach per threshold (restricted means with never counts, Δ and its
// interval).
func TestReportStepsToReachByPair(t *testing.T) {
	sum := &ensemble.Summary{Status: ensemble.StatusCounts{Total: 6, Done: 6}, Comparisons: []ensemble.Comparison{{
		A: "method=adam", B: "method=sgd", NA: 3, NB: 3,
		Reach: []ensemble.ReachComparison{{Threshold: 0.8, NA: 3, NB: 3, NeverB: 1, MeanA: 200, MeanB: 733.3, Diff: -533.3, DiffLo: -800, DiffHi: -400}},
	}}}
	dir := t.TempDir()
	if err := WriteReport(dir, ReportInput{Summary: sum}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h3>Steps to reach, by pair</h3>", "<td>200 (0 of 3)</td><td>733 (1 of 3)</td>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// TestSmallFractionsTextOneSeed: with one done replica per method the
// interval of a mean is undefined and that of a difference degenerate
// (a bootstrap of one value): the caption shows "–" for both, not
// "[NaN, NaN]" or "[+0.325, +0.325]".
func TestSmallFractionsTextOneSeed(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.Seeds, cfg.Diverged, cfg.Incomplete = 1, nil, nil
	writeSynthRun(t, dir, cfg)
	run, sum := mustLoad(t, dir)
	var warns warnings
	text := smallFractionsText(run, sum, &warns)
	if !strings.Contains(text, "(n = 1)") || strings.Contains(text, "NaN") || strings.Count(text, "–") != 6 || strings.Contains(text, ", +") {
		t.Errorf("caption with one replica per method: %q; want n = 1 and no NaN", text)
	}
}
