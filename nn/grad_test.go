package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gradConfigs covers both activations, binary and 3-class outputs and 1, 2
// and 3 hidden layers on the general path, plus the paper's shape (2
// inputs, one ReLU layer, binary), which runs the specialised kernel.
func gradConfigs() []Config {
	var cs []Config
	for _, act := range []Activation{Tanh, ReLU} {
		for _, classes := range []int{2, 3} {
			for _, hidden := range [][]int{{9}, {7, 5}, {6, 5, 4}} {
				cs = append(cs, Config{Inputs: 3, Hidden: hidden, Classes: classes, Activation: act})
			}
		}
	}
	return append(cs,
		Config{Inputs: 2, Hidden: []int{11}, Classes: 2, Activation: ReLU}, // specialised kernel, odd H
		Config{Inputs: 2, Hidden: []int{12}, Classes: 2, Activation: ReLU}, // specialised kernel, even H
		Config{Inputs: 2, Hidden: []int{12}, Classes: 2, Activation: Tanh},
		Config{Inputs: 2, Hidden: []int{12}, Classes: 3, Activation: ReLU},
		Config{Inputs: 1, Hidden: []int{3}, Classes: 2, Activation: ReLU},
		// Widths that exercise every block of the vector kernels (24, 16,
		// 8 and 4 columns, 4 and 1 rows) and the scalar column tail.
		Config{Inputs: 30, Hidden: []int{37, 26}, Classes: 5, Activation: Tanh},
		Config{Inputs: 13, Hidden: []int{9, 5, 7}, Classes: 3, Activation: ReLU},
	)
}

func cfgName(c Config) string {
	return fmt.Sprintf("in=%d/hidden=%v/classes=%d/%v", c.Inputs, c.Hidden, c.Classes, c.Activation)
}

// TestGradientFiniteDifference compares LossGrad's gradient with central
// differences (L(θ+h e_k) - L(θ-h e_k))/2h, h = 1e-6, on random data.
//
// Tolerance: the central difference has truncation error h²/6·|∂³L| ≈ 1e-12
// and rounding error ≈ ε·|L|/h ≈ 2.2e-16·O(1)/1e-6 ≈ 2e-10, so per component
// |g_k - fd_k| ≲ 1e-9. We divide by ‖g‖∞ (asserted ≥ 1e-3, so the check is
// not vacuous) and accept 1e-6, leaving head room of ~1000× over the
// expected error while a wrong term in the backward pass gives O(1).
//
// ReLU is piecewise linear, so a difference quotient straddling a kink is
// meaningless. The perturbation moves any pre-activation by at most
// ~h·max|input|·Π‖W‖ < 1e-5 here, so we redraw θ until every hidden
// pre-activation of the minibatch is at least 1e-4 from 0 (checked with
// the independent reference forward pass) and then use the same tolerance.
func TestGradientFiniteDifference(t *testing.T) {
	const (
		h   = 1e-6
		tol = 1e-6
	)
	for ci, cfg := range gradConfigs() {
		t.Run(cfgName(cfg), func(t *testing.T) {
			m := mustNew(t, cfg)
			rng := rand.New(rand.NewPCG(uint64(ci), 7))
			X, y := randData(rng, m, 40, 1.5)
			idx := []int{3, 17, 5, 33, 17, 0, 39, 21, 8} // 17 repeated on purpose
			theta := make([]float64, m.NumParams())
			ok := false
			for try := 0; try < 50 && !ok; try++ {
				m.Init(theta, rand.NewPCG(uint64(ci), uint64(try)))
				// Scale up so that the loss is not flat near the uniform
				// prediction and every layer matters.
				for i := range theta {
					theta[i] *= 3
				}
				ok = true
				for _, r := range idx {
					_, minPre := refForward(m, theta, X[r*cfg.Inputs:(r+1)*cfg.Inputs])
					if cfg.Activation == ReLU && minPre < 1e-4 {
						ok = false
					}
				}
			}
			if !ok {
				t.Fatal("could not draw parameters away from the ReLU kinks")
			}
			ws := m.NewWorkspace(len(idx))
			grad := make([]float64, m.NumParams())
			scratch := make([]float64, m.NumParams())
			loss := m.LossGrad(ws, theta, grad, X, y, idx)
			if want := refMeanLoss(m, theta, X, y, idx); math.Abs(loss-want) > 1e-12*math.Max(1, want) {
				t.Errorf("loss = %.17g, reference %.17g", loss, want)
			}
			gmax := 0.0
			for _, g := range grad {
				gmax = math.Max(gmax, math.Abs(g))
			}
			if gmax < 1e-3 {
				t.Fatalf("‖grad‖∞ = %g, too small for a meaningful check", gmax)
			}
			worst, at := 0.0, -1
			for k := range theta {
				orig := theta[k]
				theta[k] = orig + h
				lp := m.LossGrad(ws, theta, scratch, X, y, idx)
				theta[k] = orig - h
				lm := m.LossGrad(ws, theta, scratch, X, y, idx)
				theta[k] = orig
				fd := (lp - lm) / (2 * h)
				if e := math.Abs(grad[k]-fd) / gmax; e > worst {
					worst, at = e, k
				}
			}
			if worst > tol {
				t.Errorf("max |grad-fd|/‖grad‖∞ = %.3g at parameter %d (%s), tolerance %g",
					worst, at, tensorOf(m, at), tol)
			}
		})
	}
}

