package sampler

import "testing"

// BenchmarkLangevinStep times the integrator alone on the MNIST network's
// 79,510 parameters (BAOAB, h = 0.05, γ = 1, τ = 1e-4; a gradient oracle
// that only clears the gradient): the noise, the A, O and B stages and the
// finiteness check of one step.
func BenchmarkLangevinStep(b *testing.B) {
	const n = 79510
	set := Settings{H: 0.05, Groups: []Group{{Name: "all", Tensors: []Tensor{{Name: "all", Off: 0, Len: n}},
		Kind: Langevin, Gamma: 1, Tau: 1e-4}}}
	prob := Problem{Grad: func(g, _ []float64) float64 { clear(g); return 1 }}
	c, err := New(set, make([]float64, n), prob, 1, 2)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.Step(); err != nil {
			b.Fatal(err)
		}
	}
}
