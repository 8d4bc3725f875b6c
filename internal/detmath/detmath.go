// Package detmath holds the elementary functions and the normal random
// variate a trajectory uses, written so that they give the same bits on
// every machine Go supports: amd64 at any GOAMD64 level, with or without
// FMA in the processor, and arm64.
//
// The standard library's do not. math.Exp and math.Log are assembly on
// amd64 and arm64, and amd64's Exp takes another path on processors
// without FMA; the compiler fuses x*y + z into one multiply-add, which
// rounds once instead of twice, in the pure-Go functions (Sin, Cos, Tanh,
// Log1p, and Log on arm64) and in rand.Rand.NormFloat64 when it builds for
// GOAMD64=v3 or arm64. Measured over 2·10⁶ inputs each, every one of them
// gives other bits on arm64 than on amd64, and Sin, Cos, Log1p, Expm1 and
// NormFloat64 already between GOAMD64=v1 and v3. A chain started on one
// machine and resumed on another would leave its trajectory.
//
// The functions here are the standard library's pure-Go algorithms (from
// FreeBSD's msun and Cephes, as in Go's math package; the normal variate
// is math/rand/v2's ziggurat with its tables; Exp is amd64's assembly
// algorithm, see Exp), with every product that feeds a sum rounded
// explicitly (float64(x*y) + z, which the Go specification forbids
// fusing). On amd64 below GOAMD64=v3, on a processor with FMA, they equal
// package math and NormFloat64 bit for bit (tested), except Log of a
// subnormal number, which amd64's math.Log gets wrong (−709.09 for
// 5e-324, whose logarithm is −744.44); elsewhere package math is within a
// few units in the last place of them. None is correctly rounded.
//
// Copyright of the algorithms: The Go Authors (BSD-style licence), after
// FreeBSD and Cephes; see the Go distribution's LICENSE.
package detmath

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// Exp returns e**x (math.Exp's special cases). It is the algorithm of
// math.Exp on amd64 (exp_amd64.s, after Shibata's SLEEF) as that runs on
// processors with FMA, with math.FMA where the assembly fuses: so it
// equals math.Exp there bit for bit, and gives the same bits on every
// other machine (math.FMA is correctly rounded everywhere).
func Exp(x float64) float64 {
	const (
		ln2U     = 0.69314718055966295651160180568695068359375
		ln2L     = 0.28235290563031577122588448175013436025525412068e-12
		log2e    = 1.4426950408889634073599246810018920
		overflow = 7.09782712893384e+02
	)
	switch {
	case math.IsNaN(x) || math.IsInf(x, 1):
		return x
	case math.IsInf(x, -1):
		return 0
	case x > overflow:
		return math.Inf(1)
	}
	// CVTSD2SL: round to nearest even, here by adding and subtracting
	// 1.5·2⁵² (exact for |t| < 2⁵¹; larger t are integers and stay); out of
	// int32's range it gives math.MinInt32 (only for x far below the
	// underflow threshold).
	t := float64(x * log2e)
	kf := (t + 0x1.8p52) - 0x1.8p52
	k := int64(math.MinInt32)
	if kf >= math.MinInt32 {
		k = int64(kf)
	}
	bx := k + 0x3FF
	if bx < -52 {
		return 0
	}
	kf = float64(k)
	r := math.FMA(-kf, ln2U, x)
	r = math.FMA(-kf, ln2L, r)
	r *= 0.0625
	// Taylor series of e**r − 1, then squared four times: e**(16r) − 1.
	p := 2.4801587301587301587e-5
	p = math.FMA(p, r, 1.9841269841269841270e-4)
	p = math.FMA(p, r, 1.3888888888888888889e-3)
	p = math.FMA(p, r, 8.3333333333333333333e-3)
	p = math.FMA(p, r, 4.1666666666666666667e-2)
	p = math.FMA(p, r, 1.6666666666666666667e-1)
	p = math.FMA(p, r, 0.5)
	p = math.FMA(p, r, 1.0)
	// Each product is rounded before the next sum, as the assembly does:
	// unrolled, the compiler would fuse r·p + 2.
	r = float64(r * p)
	r = float64(r * (r + 2))
	r = float64(r * (r + 2))
	r = float64(r * (r + 2))
	r = math.FMA(r, r+2, 1)
	switch {
	case bx >= 0x7FF:
		return math.Inf(1)
	case bx <= 0:
		// Subnormal result: scale by 2**(k+1022), then by 2**−1022.
		r *= math.Float64frombits(uint64(bx+0x3FE) << 52)
		return r * math.Float64frombits(1<<52)
	}
	return r * math.Float64frombits(uint64(bx)<<52)
}

