// Command asmgen writes nn's vector kernels, gemm_amd64.s and its Go
// declarations gemm_stubs_amd64.go, with avo (github.com/mmcloughlin/avo).
// It lives in its own module so that the heatbath module does not depend on
// avo. Regenerate from this directory with
//
//	go run gen.go -out ../../gemm_amd64.s -stubs ../../gemm_stubs_amd64.go -pkg nn
//
// Each kernel accumulates an MR×(4·NV) block of C += A·B (see nn/gemm.go):
// for every s < k, in order, it broadcasts A(r, s) for the MR rows, loads
// 4·NV consecutive elements of row s of B, multiplies (VMULPD, rounded) and
// adds (VADDPD, rounded) into the accumulators. No FMA, no reassociation:
// each element of C is the same sequential chain as in the pure-Go kernel.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

const sig = "func(k int, a *float64, ars, acs int, b *float64, ldb int, c *float64, ldc int)"

// kernel generates gemm<mr>x<w·nv><isa>, with w = 4 doubles per YMM
// register (AVX) or 8 per ZMM register (AVX-512): strides ars, acs, ldb,
// ldc are in elements; k >= 1.
func kernel(mr, nv int, avx512 bool) {
	w, isa, vec := 4, "AVX", YMM
	if avx512 {
		w, isa, vec = 8, "AVX512", ZMM
	}
	name := fmt.Sprintf("gemm%dx%d%s", mr, w*nv, isa)
	TEXT(name, NOSPLIT, sig)
	Doc(fmt.Sprintf("%s accumulates a %d×%d block of C += A·B in order over s < k (%s, no FMA).", name, mr, w*nv, isa))
	k := Load(Param("k"), GP64())
	acs := Load(Param("acs"), GP64())
	SHLQ(U8(3), acs)
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(3), ldb)
	ars := Load(Param("ars"), GP64())
	SHLQ(U8(3), ars)
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(3), ldc)
	b := Load(Param("b"), GP64())

	// Row pointers of A and C.
	ap := make([]reg.Register, mr)
	cp := make([]reg.Register, mr)
	ap[0] = Load(Param("a"), GP64())
	cp[0] = Load(Param("c"), GP64())
	for r := 1; r < mr; r++ {
		ap[r] = GP64()
		LEAQ(Mem{Base: ap[r-1], Index: ars, Scale: 1}, ap[r])
		cp[r] = GP64()
		LEAQ(Mem{Base: cp[r-1], Index: ldc, Scale: 1}, cp[r])
	}

	acc := make([][]reg.VecVirtual, mr)
	for r := range acc {
		acc[r] = make([]reg.VecVirtual, nv)
		for v := range acc[r] {
			acc[r][v] = vec()
			VMOVUPD(Mem{Base: cp[r], Disp: 8 * w * v}, acc[r][v])
		}
	}
	bv := make([]reg.VecVirtual, nv)
	for v := range bv {
		bv[v] = vec()
	}
	t, p := vec(), vec()

	Label("loop")
	for v := range bv {
		VMOVUPD(Mem{Base: b, Disp: 8 * w * v}, bv[v])
	}
	for r := range mr {
		VBROADCASTSD(Mem{Base: ap[r]}, t)
		for v := range nv {
			VMULPD(bv[v], t, p)
			VADDPD(p, acc[r][v], acc[r][v])
		}
		ADDQ(acs, ap[r])
	}
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef("loop"))

	for r := range acc {
		for v := range acc[r] {
			VMOVUPD(acc[r][v], Mem{Base: cp[r], Disp: 8 * w * v})
		}
	}
	VZEROUPPER()
	RET()
}

const shlpSig = "func(x0, x1, z *float64, w, b, v *float64, pairs int, mask *float64, mstride int, consts *float64)"

