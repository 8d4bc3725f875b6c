package charts

import (
	"image/color"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

// longConfig is smallConfig with long group names: many settings, and one
// value of 200 characters without a space or comma.
func longConfig() synthConfig {
	cfg := smallConfig()
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		st := map[string]string{"schedule": "linear(1>0@15000-end)", "friction": "10", "batch_fraction": "0.02", "init": "xavier-uniform-gain-1"}
		for k, v := range g.Settings {
			st[k] = v
		}
		if i == 3 {
			st["note"] = strings.Repeat("abcdefghij", 20)
		}
		g.Settings = st
	}
	return cfg
}

// checkStyles checks the styles a figure recorded: one colour means one
// thing and one thing has one colour, across all its panels; within a
// colour, one dash pattern means one thing and one thing has one dash
// pattern; no series but a reference mark is black; a method's colour is
// the palette's. seen carries the colour meanings across figures, so that
// the same checks hold for a whole report.
func checkStyles(t *testing.T, name string, f *Figure, pal Palette, seen map[color.NRGBA]string) {
	t.Helper()
	colorOf := map[string]color.NRGBA{}
	type styleKey struct {
		means string
		dash  string
	}
	dashOf := map[styleKey]int{}
	dashMeans := map[[2]any]string{}
	for _, u := range f.uses {
		if u.colorMeans == "reference" {
			if u.color != black {
				t.Errorf("%s: reference mark in %v", name, u.color)
			}
			continue
		}
		if u.color == black {
			t.Errorf("%s: %s drawn in black, the colour of reference marks", name, u.colorMeans)
		}
		if m, ok := strings.CutPrefix(u.colorMeans, "method:"); ok && u.color != pal.Color(m) {
			t.Errorf("%s: method %s in %v, palette %v", name, m, u.color, pal.Color(m))
		}
		if c, ok := colorOf[u.colorMeans]; ok && c != u.color {
			t.Errorf("%s: %s has colours %v and %v", name, u.colorMeans, c, u.color)
		}
		colorOf[u.colorMeans] = u.color
		if m, ok := seen[u.color]; ok && m != u.colorMeans {
			t.Errorf("%s: colour %v means %s here and %s elsewhere", name, u.color, u.colorMeans, m)
		}
		seen[u.color] = u.colorMeans
		k := styleKey{u.colorMeans, u.dashMeans}
		if d, ok := dashOf[k]; ok && d != u.dash {
			t.Errorf("%s: %s %s has dash patterns %d and %d", name, u.colorMeans, u.dashMeans, d, u.dash)
		}
		dashOf[k] = u.dash
		dk := [2]any{u.color, u.dash}
		if m, ok := dashMeans[dk]; ok && m != u.dashMeans {
			t.Errorf("%s: colour %v dash %d means %s and %s", name, u.color, u.dash, m, u.dashMeans)
		}
		dashMeans[dk] = u.dashMeans
	}
}

// TestColourMeaning checks every figure of a report: a method keeps its
// palette colour in every panel and legend, a line that is not a method
// (a pair of methods, a thermostat group) never takes a method's colour,
// and dash patterns are consistent; across the whole report.
func TestColourMeaning(t *testing.T) {
	for _, cfg := range []synthConfig{smallConfig(), longConfig()} {
		dir := t.TempDir()
		writeSynthRun(t, dir, cfg)
		run, sum := mustLoad(t, dir)
		pts := []InterpPoint{{Alpha: 0, Train: 0.4, Test: 0.5}, {Alpha: 0.5, Train: 0.9, Test: 1.0}, {Alpha: 1, Train: 0.3, Test: 0.35}}
		between := []BetweenCurve{{Label: "adam → adlala", Points: pts}, {Label: "adam → lol", Points: pts}, {Label: "adlala → lol", Points: pts}}
		figs, _, err := Figures(run, sum, Extra{Between: between})
		if err != nil {
			t.Fatal(err)
		}
		if len(figs) != 8 {
			t.Fatalf("%d figures, want 8", len(figs))
		}
		pal := NewPalette(Methods(sum))
		seen := map[color.NRGBA]string{}
		for _, nf := range figs {
			if len(nf.Figure.uses) == 0 && nf.Name != "decision-boundaries" {
				t.Errorf("%s: no series style recorded", nf.Name)
			}
			checkStyles(t, nf.Name, nf.Figure, pal, seen)
		}
	}
}