func tensorOf(m *MLP, k int) string {
	for _, tn := range m.Tensors() {
		if k >= tn.Off && k < tn.Off+tn.Len {
			return fmt.Sprintf("%s[%d]", tn.Name, k-tn.Off)
		}
	}
	return "?"
}

// TestSHLPMatchesGeneral runs the paper's network through the specialised
// kernel and through the general per-sample path and compares loss,
// gradient, Evaluate and PredictTo. The two sum in different orders and the
// kernel forms ∂/∂v_j through an identity (see shlp.go), so they agree to
// rounding only: with inputs up to 10 (trig data) the terms being summed
// are at most ~100× the result, so 1e-12 relative to the largest entry
// leaves a margin of ~50× over 100·|B|·ε.
func TestSHLPMatchesGeneral(t *testing.T) {
	for _, hidden := range []int{1, 7, 100} {
		t.Run(fmt.Sprint("H=", hidden), func(t *testing.T) {
			fast := mustNew(t, Config{Inputs: 2, Hidden: []int{hidden}, Classes: 2})
			if !fast.shlp {
				t.Fatal("specialised kernel not selected")
			}
			slow := *fast
			slow.shlp = false
			rng := rand.New(rand.NewPCG(3, uint64(hidden)))
			X, y := trigData(rng, 300)
			theta := make([]float64, fast.NumParams())
			fast.Init(theta, rng)
			idx := rng.Perm(len(y))[:25]

			wsF, wsS := fast.NewWorkspace(25), slow.NewWorkspace(25)
			gF := make([]float64, len(theta))
			gS := make([]float64, len(theta))
			lF := fast.LossGrad(wsF, theta, gF, X, y, idx)
			lS := slow.LossGrad(wsS, theta, gS, X, y, idx)
			if math.Abs(lF-lS) > 1e-13*lS {
				t.Errorf("loss: kernel %.17g, general %.17g", lF, lS)
			}
			gmax := 0.0
			for _, g := range gS {
				gmax = math.Max(gmax, math.Abs(g))
			}
			for k := range gF {
				if math.Abs(gF[k]-gS[k]) > 1e-12*gmax {
					t.Errorf("%s: kernel %.17g, general %.17g", tensorOf(fast, k), gF[k], gS[k])
				}
			}

			eF, aF := fast.Evaluate(wsF, theta, X, y)
			eS, aS := slow.Evaluate(wsS, theta, X, y)
			if math.Abs(eF-eS) > 1e-13*eS || aF != aS {
				t.Errorf("Evaluate: kernel (%.17g, %g), general (%.17g, %g)", eF, aF, eS, aS)
			}
			pF := make([]float64, 2*len(y))
			pS := make([]float64, 2*len(y))
			fast.PredictTo(wsF, pF, theta, X)
			slow.PredictTo(wsS, pS, theta, X)
			for i := range pF {
				if math.Abs(pF[i]-pS[i]) > 1e-13 {
					t.Fatalf("PredictTo[%d]: kernel %.17g, general %.17g", i, pF[i], pS[i])
				}
			}
		})
	}
}
