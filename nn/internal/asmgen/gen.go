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

func main() {
	ConstraintExpr("!purego")
	for _, mr := range []int{4, 1} {
		for _, nv := range []int{2, 1} {
			kernel(mr, nv, false)
		}
		for _, nv := range []int{3, 2, 1} {
			kernel(mr, nv, true)
		}
	}
	Generate()
}
