package sampler

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/internal/detmath"
)

// TestXoshiroReference: the generator gives the numbers of Blackman and
// Vigna's xoshiro256plusplus.c from two states (the first from the test
// data of DSCF-1224/xoshiro-fortran, test/README.md; the second checked by
// hand from the algorithm: rotl(1+4, 23)+1 = 41943041, ...).
func TestXoshiroReference(t *testing.T) {
	for _, tc := range []struct {
		x    xoshiro
		want []uint64
	}{
		{xoshiro{0, 0, 0, 1}, []uint64{0x0000000000800000, 0x0000000000800011, 0x0002200000800011,
			0x0002200044000020, 0x00022000448008A1, 0x01102100802208A0, 0x0114002284200880,
			0x0402896644A64095, 0x8A14A0A244ACC891, 0x8C88BA4680B20495}},
		{xoshiro{1, 2, 3, 4}, []uint64{41943041, 58720359}},
	} {
		x := tc.x
		for i, want := range tc.want {
			if got := x.Uint64(); got != want {
				t.Fatalf("state %v: number %d = %#x, want %#x", tc.x, i+1, got, want)
			}
		}
	}
}

// TestXoshiroSeeding: newXoshiro takes the first two outputs of SplitMix64
// from each seed (SplitMix64 from 1234567 starts 6457827717110365317,
// 3203168211198807973, the published test values); distinct seed pairs give
// distinct states.
func TestXoshiroSeeding(t *testing.T) {
	x := newXoshiro(1234567, 1234567)
	want := xoshiro{6457827717110365317, 3203168211198807973, 6457827717110365317, 3203168211198807973}
	if x != want {
		t.Fatalf("newXoshiro(1234567, 1234567) = %v, want %v", x, want)
	}
	seen := map[xoshiro][2]uint64{}
	for _, s := range [][2]uint64{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {^uint64(0), 0}, {0, ^uint64(0)}, {7, 0x6e6f6973}} {
		x := newXoshiro(s[0], s[1])
		if x == (xoshiro{}) {
			t.Fatalf("seeds %v give the all-zero state", s)
		}
		if p, ok := seen[x]; ok {
			t.Fatalf("seeds %v and %v give the same state", p, s)
		}
		seen[x] = s
	}
}

// TestXoshiroEncoding: the state round-trips through its "xo256pp:"
// encoding, and every other encoding (a math/rand/v2 PCG's among them), a
// truncated one and the all-zero state are refused with the state unchanged.
func TestXoshiroEncoding(t *testing.T) {
	x := newXoshiro(3, 4)
	x.Uint64()
	blob, err := x.MarshalBinary()
	if err != nil || len(blob) != 40 || string(blob[:8]) != "xo256pp:" {
		t.Fatalf("MarshalBinary = %q, %v", blob, err)
	}
	var y xoshiro
	if err := y.UnmarshalBinary(blob); err != nil || y != x {
		t.Fatalf("round trip: %v, %v != %v", err, y, x)
	}
	pcgState, _ := rand.NewPCG(1, 2).MarshalBinary()
	zero := append([]byte("xo256pp:"), make([]byte, 32)...)
	wrongTag := append([]byte("xo256p+:"), blob[8:]...)
	for name, b := range map[string][]byte{"pcg": pcgState, "truncated": blob[:39], "long": append(blob[:40:40], 0),
		"wrong tag": wrongTag, "zero state": zero, "empty": nil} {
		z := y
		err := z.UnmarshalBinary(b)
		if err == nil || z != y {
			t.Errorf("%s: err = %v, state %v (was %v)", name, err, z, y)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error of more than one line: %q", name, err)
		}
	}
}

