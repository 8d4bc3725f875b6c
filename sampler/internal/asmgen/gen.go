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
// block's rejection bits in one byte. The element-wise kernels (loops) are
// the Go loops of sampler/update.go. Every product is one rounded
// VMULPD and every sum one rounded VADDPD or VSUBPD with the operands of the
// Go expression (no FMA), and the kernels keep Σq² in the same 32
// partial sums (element j into sum j mod 32), so each kernel gives the bits
// of its Go loop.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	fillLanes()
	iota4 = GLOBL("iota4", RODATA|NOPTR)
	for i := range 4 {
		DATA(8*i, U64(i))
	}
	fillLanesAVX2()
	for _, l := range loops {
		elementwise(l, true)
		elementwise(l, false)
	}
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

// fillLanesAVX2 generates fillLanesAVX2, fillLanesAVX512's work in two
// halves of four lanes (YMM; AVX2 has no 64-bit rotate, no unsigned or
// 32-bit-to-mask compare and no VPMOVQD): the rotations as two shifts and
// an OR; int32(u) and kn[i], both below 2³¹ in magnitude, packed from the
// low halves of the qwords and compared as float64 (exact for integers
// of that size, so |j| < kn[i] is decided as in Go, |MinInt32| = 2³¹
// included); the rejection bits from VMOVMSKPD.
func fillLanesAVX2() {
	// DATA fills the last GLOBL.
	c7f := GLOBL("c7f", RODATA|NOPTR)
	for i := range 4 {
		DATA(8*i, U64(0x7f))
	}
	abs := GLOBL("abs", RODATA|NOPTR)
	for i := range 4 {
		DATA(8*i, U64(1<<63-1))
	}
	TEXT("fillLanesAVX2", NOSPLIT, "func(st *[4][8]uint64, buf *float64, blocks int, rej *uint8, tab *[128]uint64)")
	Pragma("noescape")
	Doc("fillLanesAVX2 is fillLanesGo over blocks blocks of eight slots (AVX2).")
	st := Load(Param("st"), GP64())
	buf := Load(Param("buf"), GP64())
	n := Load(Param("blocks"), GP64())
	rej := Load(Param("rej"), GP64())
	tab := Load(Param("tab"), GP64())
	var s [2][4]reg.VecVirtual
	for h := range 2 {
		for w := range 4 {
			s[h][w] = YMM()
			VMOVDQU(Mem{Base: st, Disp: 64*w + 32*h}, s[h][w])
		}
	}
	rotl := func(x reg.VecVirtual, k int) {
		t := YMM()
		VPSRLQ(U8(64-k), x, t)
		VPSLLQ(U8(k), x, x)
		VPOR(t, x, x)
	}
	Label("avx2_loop")
	TESTQ(n, n)
	JZ(LabelRef("avx2_done"))
	bits := GP32()
	XORL(bits, bits)
	for h := range 2 {
		s0, s1, s2, s3 := s[h][0], s[h][1], s[h][2], s[h][3]
		r, t := YMM(), YMM()
		VPADDQ(s3, s0, r) // r = rotl(s0+s3, 23) + s0
		rotl(r, 23)
		VPADDQ(s0, r, r)
		VPSLLQ(U8(17), s1, t)
		VPXOR(s0, s2, s2)
		VPXOR(s1, s3, s3)
		VPXOR(s2, s1, s1)
		VPXOR(s3, s0, s0)
		VPXOR(t, s2, s2)
		rotl(s3, 45)
		// e = tab[r>>32 & 0x7f]
		idx, m, e := YMM(), YMM(), YMM()
		VPSRLQ(U8(32), r, idx)
		VPAND(c7f, idx, idx)
		VPCMPEQQ(m, m, m)
		VPXOR(e, e, e)
		VPGATHERQQ(m, Mem{Base: tab, Index: idx, Scale: 8}, e)
		// the low dwords of r and e (j, kn) and the high dwords of e (wn)
		// packed into the low 128 bits: VPSHUFD within each 128-bit half,
		// then VPERMQ takes qwords 0 and 2.
		j, kn, wn := YMM(), YMM(), YMM()
		VPSHUFD(U8(0x88), r, j)
		VPERMQ(U8(0x08), j, j)
		VPSHUFD(U8(0x88), e, kn)
		VPERMQ(U8(0x08), kn, kn)
		VPSHUFD(U8(0xdd), e, wn)
		VPERMQ(U8(0x08), wn, wn)
		jd, kd, wd := YMM(), YMM(), YMM()
		VCVTDQ2PD(j.AsX(), jd)
		VCVTDQ2PD(kn.AsX(), kd)
		VCVTPS2PD(wn.AsX(), wd)
		// accept where |j| < kn, x = float64(j)·float64(wn)
		acc := YMM()
		VANDPD(abs, jd, acc)
		VCMPPD(U8(1), kd, acc, acc) // LT_OS
		VMULPD(wd, jd, jd)
		VBLENDVPD(acc, jd, r, jd)
		VMOVUPD(jd, Mem{Base: buf, Disp: 32 * h})
		mk := GP32()
		VMOVMSKPD(acc, mk)
		XORL(U32(0xf), mk)
		if h == 1 {
			SHLL(U8(4), mk)
		}
		ORL(mk, bits)
	}
	MOVB(bits.As8(), Mem{Base: rej})
	ADDQ(U8(64), buf)
	INCQ(rej)
	DECQ(n)
	JMP(LabelRef("avx2_loop"))
	Label("avx2_done")
	for h := range 2 {
		for w := range 4 {
			VMOVDQU(s[h][w], Mem{Base: st, Disp: 64*w + 32*h})
		}
	}
	VZEROUPPER()
	RET()
}

