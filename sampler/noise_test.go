package sampler

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
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

// TestNoiseSourceEncoding: the source round-trips through its "xo256x9:"
// encoding, and every other encoding (numerics version 3's single
// "xo256pp:" stream and a math/rand/v2 PCG's among them), a truncated one
// and a state with an all-zero stream are refused with the source unchanged.
func TestNoiseSourceEncoding(t *testing.T) {
	x := newNoiseSource(3, 4)
	c := &Chain{src: x, rej: make([]uint8, noiseChunk/8)}
	c.normals(make([]float64, 13, 16))
	blob, err := x.MarshalBinary()
	if err != nil || len(blob) != 296 || string(blob[:8]) != "xo256x9:" {
		t.Fatalf("MarshalBinary = %q, %v", blob, err)
	}
	var y noiseSource
	if err := y.UnmarshalBinary(blob); err != nil || y != *x {
		t.Fatalf("round trip: %v, %v != %v", err, y, *x)
	}
	pcgState, _ := rand.NewPCG(1, 2).MarshalBinary()
	v3 := append([]byte("xo256pp:"), blob[8:40]...)
	wrongTag := append([]byte("xo256x8:"), blob[8:]...)
	zeroSlow := append(append([]byte(nil), blob[:264]...), make([]byte, 32)...)
	zeroLane := append(append(append([]byte(nil), blob[:40]...), make([]byte, 32)...), blob[72:]...)
	for name, b := range map[string][]byte{"pcg": pcgState, "v3 stream": v3, "truncated": blob[:295], "long": append(blob[:296:296], 0),
		"wrong tag": wrongTag, "zero slow stream": zeroSlow, "zero lane 1": zeroLane, "empty": nil} {
		z := y
		err := z.UnmarshalBinary(b)
		if err == nil || z != y {
			t.Errorf("%s: err = %v, state changed: %v", name, err, z != y)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error of more than one line: %q", name, err)
		}
	}
}

// gf2 is a 256×256 matrix over GF(2) acting on xoshiro256++ states: row r
// holds the bits of the state that bit r of the image XORs together (word
// w's bit b is index 64w+b).
type gf2 [256][4]uint64

// transition returns xoshiro256++'s one-step state transition as a gf2.
func transition() gf2 {
	var m gf2
	// Column c of the matrix is the next state of the unit state e_c.
	for c := range 256 {
		var e [4]uint64
		e[c/64] = 1 << (c % 64)
		x := xoshiro{e[0], e[1], e[2], e[3]}
		x.Uint64()
		for w, v := range [4]uint64{x.s0, x.s1, x.s2, x.s3} {
			for b := range 64 {
				if v&(1<<b) != 0 {
					m[64*w+b][c/64] |= 1 << (c % 64)
				}
			}
		}
	}
	return m
}

func (m *gf2) mul(n *gf2) gf2 {
	var p gf2
	for r := range 256 {
		for k := range 256 {
			if m[r][k/64]&(1<<(k%64)) != 0 {
				for w := range 4 {
					p[r][w] ^= n[k][w]
				}
			}
		}
	}
	return p
}

func (m *gf2) apply(x xoshiro) xoshiro {
	v := [4]uint64{x.s0, x.s1, x.s2, x.s3}
	var out [4]uint64
	for r := range 256 {
		var par uint64
		for w := range 4 {
			par ^= m[r][w] & v[w]
		}
		if bits.OnesCount64(par)%2 == 1 {
			out[r/64] |= 1 << (r % 64)
		}
	}
	return xoshiro{out[0], out[1], out[2], out[3]}
}

// TestJumpIsTwoToThe128Steps: jump moves a state by exactly 2¹²⁸ draws,
// checked against the transition matrix squared 128 times, on the lanes'
// own seeds and on random states; one step more or less is told apart.
func TestJumpIsTwoToThe128Steps(t *testing.T) {
	m := transition()
	for range 128 {
		m = m.mul(&m)
	}
	r := rand.New(rand.NewPCG(5, 6))
	states := []xoshiro{newXoshiro(1, 2), newXoshiro(7, 0x6e6f6973)}
	for range 4 {
		states = append(states, xoshiro{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()})
	}
	for _, x := range states {
		want := m.apply(x)
		j := x
		j.jump()
		if j != want {
			t.Fatalf("jump(%v) = %v, T^(2^128) gives %v", x, j, want)
		}
		x.Uint64()
		if off := m.apply(x); off == j {
			t.Fatalf("jump of %v equals T^(2^128+1): the check cannot tell", x)
		}
	}
	ns := newNoiseSource(1, 2)
	for l := 1; l < 8; l++ {
		if want := m.apply(ns.lane.get(l - 1)); ns.lane.get(l) != want {
			t.Fatalf("lane %d is not lane %d jumped", l, l-1)
		}
	}
	if ns.slow != m.apply(ns.lane.get(7)) {
		t.Fatal("the slow stream is not lane 7 jumped")
	}
}

