package ensemble

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Stats describes a sample x_1 … x_n. Fields that are undefined for the
// sample size (everything for n = 0; SD and the interval for n = 1) are NaN.
type Stats struct {
	N int `json:"n"`
	// Mean is x̄ = (1/n) Σ x_i.
	Mean float64 `json:"mean"`
	// SD is the sample standard deviation s = sqrt(Σ (x_i − x̄)² / (n−1)).
	SD float64 `json:"sd"`
	// CILo and CIHi bound the 95% Student-t interval of the mean,
	// x̄ ∓ t_{0.975, n−1} · s/√n.
	CILo float64 `json:"ci_lo"`
	CIHi float64 `json:"ci_hi"`
	// Median, Q1 and Q3 are the 0.5, 0.25 and 0.75 quantiles (Quantile,
	// Hyndman–Fan type 7), IQR = Q3 − Q1.
	Median float64 `json:"median"`
	Q1     float64 `json:"q1"`
	Q3     float64 `json:"q3"`
	IQR    float64 `json:"iqr"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Describe returns the descriptive statistics of xs. xs is not modified.
func Describe(xs []float64) Stats {
	nan := math.NaN()
	s := Stats{N: len(xs), Mean: nan, SD: nan, CILo: nan, CIHi: nan,
		Median: nan, Q1: nan, Q3: nan, IQR: nan, Min: nan, Max: nan}
	if len(xs) == 0 {
		return s
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	s.Mean = stat.Mean(sorted, nil)
	if len(xs) > 1 {
		s.SD = stat.StdDev(sorted, nil)
	}
	s.CILo, s.CIHi = TInterval(s.Mean, s.SD, len(xs), 0.95)
	s.Median = Quantile(0.5, sorted)
	s.Q1 = Quantile(0.25, sorted)
	s.Q3 = Quantile(0.75, sorted)
	s.IQR = s.Q3 - s.Q1
	s.Min = sorted[0]
	s.Max = sorted[len(sorted)-1]
	return s
}

// Quantile returns the p-quantile of the sorted sample x by linear
// interpolation between order statistics (Hyndman & Fan 1996, type 7; the
// default of R and NumPy):
//
//	h = (n−1)·p,  Q(p) = x_⌊h⌋ + (h − ⌊h⌋)·(x_⌊h⌋+1 − x_⌊h⌋)   (0-based)
//
// It panics if p is outside [0, 1], x is empty or x is not sorted.
func Quantile(p float64, x []float64) float64 {
	if !(p >= 0 && p <= 1) {
		panic("ensemble: quantile out of [0, 1]")
	}
	if len(x) == 0 {
		panic("ensemble: zero length slice")
	}
	if !slices.IsSorted(x) {
		panic("ensemble: data not sorted")
	}
	h := float64(len(x)-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i >= len(x)-1 {
		return x[len(x)-1]
	}
	if h == lo {
		return x[i] // exact order statistic (also avoids 0·∞ with infinite data)
	}
	return x[i] + (h-lo)*(x[i+1]-x[i])
}

// MeanCI95 returns the mean of xs and its 95% Student-t confidence interval
// x̄ ∓ t_{0.975, n−1} · s/√n. lo and hi are NaN for fewer than two values,
// and all three for none.
func MeanCI95(xs []float64) (mean, lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	mean = stat.Mean(xs, nil)
	sd := math.NaN()
	if len(xs) > 1 {
		sd = stat.StdDev(xs, nil)
	}
	lo, hi = TInterval(mean, sd, len(xs), 0.95)
	return mean, lo, hi
}

// TInterval returns the two-sided Student-t confidence interval at the
// given level for a mean estimated from n values with sample standard
// deviation sd:
//
//	mean ∓ t_{(1+level)/2, n−1} · sd/√n
//
// It returns NaNs when n < 2 or sd is NaN. It panics if level is not in
// (0, 1).
func TInterval(mean, sd float64, n int, level float64) (lo, hi float64) {
	if !(level > 0 && level < 1) {
		panic("ensemble: confidence level out of (0, 1)")
	}
	if n < 2 || math.IsNaN(sd) {
		return math.NaN(), math.NaN()
	}
	half := tQuantile((1+level)/2, n-1) * sd / math.Sqrt(float64(n))
	return mean - half, mean + half
}

// tQuantile returns the p-quantile of Student's t with nu degrees of freedom.
func tQuantile(p float64, nu int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(nu)}.Quantile(p)
}

// BootstrapDiff returns diff = mean(a) − mean(b) and its 95% percentile
// bootstrap interval from n resamples: each resample draws len(a) values
// from a and len(b) values from b with replacement, and lo and hi are the
// 2.5% and 97.5% quantiles (type 7) of the resampled differences (Efron &
// Tibshirani 1993, §13.3). The result depends only on a, b, n and seed.
// It returns NaNs when a or b is empty, and panics if n < 1.
func BootstrapDiff(a, b []float64, n int, seed uint64) (diff, lo, hi float64) {
	if n < 1 {
		panic("ensemble: bootstrap needs at least one resample")
	}
	if len(a) == 0 || len(b) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	diff = stat.Mean(a, nil) - stat.Mean(b, nil)
	rng := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc908))
	d := make([]float64, n)
	for k := range d {
		d[k] = resampleMean(rng, a) - resampleMean(rng, b)
	}
	slices.Sort(d)
	return diff, Quantile(0.025, d), Quantile(0.975, d)
}

// resampleMean returns the mean of len(x) values drawn from x with
// replacement.
func resampleMean(rng *rand.Rand, x []float64) float64 {
	var s float64
	for range x {
		s += x[rng.IntN(len(x))]
	}
	return s / float64(len(x))
}

// Center selects the centre of Levene's test.
type Center int

const (
	// CenterMedian gives the Brown–Forsythe test (robust to non-normality;
	// the default of R's car::leveneTest and SciPy's levene).
	CenterMedian Center = iota
	// CenterMean gives Levene's original test.
	CenterMean
)

// String returns "median" or "mean".
func (c Center) String() string {
	switch c {
	case CenterMedian:
		return "median"
	case CenterMean:
		return "mean"
	}
	return "unknown"
}

// LeveneResult is the outcome of Levene's test.
type LeveneResult struct {
	// Center is "median" (Brown–Forsythe) or "mean" (Levene).
	Center string `json:"center"`
	// F is the test statistic W, F-distributed with DF1 = k−1 and
	// DF2 = N−k degrees of freedom under equal variances.
	F   float64 `json:"f"`
	DF1 int     `json:"df1"`
	DF2 int     `json:"df2"`
	// P is the p-value P(F(DF1, DF2) ≥ W).
	P float64 `json:"p"`
}

// Levene tests the equality of the variances of k groups (Levene 1960;
// Brown & Forsythe 1974). With z_ij = |y_ij − c_i|, c_i the median or mean
// of group i, z̄_i the group means of z and z̄ the grand mean:
//
//	W = (N−k)/(k−1) · Σ_i n_i (z̄_i − z̄)² / Σ_i Σ_j (z_ij − z̄_i)²
//
// and p = P(F(k−1, N−k) ≥ W). Groups with no values are ignored. F and P
// are NaN when fewer than two groups remain, when N ≤ k, or when every z_ij
// equals its group mean (no within-group spread): exactly, or to within
// rounding (Σ (z_ij − z̄_i)² ≤ 1e-20 Σ z_ij², which is what groups of two
// values always give with the median, |y − c| being the same for both).
// groups is not modified.
func Levene(groups [][]float64, center Center) LeveneResult {
	if center != CenterMedian && center != CenterMean {
		panic("ensemble: unknown Levene center")
	}
	res := LeveneResult{Center: center.String(), F: math.NaN(), P: math.NaN()}
	var zs [][]float64
	var n int
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		var c float64
		if center == CenterMedian {
			sorted := slices.Clone(g)
			slices.Sort(sorted)
			c = Quantile(0.5, sorted)
		} else {
			c = stat.Mean(g, nil)
		}
		z := make([]float64, len(g))
		for j, y := range g {
			z[j] = math.Abs(y - c)
		}
		zs = append(zs, z)
		n += len(g)
	}
	k := len(zs)
	res.DF1, res.DF2 = k-1, n-k
	if k < 2 || n <= k {
		if k < 2 {
			res.DF1, res.DF2 = 0, 0
		}
		return res
	}
	var grand float64
	means := make([]float64, k)
	for i, z := range zs {
		means[i] = stat.Mean(z, nil)
		grand += means[i] * float64(len(z))
	}
	grand /= float64(n)
	var between, within, sumsq float64
	for i, z := range zs {
		d := means[i] - grand
		between += float64(len(z)) * d * d
		for _, v := range z {
			e := v - means[i]
			within += e * e
			sumsq += v * v
		}
	}
	if within <= 1e-20*sumsq {
		return res
	}
	res.F = float64(n-k) / float64(k-1) * between / within
	res.P = distuv.F{D1: float64(k - 1), D2: float64(n - k)}.Survival(res.F)
	return res
}
