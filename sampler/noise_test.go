package sampler

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/heatbath/heatbath/internal/detmath"
)

// TestPCGMatchesMathRand: the chain's PCG draws the stream of rand.PCG
// from the same seeds and encodes its state in the same bytes, both ways.
func TestPCGMatchesMathRand(t *testing.T) {
	for _, seed := range [][2]uint64{{0, 0}, {1, 0x6e6f6973}, {^uint64(0), 12345}} {
		ref, p := rand.NewPCG(seed[0], seed[1]), &pcg{seed[0], seed[1]}
		for i := range 100000 {
			if a, b := ref.Uint64(), p.Uint64(); a != b {
				t.Fatalf("seed %v: draw %d = %#x, rand.PCG %#x", seed, i, b, a)
			}
		}
		a, _ := ref.MarshalBinary()
		b, _ := p.MarshalBinary()
		if string(a) != string(b) {
			t.Fatalf("seed %v: state %x, rand.PCG %x", seed, b, a)
		}
		q := &pcg{}
		if err := q.UnmarshalBinary(a); err != nil || *q != *p {
			t.Fatalf("seed %v: unmarshal of rand.PCG's state = %v, %v; want %v", seed, *q, err, *p)
		}
	}
	if err := (&pcg{}).UnmarshalBinary([]byte("pcg:short")); err == nil {
		t.Fatal("a 9-byte state was accepted")
	}
}

// TestNormalsMatchDetmath: the buffered normals are the numbers of
// detmath.Normal on a rand.PCG of the same seeds, in the same order, over
// enough draws to take the slow paths (the wedges and the tail) many
// times, with buffers of several lengths in a row.
func TestNormalsMatchDetmath(t *testing.T) {
	c := &Chain{src: &pcg{7, 0x6e6f6973}}
	c.rng = rand.New(c.src)
	ref := rand.New(rand.NewPCG(7, 0x6e6f6973))
	buf := make([]float64, noiseChunk)
	var tails int
	for k := 0; k < 2000; k++ {
		b := buf[:1+k%noiseChunk]
		c.normals(b)
		for i, x := range b {
			want := detmath.Normal(ref)
			if x != want {
				t.Fatalf("buffer %d, variate %d = %v, detmath.Normal %v", k, i, x, want)
			}
			if x > 3.442619855899 || x < -3.442619855899 {
				tails++
			}
		}
	}
	if tails == 0 {
		t.Fatal("no variate from the tail: the test does not cover it")
	}
}

// TestFiniteBits: finiteBits flags exactly the values that are not
// finite, and an OR of flags keeps one.
func TestFiniteBits(t *testing.T) {
	finite := []float64{0, math.Copysign(0, -1), 1, -1, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, 0x1p-1022, 1e300, -3.5}
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Float64frombits(0xfff8000000000001)}
	var all uint64
	for _, x := range finite {
		if notFinite(finiteBits(x)) {
			t.Errorf("%v flagged as not finite", x)
		}
		all |= finiteBits(x)
	}
	if notFinite(all) {
		t.Errorf("the OR of finite values' flags %#x says not finite", all)
	}
	for _, x := range bad {
		if !notFinite(finiteBits(x)) || !notFinite(all|finiteBits(x)) {
			t.Errorf("%v not flagged", x)
		}
	}
}