// shlpKernel generates shlp<rows>[Mask]<isa>: the contributions of the
// first 2·pairs hidden units of the paper's network to the logits of
// rows = nv·(4 or 8) consecutive rows, in unit-pair order, exactly as
// nn.reluUnits2 (or reluUnits2Mask with mask) does for each row:
//
//	a0 = float64(w00·x0) + float64(w01·x1) + b0, a1 likewise,
//	z += float64(vh0·(a0+|a0|)) + float64(vh1·(a1+|a1|))       (no mask)
//	f = [a > 0] (1.0 or 0.0), z += float64(v0·(a0·f0)) + float64(v1·(a1·f1)) (mask)
//
// storing f0, f1 at mask[j·mstride + i], mask[(j+1)·mstride + i]. consts
// points to {abs mask bits, 1.0, 0.5}. The loop over rows is inside the
// loop over units in nn, outside here; each z[i] sees the same additions in
// the same order.
func shlpKernel(nv int, withMask, avx512 bool) {
	w, isa, vec := 4, "AVX", YMM
	if avx512 {
		w, isa, vec = 8, "AVX512", ZMM
	}
	suffix := ""
	if withMask {
		suffix = "Mask"
	}
	name := fmt.Sprintf("shlp%d%s%s", w*nv, suffix, isa)
	TEXT(name, NOSPLIT, shlpSig)
	Doc(fmt.Sprintf("%s adds the first 2·pairs hidden units to the logits of %d rows (%s, no FMA); see nn/shlp.go.", name, w*nv, isa))
	x0p := Load(Param("x0"), GP64())
	x1p := Load(Param("x1"), GP64())
	zp := Load(Param("z"), GP64())
	wp := Load(Param("w"), GP64())
	bp := Load(Param("b"), GP64())
	vp := Load(Param("v"), GP64())
	pairs := Load(Param("pairs"), GP64())
	cp := Load(Param("consts"), GP64())
	var mp, ms reg.Register
	if withMask {
		mp = Load(Param("mask"), GP64())
		ms = Load(Param("mstride"), GP64())
		SHLQ(U8(3), ms)
	}
	x0 := make([]reg.VecVirtual, nv)
	x1 := make([]reg.VecVirtual, nv)
	z := make([]reg.VecVirtual, nv)
	for r := range nv {
		x0[r], x1[r], z[r] = vec(), vec(), vec()
		VMOVUPD(Mem{Base: x0p, Disp: 8 * w * r}, x0[r])
		VMOVUPD(Mem{Base: x1p, Disp: 8 * w * r}, x1[r])
		VMOVUPD(Mem{Base: zp, Disp: 8 * w * r}, z[r])
	}
	abs, one, half := vec(), vec(), vec()
	VBROADCASTSD(Mem{Base: cp}, abs)
	VBROADCASTSD(Mem{Base: cp, Disp: 8}, one)
	VBROADCASTSD(Mem{Base: cp, Disp: 16}, half)
	zero := vec()
	if avx512 {
		VPXORQ(zero, zero, zero) // VXORPD on ZMM would need AVX512DQ
	} else {
		VXORPD(zero, zero, zero)
	}
	w00, w01, w10, w11 := vec(), vec(), vec(), vec()
	b0, b1, v0, v1 := vec(), vec(), vec(), vec()
	a0, a1, t0, t1 := vec(), vec(), vec(), vec()

	// unit computes the pre-activation a = float64(wa·x0) + float64(wb·x1) + bb into a (t scratch).
	unit := func(a, t, wa, wb, bb, xa, xb reg.VecVirtual) {
		VMULPD(xa, wa, a)
		VMULPD(xb, wb, t)
		VADDPD(t, a, a)
		VADDPD(bb, a, a)
	}
	// contrib replaces a by this unit's term (t scratch); for the mask
	// variant it also stores f at (mp)+disp (+ ms).
	contrib := func(a, t, vv reg.VecVirtual, second bool, r int) {
		if withMask {
			var mem Mem
			if second {
				mem = Mem{Base: mp, Index: ms, Scale: 1, Disp: 8 * w * r}
			} else {
				mem = Mem{Base: mp, Disp: 8 * w * r}
			}
			if avx512 {
				k := K()
				VCMPPD(U8(0x1e), zero, a, k) // k = a > 0 (ordered, quiet)
				VMOVAPD_Z(one, k, t)
			} else {
				VCMPPD(U8(0x1e), zero, a, t)
				VANDPD(one, t, t)
			}
			VMOVUPD(t, mem)
			VMULPD(t, a, a)  // a·f
			VMULPD(a, vv, a) // v·(a·f)
			return
		}
		if avx512 {
			VPANDQ(abs, a, t)
		} else {
			VANDPD(abs, a, t)
		}
		VADDPD(t, a, a)  // a + |a|
		VMULPD(a, vv, a) // vh·(a + |a|)
	}

	Label("pair")
	VBROADCASTSD(Mem{Base: wp}, w00)
	VBROADCASTSD(Mem{Base: wp, Disp: 8}, w01)
	VBROADCASTSD(Mem{Base: wp, Disp: 16}, w10)
	VBROADCASTSD(Mem{Base: wp, Disp: 24}, w11)
	VBROADCASTSD(Mem{Base: bp}, b0)
	VBROADCASTSD(Mem{Base: bp, Disp: 8}, b1)
	VBROADCASTSD(Mem{Base: vp}, v0)
	VBROADCASTSD(Mem{Base: vp, Disp: 8}, v1)
	if !withMask {
		VMULPD(half, v0, v0) // vh = 0.5·v, exact
		VMULPD(half, v1, v1)
	}
	for r := range nv {
		unit(a0, t0, w00, w01, b0, x0[r], x1[r])
		unit(a1, t1, w10, w11, b1, x0[r], x1[r])
		contrib(a0, t0, v0, false, r)
		contrib(a1, t1, v1, true, r)
		VADDPD(a1, a0, a0)
		VADDPD(a0, z[r], z[r])
	}
	ADDQ(U8(32), wp)
	ADDQ(U8(16), bp)
	ADDQ(U8(16), vp)
	if withMask {
		LEAQ(Mem{Base: mp, Index: ms, Scale: 2}, mp)
	}
	DECQ(pairs)
	JNZ(LabelRef("pair"))

	for r := range nv {
		VMOVUPD(z[r], Mem{Base: zp, Disp: 8 * w * r})
	}
	VZEROUPPER()
	RET()
}

