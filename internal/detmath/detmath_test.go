package detmath

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/internal/fmacheck"
)

// The generators round their products (float64(x*y) - z): test code is
// compiled with fusion too, and fused inputs would differ between
// platforms.
type function struct {
	name string
	f    func(float64) float64
	std  func(float64) float64
	gen  func(r *rand.Rand) float64
}

var functions = []function{
	{"Exp", Exp, math.Exp, func(r *rand.Rand) float64 { return float64(r.Float64()*1500) - 750 }},
	{"Log", Log, math.Log, func(r *rand.Rand) float64 { return Exp(float64(r.Float64()*1400) - 700) }},
	{"Sin", Sin, math.Sin, func(r *rand.Rand) float64 { return float64(r.Float64()*200) - 100 }},
	{"Cos", Cos, math.Cos, func(r *rand.Rand) float64 { return float64(r.Float64()*200) - 100 }},
	{"Tanh", Tanh, math.Tanh, func(r *rand.Rand) float64 { return float64(r.Float64()*40) - 20 }},
	{"Log1p", Log1p, math.Log1p, func(r *rand.Rand) float64 { return float64(r.Float64()*4) - 0.999 }},
	{"Log1p-small", Log1p, math.Log1p, func(r *rand.Rand) float64 { return Exp(float64(r.Float64()*60) - 70) }},
	{"Pow", func(x float64) float64 { return Pow(x, 1.7) }, func(x float64) float64 { return math.Pow(x, 1.7) },
		func(r *rand.Rand) float64 { return r.Float64() * 5 }},
	{"Pow-y", func(y float64) float64 { return Pow(0.37, y) }, func(y float64) float64 { return math.Pow(0.37, y) },
		func(r *rand.Rand) float64 { return float64(r.Float64()*60) - 30 }},
}

var specials = []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 2, math.Inf(1), math.Inf(-1), math.NaN(),
	math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64, 1e-300, 710, -710, -745.2, 1 << 29, 1 << 40}

func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// ulps is the distance between a and b in units in the last place.
func ulps(a, b float64) float64 {
	if sameBits(a, b) {
		return 0
	}
	if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) || math.Signbit(a) != math.Signbit(b) {
		return math.Inf(1)
	}
	d := int64(math.Float64bits(a)) - int64(math.Float64bits(b))
	return math.Abs(float64(d))
}

// TestCloseToStdlib: on every platform each function is the standard
// library's to within 4 units in the last place on random inputs, and has
// its special cases (bit for bit).
func TestCloseToStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, fn := range functions {
		for _, x := range specials {
			if fn.name == "Log" && x > 0 && x < 0x1p-1022 {
				continue // amd64's math.Log gives −709.09 for 5e-324 (−744.44)
			}
			if got, want := fn.f(x), fn.std(x); !sameBits(got, want) && ulps(got, want) > 4 {
				t.Errorf("%s(%g) = %g, math gives %g", fn.name, x, got, want)
			}
		}
		worst := 0.0
		for range 100000 {
			x := fn.gen(r)
			if d := ulps(fn.f(x), fn.std(x)); d > worst {
				worst = d
				if d > 4 {
					t.Fatalf("%s(%v) = %v, math gives %v (%g ulps)", fn.name, x, fn.f(x), fn.std(x), d)
				}
			}
		}
	}
}

// hasFMA reports whether the processor has FMA (Linux: /proc/cpuinfo),
// which decides the path math.Exp takes on amd64.
func hasFMA() bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "flags") {
			return strings.Contains(l+" ", " fma ")
		}
	}
	return false
}

// TestSameBitsAsStdlibOnAMD64WithFMA: where the standard library is
// itself unfused (amd64 below GOAMD64=v3) and math.Exp takes its FMA path
// (a processor with FMA), every function and Normal equal the standard
// library's bit for bit, so moving a computation onto this package changes
// no result that amd64 machines computed before.
func TestSameBitsAsStdlibOnAMD64WithFMA(t *testing.T) {
	if runtime.GOARCH != "amd64" || stdlibFused {
		t.Skipf("the standard library is fused or other code on %s (GOAMD64=v3 or not amd64): compared on amd64 v1 only", runtime.GOARCH)
	}
	if !hasFMA() {
		t.Skip("this processor has no FMA: math.Exp takes its other path")
	}
	r := rand.New(rand.NewPCG(9, 10))
	for _, fn := range functions {
		for range 300000 {
			x := fn.gen(r)
			if got, want := fn.f(x), fn.std(x); !sameBits(got, want) {
				t.Fatalf("%s(%v) = %v, math gives %v", fn.name, x, got, want)
			}
		}
	}
	a, b := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	for i := range 3000000 {
		if x, y := Normal(a), b.NormFloat64(); !sameBits(x, y) {
			t.Fatalf("draw %d: Normal %v, NormFloat64 %v", i, x, y)
		}
	}
}

