package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gemmNaive is the definition of gemm's result: every element one chain in
// order over s, product rounded, then sum rounded.
func gemmNaive(m, n, k int, a []float64, ars, acs int, b []float64, ldb int, c []float64, ldc int) {
	for r := range m {
		for j := range n {
			s := c[r*ldc+j]
			for q := range k {
				s += float64(a[r*ars+q*acs] * b[q*ldb+j])
			}
			c[r*ldc+j] = s
		}
	}
}

// randGemmOperand fills a slice with values of mixed magnitudes and signs,
// so that rounding differences between summation orders show up in the
// last bits.
func randGemmOperand(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = (rng.Float64()*2 - 1) * math.Exp2(float64(rng.IntN(20)-10))
	}
	return v
}

// TestGemmKernelsAgree: every kernel this machine can run (pure Go, AVX,
// AVX-512) gives bit-identical results to the naive in-order definition,
// on random ragged shapes (m, n, k from 1 to 61, so every block width and
// every remainder occurs), with A row-major and transposed, and with
// leading dimensions larger than the rows.
func TestGemmKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	kernels := gemmKernels()
	t.Logf("kernels: %d (%v)", len(kernels), func() []string {
		var s []string
		for name := range kernels {
			s = append(s, name)
		}
		return s
	}())
	for trial := range 300 {
		m, n, k := 1+rng.IntN(61), 1+rng.IntN(61), 1+rng.IntN(61)
		if trial < 8 { // the small corners first
			m, n, k = 1+trial%2, 1+trial/2%2*7, 1+trial/4
		}
		ldb, ldc := n+rng.IntN(3), n+rng.IntN(3)
		ars, acs := k+rng.IntN(2), 1
		if rng.IntN(2) == 0 { // Aᵀ
			ars, acs = 1, m+rng.IntN(2)
		}
		a := randGemmOperand(rng, (m-1)*ars+(k-1)*acs+1)
		b := randGemmOperand(rng, (k-1)*ldb+n)
		c0 := randGemmOperand(rng, (m-1)*ldc+n)
		want := append([]float64(nil), c0...)
		gemmNaive(m, n, k, a, ars, acs, b, ldb, want, ldc)
		for name, kern := range kernels {
			got := append([]float64(nil), c0...)
			kern(m, n, k, a, ars, acs, b, ldb, got, ldc)
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%s: m=%d n=%d k=%d ars=%d acs=%d: c[%d] = %x, want %x",
						name, m, n, k, ars, acs, i, math.Float64bits(got[i]), math.Float64bits(want[i]))
				}
			}
		}
	}
}
