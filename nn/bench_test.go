package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// benchBatches returns a stream of minibatches of size nb over n rows: one
// fresh permutation per epoch, as a shuffling DataLoader gives. Walking a
// long precomputed stream keeps the benchmark realistic (the ReLU pattern
// changes from call to call, as it does in training) without timing the
// shuffles.
func benchBatches(rng *rand.Rand, n, nb, epochs int) [][]int {
	var out [][]int
	for range epochs {
		p := rng.Perm(n)
		for s := 0; s+nb <= n; s += nb {
			out = append(out, p[s:s+nb])
		}
	}
	return out
}

// BenchmarkLossGrad times one minibatch gradient of the paper's network
// (2 inputs, one ReLU hidden layer, sigmoid output) on 500 trig-data rows.
func BenchmarkLossGrad(b *testing.B) {
	for _, h := range []int{100, 500} {
		for _, nb := range []int{20, 25, 50} {
			b.Run(fmt.Sprintf("H=%d/B=%d", h, nb), func(b *testing.B) {
				m := mustNew(b, Config{Inputs: 2, Hidden: []int{h}, Classes: 2, Activation: ReLU})
				benchLossGrad(b, m, nb)
			})
		}
	}
}

// BenchmarkLossGradGeneral times the general path on the same shapes (the
// specialised kernel switched off) and a few shapes that only it serves.
func BenchmarkLossGradGeneral(b *testing.B) {
	for _, h := range []int{100, 500} {
		b.Run(fmt.Sprintf("H=%d/B=50", h), func(b *testing.B) {
			m := mustNew(b, Config{Inputs: 2, Hidden: []int{h}, Classes: 2})
			m.shlp = false
			benchLossGrad(b, m, 50)
		})
	}
	b.Run("tanh/H=100/B=50", func(b *testing.B) {
		benchLossGrad(b, mustNew(b, Config{Inputs: 2, Hidden: []int{100}, Classes: 2, Activation: Tanh}), 50)
	})
	b.Run("relu/H=100,100/classes=3/B=50", func(b *testing.B) {
		benchLossGrad(b, mustNew(b, Config{Inputs: 2, Hidden: []int{100, 100}, Classes: 3}), 50)
	})
}

func benchLossGrad(b *testing.B, m *MLP, nb int) {
	rng := rand.New(rand.NewPCG(1, 2))
	X, y := trigData(rng, 500)
	theta := make([]float64, m.NumParams())
	grad := make([]float64, m.NumParams())
	m.Init(theta, rng)
	ws := m.NewWorkspace(nb)
	batches := benchBatches(rng, len(y), nb, 20)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.LossGrad(ws, theta, grad, X, y, batches[i%len(batches)])
	}
}

// BenchmarkEvaluate1000 times loss and accuracy over 1000 test rows of the
// paper's network, with a workspace sized for training (maxBatch 50).
func BenchmarkEvaluate1000(b *testing.B) {
	for _, h := range []int{100, 500} {
		b.Run(fmt.Sprintf("H=%d", h), func(b *testing.B) {
			m := mustNew(b, Config{Inputs: 2, Hidden: []int{h}, Classes: 2})
			rng := rand.New(rand.NewPCG(3, 4))
			X, y := trigData(rng, 1000)
			theta := make([]float64, m.NumParams())
			m.Init(theta, rng)
			ws := m.NewWorkspace(50)
			b.ReportAllocs()
			for b.Loop() {
				m.Evaluate(ws, theta, X, y)
			}
		})
	}
}

// BenchmarkLossGradRowMajor times, for comparison, the structure of the
// performance baseline (performance-baseline.md): per sample, a forward
// loop over the hidden units with a branchy ReLU, then a backward loop
// accumulating into grad. It justifies the unit-major layout of shlp.go.
func BenchmarkLossGradRowMajor(b *testing.B) {
	for _, h := range []int{100, 500} {
		for _, nb := range []int{20, 50} {
			b.Run(fmt.Sprintf("H=%d/B=%d", h, nb), func(b *testing.B) {
				m := mustNew(b, Config{Inputs: 2, Hidden: []int{h}, Classes: 2})
				rng := rand.New(rand.NewPCG(1, 2))
				X, y := trigData(rng, 500)
				theta := make([]float64, m.NumParams())
				grad := make([]float64, m.NumParams())
				m.Init(theta, rng)
				batches := benchBatches(rng, len(y), nb, 20)
				hbuf := make([]float64, h)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					rowMajorLossGrad(theta, grad, X, y, batches[i%len(batches)], h, hbuf)
				}
			})
		}
	}
}

