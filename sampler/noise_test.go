package sampler

import (
	"errors"
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

// TestSumSeesEveryElement: the partial sums cover every element (a NaN or
// an Inf anywhere in slices of every length up to 9 makes the sum not
// finite) and add exactly on small integers.
func TestSumSeesEveryElement(t *testing.T) {
	for n := 1; n <= 9; n++ {
		x := make([]float64, n)
		want := 0.0
		for i := range x {
			x[i] = float64(i + 1)
			want += x[i]
		}
		if got := sum(x); got != want {
			t.Fatalf("sum of 1..%d = %v, want %v", n, got, want)
		}
		for i := range x {
			for _, bad := range []float64{math.NaN(), math.Inf(-1)} {
				y := append([]float64(nil), x...)
				y[i] = bad
				if isFinite(sum(y)) {
					t.Fatalf("n = %d: %v at %d unseen", n, bad, i)
				}
			}
		}
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
// "momenta" divergence at that step, wherever the element lies (in the
// four-wide part of the sum or its remainder), whether the groups with
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
