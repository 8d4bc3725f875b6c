package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gatherRowsTwoPass is the gather LossGrad used before gatherRows: copy
// every row into gx, then transpose gx into xt four rows at a time and
// clear the padding columns. It is the reference for TestGatherRows and
// the baseline of BenchmarkGatherRows.
func gatherRowsTwoPass(gx, xt []float64, ld int, X []float64, d int, idx []int) {
	nb := len(idx)
	for i, r := range idx {
		copy(gx[i*d:i*d+d], X[r*d:r*d+d])
	}
	i := 0
	for ; i+4 <= nb; i += 4 {
		r0 := gx[i*d : i*d+d]
		r1 := gx[(i+1)*d : (i+1)*d+d]
		r2 := gx[(i+2)*d : (i+2)*d+d]
		r3 := gx[(i+3)*d : (i+3)*d+d]
		for k, v := range r0 {
			o := xt[k*ld+i : k*ld+i+4]
			o[0], o[1], o[2], o[3] = v, r1[k], r2[k], r3[k]
		}
	}
	for ; i < nb; i++ {
		for k, v := range gx[i*d : i*d+d] {
			xt[k*ld+i] = v
		}
	}
	for k := range d {
		clear(xt[k*ld+nb : k*ld+ld])
	}
}

// TestGatherRows checks gatherRows against the two-pass reference for
// every batch size from 1 to 41 (full blocks of eight, partial last
// blocks, a single row) and repeated indices: gx must hold the rows in
// minibatch order and xt their transpose with zero padding columns, even
// when both start full of NaNs (so every element must be written).
func TestGatherRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const n, d = 60, 13
	X := make([]float64, n*d)
	for i := range X {
		X[i] = rng.NormFloat64()
	}
	y := make([]int, n)
	for nb := 1; nb <= 41; nb++ {
		idx := make([]int, nb)
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		ld := pad8(nb)
		gx, xt := make([]float64, nb*d), make([]float64, d*ld)
		wantX, wantT := make([]float64, nb*d), make([]float64, d*ld)
		for i := range gx {
			gx[i] = math.NaN()
		}
		for i := range xt {
			xt[i] = math.NaN()
		}
		gatherRows(gx, xt, ld, X, d, y, 1, idx)
		gatherRowsTwoPass(wantX, wantT, ld, X, d, idx)
		for i := range gx {
			if math.Float64bits(gx[i]) != math.Float64bits(wantX[i]) {
				t.Fatalf("nb = %d: gx[%d] = %v, want %v", nb, i, gx[i], wantX[i])
			}
		}
		for i := range xt {
			if math.Float64bits(xt[i]) != math.Float64bits(wantT[i]) {
				t.Fatalf("nb = %d: xt[%d] (feature %d, column %d) = %v, want %v", nb, i, i/ld, i%ld, xt[i], wantT[i])
			}
		}
	}
}

// BenchmarkGatherRows times the minibatch gather of LossGrad's general
// path at MNIST's shape (784 features, rows drawn from 10,000): the
// one-pass gatherRows against the two-pass copy-then-transpose it replaced.
func BenchmarkGatherRows(b *testing.B) {
	const n, d = 10000, 784
	rng := rand.New(rand.NewPCG(33, 34))
	X, y := mnistData(rng, n)
	for _, nb := range []int{50, 100} {
		ld := pad8(nb)
		gx, xt := make([]float64, nb*d), make([]float64, d*ld)
		batches := benchBatches(rng, n, nb, 5)
		b.Run(fmt.Sprintf("B=%d/one-pass", nb), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				gatherRows(gx, xt, ld, X, d, y, 10, batches[i%len(batches)])
			}
		})
		b.Run(fmt.Sprintf("B=%d/two-pass", nb), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				gatherRowsTwoPass(gx, xt, ld, X, d, batches[i%len(batches)])
			}
		})
	}
}