// TestNormalsMatchDetmath: the buffered normals, slow path on the concrete
// generator included, are the numbers of detmath.Normal drawing through
// rand.Rand from a xoshiro256++ of the same seeds, in the same order, over
// enough draws to take the wedges and the tail many times, with buffers of
// several lengths in a row.
func TestNormalsMatchDetmath(t *testing.T) {
	c := &Chain{src: new(newXoshiro(7, 0x6e6f6973))}
	ref := rand.New(new(newXoshiro(7, 0x6e6f6973)))
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

// normalStats checks n variates of next against the standard normal: the
// mean and the variance, the lag-1 correlation, and P(X > k) for k from
// −4.5 to 4.5 in steps of 0.25 (the ziggurat's tail starts at 3.44), each
// within 5 standard errors (binomial for the probabilities). It returns the
// first failure.
func normalStats(n int, next func() float64) error {
	var ks []float64
	for k := -4.5; k <= 4.5; k += 0.25 {
		ks = append(ks, k)
	}
	above := make([]int, len(ks))
	var sum, sum2, lag, prev float64
	for range n {
		x := next()
		sum += x
		sum2 += x * x
		lag += x * prev
		prev = x
		for j, k := range ks {
			if x > k {
				above[j]++
			}
		}
	}
	fn := float64(n)
	if m := sum / fn; math.Abs(m) > 5/math.Sqrt(fn) {
		return fmt.Errorf("mean %g of %d variates, want 0 within %g", m, n, 5/math.Sqrt(fn))
	}
	if v := sum2 / fn; math.Abs(v-1) > 5*math.Sqrt(2/fn) {
		return fmt.Errorf("second moment %g of %d variates, want 1 within %g", v, n, 5*math.Sqrt(2/fn))
	}
	if r := lag / fn; math.Abs(r) > 5/math.Sqrt(fn) {
		return fmt.Errorf("lag-1 correlation %g of %d variates, want 0 within %g", r, n, 5/math.Sqrt(fn))
	}
	for j, k := range ks {
		p := math.Erfc(k/math.Sqrt2) / 2
		if sd := math.Sqrt(fn * p * (1 - p)); math.Abs(float64(above[j])-fn*p) > 5*sd {
			return fmt.Errorf("%d of %d variates above %g, want %.1f within %.1f", above[j], n, k, fn*p, 5*sd)
		}
	}
	return nil
}

// brokenSource is a rand.Source that is not random enough: its numbers
// repeat with period 997 (a xoshiro reseeded every 997 draws).
type brokenSource struct {
	x xoshiro
	i int
}

func (b *brokenSource) Uint64() uint64 {
	if b.i%997 == 0 {
		b.x = newXoshiro(1, 2)
	}
	b.i++
	return b.x.Uint64()
}

// lowZeroSource is a xoshiro whose low 32 bits are cleared: the ziggurat
// takes its sign and position from them.
type lowZeroSource struct{ x xoshiro }

func (l *lowZeroSource) Uint64() uint64 { return l.x.Uint64() &^ 0xffffffff }

// TestNormalsDistribution: 4·10⁶ of the chain's normals (seeds 1, 2) pass
// normalStats, and the same test fails on normals from broken generators,
// so it can tell.
func TestNormalsDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("4·10⁶ variates")
	}
	const n = 4_000_000
	c := &Chain{src: new(newXoshiro(1, 2))}
	buf := make([]float64, noiseChunk)
	k := len(buf)
	next := func() float64 {
		if k == len(buf) {
			c.normals(buf)
			k = 0
		}
		k++
		return buf[k-1]
	}
	if err := normalStats(n, next); err != nil {
		t.Error(err)
	}
	for name, src := range map[string]rand.Source{"period 997": &brokenSource{}, "low bits zero": &lowZeroSource{newXoshiro(1, 2)}} {
		r := rand.New(src)
		if err := normalStats(n, func() float64 { return detmath.Normal(r) }); err == nil {
			t.Errorf("normals from a %s generator pass: the test cannot tell", name)
		} else {
			t.Logf("%s generator: %v", name, err)
		}
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
	c := &Chain{src: new(newXoshiro(7, 0x6e6f6973))}
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
