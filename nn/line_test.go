package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestLineLossesMatchEvaluate: the loss along a line equals Evaluate at
// θ(α) = (1−α)·a + α·b to rounding (relative 1e-12) on general networks
// (one and two hidden layers, binary and multi-class outputs, more rows than
// a chunk), and exactly on the SHLP path, which evaluates θ(α) itself.
func TestLineLossesMatchEvaluate(t *testing.T) {
	cases := []struct {
		cfg  Config
		rows int
	}{
		{Config{Inputs: 5, Hidden: []int{7}, Classes: 3, Activation: Tanh}, 300},
		{Config{Inputs: 9, Hidden: []int{6, 4}, Classes: 10, Activation: ReLU}, 600},
		{Config{Inputs: 4, Hidden: []int{5}, Classes: 2, Activation: ReLU}, 70},
		{Config{Inputs: 2, Hidden: []int{8}, Classes: 2, Activation: ReLU}, 70}, // SHLP
	}
	alphas := []float64{-0.5, 0, 0.35, 1, 1.5}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.cfg.Inputs, tc.cfg.Hidden, tc.cfg.Classes), func(t *testing.T) {
			m, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			src := rand.NewPCG(1, 2)
			a, b := make([]float64, m.NumParams()), make([]float64, m.NumParams())
			m.Init(a, src)
			m.Init(b, src)
			rng := rand.New(src)
			X := make([]float64, tc.rows*tc.cfg.Inputs)
			for i := range X {
				X[i] = rng.NormFloat64()
			}
			y := make([]int, tc.rows)
			for i := range y {
				y[i] = rng.IntN(tc.cfg.Classes)
			}
			ws := m.NewWorkspace(256)
			got := make([]float64, len(alphas))
			m.LineLosses(ws, got, alphas, a, b, X, y)
			theta := make([]float64, m.NumParams())
			for i, alpha := range alphas {
				for j := range theta {
					theta[j] = float64((1-alpha)*a[j]) + float64(alpha*b[j])
				}
				want, _ := m.Evaluate(ws, theta, X, y)
				tol := 1e-12 * math.Abs(want)
				if m.shlp {
					tol = 0
				}
				if math.Abs(got[i]-want) > tol {
					t.Errorf("α = %v: loss %v, Evaluate at θ(α) %v", alpha, got[i], want)
				}
			}
		})
	}
}