// TestFixedRanges: the ranges no step writes are θ and p of parameters in
// no group and p of SGD and SGLD groups, adjacent ranges merged.
func TestFixedRanges(t *testing.T) {
	set := Settings{H: 0.1, Groups: []Group{
		{Tensors: []Tensor{{Off: 2, Len: 3}}, Kind: SGD},
		{Tensors: []Tensor{{Off: 5, Len: 2}}, Kind: SGLD},
		{Tensors: []Tensor{{Off: 7, Len: 1}, {Off: 9, Len: 2}}, Kind: Langevin},
	}}
	theta, p := fixedRanges(&set, 12)
	span := func(r []Tensor) [][2]int {
		var out [][2]int
		for _, t := range r {
			out = append(out, [2]int{t.Off, t.Len})
		}
		return out
	}
	if got, want := fmt.Sprint(span(theta)), "[[0 2] [8 1] [11 1]]"; got != want {
		t.Errorf("fixed θ ranges %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(span(p)), "[[0 7] [8 1] [11 1]]"; got != want {
		t.Errorf("fixed p ranges %s, want %s", got, want)
	}
}

// TestOverflowedParameterStops: for every kind, a parameter that the step's
// own update carries past the largest float (the momenta and the loss still
// finite) stops the chain with a "parameters" divergence in that step; a
// parameter in no group that is not finite from the start stops the first
// step; and a chain whose values all stay finite runs on.
func TestOverflowedParameterStops(t *testing.T) {
	const n, at = 6, 3
	for _, kind := range []Kind{SGD, Momentum, Adam, SGLD, Overdamped, Langevin, Adaptive} {
		h := 0.1
		if kind == Adam {
			h = 1e300 // Adam's step is about h whatever the gradient
		}
		g := Group{Tensors: []Tensor{{Off: 0, Len: 2}, {Off: 2, Len: 3}}, Kind: kind, Tau: 1e-4,
			Gamma: 1, Momentum: 0.9, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, SigmaA: 0.01, Epsilon: 1, Xi0: 0.1}
		set := Settings{H: h, Groups: []Group{g}} // parameter 5 in no group
		calls := 0
		prob := Problem{Grad: func(gr, x []float64) float64 {
			calls++
			clear(gr)
			if calls == 4 { // the gradient of step 3, moving θ in step 4
				gr[at] = -1
				if kind != Adam {
					gr[at] = -math.MaxFloat64
				}
			}
			return 1
		}}
		theta0 := make([]float64, n)
		theta0[at] = math.MaxFloat64
		c := mustChain(t, set, theta0, prob, 1)
		var err error
		for range 10 {
			if err = c.Step(); err != nil {
				break
			}
		}
		var de *DivergenceError
		if !errors.As(err, &de) || de.What != "parameters" || de.Step != 4 {
			t.Errorf("%v: err = %v, want a parameters divergence at step 4", kind, err)
		}

		calls = 0
		theta0 = make([]float64, n)
		theta0[5] = math.NaN()
		c = mustChain(t, set, theta0, prob, 1)
		if err := c.Step(); !errors.As(err, &de) || de.What != "parameters" || de.Step != 1 {
			t.Errorf("%v, NaN in no group: err = %v, want a parameters divergence at step 1", kind, err)
		}

		calls = 0
		c = mustChain(t, set, make([]float64, n), prob, 1)
		mustStep(t, c, 10)
	}
}

// BenchmarkNormals times the integrator's noise: one buffer of noiseChunk
// standard normal variates (ns/op ÷ 512 is the cost of one variate).
func BenchmarkNormals(b *testing.B) {
	c := &Chain{src: &pcg{7, 0x6e6f6973}}
	c.rng = rand.New(c.src)
	buf := make([]float64, noiseChunk)
	for b.Loop() {
		c.normals(buf)
	}
}

// TestInfiniteMomentumStops: a gradient that turns one momentum infinite
// (the loss and θ still finite at that step) stops the chain with a
// "momenta" divergence at that step, wherever the element lies, whether the groups with
// momenta hold every parameter or an SGD group sits beside them.
func TestInfiniteMomentumStops(t *testing.T) {
	const n = 11
	settings := map[string]Settings{
		"covered": {H: 0.1, Groups: []Group{
			{Name: "a", Tensors: []Tensor{{Name: "a", Off: 0, Len: 6}}, Kind: Langevin, Gamma: 1, Tau: 0.01},
			{Name: "b", Tensors: []Tensor{{Name: "b", Off: 6, Len: 5}}, Kind: Langevin, Gamma: 1, Tau: 0.01},
		}},
		"sgd beside": {H: 0.1, Groups: []Group{
			{Name: "a", Tensors: []Tensor{{Name: "a", Off: 0, Len: 6}}, Kind: SGD},
			{Name: "b", Tensors: []Tensor{{Name: "b", Off: 6, Len: 5}}, Kind: Langevin, Gamma: 1, Tau: 0.01},
		}},
	}
	for name, set := range settings {
		for _, at := range []int{6, 9, 10} {
			calls := 0
			prob := Problem{Grad: func(g, x []float64) float64 {
				calls++
				for i := range g {
					g[i] = x[i]
				}
				if calls == 4 { // the gradient of step 3
					g[at] = math.Inf(1)
				}
				return 1
			}}
			c := mustChain(t, set, make([]float64, n), prob, 1)
			var err error
			for range 10 {
				if err = c.Step(); err != nil {
					break
				}
			}
			var de *DivergenceError
			if !errors.As(err, &de) || de.What != "momenta" || de.Step != 3 {
				t.Errorf("%s, element %d: err = %v, want a momenta divergence at step 3", name, at, err)
			}
		}
	}
}
