// Command asmgen writes sampler's vector kernels, kernels_amd64.s and their
// Go declarations kernels_stubs_amd64.go, with avo
// (github.com/mmcloughlin/avo). It lives in its own module so that the
// heatbath module does not depend on avo. Regenerate from this directory with
//
//	go run gen.go -out ../../kernels_amd64.s -stubs ../../kernels_stubs_amd64.go -pkg sampler
//
// fillLanesAVX512 is fillLanesGo (sampler/noise.go) for eight lanes at once:
// per block it advances the eight xoshiro256++ states (one per ZMM lane),
// looks up the ziggurat's strip of each draw in one table (kn in the low and
// wn's bits in the high half of each entry), and stores
// float64(j)·float64(wn[i]) where |j| < kn[i], else the draw's bits, with the
// block's rejection bits in one byte. langevinAVX512 and kickAVX512 are
// langevinGo and kickGo (sampler/update.go). Every product is one rounded
// VMULPD and every sum one rounded VADDPD or VSUBPD with the operands of the
// Go expression (no FMA), and langevinAVX512 keeps Σq² in the same 32
// partial sums (element j into sum j mod 32), so each kernel gives the bits
// of its Go loop.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	fillLanes()
	langevin()
	kick()
	Generate()
}

func fillLanes() {
	TEXT("fillLanesAVX512", NOSPLIT, "func(st *[4][8]uint64, buf *float64, blocks int, rej *uint8, tab *[128]uint64)")
	Pragma("noescape")
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
}

// finite ORs finiteBits of the eight values of x into bad (sampler's
// finiteBits: the exponent field plus one unit of it), t scratch.
func finite(x, expMask, expOne, bad, t reg.VecVirtual) {
	VPANDQ(expMask, x, t)
	VPADDQ(expOne, t, t)
	VPORQ(t, bad, bad)
}

// tailMask sets k to the lanes of the next eight elements below n
// (BZHI: 0xff with the bits from n up cleared).
func tailMask(n reg.Register, k reg.OpmaskVirtual) {
	m, ones := GP64(), GP64()
	MOVQ(U32(0xff), ones)
	BZHIQ(n, ones, m)
	KMOVW(m.As32(), k)
}

func langevin() {
	TEXT("langevinAVX512", NOSPLIT, "func(th, p, r *float64, n int, c *[5]uint64, acc *[32]float64, bad *[8]uint64)")
	Pragma("noescape")
	Doc("langevinAVX512 is langevinGo on n elements (AVX-512F); c holds the bits of h/2, cc, d, the exponent mask and its unit.")
	th := Load(Param("th"), GP64())
	p := Load(Param("p"), GP64())
	r := Load(Param("r"), GP64())
	n := Load(Param("n"), GP64())
	cp := Load(Param("c"), GP64())
	accp := Load(Param("acc"), GP64())
	badp := Load(Param("bad"), GP64())
	h2, cc, d, em, eo := ZMM(), ZMM(), ZMM(), ZMM(), ZMM()
	VBROADCASTSD(Mem{Base: cp}, h2)
	VBROADCASTSD(Mem{Base: cp, Disp: 8}, cc)
	VBROADCASTSD(Mem{Base: cp, Disp: 16}, d)
	VPBROADCASTQ(Mem{Base: cp, Disp: 24}, em)
	VPBROADCASTQ(Mem{Base: cp, Disp: 32}, eo)
	acc := make([]reg.VecVirtual, 4)
	for k := range acc {
		acc[k] = ZMM()
		VMOVUPD(Mem{Base: accp, Disp: 64 * k}, acc[k])
	}
	bad := ZMM()
	VPXORQ(bad, bad, bad)

	// block computes eight elements at offset 64·k into acc[k]; with a
	// mask, the loads zero the lanes past n and the stores skip them.
	block := func(k int, mask reg.OpmaskVirtual) {
		P, T, R, X, Q, t := ZMM(), ZMM(), ZMM(), ZMM(), ZMM(), ZMM()
		load := func(base reg.Register, v reg.VecVirtual) {
			if mask == nil {
				VMOVUPD(Mem{Base: base, Disp: 64 * k}, v)
			} else {
				VMOVUPD_Z(Mem{Base: base, Disp: 64 * k}, mask, v)
			}
		}
		store := func(v reg.VecVirtual, base reg.Register) {
			if mask == nil {
				VMOVUPD(v, Mem{Base: base, Disp: 64 * k})
			} else {
				VMOVUPD(v, mask, Mem{Base: base, Disp: 64 * k})
			}
		}
		load(p, P)
		load(th, T)
		load(r, R)
		// x = th + (h/2)·p
		VMULPD(P, h2, t)
		VADDPD(t, T, X)
		// q = cc·p + d·r
		VMULPD(P, cc, Q)
		VMULPD(R, d, t)
		VADDPD(t, Q, Q)
		store(Q, p)
		// x += (h/2)·q
		VMULPD(Q, h2, t)
		VADDPD(t, X, X)
		store(X, th)
		// acc += q·q
		VMULPD(Q, Q, t)
		VADDPD(t, acc[k], acc[k])
		finite(X, em, eo, bad, t)
	}

	Label("lloop")
	CMPQ(n, U8(32))
	JL(LabelRef("ltail"))
	for k := range 4 {
		block(k, nil)
	}
	ADDQ(U32(256), th)
	ADDQ(U32(256), p)
	ADDQ(U32(256), r)
	SUBQ(U8(32), n)
	JMP(LabelRef("lloop"))

	Label("ltail")
	for k := range 4 {
		TESTQ(n, n)
		JLE(LabelRef("ldone"))
		mask := K()
		tailMask(n, mask)
		block(k, mask)
		SUBQ(U8(8), n)
	}

	Label("ldone")
	for k := range acc {
		VMOVUPD(acc[k], Mem{Base: accp, Disp: 64 * k})
	}
	VMOVDQU64(bad, Mem{Base: badp})
	VZEROUPPER()
	RET()
}

