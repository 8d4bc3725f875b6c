package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// This file holds a deliberately naive reference implementation of the
// forward pass and loss, written from the Tensors() layout alone, and
// random test data. It shares no code with the package's kernels.

// refForward returns the output logits for row x and the smallest |a| over
// all hidden pre-activations a (used to keep ReLU checks away from kinks).
func refForward(m *MLP, theta, x []float64) (logits []float64, minAbsPre float64) {
	cfg := m.Config()
	ts := m.Tensors()
	minAbsPre = math.Inf(1)
	in := append([]float64(nil), x...)
	for l := 0; l < m.NumLayers(); l++ {
		w, b := ts[2*l], ts[2*l+1]
		out := make([]float64, w.Rows)
		for o := 0; o < w.Rows; o++ {
			s := theta[b.Off+o]
			for k := 0; k < w.Cols; k++ {
				s += theta[w.Off+o*w.Cols+k] * in[k]
			}
			out[o] = s
		}
		if l < m.NumLayers()-1 {
			for o, a := range out {
				minAbsPre = math.Min(minAbsPre, math.Abs(a))
				switch cfg.Activation {
				case ReLU:
					out[o] = math.Max(a, 0)
				case Tanh:
					out[o] = math.Tanh(a)
				}
			}
		}
		in = out
	}
	return in, minAbsPre
}

// refLoss returns the cross-entropy of one row, computed the textbook way
// with log-sum-exp over explicit class logits (for 2 classes: logits (0, z)).
func refLoss(m *MLP, theta, x []float64, label int) float64 {
	z, _ := refForward(m, theta, x)
	if len(z) == 1 {
		z = []float64{0, z[0]}
	}
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, v)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s) - z[label]
}

// refMeanLoss is the mean of refLoss over rows idx of X.
func refMeanLoss(m *MLP, theta, X []float64, y, idx []int) float64 {
	d := m.Config().Inputs
	var s float64
	for _, r := range idx {
		s += refLoss(m, theta, X[r*d:r*d+d], y[r])
	}
	return s / float64(len(idx))
}

// randData returns n rows of Inputs features drawn from N(0, scale²) and
// uniform labels.
func randData(rng *rand.Rand, m *MLP, n int, scale float64) ([]float64, []int) {
	cfg := m.Config()
	X := make([]float64, n*cfg.Inputs)
	for i := range X {
		X[i] = scale * rng.NormFloat64()
	}
	y := make([]int, n)
	for i := range y {
		y[i] = rng.IntN(cfg.Classes)
	}
	return X, y
}

// trigData returns the paper's two-class trig data: t ~ U(0,1), x = 10t,
// class 0 on y = cos(πt), class 1 on y = sin(πt), plus N(0, 0.02²) noise;
// n/2 points per class (see the extended abstract).
func trigData(rng *rand.Rand, n int) ([]float64, []int) {
	X := make([]float64, 2*n)
	y := make([]int, n)
	for i := range n {
		t := rng.Float64()
		c := i % 2
		f := math.Cos(math.Pi * t)
		if c == 1 {
			f = math.Sin(math.Pi * t)
		}
		X[2*i], X[2*i+1] = 10*t, f+0.02*rng.NormFloat64()
		y[i] = c
	}
	return X, y
}

func mustNew(tb testing.TB, cfg Config) *MLP {
	tb.Helper()
	m, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