// TestFillLanesKernelsAgree: the kernels of every instruction set this
// machine runs (AVX-512, AVX2) give the bits of fillLanesGo: every slot,
// every rejection bit and the lanes' final states, over runs of 0 to 70
// blocks from many states (the rejections, about 2.8% of slots, are many).
func TestFillLanesKernelsAgree(t *testing.T) {
	isas := vectorISAs(t)
	if len(isas) == 0 {
		t.Skip("no vector kernel on this machine: fillLanes is fillLanesGo")
	}
	for _, isa := range isas {
		t.Run(isa, func(t *testing.T) {
			useISA(isa)
			var rejected int
			for k := range 400 {
				a := newNoiseSource(uint64(k), 99).lane
				b := a
				blocks := k % 71
				bufA, bufB := make([]float64, 8*blocks), make([]float64, 8*blocks)
				rejA, rejB := make([]uint8, blocks), make([]uint8, blocks)
				for i := range rejB {
					rejB[i] = 0xff // the kernel must write every byte
				}
				fillLanesGo(&a, bufA, rejA)
				fillLanes(&b, bufB, rejB)
				for i := range bufA {
					if math.Float64bits(bufA[i]) != math.Float64bits(bufB[i]) {
						t.Fatalf("run %d, slot %d: Go %v, kernel %v", k, i, bufA[i], bufB[i])
					}
				}
				for i := range rejA {
					if rejA[i] != rejB[i] {
						t.Fatalf("run %d, block %d: rejections Go %08b, kernel %08b", k, i, rejA[i], rejB[i])
					}
					rejected += bits.OnesCount8(rejA[i])
				}
				if a != b {
					t.Fatalf("run %d: final lanes differ", k)
				}
			}
			if rejected == 0 {
				t.Fatal("no slot rejected: the slow path's hand-over is not covered")
			}
		})
	}
}

// refNormals is the definition normals implements, written plainly: slot i
// of a call for n variates takes lane i%8's next draw (every lane draws
// ⌈n/8⌉), and the slots below n are detmath.Normal's round on that draw,
// finished (and any next rounds drawn) on rand.Rand over the slow stream.
type refNormals struct {
	lane [8]xoshiro
	slow *rand.Rand
}

func newRefNormals(seed1, seed2 uint64) *refNormals {
	ns := newNoiseSource(seed1, seed2)
	r := &refNormals{slow: rand.New(&ns.slow)}
	for l := range 8 {
		r.lane[l] = ns.lane.get(l)
	}
	return r
}

func (r *refNormals) fill(buf []float64) {
	for i := range (len(buf) + 7) &^ 7 {
		u := r.lane[i%8].Uint64()
		if i >= len(buf) {
			continue
		}
		x, ok := detmath.NormalFast(u)
		if !ok {
			if x, ok = detmath.NormalSlow(u, r.slow); !ok {
				x = detmath.Normal(r.slow)
			}
		}
		buf[i] = x
	}
}

// TestNormalsMatchDetmath: the chain's normals, slow path on the concrete
// generator included, are the numbers of refNormals, with buffers of
// every length from 1 to noiseChunk in a row, over enough draws to take
// the wedges and the tail many times.
func TestNormalsMatchDetmath(t *testing.T) {
	c := newNoiseChain(7, 0x6e6f6973)
	ref := newRefNormals(7, 0x6e6f6973)
	buf := make([]float64, noiseChunk)
	want := make([]float64, noiseChunk)
	var tails int
	for k := 0; k < 2000; k++ {
		b := buf[:1+k%noiseChunk]
		c.normals(b)
		ref.fill(want[:len(b)])
		for i, x := range b {
			if x != want[i] {
				t.Fatalf("buffer %d, variate %d = %v, reference %v", k, i, x, want[i])
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

// newNoiseChain is a Chain with only what normals needs.
func newNoiseChain(seed1, seed2 uint64) *Chain {
	return &Chain{src: newNoiseSource(seed1, seed2), rej: make([]uint8, noiseChunk/8)}
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
	c := newNoiseChain(1, 2)
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
	c := newNoiseChain(7, 0x6e6f6973)
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

// BenchmarkFillLanes times the first test alone on noiseChunk slots: the
// kernel of each instruction set this machine runs, and fillLanesGo.
func BenchmarkFillLanes(b *testing.B) {
	st := newNoiseSource(7, 0x6e6f6973).lane
	buf := make([]float64, noiseChunk)
	rej := make([]uint8, noiseChunk/8)
	for _, isa := range vectorISAs(b) {
		b.Run(isa, func(b *testing.B) {
			useISA(isa)
			for b.Loop() {
				fillLanes(&st, buf, rej)
			}
		})
	}
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			fillLanesGo(&st, buf, rej)
		}
	})
}