// TestLearningCurvesOneStylePerGroup draws a group that has only an
// accuracy curve beside two groups of the same method: each group keeps
// its dash pattern in both panels and has one legend entry.
func TestLearningCurvesOneStylePerGroup(t *testing.T) {
	mk := func(group, col string) Series {
		return Series{Label: group, Method: "a", Group: group, Column: col, X: []float64{0, 1, 2}, Y: []float64{0.5, 0.4, 0.3},
			Lo: []float64{0.4, 0.3, 0.2}, Hi: []float64{0.6, 0.5, 0.4}}
	}
	loss := []Series{mk("a1", "test_loss"), mk("a2", "test_loss")}
	acc := []Series{mk("a2", "test_acc"), mk("a3", "test_acc")}
	pal := NewPalette([]string{"a"})
	f, err := DrawLearningCurves(loss, acc, pal)
	if err != nil {
		t.Fatal(err)
	}
	checkStyles(t, "learning curves", f, pal, map[color.NRGBA]string{})
	var texts []string
	for _, e := range f.Legend {
		texts = append(texts, e.Text)
	}
	if strings.Join(texts, ",") != "a1,a2,a3" {
		t.Errorf("legend %v, want one entry per group: a1, a2, a3", texts)
	}
	dashes := map[string]map[*plot.Plot]int{}
	for _, u := range f.uses {
		if dashes[u.dashMeans] == nil {
			dashes[u.dashMeans] = map[*plot.Plot]int{}
		}
		dashes[u.dashMeans][u.panel] = u.dash
	}
	if len(dashes["group:a2"]) != 2 {
		t.Errorf("a2 drawn in %d panels, want 2", len(dashes["group:a2"]))
	}
	if d := dashes["group:a3"]; len(d) != 1 {
		t.Errorf("a3 drawn in %d panels", len(d))
	}
}

// TestXiDashPerTensor checks that a tensor has one dash pattern for every
// method, whatever the order of the series.
func TestXiDashPerTensor(t *testing.T) {
	s := func(m, col string) Series {
		return Series{Label: m + ": " + col, Method: m, Column: col, Replica: "r-" + m, X: []float64{0, 1}, Y: []float64{1, 2}}
	}
	pal := NewPalette([]string{"a", "b"})
	f, err := DrawXi([]Series{s("a", "xi:w"), s("a", "xi:b"), s("b", "xi:b"), s("b", "xi:w")}, pal)
	if err != nil {
		t.Fatal(err)
	}
	checkStyles(t, "xi", f, pal, map[color.NRGBA]string{})
	dash := map[string]int{}
	for _, u := range f.uses {
		if d, ok := dash[u.dashMeans]; ok && d != u.dash {
			t.Errorf("%s: dash %d and %d", u.dashMeans, d, u.dash)
		}
		dash[u.dashMeans] = u.dash
	}
	if dash["tensor:xi:w"] == dash["tensor:xi:b"] {
		t.Errorf("two tensors with one dash pattern: %v", dash)
	}
}

// TestPalette checks that methods get distinct colours, none black, and
// that With adds distinct colours no method has.
func TestPalette(t *testing.T) {
	var methods []string
	for i := 0; i < len(seriesColors); i++ {
		methods = append(methods, string(rune('a'+i)))
	}
	p := NewPalette(methods)
	used := map[color.NRGBA]string{}
	for m, c := range p {
		if c == black {
			t.Errorf("method %s is black", m)
		}
		if o, ok := used[c]; ok {
			t.Errorf("methods %s and %s share %v", m, o, c)
		}
		used[c] = m
	}
	for n := 1; n <= 4; n++ {
		small := NewPalette(methods[:n])
		var keys []string
		for i := 0; i < len(seriesColors)-n; i++ {
			keys = append(keys, "pair:"+string(rune('A'+i)))
		}
		ext := small.With(keys...)
		if len(small) != n {
			t.Errorf("With modified its palette")
		}
		seen := map[color.NRGBA]string{}
		for k, c := range ext {
			if c == black {
				t.Errorf("%d methods: %s is black", n, k)
			}
			if o, ok := seen[c]; ok {
				t.Errorf("%d methods: %s and %s share %v", n, k, o, c)
			}
			seen[c] = k
			if m, ok := small[k]; ok && m != c {
				t.Errorf("With changed method %s's colour", k)
			}
		}
	}
	// With every colour taken, With still answers (colours repeat).
	if got := p.With("x", "y"); len(got) != len(p)+2 {
		t.Errorf("With on a full palette: %d entries", len(got))
	}
	if NewPalette([]string{"x"}).Color("unknown") != unknownColor {
		t.Errorf("unknown method not grey")
	}
}