// Log returns the natural logarithm of x (math.Log's special cases).
func Log(x float64) float64 {
	const (
		Ln2Hi = 6.93147180369123816490e-01
		Ln2Lo = 1.90821492927058770002e-10
		L1    = 6.666666666666735130e-01
		L2    = 3.999999999940941908e-01
		L3    = 2.857142874366239149e-01
		L4    = 2.222219843214978396e-01
		L5    = 1.818357216161805012e-01
		L6    = 1.531383769920937332e-01
		L7    = 1.479819860511658591e-01
	)
	switch {
	case math.IsNaN(x) || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s2 * (L1 + float64(s4*(L3+float64(s4*(L5+float64(s4*L7)))))))
	t2 := float64(s4 * (L2 + float64(s4*(L4+float64(s4*L6)))))
	R := t1 + t2
	hfsq := float64(0.5 * f * f)
	return float64(k*Ln2Hi) - ((hfsq - (float64(s*(hfsq+R)) + float64(k*Ln2Lo))) - f)
}

// Log1p returns the natural logarithm of 1 plus x, accurate also for x
// near zero (math.Log1p's special cases).
func Log1p(x float64) float64 {
	const (
		Sqrt2M1     = 4.142135623730950488017e-01
		Sqrt2HalfM1 = -2.928932188134524755992e-01
		Small       = 1.0 / (1 << 29)
		Tiny        = 1.0 / (1 << 54)
		Two53       = 1 << 53
		Ln2Hi       = 6.93147180369123816490e-01
		Ln2Lo       = 1.90821492927058770002e-10
	)
	switch {
	case x < -1 || math.IsNaN(x):
		return math.NaN()
	case x == -1:
		return math.Inf(-1)
	case math.IsInf(x, 1):
		return math.Inf(1)
	}
	absx := math.Abs(x)
	var f float64
	var iu uint64
	k := 1
	if absx < Sqrt2M1 {
		if absx < Small {
			if absx < Tiny {
				return x
			}
			return x - float64(x*x*0.5)
		}
		if x > Sqrt2HalfM1 {
			k = 0
			f = x
			iu = 1
		}
	}
	var c float64
	if k != 0 {
		var u float64
		if absx < Two53 {
			u = 1.0 + x
			iu = math.Float64bits(u)
			k = int((iu >> 52) - 1023)
			if k > 0 {
				c = 1.0 - (u - x)
			} else {
				c = x - (u - 1.0)
			}
			c /= u
		} else {
			u = x
			iu = math.Float64bits(u)
			k = int((iu >> 52) - 1023)
			c = 0
		}
		iu &= 0x000fffffffffffff
		if iu < 0x0006a09e667f3bcd {
			u = math.Float64frombits(iu | 0x3ff0000000000000)
		} else {
			k++
			u = math.Float64frombits(iu | 0x3fe0000000000000)
			iu = (0x0010000000000000 - iu) >> 2
		}
		f = u - 1.0
	}
	hfsq := float64(0.5 * f * f)
	kf := float64(k)
	if iu == 0 {
		if f == 0 {
			if k == 0 {
				return 0
			}
			c += float64(kf * Ln2Lo)
			return float64(kf*Ln2Hi) + c
		}
		R := float64(hfsq * (1.0 - float64(0.66666666666666666*f)))
		if k == 0 {
			return f - R
		}
		return float64(kf*Ln2Hi) - ((R - (float64(kf*Ln2Lo) + c)) - f)
	}
	s := f / (2.0 + f)
	z := float64(s * s)
	R := float64(z * horner(log1pP[:], z))
	if k == 0 {
		return f - (hfsq - float64(s*(hfsq+R)))
	}
	return float64(kf*Ln2Hi) - ((hfsq - (float64(s*(hfsq+R)) + (float64(kf*Ln2Lo) + c))) - f)
}

