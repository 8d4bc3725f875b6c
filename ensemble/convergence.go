package ensemble

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// This file implements R̂ and the effective sample size as Stan and ArviZ
// compute them (Vehtari, Gelman, Simpson, Carpenter & Bürkner, "Rank-
// normalization, folding, and localization: an improved R̂ for assessing
// convergence of MCMC", Bayesian Analysis 16(2), 2021). chains[c][i] is draw
// i of chain c; every chain must have the same length.

// minDraws is the minimum chain length of the diagnostics (ArviZ requires 4
// draws so that each split half holds at least two).
const minDraws = 4

// checkChains panics if the chains have different lengths and reports
// whether they are usable: at least one chain, at least minDraws draws, and
// only finite values.
func checkChains(chains [][]float64) bool {
	if len(chains) == 0 {
		return false
	}
	n := len(chains[0])
	for _, c := range chains {
		if len(c) != n {
			panic("ensemble: chains of unequal length")
		}
		for _, x := range c {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
	}
	return n >= minDraws
}

// splitChains returns the 2m half-chains of length ⌊n/2⌋: the first and the
// last ⌊n/2⌋ draws of each chain (the middle draw of an odd chain is
// dropped, as in ArviZ).
func splitChains(chains [][]float64) [][]float64 {
	half := len(chains[0]) / 2
	out := make([][]float64, 0, 2*len(chains))
	for _, c := range chains {
		out = append(out, c[:half], c[len(c)-half:])
	}
	return out
}

// rhat is the potential scale reduction of m chains of length n:
//
//	W = (1/m) Σ_c s_c²,   B/n = Var_c(x̄_c)      (both with divisor m−1, n−1)
//	V̂ = (n−1)/n · W + B/n,   R̂ = sqrt(V̂ / W)
//
// For one chain B = 0. It returns NaN when W = 0.
func rhat(chains [][]float64) float64 {
	m := len(chains)
	n := len(chains[0])
	means := make([]float64, m)
	var w float64
	for c, x := range chains {
		mu, v := stat.MeanVariance(x, nil)
		means[c] = mu
		w += v
	}
	w /= float64(m)
	var bn float64
	if m > 1 {
		bn = stat.Variance(means, nil)
	}
	if !(w > 0) {
		return math.NaN()
	}
	fn := float64(n)
	return math.Sqrt(((fn-1)/fn*w + bn) / w)
}

// SplitRHat returns the classic split R̂ (Gelman et al., BDA3 §11.4): every
// chain is split into halves and R̂ is computed over the 2m half-chains. It
// is NaN for chains shorter than 4 draws, with a non-finite value, or with
// no variance within chains. It panics if the chains have unequal lengths.
func SplitRHat(chains [][]float64) float64 {
	if !checkChains(chains) {
		return math.NaN()
	}
	return rhat(splitChains(chains))
}

// RankRHat returns the rank-normalized split R̂ of Vehtari et al. (2021,
// eqs. 14–16): the maximum of
//
//	bulk R̂ = split R̂ of z = Φ⁻¹((r − 3/8)/(S + 1/4)),
//	tail R̂ = split R̂ of the same transform of |x − median(x)|,
//
// where r are the ranks (average ranks for ties) of the S pooled draws. It is
// NaN in the cases of SplitRHat, and panics if the chains have unequal
// lengths.
func RankRHat(chains [][]float64) float64 {
	if !checkChains(chains) {
		return math.NaN()
	}
	bulk := rhat(splitChains(zScale(chains)))
	med := pooledMedian(chains)
	folded := make([][]float64, len(chains))
	for c, x := range chains {
		f := make([]float64, len(x))
		for i, v := range x {
			f[i] = math.Abs(v - med)
		}
		folded[c] = f
	}
	tail := rhat(splitChains(zScale(folded)))
	if math.IsNaN(bulk) || math.IsNaN(tail) {
		return math.NaN()
	}
	return math.Max(bulk, tail)
}

// ESS returns the bulk effective sample size of Vehtari et al. (2021): the
// chains are split in halves, rank-normalized as in RankRHat, and the ESS is
// estimated from the combined autocorrelation with Geyer's initial monotone
// sequence (Stan's and ArviZ's "ess_bulk"). It is NaN in the cases of
// SplitRHat, and panics if the chains have unequal lengths.
func ESS(chains [][]float64) float64 {
	if !checkChains(chains) {
		return math.NaN()
	}
	return essGeyer(zScale(splitChains(chains)))
}

// BasicESS returns the effective sample size of the split chains without
// rank normalization (ArviZ "ess_mean" of split chains): the ESS of the
// mean of the draws. It is NaN in the cases of SplitRHat.
func BasicESS(chains [][]float64) float64 {
	if !checkChains(chains) {
		return math.NaN()
	}
	return essGeyer(splitChains(chains))
}

// pooledMedian returns the median of all draws.
func pooledMedian(chains [][]float64) float64 {
	var all []float64
	for _, c := range chains {
		all = append(all, c...)
	}
	slices.Sort(all)
	return Quantile(0.5, all)
}

// zScale returns the normal scores of the pooled ranks (Vehtari et al. 2021,
// eq. 14): z = Φ⁻¹((r − 3/8)/(S + 1/4)), r the average rank of each draw
// among all S draws.
func zScale(chains [][]float64) [][]float64 {
	type item struct {
		x    float64
		c, i int
	}
	var all []item
	for c, x := range chains {
		for i, v := range x {
			all = append(all, item{v, c, i})
		}
	}
	// Ties get their average rank, so the order among equal values does
	// not matter.
	slices.SortFunc(all, func(a, b item) int { return cmp.Compare(a.x, b.x) })
	out := make([][]float64, len(chains))
	for c, x := range chains {
		out[c] = make([]float64, len(x))
	}
	s := float64(len(all))
	for lo := 0; lo < len(all); {
		hi := lo + 1
		for hi < len(all) && all[hi].x == all[lo].x {
			hi++
		}
		// Ranks are 1-based; ties share the average rank of positions lo..hi-1.
		r := float64(lo+1+hi) / 2
		z := distuv.UnitNormal.Quantile((r - 3.0/8) / (s + 1.0/4))
		for _, it := range all[lo:hi] {
			out[it.c][it.i] = z
		}
		lo = hi
	}
	return out
}

// autocov holds the chains centred on their means and computes the biased
// autocovariance γ_c(t) = (1/n) Σ_{i<n−t} (x_i − x̄)(x_{i+t} − x̄) of every
// chain on demand, so that only the lags Geyer's sequence visits are
// computed.
type autocov struct {
	centred [][]float64
}

func newAutocov(chains [][]float64) *autocov {
	a := &autocov{centred: make([][]float64, len(chains))}
	for c, x := range chains {
		mu := stat.Mean(x, nil)
		d := make([]float64, len(x))
		for i, v := range x {
			d[i] = v - mu
		}
		a.centred[c] = d
	}
	return a
}

// mean returns the mean over chains of γ_c(t).
func (a *autocov) mean(t int) float64 {
	var s float64
	for _, d := range a.centred {
		n := len(d)
		var g float64
		for i := 0; i+t < n; i++ {
			g += d[i] * d[i+t]
		}
		s += g / float64(n)
	}
	return s / float64(len(a.centred))
}

// essGeyer is the effective sample size of m chains of length n (Stan
// reference manual, "Effective sample size"; ArviZ _ess):
//
//	W = mean_c γ_c(0) · n/(n−1),   var⁺ = W·(n−1)/n + Var_c(x̄_c)
//	ρ̂_t = 1 − (W − mean_c γ_c(t)) / var⁺
//
// The sum of ρ̂_t is truncated at the first pair P_k = ρ̂_{2k} + ρ̂_{2k+1}
// that is negative (Geyer's initial positive sequence), the pairs are made
// monotone (initial monotone sequence), and
//
//	τ̂ = −1 + 2 Σ_{t≤T} ρ̂_t + ρ̂_{T+1},   τ̂ ≥ 1/log10(mn),   ESS = mn/τ̂.
func essGeyer(chains [][]float64) float64 {
	m := len(chains)
	n := len(chains[0])
	ac := newAutocov(chains)
	means := make([]float64, m)
	for c, x := range chains {
		means[c] = stat.Mean(x, nil)
	}
	fn := float64(n)
	meanVar := ac.mean(0) * fn / (fn - 1)
	varPlus := meanVar * (fn - 1) / fn
	if m > 1 {
		varPlus += stat.Variance(means, nil)
	}
	if !(varPlus > 0) {
		return math.NaN()
	}
	rho := make([]float64, n)
	rho[0] = 1
	rhoEven := 1.0
	rhoOdd := 1 - (meanVar-ac.mean(1))/varPlus
	rho[1] = rhoOdd
	t := 1
	for t < n-3 && rhoEven+rhoOdd > 0 {
		rhoEven = 1 - (meanVar-ac.mean(t+1))/varPlus
		rhoOdd = 1 - (meanVar-ac.mean(t+2))/varPlus
		if rhoEven+rhoOdd >= 0 {
			rho[t+1] = rhoEven
			rho[t+2] = rhoOdd
		}
		t += 2
	}
	maxT := t - 2
	// Improve the estimate with the last positive even autocorrelation.
	if rhoEven > 0 {
		rho[maxT+1] = rhoEven
	}
	// Geyer's initial monotone sequence.
	for t = 1; t <= maxT-2; t += 2 {
		if rho[t+1]+rho[t+2] > rho[t-1]+rho[t] {
			rho[t+1] = (rho[t-1] + rho[t]) / 2
			rho[t+2] = rho[t+1]
		}
	}
	ess := float64(m * n)
	var sum float64
	for _, r := range rho[:maxT+1] {
		sum += r
	}
	tau := -1 + 2*sum + rho[maxT+1]
	tau = math.Max(tau, 1/math.Log10(ess))
	return ess / tau
}
