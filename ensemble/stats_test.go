package ensemble

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

func TestDescribeHand(t *testing.T) {
	// xs = 4, 1, 3, 2 (unsorted on purpose). By hand: mean 2.5; squared
	// deviations 2.25+0.25+0.25+2.25 = 5, s = sqrt(5/3); type-7 quantiles
	// h = 3p: Q1 = x_0.75 = 1.75, median 2.5, Q3 = 3.25;
	// t_{0.975,3} = 3.182446305284263 (standard t table: 3.182).
	xs := []float64{4, 1, 3, 2}
	got := Describe(xs)
	sd := math.Sqrt(5.0 / 3)
	half := 3.182446305284263 * sd / 2
	want := Stats{N: 4, Mean: 2.5, SD: sd, CILo: 2.5 - half, CIHi: 2.5 + half,
		Median: 2.5, Q1: 1.75, Q3: 3.25, IQR: 1.5, Min: 1, Max: 4}
	checkStats(t, got, want, 1e-12)
	if !slices.Equal(xs, []float64{4, 1, 3, 2}) {
		t.Errorf("Describe modified its input: %v", xs)
	}

	// One value: no spread, no interval.
	one := Describe([]float64{7})
	if one.N != 1 || one.Mean != 7 || one.Median != 7 || one.Min != 7 || one.Max != 7 || one.IQR != 0 {
		t.Errorf("Describe({7}) = %+v", one)
	}
	if !math.IsNaN(one.SD) || !math.IsNaN(one.CILo) || !math.IsNaN(one.CIHi) {
		t.Errorf("Describe({7}) has defined SD or CI: %+v", one)
	}
	// None: everything undefined.
	zero := Describe(nil)
	if zero.N != 0 || !math.IsNaN(zero.Mean) || !math.IsNaN(zero.Median) || !math.IsNaN(zero.Max) {
		t.Errorf("Describe(nil) = %+v", zero)
	}
}

func checkStats(t *testing.T, got, want Stats, tol float64) {
	t.Helper()
	if got.N != want.N {
		t.Errorf("N = %d, want %d", got.N, want.N)
	}
	pairs := []struct {
		name      string
		got, want float64
	}{
		{"Mean", got.Mean, want.Mean}, {"SD", got.SD, want.SD}, {"CILo", got.CILo, want.CILo},
		{"CIHi", got.CIHi, want.CIHi}, {"Median", got.Median, want.Median}, {"Q1", got.Q1, want.Q1},
		{"Q3", got.Q3, want.Q3}, {"IQR", got.IQR, want.IQR}, {"Min", got.Min, want.Min}, {"Max", got.Max, want.Max},
	}
	for _, p := range pairs {
		if !scalar.EqualWithinAbsOrRel(p.got, p.want, tol, tol) {
			t.Errorf("%s = %v, want %v", p.name, p.got, p.want)
		}
	}
}

func TestDescribeAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{2, 5, 37, 100} {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = rng.ExpFloat64()
		}
		d := Describe(xs)
		if !scalar.EqualWithinAbsOrRel(d.Mean, stat.Mean(xs, nil), 1e-14, 1e-14) {
			t.Errorf("n=%d: mean %v, gonum %v", n, d.Mean, stat.Mean(xs, nil))
		}
		if !scalar.EqualWithinAbsOrRel(d.SD, stat.StdDev(xs, nil), 1e-14, 1e-14) {
			t.Errorf("n=%d: sd %v, gonum %v", n, d.SD, stat.StdDev(xs, nil))
		}
		sorted := slices.Clone(xs)
		slices.Sort(sorted)
		if d.Min != sorted[0] || d.Max != sorted[n-1] {
			t.Errorf("n=%d: min/max %v %v", n, d.Min, d.Max)
		}
		// At p = k/(n−1) type 7 is the order statistic x_(k), which gonum's
		// Empirical quantile returns for any p in (k/n, (k+1)/n].
		for k := 0; k < n; k++ {
			p := float64(k) / float64(n-1)
			want := stat.Quantile((float64(k)+0.5)/float64(n), stat.Empirical, sorted, nil)
			// (n−1)·k/(n−1) may miss k by an ulp: compare to rounding.
			if got := Quantile(p, sorted); !scalar.EqualWithinAbsOrRel(got, want, 1e-14, 1e-14) {
				t.Errorf("n=%d: Quantile(%v) = %v, gonum Empirical %v", n, p, got, want)
			}
		}
	}
}