// rowMajorLossGrad is the baseline's kernel for the paper's network.
func rowMajorLossGrad(theta, grad, X []float64, y, idx []int, h int, hbuf []float64) float64 {
	w, b, v, c := shlpParams(theta, h)
	gw, gb, gv, _ := shlpParams(grad, h)
	clear(grad)
	inv := 1 / float64(len(idx))
	var loss float64
	hb := hbuf[:h]
	for _, r := range idx {
		x0, x1 := X[2*r], X[2*r+1]
		z := c
		for j := range hb {
			a := w[2*j]*x0 + w[2*j+1]*x1 + b[j]
			if a > 0 {
				hb[j] = a
				z += v[j] * a
			} else {
				hb[j] = 0
			}
		}
		l, p := bce(z, y[r])
		loss += l
		d := (p - float64(y[r])) * inv
		grad[4*h] += d
		for j, hj := range hb {
			if hj > 0 {
				gv[j] += d * hj
				dj := d * v[j]
				gw[2*j] += dj * x0
				gw[2*j+1] += dj * x1
				gb[j] += dj
			}
		}
	}
	return loss * inv
}

// TestRowMajorLossGradAgrees keeps the comparison benchmark honest: its
// kernel must compute the same loss and gradient (to rounding) as LossGrad.
func TestRowMajorLossGradAgrees(t *testing.T) {
	const h = 30
	m := mustNew(t, Config{Inputs: 2, Hidden: []int{h}, Classes: 2})
	rng := rand.New(rand.NewPCG(8, 9))
	X, y := trigData(rng, 200)
	theta := make([]float64, m.NumParams())
	m.Init(theta, rng)
	idx := rng.Perm(len(y))[:25]
	g1 := make([]float64, len(theta))
	g2 := make([]float64, len(theta))
	l1 := m.LossGrad(m.NewWorkspace(25), theta, g1, X, y, idx)
	l2 := rowMajorLossGrad(theta, g2, X, y, idx, h, make([]float64, h))
	if math.Abs(l1-l2) > 1e-13*l1 {
		t.Errorf("loss %.17g vs %.17g", l1, l2)
	}
	for k := range g1 {
		if math.Abs(g1[k]-g2[k]) > 1e-12 {
			t.Errorf("grad[%d] %.17g vs %.17g", k, g1[k], g2[k])
		}
	}
}

// mnistData returns n rows of 784 pixel-like features in [0, 1) and labels
// in [0, 10): the shape (not the content) of MNIST.
func mnistData(rng *rand.Rand, n int) ([]float64, []int) {
	X := make([]float64, n*784)
	y := make([]int, n)
	for i := range X {
		X[i] = rng.Float64()
	}
	for i := range y {
		y[i] = rng.IntN(10)
	}
	return X, y
}

// BenchmarkLossGradMNIST times one minibatch gradient of the MNIST networks
// of issue 12 (784-100-10 and 784-256-256-10, ReLU, softmax) on the general
// path; flop/s counts 6·B·P (forward 2, backward 4 per weight and row).
func BenchmarkLossGradMNIST(b *testing.B) {
	for _, hidden := range [][]int{{100}, {256, 256}} {
		for _, nb := range []int{50, 100} {
			b.Run(fmt.Sprintf("H=%v/B=%d", hidden, nb), func(b *testing.B) {
				m := mustNew(b, Config{Inputs: 784, Hidden: hidden, Classes: 10})
				rng := rand.New(rand.NewPCG(5, 6))
				X, y := mnistData(rng, 1000)
				theta := make([]float64, m.NumParams())
				grad := make([]float64, m.NumParams())
				m.Init(theta, rng)
				ws := m.NewWorkspace(nb)
				batches := benchBatches(rng, len(y), nb, 5)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					m.LossGrad(ws, theta, grad, X, y, batches[i%len(batches)])
				}
				b.ReportMetric(6*float64(nb*m.NumParams())*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gflop/s")
			})
		}
	}
}

// BenchmarkEvaluateMNIST times loss and accuracy over 1000 rows of the
// 784-100-10 network.
func BenchmarkEvaluateMNIST(b *testing.B) {
	m := mustNew(b, Config{Inputs: 784, Hidden: []int{100}, Classes: 10})
	rng := rand.New(rand.NewPCG(7, 8))
	X, y := mnistData(rng, 1000)
	theta := make([]float64, m.NumParams())
	m.Init(theta, rng)
	ws := m.NewWorkspace(50)
	b.ReportAllocs()
	for b.Loop() {
		m.Evaluate(ws, theta, X, y)
	}
	b.ReportMetric(2*float64(len(y)*m.NumParams())*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gflop/s")
}
