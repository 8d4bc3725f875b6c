package ensemble

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// HedgesG is the standardized difference of means of a and b, Hedges' g:
// (mean a − mean b) / s_pooled · J, with s_pooled² the pooled variance
// ((n_a−1)s_a² + (n_b−1)s_b²)/(n_a+n_b−2) and J = 1 − 3/(4(n_a+n_b)−9)
// the small-sample correction (Hedges & Olkin, Statistical Methods for
// Meta-Analysis, 1985, §5.B). NaN when either sample has fewer than two
// values or the pooled variance is zero.
func HedgesG(a, b []float64) float64 {
	na, nb := len(a), len(b)
	if na < 2 || nb < 2 {
		return math.NaN()
	}
	ma, va := stat.MeanVariance(a, nil)
	mb, vb := stat.MeanVariance(b, nil)
	sp2 := (float64(na-1)*va + float64(nb-1)*vb) / float64(na+nb-2)
	if !(sp2 > 0) {
		return math.NaN()
	}
	j := 1 - 3/(4*float64(na+nb)-9)
	return (ma - mb) / math.Sqrt(sp2) * j
}

// BootstrapHedgesG returns Hedges' g of a and b with its 95% percentile
// bootstrap interval: n resamples, each sample resampled with replacement
// on its own, from a generator seeded with seed (the same inputs and seed
// give the same interval). Resamples whose g is undefined (a resample with
// zero pooled variance) are left out of the interval; the bounds are NaN
// when g is undefined or no resample is defined. n < 1 gives NaN bounds.
func BootstrapHedgesG(a, b []float64, n int, seed uint64) (g, lo, hi float64) {
	g = HedgesG(a, b)
	if math.IsNaN(g) || n < 1 {
		return g, math.NaN(), math.NaN()
	}
	rng := rand.New(rand.NewPCG(seed, 0xbb67ae8584caa73b))
	ra, rb := make([]float64, len(a)), make([]float64, len(b))
	gs := make([]float64, 0, n)
	for range n {
		for i := range ra {
			ra[i] = a[rng.IntN(len(a))]
		}
		for i := range rb {
			rb[i] = b[rng.IntN(len(b))]
		}
		if v := HedgesG(ra, rb); !math.IsNaN(v) {
			gs = append(gs, v)
		}
	}
	if len(gs) == 0 {
		return g, math.NaN(), math.NaN()
	}
	slices.Sort(gs)
	return g, Quantile(0.025, gs), Quantile(0.975, gs)
}