func TestQuantileHand(t *testing.T) {
	x := []float64{10, 20, 30, 40, 50}
	// h = 4p: p=0.1 → 0.4 → 10 + 0.4·10 = 14; p=0.9 → 3.6 → 46.
	for _, c := range []struct{ p, want float64 }{{0, 10}, {0.1, 14}, {0.25, 20}, {0.5, 30}, {0.9, 46}, {1, 50}} {
		if got := Quantile(c.p, x); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	// Infinite data: the exact order statistic, never ∞·0.
	inf := []float64{1, 2, math.Inf(1), math.Inf(1)}
	if got := Quantile(1.0/3, inf); got != 2 {
		t.Errorf("Quantile with ∞ = %v, want 2", got)
	}
	mustPanic(t, "unsorted", func() { Quantile(0.5, []float64{2, 1}) })
	mustPanic(t, "empty", func() { Quantile(0.5, nil) })
	mustPanic(t, "p > 1", func() { Quantile(1.5, x) })
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func TestMeanCI95(t *testing.T) {
	m, lo, hi := MeanCI95([]float64{1, 2, 3, 4})
	half := 3.182446305284263 * math.Sqrt(5.0/3) / 2
	if m != 2.5 || math.Abs(lo-(2.5-half)) > 1e-12 || math.Abs(hi-(2.5+half)) > 1e-12 {
		t.Errorf("MeanCI95 = %v [%v, %v]", m, lo, hi)
	}
	// Large n: the t quantile tends to the normal 1.959964.
	lo, hi = TInterval(0, 1, 1_000_000, 0.95)
	if math.Abs(hi*1000-1.959964) > 1e-5 || lo != -hi {
		t.Errorf("TInterval n=1e6: [%v, %v]", lo, hi)
	}
	if _, lo, _ := MeanCI95([]float64{3}); !math.IsNaN(lo) {
		t.Errorf("MeanCI95 of one value has an interval")
	}
}

func TestBootstrapDiffDeterministic(t *testing.T) {
	a := []float64{0.9, 0.91, 0.88, 0.93, 0.9}
	b := []float64{0.8, 0.85, 0.7, 0.9, 0.75}
	d1, lo1, hi1 := BootstrapDiff(a, b, 500, 42)
	d2, lo2, hi2 := BootstrapDiff(a, b, 500, 42)
	if d1 != d2 || lo1 != lo2 || hi1 != hi2 {
		t.Errorf("same seed, different results")
	}
	_, lo3, hi3 := BootstrapDiff(a, b, 500, 43)
	if lo1 == lo3 && hi1 == hi3 {
		t.Errorf("different seeds, identical intervals")
	}
	if math.Abs(d1-(stat.Mean(a, nil)-stat.Mean(b, nil))) > 1e-15 || !(lo1 < d1 && d1 < hi1) {
		t.Errorf("diff %v not inside [%v, %v]", d1, lo1, hi1)
	}
	if d, _, _ := BootstrapDiff(nil, b, 10, 1); !math.IsNaN(d) {
		t.Errorf("empty sample: diff %v", d)
	}
}

// TestBootstrapCoverage checks that the percentile bootstrap interval holds
// the true difference of means at about its nominal 95% rate: 200
// experiments with samples of 25 and 30 from normals of different spread.
// The percentile interval undercovers slightly at these sizes, and the
// binomial sd of the rate over 200 experiments is 0.015, hence [0.90, 0.99].
func TestBootstrapCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 1))
	const experiments = 200
	const muA, muB = 0.9, 0.85
	covered := 0
	a := make([]float64, 25)
	b := make([]float64, 30)
	for e := 0; e < experiments; e++ {
		for i := range a {
			a[i] = muA + 0.02*rng.NormFloat64()
		}
		for i := range b {
			b[i] = muB + 0.05*rng.NormFloat64()
		}
		_, lo, hi := BootstrapDiff(a, b, 1000, uint64(e))
		if lo <= muA-muB && muA-muB <= hi {
			covered++
		}
	}
	rate := float64(covered) / experiments
	t.Logf("coverage %.3f", rate)
	if rate < 0.90 || rate > 0.99 {
		t.Errorf("coverage %.3f outside [0.90, 0.99]", rate)
	}
}