func kick() {
	TEXT("kickAVX512", NOSPLIT, "func(p, gr *float64, n int, c *[3]uint64, bad *[8]uint64)")
	Pragma("noescape")
	Doc("kickAVX512 is kickGo on n elements (AVX-512F); c holds the bits of f, the exponent mask and its unit.")
	p := Load(Param("p"), GP64())
	g := Load(Param("gr"), GP64())
	n := Load(Param("n"), GP64())
	cp := Load(Param("c"), GP64())
	badp := Load(Param("bad"), GP64())
	f, em, eo := ZMM(), ZMM(), ZMM()
	VBROADCASTSD(Mem{Base: cp}, f)
	VPBROADCASTQ(Mem{Base: cp, Disp: 8}, em)
	VPBROADCASTQ(Mem{Base: cp, Disp: 16}, eo)
	bad := ZMM()
	VPXORQ(bad, bad, bad)
	block := func(k int, mask reg.OpmaskVirtual) {
		P, G, t := ZMM(), ZMM(), ZMM()
		if mask == nil {
			VMOVUPD(Mem{Base: p, Disp: 64 * k}, P)
			VMOVUPD(Mem{Base: g, Disp: 64 * k}, G)
		} else {
			VMOVUPD_Z(Mem{Base: p, Disp: 64 * k}, mask, P)
			VMOVUPD_Z(Mem{Base: g, Disp: 64 * k}, mask, G)
		}
		// q = p − f·g
		VMULPD(G, f, t)
		VSUBPD(t, P, P)
		if mask == nil {
			VMOVUPD(P, Mem{Base: p, Disp: 64 * k})
		} else {
			VMOVUPD(P, mask, Mem{Base: p, Disp: 64 * k})
		}
		finite(P, em, eo, bad, t)
	}
	Label("kloop")
	CMPQ(n, U8(32))
	JL(LabelRef("ktail"))
	for k := range 4 {
		block(k, nil)
	}
	ADDQ(U32(256), p)
	ADDQ(U32(256), g)
	SUBQ(U8(32), n)
	JMP(LabelRef("kloop"))
	Label("ktail")
	for k := range 4 {
		TESTQ(n, n)
		JLE(LabelRef("kdone"))
		mask := K()
		tailMask(n, mask)
		block(k, mask)
		SUBQ(U8(8), n)
	}
	Label("kdone")
	VMOVDQU64(bad, Mem{Base: badp})
	VZEROUPPER()
	RET()
}