// log1pP are Lp7, Lp6, …, Lp1 of log1p.go, highest power first.
var log1pP = [...]float64{
	1.479819860511658591e-01,
	1.531383769920937332e-01,
	1.818357216161805012e-01,
	2.222219843214978396e-01,
	2.857142874366239149e-01,
	3.999999999940941908e-01,
	6.666666666666735130e-01,
}

// Pow returns x**y (math.Pow's special cases).
func Pow(x, y float64) float64 {
	switch {
	case y == 0 || x == 1:
		return 1
	case y == 1:
		return x
	case math.IsNaN(x) || math.IsNaN(y):
		return math.NaN()
	case x == 0:
		switch {
		case y < 0:
			if math.Signbit(x) && isOddInt(y) {
				return math.Inf(-1)
			}
			return math.Inf(1)
		case y > 0:
			if math.Signbit(x) && isOddInt(y) {
				return x
			}
			return 0
		}
	case math.IsInf(y, 0):
		switch {
		case x == -1:
			return 1
		case (math.Abs(x) < 1) == math.IsInf(y, 1):
			return 0
		default:
			return math.Inf(1)
		}
	case math.IsInf(x, 0):
		if math.IsInf(x, -1) {
			return Pow(1/x, -y) // Pow(-0, -y)
		}
		switch {
		case y < 0:
			return 0
		case y > 0:
			return math.Inf(1)
		}
	case y == 0.5:
		return math.Sqrt(x)
	case y == -0.5:
		return 1 / math.Sqrt(x)
	}
	yi, yf := math.Modf(math.Abs(y))
	if yf != 0 && x < 0 {
		return math.NaN()
	}
	if yi >= 1<<63 {
		switch {
		case x == -1:
			return 1
		case (math.Abs(x) < 1) == (y > 0):
			return 0
		default:
			return math.Inf(1)
		}
	}
	a1 := 1.0
	ae := 0
	if yf != 0 {
		if yf > 0.5 {
			yf--
			yi++
		}
		a1 = Exp(yf * Log(x))
	}
	x1, xe := math.Frexp(x)
	for i := int64(yi); i != 0; i >>= 1 {
		if xe < -1<<12 || 1<<12 < xe {
			ae += xe
			break
		}
		if i&1 == 1 {
			a1 *= x1
			ae += xe
		}
		x1 = float64(x1 * x1)
		xe <<= 1
		if x1 < .5 {
			x1 += x1
			xe--
		}
	}
	if y < 0 {
		a1 = 1 / a1
		ae = -ae
	}
	return math.Ldexp(a1, ae)
}

func isOddInt(x float64) bool {
	if math.Abs(x) >= (1 << 53) {
		return false
	}
	xi, xf := math.Modf(x)
	return xf == 0 && int64(xi)&1 == 1
}

// Tanh returns the hyperbolic tangent of x (math.Tanh's special cases).
func Tanh(x float64) float64 {
	const MAXLOG = 8.8029691931113054295988e+01 // log(2**127)
	z := math.Abs(x)
	switch {
	case z > 0.5*MAXLOG:
		if x < 0 {
			return -1
		}
		return 1
	case z >= 0.625:
		s := Exp(2 * z)
		z = 1 - 2/(s+1)
		if x < 0 {
			z = -z
		}
	default:
		if x == 0 {
			return x
		}
		s := float64(x * x)
		num := horner(tanhP[:], s)
		den := float64(float64(float64(float64(s+tanhQ[0])*s)+tanhQ[1])*s) + tanhQ[2]
		z = x + float64(float64(float64(x*s)*num)/den)
	}
	return z
}

var tanhP = [...]float64{
	-9.64399179425052238628e-1,
	-9.92877231001918586564e1,
	-1.61468768441708447952e3,
}

var tanhQ = [...]float64{
	1.12811678491632931402e2,
	2.23548839060100448583e3,
	4.84406305325125486048e3,
}

// Pi/4 split into three parts (sin.go).
const (
	pi4A = 7.85398125648498535156e-1
	pi4B = 3.77489470793079817668e-8
	pi4C = 2.69515142907905952645e-15
)

