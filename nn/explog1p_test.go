package nn

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestExpLog1pKernelAgrees: the kernels of every instruction set this
// machine runs (AVX-512, AVX2 with FMA) give detmath's bits for e = Exp(−|z|) and
// l = Log1p(e) on a dense sweep of |z| over [0, 800] (every branch of
// Log1p: e < 2⁻⁵⁴, e < 2⁻²⁹, e below and above √2 − 1, e = 1; subnormal
// and zero e near and past |z| = 708), on the boundaries of those branches
// and their neighbours, on random z of every scale, and on ±0, ±Inf and NaN,
// for every length mod 8.
func TestExpLog1pKernelAgrees(t *testing.T) {
	if reflect.ValueOf(expLog1p).Pointer() == reflect.ValueOf(expLog1pGo).Pointer() {
		t.Skip("no vector kernel on this machine")
	}
	check := func(t *testing.T, z []float64) {
		eA, lA := make([]float64, len(z)), make([]float64, len(z))
		eB, lB := make([]float64, len(z)), make([]float64, len(z))
		expLog1pGo(z, eA, lA)
		expLog1p(z, eB, lB)
		for i := range z {
			if math.Float64bits(eA[i]) != math.Float64bits(eB[i]) || math.Float64bits(lA[i]) != math.Float64bits(lB[i]) {
				t.Fatalf("z = %v (%#x): Go e = %v, l = %v; kernel e = %v, l = %v", z[i], math.Float64bits(z[i]), eA[i], lA[i], eB[i], lB[i])
			}
		}
	}
	var z []float64
	for k := range 800_000 {
		z = append(z, float64(k)*1e-3, -float64(k)*1e-3-5e-4)
	}
	// |z| where e crosses 2⁻⁵⁴, 2⁻²⁹, √2 − 1, 2⁻¹⁰²², and 708, with the
	// 64 floats on each side.
	for _, b := range []float64{54 * math.Ln2, 29 * math.Ln2, -math.Log(math.Sqrt2 - 1), 1022 * math.Ln2, 708, 745, 0} {
		x := b
		for range 64 {
			x = math.Nextafter(x, 0)
		}
		for range 129 {
			z = append(z, x, -x)
			x = math.Nextafter(x, math.Inf(1))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		z = append(z, r.NormFloat64()*math.Pow(10, float64(r.IntN(8)-4)))
	}
	z = append(z, 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e300, -1e-320)
	for _, isa := range expISAs(t) {
		t.Run(isa, func(t *testing.T) {
			useExpISA(isa)
			check(t, z)
			for n := range 40 {
				check(t, z[len(z)-n-300:len(z)-300+n])
			}
		})
	}
}

// BenchmarkExpLog1p times Exp(−|z|) and Log1p of it for 256 logits of a
// spread like a trained network's (N(0, 3²)): each kernel this machine runs,
// and expLog1pGo.
func BenchmarkExpLog1p(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	z := make([]float64, 256)
	for i := range z {
		z[i] = 3 * r.NormFloat64()
	}
	e, l := make([]float64, len(z)), make([]float64, len(z))
	if reflect.ValueOf(expLog1p).Pointer() != reflect.ValueOf(expLog1pGo).Pointer() {
		for _, isa := range expISAs(b) {
			b.Run(isa, func(b *testing.B) {
				useExpISA(isa)
				for b.Loop() {
					expLog1p(z, e, l)
				}
			})
		}
	}
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			expLog1pGo(z, e, l)
		}
	})
}