// tailMask sets k to the lanes of the next eight elements below n
// (BZHI: 0xff with the bits from n up cleared).
func tailMask(n reg.Register, k reg.OpmaskVirtual) {
	m, ones := GP64(), GP64()
	MOVQ(U32(0xff), ones)
	BZHIQ(n, ones, m)
	KMOVW(m.As32(), k)
}

// loop describes an element-wise kernel: for j < n it reads element j of
// each array, computes body, and stores the results back into arrays; sq,
// when not nil, is added into partial sum j mod 32 of acc, and fin, when
// not nil, has finiteBits ORed into bad. name is the Go loop's without
// "Go" (langevin for langevinGo); the kernels are name+"AVX512" and
// name+"AVX2".
type loop struct {
	name     string
	arrays   []string // *float64 parameters, in order
	consts   []string // float64 constants c[0], c[1], … (their bits)
	body     func(vec func() reg.VecVirtual, a, c map[string]reg.VecVirtual) (stores map[string]reg.VecVirtual, sq, fin reg.VecVirtual)
	acc, bad bool
}

// iota4 holds 0, 1, 2, 3: the lane numbers the AVX2 tails compare with n.
var iota4 Mem

// elementwise generates l for AVX-512 or AVX2. AVX-512: a body of 32
// elements (four ZMM registers per array, partial sums acc[0..31] in four
// registers), then up to four masked groups of eight for the tail, whose
// loads zero the lanes past n (so they add +0 to the sums and flag
// nothing) and whose stores skip them. AVX2: the same with eight groups of
// four (YMM), the partial sums added in acc in memory (sixteen YMM
// registers do not hold 8 of them next to the rest), tails masked with
// VMASKMOVPD.
func elementwise(l loop, avx512 bool) {
	w, isa, vec := 4, "AVX2", YMM
	if avx512 {
		w, isa, vec = 8, "AVX512", ZMM
	}
	groups := 32 / w
	nc := len(l.consts)
	if l.bad {
		nc += 2
	}
	sig := "func("
	for _, a := range l.arrays {
		sig += a + " *float64, "
	}
	sig += fmt.Sprintf("n int, c *[%d]uint64", nc)
	if l.acc {
		sig += ", acc *[32]float64"
	}
	if l.bad {
		sig += ", bad *[8]uint64"
	}
	sig += ")"
	name := l.name + isa
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is %sGo on n elements (%s).", name, l.name, isa))
	ptr := map[string]reg.Register{}
	for _, a := range l.arrays {
		ptr[a] = Load(Param(a), GP64())
	}
	n := Load(Param("n"), GP64())
	cp := Load(Param("c"), GP64())
	cv := map[string]reg.VecVirtual{}
	for i, name := range l.consts {
		cv[name] = vec()
		VBROADCASTSD(Mem{Base: cp, Disp: 8 * i}, cv[name])
	}
	var em, eo, bad reg.VecVirtual
	if l.bad {
		em, eo, bad = vec(), vec(), vec()
		VPBROADCASTQ(Mem{Base: cp, Disp: 8 * len(l.consts)}, em)
		VPBROADCASTQ(Mem{Base: cp, Disp: 8 * (len(l.consts) + 1)}, eo)
		if avx512 {
			VPXORQ(bad, bad, bad)
		} else {
			VPXOR(bad, bad, bad)
		}
	}
	var accp reg.Register
	acc := make([]reg.VecVirtual, 4)
	if l.acc {
		accp = Load(Param("acc"), GP64())
		if avx512 {
			for k := range acc {
				acc[k] = ZMM()
				VMOVUPD(Mem{Base: accp, Disp: 64 * k}, acc[k])
			}
		}
	}
	var nv reg.VecVirtual // AVX2 tails: n in every lane
	// block computes group k of w elements; with a mask, the loads zero
	// the lanes past n and the stores skip them.
	block := func(k int, mask reg.Register) {
		a := map[string]reg.VecVirtual{}
		at := func(name string) Mem { return Mem{Base: ptr[name], Disp: 8 * w * k} }
		for _, name := range l.arrays {
			a[name] = vec()
			switch {
			case mask == nil:
				VMOVUPD(at(name), a[name])
			case avx512:
				VMOVUPD_Z(at(name), mask, a[name])
			default:
				VMASKMOVPD(at(name), mask, a[name])
			}
		}
		stores, sq, fin := l.body(vec, a, cv)
		for _, name := range l.arrays {
			v, ok := stores[name]
			if !ok {
				continue
			}
			switch {
			case mask == nil:
				VMOVUPD(v, at(name))
			case avx512:
				VMOVUPD(v, mask, at(name))
			default:
				VMASKMOVPD(v, mask, at(name))
			}
		}
		if sq != nil {
			t := vec()
			VMULPD(sq, sq, t)
			if avx512 {
				VADDPD(t, acc[k], acc[k])
			} else {
				s := Mem{Base: accp, Disp: 32 * k}
				VADDPD(s, t, t)
				VMOVUPD(t, s)
			}
		}
		if fin != nil {
			t := vec()
			if avx512 {
				VPANDQ(em, fin, t)
				VPADDQ(eo, t, t)
				VPORQ(t, bad, bad)
			} else {
				VPAND(em, fin, t)
				VPADDQ(eo, t, t)
				VPOR(t, bad, bad)
			}
		}
	}
	body, tail, done := name+"_body", name+"_tail", name+"_done"
	Label(body)
	CMPQ(n, U8(32))
	JL(LabelRef(tail))
	for k := range groups {
		block(k, nil)
	}
	for _, name := range l.arrays {
		ADDQ(U32(256), ptr[name])
	}
	SUBQ(U8(32), n)
	JMP(LabelRef(body))
	Label(tail)
	if !avx512 {
		nv = YMM()
	}
	for k := range groups {
		TESTQ(n, n)
		JLE(LabelRef(done))
		if avx512 {
			mask := K()
			tailMask(n, mask)
			block(k, mask)
		} else {
			t := GP64()
			MOVQ(n, t)
			VMOVQ(t, nv.AsX())
			VPBROADCASTQ(nv.AsX(), nv)
			mask := YMM()
			VPCMPGTQ(iota4, nv, mask) // lanes where n > lane
			block(k, mask)
		}
		SUBQ(U8(w), n)
	}
	Label(done)
	if l.acc && avx512 {
		for k := range acc {
			VMOVUPD(acc[k], Mem{Base: accp, Disp: 64 * k})
		}
	}
	if l.bad {
		p := Load(Param("bad"), GP64())
		if avx512 {
			VMOVDQU64(bad, Mem{Base: p})
		} else {
			VMOVDQU(bad, Mem{Base: p})
			t := vec()
			VPXOR(t, t, t)
			VMOVDQU(t, Mem{Base: p, Disp: 32})
		}
	}
	VZEROUPPER()
	RET()
}