// reduce returns the octant j (0..7, zeros mapped to the origin) and the
// reduced argument z of x ≥ 0.
func reduce(x float64) (uint64, float64) {
	if x >= reduceThreshold {
		return trigReduce(x)
	}
	j := uint64(x * (4 / math.Pi))
	y := float64(j)
	if j&1 == 1 {
		j++
		y++
	}
	j &= 7
	return j, ((x - float64(y*pi4A)) - float64(y*pi4B)) - float64(y*pi4C)
}

// horner evaluates c[0]·zⁿ⁻¹ + … + c[n−1] as ((c[0]·z + c[1])·z + …),
// rounding every product.
func horner(c []float64, z float64) float64 {
	p := c[0]
	for _, ci := range c[1:] {
		p = float64(p*z) + ci
	}
	return p
}

func sinPoly(z, zz float64) float64 {
	return z + float64(float64(z*zz)*horner(_sin[:], zz))
}

func cosPoly(zz float64) float64 {
	return 1.0 - float64(0.5*zz) + float64(float64(zz*zz)*horner(_cos[:], zz))
}

// Sin returns the sine of the radian argument x (math.Sin's special cases).
func Sin(x float64) float64 {
	switch {
	case x == 0 || math.IsNaN(x):
		return x
	case math.IsInf(x, 0):
		return math.NaN()
	}
	sign := false
	if x < 0 {
		x = -x
		sign = true
	}
	j, z := reduce(x)
	if j > 3 {
		sign = !sign
		j -= 4
	}
	zz := float64(z * z)
	var y float64
	if j == 1 || j == 2 {
		y = cosPoly(zz)
	} else {
		y = sinPoly(z, zz)
	}
	if sign {
		y = -y
	}
	return y
}

// Cos returns the cosine of the radian argument x (math.Cos's special
// cases).
func Cos(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return math.NaN()
	}
	sign := false
	x = math.Abs(x)
	j, z := reduce(x)
	if j > 3 {
		j -= 4
		sign = !sign
	}
	if j > 1 {
		sign = !sign
	}
	zz := float64(z * z)
	var y float64
	if j == 1 || j == 2 {
		y = sinPoly(z, zz)
	} else {
		y = cosPoly(zz)
	}
	if sign {
		y = -y
	}
	return y
}

var _sin = [...]float64{
	1.58962301576546568060e-10,
	-2.50507477628578072866e-8,
	2.75573136213857245213e-6,
	-1.98412698295895385996e-4,
	8.33333333332211858878e-3,
	-1.66666666666666307295e-1,
}

var _cos = [...]float64{
	-1.13585365213876817300e-11,
	2.08757008419747316778e-9,
	-2.75573141792967388112e-7,
	2.48015872888517045348e-5,
	-1.38888888888730564116e-3,
	4.16666666666665929218e-2,
}

// reduceThreshold is the largest x for which the three-part Pi/4
// reduction is accurate (trig_reduce.go).
const reduceThreshold = 1 << 29

// trigReduce is the Payne–Hanek reduction of math/trig_reduce.go: integer
// arithmetic, then one product.
func trigReduce(x float64) (j uint64, z float64) {
	const (
		PI4   = math.Pi / 4
		shift = 64 - 11 - 1
		mask  = 0x7FF
		bias  = 1023
	)
	if x < PI4 {
		return 0, x
	}
	ix := math.Float64bits(x)
	exp := int(ix>>shift&mask) - bias - shift
	ix &^= mask << shift
	ix |= 1 << shift
	digit, bitshift := uint(exp+61)/64, uint(exp+61)%64
	z0 := (mPi4[digit] << bitshift) | (mPi4[digit+1] >> (64 - bitshift))
	z1 := (mPi4[digit+1] << bitshift) | (mPi4[digit+2] >> (64 - bitshift))
	z2 := (mPi4[digit+2] << bitshift) | (mPi4[digit+3] >> (64 - bitshift))
	z2hi, _ := bits.Mul64(z2, ix)
	z1hi, z1lo := bits.Mul64(z1, ix)
	z0lo := z0 * ix
	lo, c := bits.Add64(z1lo, z2hi, 0)
	hi, _ := bits.Add64(z0lo, z1hi, c)
	j = hi >> 61
	hi = hi<<3 | lo>>61
	lz := uint(bits.LeadingZeros64(hi))
	e := uint64(bias - (lz + 1))
	hi = (hi << (lz + 1)) | (lo >> (64 - (lz + 1)))
	hi >>= 64 - shift
	hi |= e << shift
	z = math.Float64frombits(hi)
	if j&1 == 1 {
		j++
		j &= 7
		z--
	}
	return j, z * PI4
}