const shlpBackSig = "func(n int, x0, x1, dz, dx0, dx1 *float64, w0, w1, b *float64, s0, s1, sb *float64)"

// shlpBackKernel generates shlpBack<units><isa>: for units = nv·(4 or 8)
// consecutive hidden units it recomputes each row's pre-activation
// a = float64(w0·x0) + float64(w1·x1) + b and mask m = [a > 0] (the same
// bits as the forward pass) and accumulates, over the rows i < n in order,
//
//	s0 += float64(dx0[i]·m),  s1 += float64(dx1[i]·m),  sb += float64(dz[i]·m),
//
// one chain per unit and sum, exactly as nn.maskedSums2 does for one unit:
// vectorised across units, not rows. w0, w1 are the units' first and
// second input weights (de-interleaved), b their biases.
func shlpBackKernel(nv int, avx512 bool) {
	w, isa, vec := 4, "AVX", YMM
	if avx512 {
		w, isa, vec = 8, "AVX512", ZMM
	}
	name := fmt.Sprintf("shlpBack%d%s", w*nv, isa)
	TEXT(name, NOSPLIT, shlpBackSig)
	Doc(fmt.Sprintf("%s accumulates the masked sums of %d hidden units over n rows in order (%s, no FMA); see nn/shlp.go.", name, w*nv, isa))
	n := Load(Param("n"), GP64())
	x0p := Load(Param("x0"), GP64())
	x1p := Load(Param("x1"), GP64())
	dzp := Load(Param("dz"), GP64())
	dx0p := Load(Param("dx0"), GP64())
	dx1p := Load(Param("dx1"), GP64())
	w0 := make([]reg.VecVirtual, nv)
	w1 := make([]reg.VecVirtual, nv)
	bb := make([]reg.VecVirtual, nv)
	s0 := make([]reg.VecVirtual, nv)
	s1 := make([]reg.VecVirtual, nv)
	sb := make([]reg.VecVirtual, nv)
	for _, p := range []struct {
		name string
		v    []reg.VecVirtual
	}{{"w0", w0}, {"w1", w1}, {"b", bb}} {
		ptr := Load(Param(p.name), GP64())
		for r := range nv {
			p.v[r] = vec()
			VMOVUPD(Mem{Base: ptr, Disp: 8 * w * r}, p.v[r])
		}
	}
	zero := vec()
	if avx512 {
		VPXORQ(zero, zero, zero)
	} else {
		VXORPD(zero, zero, zero)
	}
	for r := range nv {
		s0[r], s1[r], sb[r] = vec(), vec(), vec()
		VMOVUPD(zero, s0[r])
		VMOVUPD(zero, s1[r])
		VMOVUPD(zero, sb[r])
	}
	one := vec()
	VBROADCASTSD(oneConst, one)
	bx0, bx1, e0, e1, ez := vec(), vec(), vec(), vec(), vec()
	a, t := vec(), vec()

	Label("row")
	VBROADCASTSD(Mem{Base: x0p}, bx0)
	VBROADCASTSD(Mem{Base: x1p}, bx1)
	VBROADCASTSD(Mem{Base: dx0p}, e0)
	VBROADCASTSD(Mem{Base: dx1p}, e1)
	VBROADCASTSD(Mem{Base: dzp}, ez)
	for r := range nv {
		VMULPD(bx0, w0[r], a)
		VMULPD(bx1, w1[r], t)
		VADDPD(t, a, a)
		VADDPD(bb[r], a, a)
		if avx512 {
			k := K()
			VCMPPD(U8(0x1e), zero, a, k)
			VMOVAPD_Z(one, k, a) // a = m
		} else {
			VCMPPD(U8(0x1e), zero, a, a)
			VANDPD(one, a, a) // a = m
		}
		VMULPD(a, e0, t)
		VADDPD(t, s0[r], s0[r])
		VMULPD(a, e1, t)
		VADDPD(t, s1[r], s1[r])
		VMULPD(a, ez, t)
		VADDPD(t, sb[r], sb[r])
	}
	for _, p := range []reg.Register{x0p, x1p, dzp, dx0p, dx1p} {
		ADDQ(U8(8), p)
	}
	DECQ(n)
	JNZ(LabelRef("row"))

	for _, p := range []struct {
		name string
		v    []reg.VecVirtual
	}{{"s0", s0}, {"s1", s1}, {"sb", sb}} {
		ptr := Load(Param(p.name), GP64())
		for r := range nv {
			VMOVUPD(p.v[r], Mem{Base: ptr, Disp: 8 * w * r})
		}
	}
	VZEROUPPER()
	RET()
}