// knownBits are FNV-64a hashes of each function's bits over fixed inputs
// (and of 5·10⁵ Normal draws), computed on amd64 GOAMD64=v1 with FMA.
var knownBits = map[string]uint64{
	"Exp":         0xa526bc0f009956d0,
	"Log":         0x3409b996893a1b58,
	"Sin":         0x372479726eefb7d2,
	"Cos":         0xbb95641da24bced5,
	"Tanh":        0x4a8b7fef32aee07d,
	"Pow":         0x8c97b13a85071ef3,
	"Pow-y":       0xe4d04426fe404d65,
	"Normal":      0xa7950f0ca6be4ae6,
	"Log1p":       0x3752e8a61bb868db,
	"Log1p-small": 0x8ea1cdedf159a75b,
}

func hashOf(fn function) uint64 {
	h := fnv.New64a()
	r := rand.New(rand.NewPCG(11, 12))
	var b [8]byte
	put := func(x float64) {
		u := math.Float64bits(x)
		for i := range b {
			b[i] = byte(u >> (8 * i))
		}
		h.Write(b[:])
	}
	for _, x := range specials {
		put(fn.f(x))
	}
	for range 50000 {
		put(fn.f(fn.gen(r)))
	}
	return h.Sum64()
}

func normalHash() uint64 {
	h := fnv.New64a()
	r := rand.New(rand.NewPCG(13, 14))
	var b [8]byte
	for range 500000 {
		u := math.Float64bits(Normal(r))
		for i := range b {
			b[i] = byte(u >> (8 * i))
		}
		h.Write(b[:])
	}
	return h.Sum64()
}

// TestKnownBits: each function and Normal give the recorded bits. The
// record was made on amd64; TestSameBitsEverywhere runs this test on the
// other platforms.
func TestKnownBits(t *testing.T) {
	got := map[string]uint64{"Normal": normalHash()}
	for _, fn := range functions {
		got[fn.name] = hashOf(fn)
	}
	for name, h := range got {
		if want, ok := knownBits[name]; !ok || h != want {
			t.Errorf("%s: bits hash %#x, recorded %#x", name, h, want)
		}
	}
}

// TestSameBitsEverywhere runs TestKnownBits on every fmacheck.Platforms:
// amd64 GOAMD64=v1 and v3, amd64 on an emulated processor without AVX or
// FMA (math.FMA's software path) and arm64 (under qemu-user on other
// hosts).
func TestSameBitsEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tests for four platforms")
	}
	for _, p := range fmacheck.Platforms {
		t.Run(p.Name, func(t *testing.T) { fmacheck.RunTest(t, ".", p, "^TestKnownBits$") })
	}
}

// TestNoFusedMultiplyAdd: the package itself has no fused multiply-add
// except from math.FMA.
func TestNoFusedMultiplyAdd(t *testing.T) {
	fmacheck.Check(t, ".", ".")
}

// normalWedgeFull is NormalWedge without its squeeze: Exp on every call.
func normalWedgeFull(u, v uint64) (float64, bool) {
	j := int32(u)
	i := u >> 32 & 0x7F
	x := float64(j) * float64(wn[i])
	if fn[i]+float32(float32(Float64(v))*(fn[i-1]-fn[i])) < float32(Exp(float64(-.5*x)*x)) {
		return x, true
	}
	return 0, false
}

// TestNormalWedgeSqueeze: NormalWedge's squeeze decides as the full test
// (with Exp) does, on random wedge draws of every strip and on draws at
// and next to every cell's ends with uniforms spread over the strip's
// height, and it does skip Exp for most draws.
func TestNormalWedgeSqueeze(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(u, v uint64) {
		x, ok := NormalWedge(u, v)
		wx, wok := normalWedgeFull(u, v)
		if ok != wok || x != wx {
			t.Fatalf("NormalWedge(%#x, %#x) = %v, %v; full test %v, %v", u, v, x, ok, wx, wok)
		}
	}
	decided, n := 0, 0
	for i := uint64(1); i < 128; i++ {
		for c := range wedgeTable[i] {
			w := wedgeTable[i][c]
			for _, a := range []uint32{w.lo, w.lo + 1, w.hi - 1, w.hi, w.hi + 1, (w.lo + w.hi) / 2} {
				if a < kn[i] || a > 1<<31 {
					continue
				}
				for k := range 64 {
					v := r.Uint64()
					if k < 2 {
						v = uint64(k) * (1<<64 - 1)
					}
					for _, j := range []int64{int64(a), -int64(a)} {
						if j > math.MaxInt32 || j < math.MinInt32 {
							continue
						}
						check(i<<32|uint64(uint32(int32(j))), v)
					}
				}
			}
		}
	}
	for range 3_000_000 {
		u, v := r.Uint64(), r.Uint64()
		i := u >> 32 & 0x7F
		if _, ok := NormalFast(u); ok || i == 0 {
			continue
		}
		check(u, v)
		n++
		y := fn[i] + float32(float32(Float64(v))*(fn[i-1]-fn[i]))
		a := absInt32(int32(u))
		if c := uint64(a-kn[i]) * wedgeMul[i] >> 32; c < wedgeCells {
			w := wedgeTable[i][c]
			if w.lo <= a && a <= w.hi && (y > w.reject || y < w.accept) {
				decided++
			}
		}
	}
	if n == 0 || float64(decided) < 0.7*float64(n) {
		t.Fatalf("the squeeze decided %d of %d wedge draws", decided, n)
	}
	t.Logf("the squeeze decided %d of %d wedge draws (%.1f%%)", decided, n, 100*float64(decided)/float64(n))
}