// mPi4 is the binary digits of 4/π as a uint64 array (trig_reduce.go).
var mPi4 = [...]uint64{
	0x0000000000000001,
	0x45f306dc9c882a53,
	0xf84eafa3ea69bb81,
	0xb6c52b3278872083,
	0xfca2c757bd778ac3,
	0x6e48dc74849ba5c0,
	0x0c925dd413a32439,
	0xfc3bd63962534e7d,
	0xd1046bea5d768909,
	0xd338e04d68befc82,
	0x7323ac7306a673e9,
	0x3908bf177bf25076,
	0x3ff12fffbc0b301f,
	0xde5e2316b414da3e,
	0xda6cfd9e4f96136e,
	0x9e8c7ecd3cbfd45a,
	0xea4f758fd7cbe2f6,
	0x7a0e73ef14a525d4,
	0xd7f6bf623f1aba10,
	0xac06608df8f6d757,
}

// Normal returns a standard normal variate drawn from r: the ziggurat of
// math/rand/v2's NormFloat64 (Marsaglia and Tsang), with the same tables
// and the same use of r, so it returns the same numbers as
// r.NormFloat64() wherever that is computed without fusion, but with Exp
// and Log from this package and its float32 acceptance test rounded
// explicitly.
func Normal(r *rand.Rand) float64 {
	for {
		u := r.Uint64()
		if x, ok := NormalFast(u); ok {
			return x
		}
		if x, ok := NormalSlow(u, r); ok {
			return x
		}
	}
}

// NormalFast is the first test of one round of Normal on the draw u (the
// next r.Uint64()): the variate and true when u lands inside the
// ziggurat's rectangles (about 97.2% of draws: 2.76% of 10⁷ are
// rejected), else false, and the round goes on with NormalSlow(u, r). It is small enough to inline, so a loop
// drawing many variates from a concrete source pays no call on that path.
func NormalFast(u uint64) (float64, bool) {
	j := int32(u) // possibly negative
	i := u >> 32 & 0x7F
	return float64(j) * float64(wn[i&0x7F]), absInt32(j) < kn[i&0x7F]
}

// NormalSlow finishes a round of Normal whose draw u NormalFast rejected,
// drawing from r as Normal does: the variate and true when the round
// accepts, else false and Normal starts a new round with the next
// r.Uint64(). It is NormalTail on pairs of r's next numbers until one
// accepts when NormalInTail(u), else NormalWedge on r's next number: a
// caller with a concrete source can run those itself and pay no interface
// call.
func NormalSlow(u uint64, r *rand.Rand) (float64, bool) {
	if NormalInTail(u) {
		for {
			if x, ok := NormalTail(u, r.Uint64(), r.Uint64()); ok {
				return x, true
			}
		}
	}
	return NormalWedge(u, r.Uint64())
}

// NormalInTail reports whether a draw u that NormalFast rejected lies in
// the ziggurat's base strip, where the round samples the tail beyond
// 3.4426… (NormalTail) instead of testing a wedge (NormalWedge).
func NormalInTail(u uint64) bool { return u>>32&0x7F == 0 }

// Float64 is rand.Rand's Float64 of the draw v: its top 53 bits over 2⁵³,
// in [0, 1).
func Float64(v uint64) float64 { return float64(v<<11>>11) / (1 << 53) }

// NormalTail is one try of the tail sampler of a round whose draw u lies
// in the base strip (NormalInTail), on the source's next two draws v1 and
// v2 (Marsaglia's method: x = −ln(U₁)/r, y = −ln(U₂), accepted when
// 2y ≥ x²): the variate, its sign from u, and true when accepted; else
// false, and the round tries again with the next two draws.
func NormalTail(u, v1, v2 uint64) (float64, bool) {
	const rn = 3.442619855899
	x := float64(-Log(Float64(v1)) * (1.0 / rn))
	y := -Log(Float64(v2))
	if y+y < float64(x*x) {
		return 0, false
	}
	if int32(u) > 0 {
		return rn + x, true
	}
	return -rn - x, true
}

