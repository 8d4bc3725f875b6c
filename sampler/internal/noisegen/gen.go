// Command noisegen writes sampler's vector noise kernel, noise_amd64.s and
// its Go declaration noise_stubs_amd64.go, with avo
// (github.com/mmcloughlin/avo). It lives in its own module so that the
// heatbath module does not depend on avo. Regenerate from this directory with
//
//	go run gen.go -out ../../noise_amd64.s -stubs ../../noise_stubs_amd64.go -pkg sampler
//
// The kernel is fillLanesGo (sampler/noise.go) for eight lanes at once: per
// block it advances the eight xoshiro256++ states (one per ZMM lane), looks
// up the ziggurat's strip of each draw in one table (kn in the low and wn's
// bits in the high half of each entry), and stores float64(j)·float64(wn[i])
// where |j| < kn[i], else the draw's bits, with the block's rejection bits in
// one byte. The product is one rounded VMULPD, as in detmath.NormalFast, so
// the values are the same bits as the pure-Go loop's.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

func main() {
	ConstraintExpr("!purego")
	TEXT("fillLanesAVX512", NOSPLIT, "func(st *[4][8]uint64, buf *float64, blocks int, rej *uint8, tab *[128]uint64)")
	Doc("fillLanesAVX512 is fillLanesGo over blocks blocks of eight slots (AVX-512F and VL).")
	st := Load(Param("st"), GP64())
	buf := Load(Param("buf"), GP64())
	n := Load(Param("blocks"), GP64())
	rej := Load(Param("rej"), GP64())
	tab := Load(Param("tab"), GP64())

	s0, s1, s2, s3 := ZMM(), ZMM(), ZMM(), ZMM()
	VMOVDQU64(Mem{Base: st}, s0)
	VMOVDQU64(Mem{Base: st, Disp: 64}, s1)
	VMOVDQU64(Mem{Base: st, Disp: 128}, s2)
	VMOVDQU64(Mem{Base: st, Disp: 192}, s3)
	c7f := ZMM()
	t := GP64()
	MOVQ(U32(0x7f), t)
	VPBROADCASTQ(t, c7f)

	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	// r = rotl(s0+s3, 23) + s0, then the state's update (xoshiro.Uint64).
	r, sh := ZMM(), ZMM()
	VPADDQ(s3, s0, r)
	VPROLQ(U8(23), r, r)
	VPADDQ(s0, r, r)
	VPSLLQ(U8(17), s1, sh)
	VPXORQ(s0, s2, s2)
	VPXORQ(s1, s3, s3)
	VPXORQ(s2, s1, s1)
	VPXORQ(s3, s0, s0)
	VPXORQ(sh, s2, s2)
	VPROLQ(U8(45), s3, s3)

	// i = r>>32 & 0x7f; e = tab[i] (kn[i] | wn[i]<<32); j = int32(r).
	idx, e := ZMM(), ZMM()
	VPSRLQ(U8(32), r, idx)
	VPANDQ(c7f, idx, idx)
	kall := K()
	KXNORW(kall, kall, kall)
	VPXORQ(e, e, e)
	VPGATHERQQ(Mem{Base: tab, Index: idx, Scale: 8}, kall, e)
	j, kn, wbits, abs := YMM(), YMM(), YMM(), YMM()
	VPMOVQD(r, j)
	VPMOVQD(e, kn)
	VPSRLQ(U8(32), e, e)
	VPMOVQD(e, wbits)
	// accept where |j| < kn[i], unsigned (detmath.absInt32).
	VPABSD(j, abs)
	acc := K()
	VPCMPUD(U8(1), kn, abs, acc)
	// x = float64(j) · float64(wn[i]), one rounded product.
	x, w := ZMM(), ZMM()
	VCVTDQ2PD(j, x)
	VCVTPS2PD(wbits, w)
	VMULPD(w, x, x)
	// accepted slots get x, rejected ones keep the draw's bits.
	VPBLENDMQ(x, r, acc, x)
	VMOVUPD(x, Mem{Base: buf})
	rk := K()
	KNOTW(acc, rk)
	m := GP32()
	KMOVW(rk, m)
	MOVB(m.As8(), Mem{Base: rej})
	ADDQ(U8(64), buf)
	INCQ(rej)
	DECQ(n)
	JMP(LabelRef("loop"))

	Label("done")
	VMOVDQU64(s0, Mem{Base: st})
	VMOVDQU64(s1, Mem{Base: st, Disp: 64})
	VMOVDQU64(s2, Mem{Base: st, Disp: 128})
	VMOVDQU64(s3, Mem{Base: st, Disp: 192})
	VZEROUPPER()
	RET()
	Generate()
}
