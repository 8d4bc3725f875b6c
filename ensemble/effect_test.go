package ensemble

import (
	"math"
	"strings"
	"testing"
)

// TestHedgesG: values computed independently with NumPy (pooled sd with
// ddof = 1, J = 1 − 3/(4(n_a+n_b)−9)), antisymmetry, and NaN for samples
// too small or without spread.
func TestHedgesG(t *testing.T) {
	cases := []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3, 4, 5}, []float64{3, 4, 5, 6, 7}, -1.1425003159318015},
		{[]float64{0.80, 0.82, 0.79, 0.85, 0.81, 0.78}, []float64{0.90, 0.91, 0.88, 0.93}, -3.730060063620839},
	}
	for _, c := range cases {
		if g := HedgesG(c.a, c.b); math.Abs(g-c.want) > 1e-12 {
			t.Errorf("HedgesG(%v, %v) = %v, want %v", c.a, c.b, g, c.want)
		}
		if g := HedgesG(c.b, c.a); math.Abs(g+c.want) > 1e-12 {
			t.Errorf("HedgesG(%v, %v) = %v, want %v", c.b, c.a, g, -c.want)
		}
	}
	for _, c := range [][2][]float64{{{1}, {1, 2}}, {{1, 2}, nil}, {{3, 3}, {3, 3, 3}}} {
		if g := HedgesG(c[0], c[1]); !math.IsNaN(g) {
			t.Errorf("HedgesG(%v, %v) = %v, want NaN", c[0], c[1], g)
		}
	}
}

// TestBootstrapHedgesG: the interval holds g, is the same for the same
// seed, lies below zero for well-separated samples, straddles zero for
// samples from the same values, and is NaN when g is.
func TestBootstrapHedgesG(t *testing.T) {
	a := []float64{0.80, 0.82, 0.79, 0.85, 0.81, 0.78, 0.80, 0.83}
	b := []float64{0.90, 0.91, 0.88, 0.93, 0.89, 0.92}
	g, lo, hi := BootstrapHedgesG(a, b, 2000, 7)
	if g != HedgesG(a, b) || !(lo <= g && g <= hi) || !(hi < 0) {
		t.Errorf("separated: g %v [%v, %v]; want g = HedgesG inside an interval below 0", g, lo, hi)
	}
	if g2, lo2, hi2 := BootstrapHedgesG(a, b, 2000, 7); g2 != g || lo2 != lo || hi2 != hi {
		t.Errorf("same seed, different result: %v [%v, %v] then %v [%v, %v]", g, lo, hi, g2, lo2, hi2)
	}
	same := []float64{0.81, 0.79, 0.85, 0.80, 0.82, 0.78}
	if g, lo, hi := BootstrapHedgesG(same, []float64{0.82, 0.80, 0.78, 0.85, 0.79, 0.81}, 2000, 7); !(lo < 0 && hi > 0) {
		t.Errorf("same values: g %v [%v, %v]; want an interval around 0", g, lo, hi)
	}
	if g, lo, hi := BootstrapHedgesG([]float64{1}, b, 100, 1); !math.IsNaN(g) || !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("one value: %v [%v, %v], want NaN", g, lo, hi)
	}
}

// TestComparisonHedgesG: each comparison carries Hedges' g of the two
// groups' final test accuracies with an interval around it, in
// summary.json (hedges_g) and summary.md (the g column).
func TestComparisonHedgesG(t *testing.T) {
	cfg := synthConfig{Seed: 3, Rows: 20, Points: 30, Groups: []synthGroup{
		{Method: "adam", Seeds: 6, AccMean: 0.80, AccSD: 0.02},
		{Method: "adlala", Tau: "0.0001", Seeds: 6, AccMean: 0.90, AccSD: 0.02},
	}}
	reps := synthRun(cfg)
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Resamples: 500, Seed: 1})
	if len(s.Comparisons) != 1 {
		t.Fatalf("%d comparisons, want 1", len(s.Comparisons))
	}
	c := s.Comparisons[0]
	var xa, xb []float64
	for _, r := range reps {
		switch r.Group {
		case c.A:
			xa = append(xa, r.Final.TestAcc)
		case c.B:
			xb = append(xb, r.Final.TestAcc)
		}
	}
	if want := HedgesG(xa, xb); math.IsNaN(want) || math.Abs(c.G-want) > 1e-12 || !(c.GLo <= c.G && c.G <= c.GHi) {
		t.Errorf("%s vs %s: g %v [%v, %v], want %v inside its interval", c.A, c.B, c.G, c.GLo, c.GHi, want)
	}
	var js, md strings.Builder
	if err := WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"hedges_g"`) || !strings.Contains(md.String(), "| g | 95% CI of g |") {
		t.Errorf("summary.json or summary.md lacks Hedges' g")
	}
}