// NormalWedge finishes a round whose draw u NormalFast rejected outside
// the base strip (not NormalInTail) with the source's next draw v: the
// variate and true when the point lies under the density, else false and
// a new round starts (also for a u in the base strip, which has no wedge).
func NormalWedge(u, v uint64) (float64, bool) {
	j := int32(u)
	i := u >> 32 & 0x7F
	if i == 0 {
		return 0, false
	}
	x := float64(j) * float64(wn[i])
	y := fn[i] + float32(float32(Float64(v))*(fn[i-1]-fn[i]))
	// The squeeze: within a cell of the strip the density's float32 value
	// is bracketed by wedgeTable's bounds, so most draws are decided
	// without Exp, with the answer of the full test below.
	a := absInt32(j)
	if c := uint64(a-kn[i]) * wedgeMul[i] >> 32; a >= kn[i] && c < wedgeCells {
		w := &wedgeTable[i][c]
		if w.lo <= a && a <= w.hi {
			if y > w.reject {
				return 0, false
			}
			if y < w.accept {
				return x, true
			}
		}
	}
	if y < float32(Exp(float64(-.5*x)*x)) {
		return x, true
	}
	return 0, false
}

// wedgeCells is the number of cells a strip's wedge is cut into for
// NormalWedge's squeeze.
const wedgeCells = 8

// wedgeCell brackets NormalWedge's test for the draws whose |int32(u)|
// lies in [lo, hi]: there float32(Exp(−x²/2)), computed as NormalWedge
// does, is at most reject and above accept, so y > reject rejects and
// y < accept accepts. Both bounds sit one float32 step outside the
// values at the cell's ends (Exp is monotone in x up to its error of
// under one float64 ulp, far below a float32 step), and a margin of one
// more step is kept by the strict comparisons.
type wedgeCell struct {
	lo, hi         uint32
	reject, accept float32
}

// wedgeTable holds the cells of strips 1 to 127 (strip 0 is the tail's),
// and wedgeMul[i] maps |int32(u)| − kn[i] to a cell index (an estimate:
// NormalWedge checks lo and hi and falls back to Exp outside).
var (
	wedgeTable [128][wedgeCells]wedgeCell
	wedgeMul   [128]uint64
)

func init() {
	for i := 1; i < 128; i++ {
		width := uint64(1<<31) - uint64(kn[i])
		wedgeMul[i] = (wedgeCells << 32) / (width + 1)
		f := func(a uint64) float32 {
			x := float64(a) * float64(wn[i])
			return float32(Exp(float64(-.5*x) * x))
		}
		for c := range uint64(wedgeCells) {
			lo := uint64(kn[i]) + width*c/wedgeCells
			hi := uint64(kn[i]) + width*(c+1)/wedgeCells
			wedgeTable[i][c] = wedgeCell{
				lo:     uint32(lo),
				hi:     uint32(hi),
				reject: math.Nextafter32(f(lo), float32(math.Inf(1))),
				accept: math.Nextafter32(f(hi), float32(math.Inf(-1))),
			}
		}
	}
}

func absInt32(i int32) uint32 {
	if i < 0 {
		return uint32(-i)
	}
	return uint32(i)
}

