package nn

// This file holds the one matrix kernel of the general path,
//
//	C[r][j] += Σ_{s<k} A(r, s)·B[s][j],   r < m, j < n,
//
// with A(r, s) = a[r*ars + s*acs] (any strides, so Aᵀ is free), B row-major
// with leading dimension ldb and C row-major with leading dimension ldc.
//
// # Numerics
//
// Every element of C is one sequential chain over s in increasing order,
//
//	c ← c + float64(A(r,s)·B[s][j]),
//
// a multiply rounded to float64 followed by an add rounded to float64 (the
// explicit conversion forbids the compiler to fuse them into an FMA, which
// it does with GOAMD64=v3 and on arm64). No chain is split into partial sums.
// The kernels are therefore free to block and vectorise across independent
// elements of C (rows r and columns j) but never across s, and every kernel
// selected at run time — the pure-Go gemmGo here and the vector assembly of
// gemm_amd64.s — gives the same bits. TestGemmKernelsAgree checks it on
// random ragged shapes.

// gemm computes C += A·B as described in the file comment, with the fastest
// kernel the CPU supports.
func gemm(m, n, k int, a []float64, ars, acs int, b []float64, ldb int, c []float64, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	gemmImpl(m, n, k, a, ars, acs, b, ldb, c, ldc)
}

// gemmImpl is the kernel gemm uses; gemm_amd64.go replaces it at start-up
// when the CPU has AVX2.
var gemmImpl = gemmGo

// gemmGo is the portable kernel: blocks of 2 rows × 4 columns of C held in
// registers across the whole s loop, then the ragged edges one element at
// a time (in the same order).
func gemmGo(m, n, k int, a []float64, ars, acs int, b []float64, ldb int, c []float64, ldc int) {
	r := 0
	for ; r+2 <= m; r += 2 {
		c0 := c[r*ldc : r*ldc+n]
		c1 := c[(r+1)*ldc : (r+1)*ldc+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			gemmGo2x4(k, a[r*ars:], a[(r+1)*ars:], acs, b[j:], ldb, c0[j:j+4], c1[j:j+4])
		}
		for ; j < n; j++ {
			c0[j] = gemmGoDot(k, a[r*ars:], acs, b[j:], ldb, c0[j])
			c1[j] = gemmGoDot(k, a[(r+1)*ars:], acs, b[j:], ldb, c1[j])
		}
	}
	for ; r < m; r++ {
		cr := c[r*ldc : r*ldc+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			gemmGo1x4(k, a[r*ars:], acs, b[j:], ldb, cr[j:j+4])
		}
		for ; j < n; j++ {
			cr[j] = gemmGoDot(k, a[r*ars:], acs, b[j:], ldb, cr[j])
		}
	}
}

// gemmGo2x4 accumulates a 2×4 block of C: rows a0 and a1 (stride acs)
// against columns b[0:4] of every row of B.
func gemmGo2x4(k int, a0, a1 []float64, acs int, b []float64, ldb int, c0, c1 []float64) {
	c0, c1 = c0[:4], c1[:4]
	s00, s01, s02, s03 := c0[0], c0[1], c0[2], c0[3]
	s10, s11, s12, s13 := c1[0], c1[1], c1[2], c1[3]
	for s := range k {
		x0, x1 := a0[s*acs], a1[s*acs]
		bs := b[s*ldb : s*ldb+4]
		b0, b1, b2, b3 := bs[0], bs[1], bs[2], bs[3]
		s00 += float64(x0 * b0)
		s01 += float64(x0 * b1)
		s02 += float64(x0 * b2)
		s03 += float64(x0 * b3)
		s10 += float64(x1 * b0)
		s11 += float64(x1 * b1)
		s12 += float64(x1 * b2)
		s13 += float64(x1 * b3)
	}
	c0[0], c0[1], c0[2], c0[3] = s00, s01, s02, s03
	c1[0], c1[1], c1[2], c1[3] = s10, s11, s12, s13
}

// gemmGo1x4 is gemmGo2x4 for a single row.
func gemmGo1x4(k int, a0 []float64, acs int, b []float64, ldb int, c0 []float64) {
	c0 = c0[:4]
	s0, s1, s2, s3 := c0[0], c0[1], c0[2], c0[3]
	for s := range k {
		x := a0[s*acs]
		bs := b[s*ldb : s*ldb+4]
		s0 += float64(x * bs[0])
		s1 += float64(x * bs[1])
		s2 += float64(x * bs[2])
		s3 += float64(x * bs[3])
	}
	c0[0], c0[1], c0[2], c0[3] = s0, s1, s2, s3
}

// gemmGoDot returns c + Σ_s a[s*acs]·b[s*ldb], summed in order.
func gemmGoDot(k int, a []float64, acs int, b []float64, ldb int, c float64) float64 {
	for s := range k {
		c += float64(a[s*acs] * b[s*ldb])
	}
	return c
}