// oneConst is the float64 1.0 in the read-only data section.
var oneConst Mem

func main() {
	ConstraintExpr("!purego")
	oneConst = GLOBL("one", RODATA|NOPTR)
	DATA(0, U64(0x3FF0000000000000))
	for _, mr := range []int{4, 1} {
		for _, nv := range []int{2, 1} {
			kernel(mr, nv, false)
		}
		for _, nv := range []int{3, 2, 1} {
			kernel(mr, nv, true)
		}
	}
	for _, withMask := range []bool{false, true} {
		shlpKernel(4, withMask, true)
		shlpKernel(1, withMask, true)
		shlpKernel(1, withMask, false)
	}
	shlpBackKernel(3, true)
	shlpBackKernel(1, true)
	shlpBackKernel(1, false)
	expLog1pConsts()
	expLog1pKernel()
	expLog1pKernelAVX2()
	Generate()
}

// The constants of the expLog1p kernels: their index in expLog1pTable.
const (
	cLog2e     = 0
	cRound     = 1 // 1.5·2⁵²
	cLn2U      = 2
	cLn2L      = 3
	cSixteenth = 4
	cExpP      = 5 // 8 coefficients of exp's polynomial, highest first
	cTwo       = 13
	cOne       = 14
	cExpMin    = 15 // −708: below, e may be subnormal
	cSmall     = 16 // 2⁻²⁹
	cTiny      = 17 // 2⁻⁵⁴
	cSqrt2M1   = 18
	cHalf      = 19
	cLogP      = 20 // 7 coefficients of log1p's, highest first
	cLn2Hi     = 27
	cLn2Lo     = 28
	cAbs       = 29 // 0x7fff…: |·|
	cSign      = 30 // 0x8000…
	cRoundBits = 31 // the bits of 1.5·2⁵²
	cBias      = 32 // 1023 as an integer
	cMant      = 33 // 0x000fffffffffffff
	cSqrt2Mant = 34 // 0x0006a09e667f3bcd
	cExpOne    = 35 // 0x3ff0000000000000
	cExpHalf   = 36 // 0x3fe0000000000000
	cUnit      = 37 // 0x0010000000000000
	cTwo52Bits = 38 // 0x4330000000000000, the bits of 2⁵²
	nConsts    = 39
)