// kn, wn and fn are the ziggurat tables of math/rand/v2 (normal.go).
var kn = [128]uint32{
	0x76ad2212, 0x0, 0x600f1b53, 0x6ce447a6, 0x725b46a2,
	0x7560051d, 0x774921eb, 0x789a25bd, 0x799045c3, 0x7a4bce5d,
	0x7adf629f, 0x7b5682a6, 0x7bb8a8c6, 0x7c0ae722, 0x7c50cce7,
	0x7c8cec5b, 0x7cc12cd6, 0x7ceefed2, 0x7d177e0b, 0x7d3b8883,
	0x7d5bce6c, 0x7d78dd64, 0x7d932886, 0x7dab0e57, 0x7dc0dd30,
	0x7dd4d688, 0x7de73185, 0x7df81cea, 0x7e07c0a3, 0x7e163efa,
	0x7e23b587, 0x7e303dfd, 0x7e3beec2, 0x7e46db77, 0x7e51155d,
	0x7e5aabb3, 0x7e63abf7, 0x7e6c222c, 0x7e741906, 0x7e7b9a18,
	0x7e82adfa, 0x7e895c63, 0x7e8fac4b, 0x7e95a3fb, 0x7e9b4924,
	0x7ea0a0ef, 0x7ea5b00d, 0x7eaa7ac3, 0x7eaf04f3, 0x7eb3522a,
	0x7eb765a5, 0x7ebb4259, 0x7ebeeafd, 0x7ec2620a, 0x7ec5a9c4,
	0x7ec8c441, 0x7ecbb365, 0x7ece78ed, 0x7ed11671, 0x7ed38d62,
	0x7ed5df12, 0x7ed80cb4, 0x7eda175c, 0x7edc0005, 0x7eddc78e,
	0x7edf6ebf, 0x7ee0f647, 0x7ee25ebe, 0x7ee3a8a9, 0x7ee4d473,
	0x7ee5e276, 0x7ee6d2f5, 0x7ee7a620, 0x7ee85c10, 0x7ee8f4cd,
	0x7ee97047, 0x7ee9ce59, 0x7eea0eca, 0x7eea3147, 0x7eea3568,
	0x7eea1aab, 0x7ee9e071, 0x7ee98602, 0x7ee90a88, 0x7ee86d08,
	0x7ee7ac6a, 0x7ee6c769, 0x7ee5bc9c, 0x7ee48a67, 0x7ee32efc,
	0x7ee1a857, 0x7edff42f, 0x7ede0ffa, 0x7edbf8d9, 0x7ed9ab94,
	0x7ed7248d, 0x7ed45fae, 0x7ed1585c, 0x7ece095f, 0x7eca6ccb,
	0x7ec67be2, 0x7ec22eee, 0x7ebd7d1a, 0x7eb85c35, 0x7eb2c075,
	0x7eac9c20, 0x7ea5df27, 0x7e9e769f, 0x7e964c16, 0x7e8d44ba,
	0x7e834033, 0x7e781728, 0x7e6b9933, 0x7e5d8a1a, 0x7e4d9ded,
	0x7e3b737a, 0x7e268c2f, 0x7e0e3ff5, 0x7df1aa5d, 0x7dcf8c72,
	0x7da61a1e, 0x7d72a0fb, 0x7d30e097, 0x7cd9b4ab, 0x7c600f1a,
	0x7ba90bdc, 0x7a722176, 0x77d664e5,
}
var wn = [128]float32{
	1.7290405e-09, 1.2680929e-10, 1.6897518e-10, 1.9862688e-10,
	2.2232431e-10, 2.4244937e-10, 2.601613e-10, 2.7611988e-10,
	2.9073963e-10, 3.042997e-10, 3.1699796e-10, 3.289802e-10,
	3.4035738e-10, 3.5121603e-10, 3.616251e-10, 3.7164058e-10,
	3.8130857e-10, 3.9066758e-10, 3.9975012e-10, 4.08584e-10,
	4.1719309e-10, 4.2559822e-10, 4.338176e-10, 4.418672e-10,
	4.497613e-10, 4.5751258e-10, 4.651324e-10, 4.7263105e-10,
	4.8001775e-10, 4.87301e-10, 4.944885e-10, 5.015873e-10,
	5.0860405e-10, 5.155446e-10, 5.2241467e-10, 5.2921934e-10,
	5.359635e-10, 5.426517e-10, 5.4928817e-10, 5.5587696e-10,
	5.624219e-10, 5.6892646e-10, 5.753941e-10, 5.818282e-10,
	5.882317e-10, 5.946077e-10, 6.00959e-10, 6.072884e-10,
	6.135985e-10, 6.19892e-10, 6.2617134e-10, 6.3243905e-10,
	6.386974e-10, 6.449488e-10, 6.511956e-10, 6.5744005e-10,
	6.6368433e-10, 6.699307e-10, 6.7618144e-10, 6.824387e-10,
	6.8870465e-10, 6.949815e-10, 7.012715e-10, 7.075768e-10,
	7.1389966e-10, 7.202424e-10, 7.266073e-10, 7.329966e-10,
	7.394128e-10, 7.4585826e-10, 7.5233547e-10, 7.58847e-10,
	7.653954e-10, 7.719835e-10, 7.7861395e-10, 7.852897e-10,
	7.920138e-10, 7.987892e-10, 8.0561924e-10, 8.125073e-10,
	8.194569e-10, 8.2647167e-10, 8.3355556e-10, 8.407127e-10,
	8.479473e-10, 8.55264e-10, 8.6266755e-10, 8.7016316e-10,
	8.777562e-10, 8.8545243e-10, 8.932582e-10, 9.0117996e-10,
	9.09225e-10, 9.174008e-10, 9.2571584e-10, 9.341788e-10,
	9.427997e-10, 9.515889e-10, 9.605579e-10, 9.697193e-10,
	9.790869e-10, 9.88676e-10, 9.985036e-10, 1.0085882e-09,
	1.0189509e-09, 1.0296151e-09, 1.0406069e-09, 1.0519566e-09,
	1.063698e-09, 1.0758702e-09, 1.0885183e-09, 1.1016947e-09,
	1.1154611e-09, 1.1298902e-09, 1.1450696e-09, 1.1611052e-09,
	1.1781276e-09, 1.1962995e-09, 1.2158287e-09, 1.2369856e-09,
	1.2601323e-09, 1.2857697e-09, 1.3146202e-09, 1.347784e-09,
	1.3870636e-09, 1.4357403e-09, 1.5008659e-09, 1.6030948e-09,
}
var fn = [128]float32{
	1, 0.9635997, 0.9362827, 0.9130436, 0.89228165, 0.87324303,
	0.8555006, 0.8387836, 0.8229072, 0.8077383, 0.793177,
	0.7791461, 0.7655842, 0.7524416, 0.73967725, 0.7272569,
	0.7151515, 0.7033361, 0.69178915, 0.68049186, 0.6694277,
	0.658582, 0.6479418, 0.63749546, 0.6272325, 0.6171434,
	0.6072195, 0.5974532, 0.58783704, 0.5783647, 0.56903,
	0.5598274, 0.5507518, 0.54179835, 0.5329627, 0.52424055,
	0.5156282, 0.50712204, 0.49871865, 0.49041483, 0.48220766,
	0.4740943, 0.46607214, 0.4581387, 0.45029163, 0.44252872,
	0.43484783, 0.427247, 0.41972435, 0.41227803, 0.40490642,
	0.39760786, 0.3903808, 0.3832238, 0.37613547, 0.36911446,
	0.3621595, 0.35526937, 0.34844297, 0.34167916, 0.33497685,
	0.3283351, 0.3217529, 0.3152294, 0.30876362, 0.30235484,
	0.29600215, 0.28970486, 0.2834622, 0.2772735, 0.27113807,
	0.2650553, 0.25902456, 0.2530453, 0.24711695, 0.241239,
	0.23541094, 0.22963232, 0.2239027, 0.21822165, 0.21258877,
	0.20700371, 0.20146611, 0.19597565, 0.19053204, 0.18513499,
	0.17978427, 0.17447963, 0.1692209, 0.16400786, 0.15884037,
	0.15371831, 0.14864157, 0.14361008, 0.13862377, 0.13368265,
	0.12878671, 0.12393598, 0.119130544, 0.11437051, 0.10965602,
	0.104987256, 0.10036444, 0.095787846, 0.0912578, 0.08677467,
	0.0823389, 0.077950984, 0.073611505, 0.06932112, 0.06508058,
	0.06089077, 0.056752663, 0.0526674, 0.048636295, 0.044660863,
	0.040742867, 0.03688439, 0.033087887, 0.029356318,
	0.025693292, 0.022103304, 0.018592102, 0.015167298,
	0.011839478, 0.008624485, 0.005548995, 0.0026696292,
}

// NormalTable returns the ziggurat's strip tables packed for vector code:
// entry i holds kn[i] in its low 32 bits and math.Float32bits(wn[i]) in its
// high 32, so one 64-bit load gives both numbers NormalFast reads for a
// draw in strip i.
func NormalTable() [128]uint64 {
	var t [128]uint64
	for i := range t {
		t[i] = uint64(kn[i]) | uint64(math.Float32bits(wn[i]))<<32
	}
	return t
}