// The element loops of sampler/update.go, for elementwise. Each product is one VMULPD and
// each sum one VADDPD or VSUBPD (Go asm: VSUBPD b, a, d is d = a − b) on
// the operands of the Go expression, in its order.
var loops = []loop{
	{
		name:   "langevin",
		arrays: []string{"th", "p", "r"}, consts: []string{"h2", "cc", "d"}, acc: true, bad: true,
		body: func(vec func() reg.VecVirtual, a, c map[string]reg.VecVirtual) (map[string]reg.VecVirtual, reg.VecVirtual, reg.VecVirtual) {
			x, q, t := vec(), vec(), vec()
			VMULPD(a["p"], c["h2"], t) // x = θ + h2·p
			VADDPD(t, a["th"], x)
			VMULPD(a["p"], c["cc"], q) // q = cc·p + d·r
			VMULPD(a["r"], c["d"], t)
			VADDPD(t, q, q)
			VMULPD(q, c["h2"], t) // x += h2·q
			VADDPD(t, x, x)
			return map[string]reg.VecVirtual{"th": x, "p": q}, q, x
		},
	},
	{
		name:   "kick",
		arrays: []string{"p", "gr"}, consts: []string{"f"}, bad: true,
		body: func(vec func() reg.VecVirtual, a, c map[string]reg.VecVirtual) (map[string]reg.VecVirtual, reg.VecVirtual, reg.VecVirtual) {
			q, t := vec(), vec()
			VMULPD(a["gr"], c["f"], t) // q = p − f·g
			VSUBPD(t, a["p"], q)
			return map[string]reg.VecVirtual{"p": q}, nil, q
		},
	},
	{
		name:   "overdamped",
		arrays: []string{"th", "p", "r"}, consts: []string{"h2", "s"}, acc: true, bad: true,
		body: func(vec func() reg.VecVirtual, a, c map[string]reg.VecVirtual) (map[string]reg.VecVirtual, reg.VecVirtual, reg.VecVirtual) {
			q, x, t := vec(), vec(), vec()
			VMULPD(a["r"], c["s"], q) // q = s·r
			VADDPD(q, a["p"], t)      // x = θ + h2·(p + q)
			VMULPD(t, c["h2"], t)
			VADDPD(t, a["th"], x)
			return map[string]reg.VecVirtual{"th": x, "p": q}, q, x
		},
	},
	{
		name:   "adaptiveFirst",
		arrays: []string{"th", "p", "r"}, consts: []string{"h2", "e", "s"}, acc: true,
		body: func(vec func() reg.VecVirtual, a, c map[string]reg.VecVirtual) (map[string]reg.VecVirtual, reg.VecVirtual, reg.VecVirtual) {
			x, q, t := vec(), vec(), vec()
			VMULPD(a["p"], c["h2"], t) // θ += h2·p
			VADDPD(t, a["th"], x)
			VMULPD(a["p"], c["e"], q) // q = e·p + s·r
			VMULPD(a["r"], c["s"], t)
			VADDPD(t, q, q)
			return map[string]reg.VecVirtual{"th": x, "p": q}, q, nil
		},
	},
	{
		name:   "adaptiveSecond",
		arrays: []string{"th", "p", "r"}, consts: []string{"h2", "e", "s"}, bad: true,
		body: func(vec func() reg.VecVirtual, a, c map[string]reg.VecVirtual) (map[string]reg.VecVirtual, reg.VecVirtual, reg.VecVirtual) {
			x, q, t := vec(), vec(), vec()
			VMULPD(a["r"], c["s"], t) // q = e·(p + s·r)
			VADDPD(t, a["p"], q)
			VMULPD(q, c["e"], q)
			VMULPD(q, c["h2"], t) // x = θ + h2·q
			VADDPD(t, a["th"], x)
			return map[string]reg.VecVirtual{"th": x, "p": q}, nil, x
		},
	},
}