// PlantGrowth (R datasets): weight by group ctrl, trt1, trt2.
var plantGrowth = [][]float64{
	{4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14},
	{4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69},
	{6.31, 5.12, 5.54, 5.50, 5.37, 5.29, 4.92, 6.15, 5.80, 5.26},
}

func TestLeveneReference(t *testing.T) {
	// R: car::leveneTest(weight ~ group, data = PlantGrowth) (center =
	// median): F value 1.1192 on 2 and 27 Df, Pr(>F) 0.3412.
	res := Levene(plantGrowth, CenterMedian)
	if res.DF1 != 2 || res.DF2 != 27 || math.Abs(res.F-1.1192) > 5e-5 || math.Abs(res.P-0.3412) > 5e-5 {
		t.Errorf("PlantGrowth: %+v, want F 1.1192 (2, 27), p 0.3412", res)
	}

	// SciPy's tutorial (hypothesis_levene): stats.levene(small_dose,
	// medium_dose, large_dose).statistic = 0.6457341109631506.
	tooth := [][]float64{
		{4.2, 11.5, 7.3, 5.8, 6.4, 10, 11.2, 11.2, 5.2, 7, 15.2, 21.5, 17.6, 9.7, 14.5, 10, 8.2, 9.4, 16.5, 9.7},
		{16.5, 16.5, 15.2, 17.3, 22.5, 17.3, 13.6, 14.5, 18.8, 15.5, 19.7, 23.3, 23.6, 26.4, 20, 25.2, 25.8, 21.2, 14.5, 27.3},
		{23.6, 18.5, 33.9, 25.5, 26.4, 32.5, 26.7, 21.5, 23.3, 29.5, 25.5, 26.4, 22.4, 24.5, 24.8, 30.9, 26.4, 27.3, 29.4, 23},
	}
	if res := Levene(tooth, CenterMedian); math.Abs(res.F-0.6457341109631506) > 1e-12 {
		t.Errorf("tooth growth: F = %.16g, want 0.6457341109631506", res.F)
	}
}

func TestLeveneHand(t *testing.T) {
	// {1,2,3} and {2,4,6}: centres 2 and 4 (mean = median), z = {1,0,1},
	// {2,0,2}; z̄ = 2/3, 4/3, grand 1; between = 3/9 + 3/9 = 2/3, within =
	// 6/9 + 24/9 = 10/3; W = (6−2)/(2−1) · (2/3)/(10/3) = 0.8.
	// With k = 2, F(1, 4) = t_4², so p = 2·P(t_4 ≥ sqrt(0.8)).
	wantP := 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: 4}.Survival(math.Sqrt(0.8))
	for _, c := range []Center{CenterMedian, CenterMean} {
		res := Levene([][]float64{{1, 2, 3}, {2, 4, 6}}, c)
		if math.Abs(res.F-0.8) > 1e-12 || res.DF1 != 1 || res.DF2 != 4 || math.Abs(res.P-wantP) > 1e-9 {
			t.Errorf("%v: %+v, want F 0.8 (1, 4) p %v", c, res, wantP)
		}
	}
	if res := Levene([][]float64{{1, 2, 3}}, CenterMedian); !math.IsNaN(res.P) {
		t.Errorf("one group: p = %v", res.P)
	}
	// Groups of two: both |y − median| are equal, so there is no
	// within-group spread, only rounding (these values gave F ≈ 6e27 and
	// p < 1e-4 before the relative threshold).
	two := [][]float64{{0.576, 0.589}, {0.575, 0.5760}, {0.537, 0.557}}
	if res := Levene(two, CenterMedian); !math.IsNaN(res.F) || !math.IsNaN(res.P) {
		t.Errorf("groups of two: %+v, want F and p NaN", res)
	}
}

func TestLeveneDetects(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	draw := func(n int, sd float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = 0.9 + sd*rng.NormFloat64()
		}
		return x
	}
	diff := Levene([][]float64{draw(40, 0.01), draw(40, 0.05)}, CenterMedian)
	if !(diff.P < 0.001) {
		t.Errorf("sd 0.01 vs 0.05: p = %v, want < 0.001", diff.P)
	}
	same := Levene([][]float64{draw(40, 0.03), draw(40, 0.03), draw(40, 0.03)}, CenterMedian)
	if !(same.P > 0.05) {
		t.Errorf("equal sd: p = %v, want > 0.05", same.P)
	}
}