// expLog1pTable holds the constants of the expLog1p kernels, emitted into
// the assembly as read-only data: detmath.Exp's and detmath.Log1p's
// (nn's TestExpLog1pKernelAgrees compares the kernels with them bit for
// bit), then bit masks.
var expLog1pTable = [nConsts]uint64{
	cLog2e:     math.Float64bits(1.4426950408889634073599246810018920),
	cRound:     math.Float64bits(0x1.8p52),
	cLn2U:      math.Float64bits(0.69314718055966295651160180568695068359375),
	cLn2L:      math.Float64bits(0.28235290563031577122588448175013436025525412068e-12),
	cSixteenth: math.Float64bits(0.0625),
	cExpP:      math.Float64bits(2.4801587301587301587e-5),
	cExpP + 1:  math.Float64bits(1.9841269841269841270e-4),
	cExpP + 2:  math.Float64bits(1.3888888888888888889e-3),
	cExpP + 3:  math.Float64bits(8.3333333333333333333e-3),
	cExpP + 4:  math.Float64bits(4.1666666666666666667e-2),
	cExpP + 5:  math.Float64bits(1.6666666666666666667e-1),
	cExpP + 6:  math.Float64bits(0.5),
	cExpP + 7:  math.Float64bits(1.0),
	cTwo:       math.Float64bits(2),
	cOne:       math.Float64bits(1),
	cExpMin:    math.Float64bits(-708),
	cSmall:     math.Float64bits(1.0 / (1 << 29)),
	cTiny:      math.Float64bits(1.0 / (1 << 54)),
	cSqrt2M1:   math.Float64bits(4.142135623730950488017e-01),
	cHalf:      math.Float64bits(0.5),
	cLogP:      math.Float64bits(1.479819860511658591e-01),
	cLogP + 1:  math.Float64bits(1.531383769920937332e-01),
	cLogP + 2:  math.Float64bits(1.818357216161805012e-01),
	cLogP + 3:  math.Float64bits(2.222219843214978396e-01),
	cLogP + 4:  math.Float64bits(2.857142874366239149e-01),
	cLogP + 5:  math.Float64bits(3.999999999940941908e-01),
	cLogP + 6:  math.Float64bits(6.666666666666735130e-01),
	cLn2Hi:     math.Float64bits(6.93147180369123816490e-01),
	cLn2Lo:     math.Float64bits(1.90821492927058770002e-10),
	cAbs:       1<<63 - 1,
	cSign:      1 << 63,
	cRoundBits: 0x4338000000000000,
	cBias:      1023,
	cMant:      0x000fffffffffffff,
	cSqrt2Mant: 0x0006a09e667f3bcd,
	cExpOne:    0x3ff0000000000000,
	cExpHalf:   0x3fe0000000000000,
	cUnit:      0x0010000000000000,
	cTwo52Bits: 0x4330000000000000,
}

// expLog1pData is expLog1pTable in the assembly (expLog1pConsts).
var expLog1pData Mem

// expLog1pConsts emits expLog1pTable as read-only data.
func expLog1pConsts() {
	expLog1pData = GLOBL("explog1p", RODATA|NOPTR)
	for i, v := range expLog1pTable {
		DATA(8*i, U64(v))
	}
}

// broadcaster returns a function that broadcasts constant i of
// expLog1pTable into a new register made by vec.
func broadcaster(vec func() reg.VecVirtual) func(int) reg.VecVirtual {
	return func(i int) reg.VecVirtual {
		v := vec()
		VPBROADCASTQ(expLog1pData.Offset(8*i), v)
		return v
	}
}