// TestTransposeTo checks transposeTo against the element-wise definition
// dst[i·ldd+k] = src[k·lds+i] for row counts around multiples of eight,
// ragged column counts and padded leading dimensions on both sides: every
// element of the transpose is written (dst starts full of NaNs) and the
// padding of dst beyond cols is left alone.
func TestTransposeTo(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, rows := range []int{1, 7, 8, 9, 16, 23, 100} {
		for _, cols := range []int{1, 5, 8, 13, 50} {
			lds, ldd := pad8(cols)+1, pad8(rows)
			src := make([]float64, rows*lds)
			for i := range src {
				src[i] = rng.NormFloat64()
			}
			dst := make([]float64, cols*ldd)
			for i := range dst {
				dst[i] = math.NaN()
			}
			transposeTo(dst, ldd, src, lds, rows, cols)
			for i := range cols {
				for k := range ldd {
					got := dst[i*ldd+k]
					if k >= rows {
						if !math.IsNaN(got) {
							t.Fatalf("rows = %d, cols = %d: padding dst[%d·ldd+%d] = %v, want untouched", rows, cols, i, k, got)
						}
						continue
					}
					if want := src[k*lds+i]; math.Float64bits(got) != math.Float64bits(want) {
						t.Fatalf("rows = %d, cols = %d: dst[%d·ldd+%d] = %v, want %v", rows, cols, i, k, got, want)
					}
				}
			}
		}
	}
}

// toRowMajorByFeature is the loop transposeTo replaced in the backward pass: one feature row at
// a time, each element to a different row of dst.
func toRowMajorByFeature(dst, src []float64, ld, f, nb int) {
	for k := range f {
		for i, v := range src[k*ld : k*ld+nb] {
			dst[i*f+k] = v
		}
	}
}

// BenchmarkToRowMajor times transposeTo as the row-major copy of a hidden layer's
// activations in LossGrad's backward pass (100 and 256 units, B = 50)
// against the feature-row-at-a-time loop it replaced.
func BenchmarkToRowMajor(b *testing.B) {
	for _, f := range []int{100, 256} {
		const nb = 50
		ld := pad8(nb)
		src, dst := make([]float64, f*ld), make([]float64, nb*f)
		b.Run(fmt.Sprintf("f=%d/blocked", f), func(b *testing.B) {
			for b.Loop() {
				transposeTo(dst, f, src, ld, f, nb)
			}
		})
		b.Run(fmt.Sprintf("f=%d/by-feature", f), func(b *testing.B) {
			for b.Loop() {
				toRowMajorByFeature(dst, src, ld, f, nb)
			}
		})
	}
}

// loadWeightsByRow is the loop loadWeights used before transposeTo: one
// row of W at a time, each element to another row of Wᵀ.
func loadWeightsByRow(m *MLP, ws *Workspace, theta []float64) {
	for l, ly := range m.layers {
		ld := pad8(ly.out)
		wt := ws.wt[l]
		w := theta[ly.w : ly.w+ly.in*ly.out]
		for o := range ly.out {
			for k, v := range w[o*ly.in : o*ly.in+ly.in] {
				wt[k*ld+o] = v
			}
		}
		copy(ws.bias[l], theta[ly.b:ly.b+ly.out])
	}
}

// BenchmarkLoadWeights times the copy of Wᵀ that every Evaluate, PredictTo
// and line evaluation of the 784-100-10 network makes, blocked (loadWeights)
// against row at a time (the loop it replaced).
func BenchmarkLoadWeights(b *testing.B) {
	m := mustNew(b, Config{Inputs: 784, Hidden: []int{100}, Classes: 10})
	theta := make([]float64, m.NumParams())
	m.Init(theta, rand.NewPCG(37, 38))
	ws := m.NewWorkspace(50)
	b.Run("blocked", func(b *testing.B) {
		for b.Loop() {
			m.loadWeights(ws, theta)
		}
	})
	b.Run("by-row", func(b *testing.B) {
		for b.Loop() {
			loadWeightsByRow(m, ws, theta)
		}
	})
}

// TestLoadWeightsByRowAgrees keeps BenchmarkLoadWeights's baseline honest:
// both loops must leave the same Wᵀ and biases.
func TestLoadWeightsByRowAgrees(t *testing.T) {
	m := mustNew(t, Config{Inputs: 19, Hidden: []int{13, 9}, Classes: 3})
	theta := make([]float64, m.NumParams())
	m.Init(theta, rand.NewPCG(39, 40))
	w1, w2 := m.NewWorkspace(4), m.NewWorkspace(4)
	m.loadWeights(w1, theta)
	loadWeightsByRow(m, w2, theta)
	for l := range w1.wt {
		for i := range w1.wt[l] {
			if w1.wt[l][i] != w2.wt[l][i] {
				t.Fatalf("layer %d: wt[%d] = %v, by row %v", l, i, w1.wt[l][i], w2.wt[l][i])
			}
		}
	}
}
