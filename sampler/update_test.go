package sampler

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomValues returns n values: mostly N(0, 1)·10^k for random k in
// [−3, 3], with zeros, a negative zero and, when special, ±Inf and NaN
// sprinkled in.
func randomValues(r *rand.Rand, n int, special bool) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3))
		switch k := r.IntN(40); {
		case k == 0:
			x[i] = 0
		case k == 1:
			x[i] = math.Copysign(0, -1)
		case special && k == 2:
			x[i] = math.Inf(1 - 2*r.IntN(2))
		case special && k == 3:
			x[i] = math.NaN()
		}
	}
	return x
}

// firstBitDiff returns the first index where a and b differ in any bit, or −1.
func firstBitDiff(a, b []float64) int {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestUpdateKernelsAgree: the kernels chosen at start-up (AVX-512 where the
// CPU has it) give the bits of the Go loops of update.go: θ, p, the 32
// partial sums and the finiteness flag, for every length from 0 to 200
// (the 32-wide body and every tail), with and without non-finite values.
func TestUpdateKernelsAgree(t *testing.T) {
	if reflect.ValueOf(langevin).Pointer() == reflect.ValueOf(langevinGo).Pointer() {
		t.Skip("no vector kernels on this machine")
	}
	// Each case runs one loop on (θ, p, r) with the constants k and the
	// partial sums acc, and returns the flag (0 where the loop has none).
	cases := []updateCase{
		{"langevin",
			func(th, p, r []float64, k [3]float64, acc *sumLanes) uint64 {
				return langevinGo(th, p, r, k[0], k[1], k[2], acc)
			},
			func(th, p, r []float64, k [3]float64, acc *sumLanes) uint64 {
				return langevin(th, p, r, k[0], k[1], k[2], acc)
			}, true},
		{"kick",
			func(_, p, g []float64, k [3]float64, _ *sumLanes) uint64 { return kickGo(p, g, k[0]) },
			func(_, p, g []float64, k [3]float64, _ *sumLanes) uint64 { return kick(p, g, k[0]) }, true},
		{"overdamped",
			func(th, p, r []float64, k [3]float64, acc *sumLanes) uint64 {
				return overdampedGo(th, p, r, k[0], k[1], acc)
			},
			func(th, p, r []float64, k [3]float64, acc *sumLanes) uint64 {
				return overdamped(th, p, r, k[0], k[1], acc)
			}, true},
		{"adaptive first",
			func(th, p, r []float64, k [3]float64, acc *sumLanes) uint64 {
				adaptiveFirstGo(th, p, r, k[0], k[1], k[2], acc)
				return 0
			},
			func(th, p, r []float64, k [3]float64, acc *sumLanes) uint64 {
				adaptiveFirst(th, p, r, k[0], k[1], k[2], acc)
				return 0
			}, true},
		{"adaptive second",
			func(th, p, r []float64, k [3]float64, _ *sumLanes) uint64 {
				return adaptiveSecondGo(th, p, r, k[0], k[1], k[2])
			},
			func(th, p, r []float64, k [3]float64, _ *sumLanes) uint64 {
				return adaptiveSecond(th, p, r, k[0], k[1], k[2])
			}, true},
	}
	for _, isa := range vectorISAs(t) {
		t.Run(isa, func(t *testing.T) {
			useISA(isa)
			checkUpdateKernels(t, cases)
		})
	}
}

// updateCase is one loop of update.go run by its Go version and by the
// kernel chosen (see TestUpdateKernelsAgree).
type updateCase struct {
	name    string
	goLoop  func(th, p, r []float64, k [3]float64, acc *sumLanes) uint64
	chosen  func(th, p, r []float64, k [3]float64, acc *sumLanes) uint64
	special bool
}

func checkUpdateKernels(t *testing.T, cases []updateCase) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range cases {
		for n := 0; n <= 200; n++ {
			for _, special := range []bool{false, tc.special} {
				th, p, nz := randomValues(r, n, special), randomValues(r, n, special), randomValues(r, n, false)
				k := [3]float64{0.025 * r.Float64(), math.Exp(-r.Float64()), r.Float64()}
				var accA sumLanes
				for i := range accA {
					accA[i] = r.Float64()
				}
				accB := accA
				thA, pA := append([]float64(nil), th...), append([]float64(nil), p...)
				thB, pB := append([]float64(nil), th...), append([]float64(nil), p...)
				badA := tc.goLoop(thA, pA, nz, k, &accA)
				badB := tc.chosen(thB, pB, nz, k, &accB)
				if i := firstBitDiff(thA, thB); i >= 0 {
					t.Fatalf("%s n=%d special=%v: θ[%d] Go %v, kernel %v", tc.name, n, special, i, thA[i], thB[i])
				}
				if i := firstBitDiff(pA, pB); i >= 0 {
					t.Fatalf("%s n=%d special=%v: p[%d] Go %v, kernel %v", tc.name, n, special, i, pA[i], pB[i])
				}
				if i := firstBitDiff(accA[:], accB[:]); i >= 0 {
					t.Fatalf("%s n=%d special=%v: partial sum %d Go %v, kernel %v", tc.name, n, special, i, accA[i], accB[i])
				}
				if notFinite(badA) != notFinite(badB) {
					t.Fatalf("%s n=%d special=%v: not finite Go %v, kernel %v", tc.name, n, special, notFinite(badA), notFinite(badB))
				}
			}
		}
	}
}

// TestUpdateKernelsStayInBounds: the kernels write nothing past the
// slices they are given (the masked tails), checked with guard values
// after every length.
func TestUpdateKernelsStayInBounds(t *testing.T) {
	for _, isa := range vectorISAs(t) {
		useISA(isa)
		t.Run(isa, checkBounds)
	}
}

func checkBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 70; n++ {
		buf := func() []float64 {
			x := randomValues(r, n+8, false)
			for i := n; i < n+8; i++ {
				x[i] = 12345
			}
			return x
		}
		th, p, nz, g := buf(), buf(), buf(), buf()
		var acc sumLanes
		langevin(th[:n], p[:n], nz[:n], 0.01, 0.9, 0.1, &acc)
		kick(p[:n], g[:n], 0.5)
		overdamped(th[:n], p[:n], nz[:n], 0.01, 0.1, &acc)
		adaptiveFirst(th[:n], p[:n], nz[:n], 0.01, 0.9, 0.1, &acc)
		adaptiveSecond(th[:n], p[:n], nz[:n], 0.01, 0.9, 0.1)
		for i := n; i < n+8; i++ {
			if th[i] != 12345 || p[i] != 12345 {
				t.Fatalf("n=%d: element %d past the end was written", n, i)
			}
		}
	}
}

// BenchmarkLangevinChunk times the Langevin move on one noise chunk
// (noiseChunk elements, noise already drawn): each vector kernel this
// machine runs, and langevinGo.
func BenchmarkLangevinChunk(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	th, p, nz := randomValues(r, noiseChunk, false), randomValues(r, noiseChunk, false), randomValues(r, noiseChunk, false)
	var acc sumLanes
	for _, isa := range vectorISAs(b) {
		b.Run(isa, func(b *testing.B) {
			useISA(isa)
			for b.Loop() {
				langevin(th, p, nz, 1e-9, 1, 0, &acc)
			}
		})
	}
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			langevinGo(th, p, nz, 1e-9, 1, 0, &acc)
		}
	})
}