// expLog1pKernel generates expLog1pAVX512: for eight z at a time,
// e = detmath.Exp(−|z|) and l = detmath.Log1p(e), each lane the sequence
// of detmath's operations on the branch its input takes (the products
// detmath fuses with math.FMA fused here, VFMADD/VFNMADD; every other
// product and sum rounded; the division a VDIVPD), so the bits are
// detmath's. The lanes detmath treats apart are flagged, bit i of one byte
// per block for lane i, for the caller to redo in Go: z NaN or |z| > 708
// (e may be subnormal or 0), and e whose log1p takes the branch of an exact
// power of two (e = 1, i.e. z = 0).
func expLog1pKernel() {
	TEXT("expLog1pAVX512", NOSPLIT, "func(z, e, l *float64, blocks int, flags *uint8)")
	Pragma("noescape")
	Doc("expLog1pAVX512 is expLog1pGo on blocks·8 elements, the lanes it flags excepted (AVX-512F).")
	zp := Load(Param("z"), GP64())
	ep := Load(Param("e"), GP64())
	lp := Load(Param("l"), GP64())
	n := Load(Param("blocks"), GP64())
	fp := Load(Param("flags"), GP64())
	c := broadcaster(ZMM)
	zero := ZMM()
	VPXORQ(zero, zero, zero)

	Label("el_loop")
	TESTQ(n, n)
	JZ(LabelRef("el_done"))

	// e = Exp(x), x = −|z| (detmath.Exp; no special case below −708).
	x := ZMM()
	VMOVUPD(Mem{Base: zp}, x)
	VPANDQ(c(cAbs), x, x)
	VPXORQ(c(cSign), x, x)
	bad := K()
	VCMPPD(U8(9), c(cExpMin), x, bad) // NGE_US: x < −708 or NaN
	e := expBody(x, c, ZMM)
	VMOVUPD(e, Mem{Base: ep})
	t := ZMM()
	one := c(cOne)

	// l = Log1p(e) (detmath.Log1p for e in (0, 1]).
	small, tiny, big := K(), K(), K()
	VCMPPD(U8(1), c(cSmall), e, small)  // LT_OS
	VCMPPD(U8(1), c(cTiny), e, tiny)    // LT_OS
	VCMPPD(U8(13), c(cSqrt2M1), e, big) // GE_OS
	sr := ZMM()                         // e < 2⁻²⁹: e − e·e·0.5, or e below 2⁻⁵⁴
	VMULPD(e, e, sr)
	VMULPD(c(cHalf), sr, sr)
	VSUBPD(sr, e, sr)
	VPBLENDMQ(e, sr, tiny, sr)
	// e ≥ √2 − 1: u = 1 + e and the exponent k of u, c, the reduced u.
	u, iu, k, cc, t2 := ZMM(), ZMM(), ZMM(), ZMM(), ZMM()
	VADDPD(one, e, u)
	VPSRLQ(U8(52), u, k)
	VPSUBQ(c(cBias), k, k)
	kpos := K()
	VPCMPQ(U8(6), zero, k, kpos) // NLE: k > 0
	VSUBPD(e, u, t)              // k > 0: c = 1 − (u − e)
	VSUBPD(t, one, cc)
	VSUBPD(one, u, t) // else: c = e − (u − 1)
	VSUBPD(t, e, t2)
	VPBLENDMQ(cc, t2, kpos, cc)
	VDIVPD(u, cc, cc) // c /= u
	VPANDQ(c(cMant), u, iu)
	low := K()
	VPCMPUQ(U8(1), c(cSqrt2Mant), iu, low) // LT: iu < 0x6a09e667f3bcd
	ua, ub := ZMM(), ZMM()
	VPORQ(c(cExpOne), iu, ua)
	VPORQ(c(cExpHalf), iu, ub)
	VPBLENDMQ(ua, ub, low, u)
	VPTERNLOGQ(U8(0xff), t, t, t) // k+1 where not low: k − (−1)
	VPSUBQ(t, k, t)
	VPBLENDMQ(k, t, low, k)
	VPSUBQ(iu, c(cUnit), t) // iu = (2⁵² − iu) >> 2 where not low
	VPSRLQ(U8(2), t, t)
	VPBLENDMQ(iu, t, low, iu)
	f := ZMM()
	VSUBPD(one, u, f)
	// e < √2 − 1: f = e, k = 0, c = 0, iu = 1 (never 0).
	VPBLENDMQ(f, e, big, f)
	VPBLENDMQ(k, zero, big, k)
	VPBLENDMQ(cc, zero, big, cc)
	iuz := K()
	VPCMPQ(U8(0), zero, iu, iuz) // iu == 0, on the big branch only
	KANDW(big, iuz, iuz)
	KORW(iuz, bad, bad)
	r0, r1 := log1pBody(f, k, cc, c, ZMM)
	kz := K()
	VPCMPQ(U8(0), zero, k, kz)
	res := ZMM()
	VPBLENDMQ(r0, r1, kz, res)
	VPBLENDMQ(sr, res, small, res)
	VMOVUPD(res, Mem{Base: lp})
	m := GP32()
	KMOVW(bad, m)
	MOVB(m.As8(), Mem{Base: fp})

	ADDQ(U8(64), zp)
	ADDQ(U8(64), ep)
	ADDQ(U8(64), lp)
	INCQ(fp)
	DECQ(n)
	JMP(LabelRef("el_loop"))
	Label("el_done")
	VZEROUPPER()
	RET()
}

