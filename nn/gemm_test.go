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

// TestSHLPKernelsAgree: the SHLP pair kernels of this machine give the
// pure-Go kernel's logits and masks bit for bit, with and without a mask,
// on random unit counts and row counts (every block size and remainder),
// with pre-activations that are exactly zero on some rows (the ReLU kink).
func TestSHLPKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	kernels := shlpKernels()
	for trial := range 200 {
		pairs := 1 + rng.IntN(20)
		nb := 8 * (1 + rng.IntN(12))
		w := randGemmOperand(rng, 4*pairs)
		b := randGemmOperand(rng, 2*pairs)
		v := randGemmOperand(rng, 2*pairs)
		x0 := randGemmOperand(rng, nb)
		x1 := randGemmOperand(rng, nb)
		x0[0], x1[0] = 0, 0 // a = b_j exactly
		if trial%3 == 0 {
			b[0] = 0 // a = 0 on row 0: derivative 0
		}
		z0 := randGemmOperand(rng, nb)
		for _, withMask := range []bool{false, true} {
			var wantMask []float64
			if withMask {
				wantMask = make([]float64, 2*pairs*nb)
			}
			want := append([]float64(nil), z0...)
			shlpPairsGo(want, x0, x1, w, b, v, pairs, wantMask)
			for name, kern := range kernels {
				var mask []float64
				if withMask {
					mask = make([]float64, 2*pairs*nb)
				}
				got := append([]float64(nil), z0...)
				kern(got, x0, x1, w, b, v, pairs, mask)
				for i := range got {
					if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
						t.Fatalf("%s pairs=%d rows=%d mask=%v: z[%d] = %x, want %x", name, pairs, nb, withMask, i,
							math.Float64bits(got[i]), math.Float64bits(want[i]))
					}
				}
				for i := range mask {
					if mask[i] != wantMask[i] {
						t.Fatalf("%s pairs=%d rows=%d: mask[%d] = %g, want %g", name, pairs, nb, i, mask[i], wantMask[i])
					}
				}
			}
		}
	}
}

// TestSameBitsEveryKernel: LossGrad, Evaluate and PredictTo give the same
// bits whichever kernels run (pure Go, AVX, AVX-512), on the paper's shape
// with odd and even H and on general shapes with ragged widths and batch
// sizes, so a replica can move between machines.
func TestSameBitsEveryKernel(t *testing.T) {
	defer func(g func(int, int, int, []float64, int, int, []float64, int, []float64, int),
		s func(z, x0, x1, w, b, v []float64, pairs int, mask []float64),
		bk func(ws *Workspace, x0, x1, dz, dx0, dx1, w, b []float64) int) {
		gemmImpl, shlpPairs, shlpBack = g, s, bk
	}(gemmImpl, shlpPairs, shlpBack)
	var sets []string
	for _, name := range []string{"go", "avx", "avx512"} {
		if useKernels(name) {
			sets = append(sets, name)
		}
	}
	t.Logf("kernel sets: %v", sets)
	cfgs := []Config{
		{Inputs: 2, Hidden: []int{37}, Classes: 2},
		{Inputs: 2, Hidden: []int{100}, Classes: 2},
		{Inputs: 2, Hidden: []int{61}, Classes: 2}, // 24+24+8 units in vector blocks, 5 in Go
		{Inputs: 13, Hidden: []int{9, 5, 7}, Classes: 3},
		{Inputs: 30, Hidden: []int{37, 26}, Classes: 2, Activation: Tanh},
		{Inputs: 29, Hidden: []int{50}, Classes: 10},
	}
	for ci, cfg := range cfgs {
		m := mustNew(t, cfg)
		rng := rand.New(rand.NewPCG(25, uint64(ci)))
		X, y := randData(rng, m, 300, 2)
		theta := make([]float64, m.NumParams())
		m.Init(theta, rng)
		for _, nb := range []int{1, 7, 25, 50} {
			idx := rng.Perm(len(y))[:nb]
			type result struct {
				loss, eloss, acc float64
				grad, pred       []float64
			}
			var ref *result
			var refName string
			for _, name := range sets {
				useKernels(name)
				ws := m.NewWorkspace(nb)
				r := &result{grad: make([]float64, len(theta)), pred: make([]float64, len(y)*cfg.Classes)}
				r.loss = m.LossGrad(ws, theta, r.grad, X, y, idx)
				r.eloss, r.acc = m.Evaluate(ws, theta, X, y)
				m.PredictTo(ws, r.pred, theta, X)
				if ref == nil {
					ref, refName = r, name
					continue
				}
				same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
				if !same(r.loss, ref.loss) || !same(r.eloss, ref.eloss) || r.acc != ref.acc {
					t.Errorf("%s B=%d: %s loss %v eval %v, %s loss %v eval %v", cfgName(cfg), nb, name, r.loss, r.eloss, refName, ref.loss, ref.eloss)
				}
				for k := range r.grad {
					if !same(r.grad[k], ref.grad[k]) {
						t.Fatalf("%s B=%d: grad[%d] %s %x, %s %x", cfgName(cfg), nb, k, name, math.Float64bits(r.grad[k]), refName, math.Float64bits(ref.grad[k]))
					}
				}
				for k := range r.pred {
					if !same(r.pred[k], ref.pred[k]) {
						t.Fatalf("%s B=%d: pred[%d] %s %v, %s %v", cfgName(cfg), nb, k, name, r.pred[k], refName, ref.pred[k])
					}
				}
			}
		}
	}
}

// BenchmarkGemm times the kernel on the products of a 784-100-10 training
// step (B = 50): the forward W·A of layer 0 and its weight gradient Δ·Aᵀ.
// MMAC/s counts multiply-adds; divide by the clock for MACs per cycle.
func BenchmarkGemm(b *testing.B) {
	for _, s := range []struct {
		name                   string
		m, n, k, ars, acs, ldb int
	}{
		{"forward/100x56x784", 100, 56, 784, 784, 1, 56},
		{"forward/100x52x784", 100, 52, 784, 784, 1, 52},
		{"weights/100x784x50", 100, 784, 50, 52, 1, 784},
	} {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			a := randGemmOperand(rng, (s.m-1)*s.ars+(s.k-1)*s.acs+1)
			bb := randGemmOperand(rng, (s.k-1)*s.ldb+s.n)
			c := make([]float64, s.m*s.n)
			for b.Loop() {
				gemm(s.m, s.n, s.k, a, s.ars, s.acs, bb, s.ldb, c, s.n)
			}
			b.ReportMetric(float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MMAC/s")
		})
	}
}
