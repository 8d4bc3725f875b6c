package ensemble

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func iidChains(rng *rand.Rand, m, n int, offsets []float64) [][]float64 {
	chains := make([][]float64, m)
	for c := range chains {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
			if offsets != nil {
				x[i] += offsets[c]
			}
		}
		chains[c] = x
	}
	return chains
}

// ar1Chains draws m stationary AR(1) chains x_{i+1} = φ x_i + ε_i,
// ε ~ N(0, 1), x_0 ~ N(0, 1/(1−φ²)).
func ar1Chains(rng *rand.Rand, m, n int, phi float64) [][]float64 {
	chains := make([][]float64, m)
	for c := range chains {
		x := make([]float64, n)
		x[0] = rng.NormFloat64() / math.Sqrt(1-phi*phi)
		for i := 1; i < n; i++ {
			x[i] = phi*x[i-1] + rng.NormFloat64()
		}
		chains[c] = x
	}
	return chains
}

func TestSplitRHatHand(t *testing.T) {
	// Chains {1,2,3,4} and {2,3,4,5} split into {1,2} {3,4} {2,3} {4,5}:
	// n = 2, every s² = 0.5 so W = 0.5; the means 1.5, 3.5, 2.5, 4.5 have
	// variance 5/3 = B/n; V̂ = (1/2)·0.5 + 5/3; R̂ = sqrt(V̂/W) = sqrt(23/6).
	got := SplitRHat([][]float64{{1, 2, 3, 4}, {2, 3, 4, 5}})
	if want := math.Sqrt(23.0 / 6); math.Abs(got-want) > 1e-12 {
		t.Errorf("SplitRHat = %v, want %v", got, want)
	}
}

func TestRHatIID(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	chains := iidChains(rng, 4, 1000, nil)
	// Draws from one distribution: R̂ − 1 is O(1/n); 1.01 is the threshold
	// Vehtari et al. (2021) recommend.
	for name, f := range map[string]func([][]float64) float64{"split": SplitRHat, "rank": RankRHat} {
		if r := f(chains); !(r < 1.01) {
			t.Errorf("%s R̂ of iid chains = %v, want < 1.01", name, r)
		}
	}
}

func TestRHatStuck(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 3))
	// Two pairs of chains stuck 3 sd apart.
	chains := iidChains(rng, 4, 1000, []float64{0, 0, 3, 3})
	for name, f := range map[string]func([][]float64) float64{"split": SplitRHat, "rank": RankRHat} {
		if r := f(chains); !(r > 1.5) {
			t.Errorf("%s R̂ of stuck chains = %v, want > 1.5", name, r)
		}
	}
	// Same location, different scales: bulk R̂ misses it, the tail (folded)
	// R̂ of RankRHat does not (Vehtari et al. 2021, §4.2).
	scaled := iidChains(rng, 4, 1000, nil)
	for i := range scaled[0] {
		scaled[0][i] *= 4
	}
	if r := RankRHat(scaled); !(r > 1.05) {
		t.Errorf("rank R̂ with one chain of 4× spread = %v, want > 1.05", r)
	}
}

func TestESS(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 3))
	cases := []struct {
		name   string
		chains [][]float64
		want   float64
		tol    float64 // relative
	}{
		// iid: ESS ≈ S = 4000; the estimator's relative sd is a few percent.
		{"iid", iidChains(rng, 4, 1000, nil), 4000, 0.10},
		// AR(1): τ = (1+φ)/(1−φ) = 19, ESS ≈ 20000/19 ≈ 1053. The
		// estimate's relative sd is ~ sqrt(2·τ_window/S) ≈ 8% here.
		{"ar1-0.9", ar1Chains(rng, 4, 5000, 0.9), 20000 * (1 - 0.9) / (1 + 0.9), 0.20},
		// Antithetic AR(1), φ = −0.5: τ = 1/3, ESS ≈ 3·S = 12000, above
		// the number of draws (Geyer's pairs of even and odd lags).
		{"ar1-neg0.5", ar1Chains(rng, 4, 1000, -0.5), 4000 * 1.5 / 0.5, 0.15},
	}
	for _, c := range cases {
		for name, f := range map[string]func([][]float64) float64{"bulk": ESS, "basic": BasicESS} {
			got := f(c.chains)
			t.Logf("%s %s: ESS %.0f, want %.0f", c.name, name, got, c.want)
			if math.Abs(got-c.want) > c.tol*c.want {
				t.Errorf("%s %s ESS = %.1f, want %.1f ± %.0f%%", c.name, name, got, c.want, 100*c.tol)
			}
		}
	}
}

func TestDiagnosticsUndefined(t *testing.T) {
	constant := [][]float64{{1, 1, 1, 1}, {1, 1, 1, 1}}
	short := [][]float64{{1, 2, 3}}
	withNaN := [][]float64{{1, 2, math.NaN(), 4}}
	for _, c := range [][][]float64{constant, short, withNaN, nil} {
		for name, f := range map[string]func([][]float64) float64{"split": SplitRHat, "rank": RankRHat, "ess": ESS} {
			if v := f(c); !math.IsNaN(v) {
				t.Errorf("%s(%v) = %v, want NaN", name, c, v)
			}
		}
	}
	mustPanic(t, "unequal", func() { SplitRHat([][]float64{{1, 2, 3, 4}, {1, 2, 3}}) })
}

// ExampleRankRHat shows R̂ near 1 for chains that mix and well above 1 for
// chains stuck apart.
func ExampleRankRHat() {
	rng := rand.New(rand.NewPCG(1, 1))
	mixing := iidChains(rng, 4, 500, nil)
	stuck := iidChains(rng, 4, 500, []float64{0, 0, 2, 2})
	fmt.Printf("mixing: %.2f\n", RankRHat(mixing))
	fmt.Printf("stuck:  %.2f\n", RankRHat(stuck))
	// Output:
	// mixing: 1.00
	// stuck:  1.41
}