// expLog1pKernelAVX2 generates expLog1pAVX2, expLog1pAVX512's computation
// for CPUs with AVX2 and FMA: each block of eight as two halves of four
// (YMM), the masks as vectors (VCMPPD, VPCMPGTQ: the integers compared are
// below 2⁵³, so signed compares decide as the unsigned ones), blends with
// VBLENDVPD, the flags from VMOVMSKPD. Sixteen YMM registers do not hold
// everything at once, so e is read back from memory where Log1p needs it
// again, and the flags go to a general register as soon as they are known.
func expLog1pKernelAVX2() {
	TEXT("expLog1pAVX2", NOSPLIT, "func(z, e, l *float64, blocks int, flags *uint8)")
	Pragma("noescape")
	Doc("expLog1pAVX2 is expLog1pGo on blocks·8 elements, the lanes it flags excepted (AVX2 and FMA).")
	zp := Load(Param("z"), GP64())
	ep := Load(Param("e"), GP64())
	lp := Load(Param("l"), GP64())
	n := Load(Param("blocks"), GP64())
	fp := Load(Param("flags"), GP64())
	c := broadcaster(YMM)
	Label("el2_loop")
	TESTQ(n, n)
	JZ(LabelRef("el2_done"))
	flags := GP32()
	XORL(flags, flags)
	for h := range 2 {
		d := 32 * h
		// e = Exp(x), x = −|z|
		x := YMM()
		VMOVUPD(Mem{Base: zp, Disp: d}, x)
		VPAND(c(cAbs), x, x)
		VPXOR(c(cSign), x, x)
		bad := YMM()
		VCMPPD(U8(9), c(cExpMin), x, bad) // NGE_US: x < −708 or NaN
		fb := GP32()
		VMOVMSKPD(bad, fb)
		e := expBody(x, c, YMM)
		VMOVUPD(e, Mem{Base: ep, Disp: d})
		t := YMM()

		// Log1p(e): the branch e ≥ √2 − 1 (big).
		one := c(cOne)
		big, u, k, cc, t2 := YMM(), YMM(), YMM(), YMM(), YMM()
		VCMPPD(U8(13), c(cSqrt2M1), e, big) // GE_OS
		VADDPD(one, e, u)
		VPSRLQ(U8(52), u, k)
		VPSUBQ(c(cBias), k, k)
		zero := YMM()
		VPXOR(zero, zero, zero)
		kpos := YMM()
		VPCMPGTQ(zero, k, kpos) // k > 0
		VSUBPD(e, u, t)         // c = 1 − (u − e) where k > 0
		VSUBPD(t, one, cc)
		VSUBPD(one, u, t) // else c = e − (u − 1)
		VSUBPD(t, e, t2)
		VBLENDVPD(kpos, cc, t2, cc)
		VDIVPD(u, cc, cc)
		iu := YMM()
		VPAND(c(cMant), u, iu)
		low := YMM()
		VPCMPGTQ(iu, c(cSqrt2Mant), low) // iu < 0x6a09e667f3bcd
		ua := YMM()
		VPOR(c(cExpOne), iu, ua)
		VPOR(c(cExpHalf), iu, u)
		VBLENDVPD(low, ua, u, u)
		VPCMPEQQ(t, t, t) // k+1 where not low: k − (−1)
		VPSUBQ(t, k, t)
		VBLENDVPD(low, k, t, k)
		VPSUBQ(iu, c(cUnit), t) // iu = (2⁵² − iu) >> 2 where not low
		VPSRLQ(U8(2), t, t)
		VBLENDVPD(low, iu, t, iu)
		f := YMM()
		VSUBPD(one, u, f)
		// e < √2 − 1: f = e, k = 0, c = 0, iu = 1.
		VBLENDVPD(big, f, e, f)
		VBLENDVPD(big, k, zero, k)
		VBLENDVPD(big, cc, zero, cc)
		VPCMPEQQ(zero, iu, t) // iu == 0 on the big branch: flagged
		VPAND(big, t, t)
		fb2 := GP32()
		VMOVMSKPD(t, fb2)
		ORL(fb2, fb)
		if h == 1 {
			SHLL(U8(4), fb)
		}
		ORL(fb, flags)
		kz := YMM()
		VPCMPEQQ(zero, k, kz)
		r0, r1 := log1pBody(f, k, cc, c, YMM)
		VBLENDVPD(kz, r0, r1, r0)
		// e < 2⁻²⁹: e − e·e·0.5, or e itself below 2⁻⁵⁴ (e read back).
		ev, sr, m := YMM(), YMM(), YMM()
		VMOVUPD(Mem{Base: ep, Disp: d}, ev)
		VMULPD(ev, ev, sr)
		VMULPD(c(cHalf), sr, sr)
		VSUBPD(sr, ev, sr)
		VCMPPD(U8(1), c(cTiny), ev, m)
		VBLENDVPD(m, ev, sr, sr)
		VCMPPD(U8(1), c(cSmall), ev, m)
		VBLENDVPD(m, sr, r0, r0)
		VMOVUPD(r0, Mem{Base: lp, Disp: d})
	}
	MOVB(flags.As8(), Mem{Base: fp})
	ADDQ(U8(64), zp)
	ADDQ(U8(64), ep)
	ADDQ(U8(64), lp)
	INCQ(fp)
	DECQ(n)
	JMP(LabelRef("el2_loop"))
	Label("el2_done")
	VZEROUPPER()
	RET()
}

// expBody returns e = detmath.Exp(x) for the lanes of x (ZMM or YMM, as
// vec makes; c broadcasts constant i of expLog1pTable), the lanes below
// −708 and NaN excepted: t = x·log2e; kf = (t + 1.5·2⁵²) − 1.5·2⁵² and k
// its integer (from the bits); r = FMA(−kf, ln2U, x), FMA(−kf, ln2L, r),
// r/16; p the Taylor polynomial by fused Horner steps; r·p, three times
// r·(r + 2), FMA(r, r + 2, 1); times 2^k from its bits (k + 1023) << 52.
func expBody(x reg.VecVirtual, c func(int) reg.VecVirtual, vec func() reg.VecVirtual) reg.VecVirtual {
	t, y, kf, ki, r := vec(), vec(), vec(), vec(), vec()
	VMULPD(c(cLog2e), x, t)
	round := c(cRound)
	VADDPD(round, t, y)
	VSUBPD(round, y, kf)
	VPSUBQ(c(cRoundBits), y, ki)
	VMOVAPD(x, r)
	VFNMADD231PD(c(cLn2U), kf, r)
	VFNMADD231PD(c(cLn2L), kf, r)
	VMULPD(c(cSixteenth), r, r)
	p := c(cExpP)
	for i := 1; i < 8; i++ {
		VFMADD213PD(c(cExpP+i), r, p) // p = p·r + cᵢ, fused
	}
	VMULPD(p, r, r)
	for range 3 {
		VADDPD(c(cTwo), r, t) // r = r·(r + 2)
		VMULPD(t, r, r)
	}
	VADDPD(c(cTwo), r, t) // r = FMA(r, r + 2, 1)
	VFMADD213PD(c(cOne), t, r)
	VPADDQ(c(cBias), ki, ki)
	VPSLLQ(U8(52), ki, ki)
	e := vec()
	VMULPD(ki, r, e)
	return e
}

// log1pBody returns detmath.Log1p's two results from the reduced f, the
// integer k ≥ 0 and the correction c (cc): r0 = f − (hfsq − a) for k = 0
// and r1 = kf·Ln2Hi − ((hfsq − (a + (kf·Ln2Lo + c))) − f) otherwise, with
// hfsq = 0.5·f·f, kf = float64(k) (from the bits of 2⁵² + k),
// s = f/(2 + f), z = s·s, R = z·horner(z) and a = s·(hfsq + R), each step
// rounded.
func log1pBody(f, k, cc reg.VecVirtual, c func(int) reg.VecVirtual, vec func() reg.VecVirtual) (r0, r1 reg.VecVirtual) {
	hfsq, kf, t := vec(), vec(), vec()
	VMULPD(c(cHalf), f, hfsq)
	VMULPD(f, hfsq, hfsq)
	two52 := c(cTwo52Bits)
	VPADDQ(two52, k, kf)
	VSUBPD(two52, kf, kf)
	sv, zz := vec(), vec()
	VADDPD(c(cTwo), f, t)
	VDIVPD(t, f, sv)
	VMULPD(sv, sv, zz)
	rr := c(cLogP)
	for i := 1; i < 7; i++ {
		VMULPD(zz, rr, rr)
		VADDPD(c(cLogP+i), rr, rr)
	}
	VMULPD(rr, zz, rr)
	a := vec()
	VADDPD(rr, hfsq, a)
	VMULPD(a, sv, a)
	r0, r1 = vec(), vec()
	VSUBPD(a, hfsq, r0)
	VSUBPD(r0, f, r0)
	VMULPD(c(cLn2Lo), kf, r1)
	VADDPD(cc, r1, r1)
	VADDPD(r1, a, r1)
	VSUBPD(r1, hfsq, r1)
	VSUBPD(f, r1, r1)
	VMULPD(c(cLn2Hi), kf, t)
	VSUBPD(r1, t, r1)
	return r0, r1
}
