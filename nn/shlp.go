package nn

import "math"

// This file holds the kernel for the paper's network: 2 inputs, one ReLU
// hidden layer of width H, one sigmoid output unit (Classes == 2). The flat
// vector is then
//
//	θ = [W (H×2, row-major: w_j0, w_j1 for unit j) | b (H) | v (H) | c]
//
// and for a row x_i = (x_i0, x_i1)
//
//	a_ij = w_j0 x_i0 + w_j1 x_i1 + b_j,  m_ij = [a_ij > 0],  h_ij = m_ij a_ij,
//	z_i  = c + Σ_j v_j h_ij.
//
// With δ_i = (σ(z_i) - t_i)/|B| the gradient of the mean BCE is
//
//	∂/∂c    = Σ_i δ_i
//	∂/∂v_j  = Σ_i δ_i h_ij = w_j0 S0_j + w_j1 S1_j + b_j Sb_j
//	∂/∂w_jk = v_j Sk_j,  ∂/∂b_j = v_j Sb_j
//
// where Sk_j = Σ_i δ_i m_ij x_ik and Sb_j = Σ_i δ_i m_ij. The identity for
// ∂/∂v_j (h_ij = m_ij a_ij, a linear in w_j, b_j) means the backward pass
// needs only three masked sums per unit.
//
// Loop order: both passes run unit-major (j outer, minibatch row i inner),
// two units per inner loop. The forward pass keeps the units' parameters in
// registers and updates z_i in a short, L1-resident vector, sharing the
// loads of x_i and z_i between the two units; the backward pass keeps the
// six masked sums in registers and shares the loads of δ_i x_i. Each inner
// loop is its own non-inlined function: inlined into the unit loop, the
// register allocator reloaded slice headers from the stack on every row.
//
// The ReLU is branch-free, because the sign of a_ij is data-dependent and a
// branch mispredicts on random minibatches. Without a mask (Evaluate,
// PredictTo) z_i += (v_j/2)·(a + |a|); with one (LossGrad) m_ij comes from
// a conditional move on the bits of 1.0 and z_i += v_j·(a·m_ij). Both add
// exactly v_j·relu(a_ij) (a + |a| is exactly 2a or 0 and halving is
// exact), so LossGrad and Evaluate see bit-identical logits; NaN stays NaN
// in both.
//
// Measured on the project machine (BenchmarkLossGrad vs
// BenchmarkLossGradRowMajor, random minibatches of trig data, minimum of 5
// runs): the row-major kernel of the performance baseline (i outer, branchy
// ReLU) takes 1.27-1.37× as long at H = 100 and 500, B = 20 and 50
// (e.g. 65 µs vs 51 µs at H = 500, B = 50). What remains is scalar SSE2
// instruction throughput (~4 instructions per cycle); a further large gain
// would need SIMD.

// shlpParams splits θ into W (2H, row-major), b (H), v (H) and c.
func shlpParams(theta []float64, h int) (w, b, v []float64, c float64) {
	return theta[:2*h], theta[2*h : 3*h], theta[3*h : 4*h], theta[4*h]
}

// shlpLogits sets z[i] to the logit of the row (x0[i], x1[i]).
func shlpLogits(z, x0, x1, theta []float64, h int) {
	w, b, v, c := shlpParams(theta, h)
	for i := range z {
		z[i] = c
	}
	b, w = b[:len(v)], w[:2*len(v)]
	j := 0
	for ; j+1 < len(v); j += 2 {
		reluUnits2(z, x0, x1, w[2*j:2*j+4], b[j], b[j+1], v[j], v[j+1])
	}
	if j < len(v) {
		reluUnit(z, x0, x1, w[2*j], w[2*j+1], b[j], v[j])
	}
}

// shlpLogitsMask is shlpLogits that also stores m_ij = [a_ij > 0] in
// mask[j*len(z)+i].
func shlpLogitsMask(z, x0, x1, theta []float64, h int, mask []float64) {
	w, b, v, c := shlpParams(theta, h)
	for i := range z {
		z[i] = c
	}
	b, w = b[:len(v)], w[:2*len(v)]
	nb := len(z)
	j := 0
	for ; j+1 < len(v); j += 2 {
		reluUnits2Mask(z, mask[j*nb:][:2*nb], x0, x1, w[2*j:2*j+4], b[j], b[j+1], v[j], v[j+1])
	}
	if j < len(v) {
		reluUnitMask(z, mask[j*nb:][:nb], x0, x1, w[2*j], w[2*j+1], b[j], v[j])
	}
}

// reluUnits2 adds the contributions of hidden units j and j+1 to the
// logits z, with w = (w_j0, w_j1, w_(j+1)0, w_(j+1)1):
//
//	a0 = w_j0 x0[i] + w_j1 x1[i] + b0,  a1 likewise,
//	z[i] += (v0/2)·(a0 + |a0|) + (v1/2)·(a1 + |a1|).
//
//go:noinline
func reluUnits2(z, x0, x1, w []float64, b0, b1, v0, v1 float64) {
	w = w[:4]
	w00, w01, w10, w11 := w[0], w[1], w[2], w[3]
	vh0, vh1 := 0.5*v0, 0.5*v1
	x0 = x0[:len(z)]
	x1 = x1[:len(z)]
	for i := range z {
		xa, xb := x0[i], x1[i]
		a0 := float64(w00*xa) + float64(w01*xb) + b0
		a1 := float64(w10*xa) + float64(w11*xb) + b1
		z[i] += float64(vh0*(a0+math.Abs(a0))) + float64(vh1*(a1+math.Abs(a1)))
	}
}

// reluUnits2Mask is reluUnits2 that also stores the ReLU derivatives
// [a0 > 0] in m[i] and [a1 > 0] in m[len(z)+i] (0 at a = 0, as PyTorch),
// and applies the ReLU as a multiply by them (see the file comment).
//
//go:noinline
func reluUnits2Mask(z, m, x0, x1, w []float64, b0, b1, v0, v1 float64) {
	w = w[:4]
	w00, w01, w10, w11 := w[0], w[1], w[2], w[3]
	x0 = x0[:len(z)]
	x1 = x1[:len(z)]
	m0 := m[:len(z)]
	m1 := m[len(z):][:len(z)]
	for i := range z {
		xa, xb := x0[i], x1[i]
		a0 := float64(w00*xa) + float64(w01*xb) + b0
		a1 := float64(w10*xa) + float64(w11*xb) + b1
		var bits0, bits1 uint64
		if a0 > 0 {
			bits0 = oneBits
		}
		if a1 > 0 {
			bits1 = oneBits
		}
		f0, f1 := math.Float64frombits(bits0), math.Float64frombits(bits1)
		m0[i], m1[i] = f0, f1
		z[i] += float64(v0*(a0*f0)) + float64(v1*(a1*f1))
	}
}

// oneBits is math.Float64bits(1).
const oneBits = 0x3FF0000000000000

// reluUnit is reluUnits2 for the single last unit of an odd H.
//
//go:noinline
func reluUnit(z, x0, x1 []float64, wa, wb, bj, vj float64) {
	vh := 0.5 * vj
	x0 = x0[:len(z)]
	x1 = x1[:len(z)]
	for i := range z {
		a := float64(wa*x0[i]) + float64(wb*x1[i]) + bj
		z[i] += float64(vh * (a + math.Abs(a)))
	}
}

// reluUnitMask is reluUnits2Mask for the single last unit of an odd H.
//
//go:noinline
func reluUnitMask(z, mj, x0, x1 []float64, wa, wb, bj, vj float64) {
	x0 = x0[:len(z)]
	x1 = x1[:len(z)]
	mj = mj[:len(z)]
	for i := range z {
		a := float64(wa*x0[i]) + float64(wb*x1[i]) + bj
		var bits uint64
		if a > 0 {
			bits = oneBits
		}
		f := math.Float64frombits(bits)
		mj[i] = f
		z[i] += float64(vj * (a * f))
	}
}

// maskedSums2 returns the masked sums of units j and j+1, whose masks are
// m[:len(dz)] and m[len(dz):2*len(dz)]:
//
//	s0 = Σ_i dx0[i]·m_j[i],  s1 = Σ_i dx1[i]·m_j[i],  sb = Σ_i dz[i]·m_j[i],
//
// and t0, t1, tb likewise for unit j+1. The six sums are independent add
// chains, enough to hide the add latency.
//
//go:noinline
func maskedSums2(m, dz, dx0, dx1 []float64) (s0, s1, sb, t0, t1, tb float64) {
	m0 := m[:len(dz)]
	m1 := m[len(dz):][:len(dz)]
	dx0, dx1 = dx0[:len(dz)], dx1[:len(dz)]
	for i, d := range dz {
		a, b := m0[i], m1[i]
		e0, e1 := dx0[i], dx1[i]
		s0 += float64(e0 * a)
		s1 += float64(e1 * a)
		sb += float64(d * a)
		t0 += float64(e0 * b)
		t1 += float64(e1 * b)
		tb += float64(d * b)
	}
	return
}

// maskedSums returns S0 = Σ_i dx0[i]·m[i], S1 = Σ_i dx1[i]·m[i] and
// Sb = Σ_i dz[i]·m[i] for the single last unit of an odd H, with two
// partial sums each to halve the add latency chain.
//
//go:noinline
func maskedSums(m, dz, dx0, dx1 []float64) (s0, s1, sb float64) {
	dz, dx0, dx1 = dz[:len(m)], dx0[:len(m)], dx1[:len(m)]
	var t0, t1, tb float64
	i := 0
	for ; i+1 < len(m); i += 2 {
		m0, m1 := m[i], m[i+1]
		s0 += float64(dx0[i] * m0)
		s1 += float64(dx1[i] * m0)
		sb += float64(dz[i] * m0)
		t0 += float64(dx0[i+1] * m1)
		t1 += float64(dx1[i+1] * m1)
		tb += float64(dz[i+1] * m1)
	}
	if i < len(m) {
		s0 += float64(dx0[i] * m[i])
		s1 += float64(dx1[i] * m[i])
		sb += float64(dz[i] * m[i])
	}
	return s0 + t0, s1 + t1, sb + tb
}

func (m *MLP) lossGradSHLP(ws *Workspace, theta, grad, X []float64, y []int, idx []int) float64 {
	h, n, nb := m.cfg.Hidden[0], len(y), len(idx)
	x0, x1, t := ws.x0[:nb], ws.x1[:nb], ws.t[:nb]
	for i, r := range idx {
		if uint(r) >= uint(n) {
			panic(badIndex(i, r, n))
		}
		c := y[r]
		if uint(c) > 1 {
			panic(badLabel(r, c, 2))
		}
		x0[i], x1[i] = X[2*r], X[2*r+1]
		t[i] = float64(c)
	}
	z := ws.z[:nb]
	mask := ws.mask[:h*nb]
	shlpLogitsMask(z, x0, x1, theta, h, mask)

	// δ_i = (σ(z_i) - t_i)/|B|, and δ_i x_i for the masked sums.
	inv := 1 / float64(nb)
	dz, dx0, dx1 := ws.dz[:nb], ws.dx0[:nb], ws.dx1[:nb]
	var loss, gc float64
	for i, zi := range z {
		l, p := bce(zi, int(t[i]))
		loss += l
		d := float64((p - t[i]) * inv)
		dz[i] = d
		dx0[i], dx1[i] = d*x0[i], d*x1[i]
		gc += d
	}

	w, b, v, _ := shlpParams(theta, h)
	gw, gb, gv, _ := shlpParams(grad, h)
	b, gw, gb, gv = b[:len(v)], gw[:len(w)], gb[:len(v)], gv[:len(v)]
	j := 0
	for ; j+1 < len(v); j += 2 {
		s0, s1, sb, t0, t1, tb := maskedSums2(mask[j*nb:][:2*nb], dz, dx0, dx1)
		shlpUnitGrad(j, s0, s1, sb, w, b, v, gw, gb, gv)
		shlpUnitGrad(j+1, t0, t1, tb, w, b, v, gw, gb, gv)
	}
	if j < len(v) {
		s0, s1, sb := maskedSums(mask[j*nb:][:nb], dz, dx0, dx1)
		shlpUnitGrad(j, s0, s1, sb, w, b, v, gw, gb, gv)
	}
	grad[4*h] = gc
	return loss / float64(nb)
}

// shlpChunk loads rows [start, start+cnt) of X into ws.x0, ws.x1, computes
// their logits and returns them (a view into ws.z).
func (m *MLP) shlpChunk(ws *Workspace, theta, X []float64, start, cnt int) []float64 {
	x0, x1 := ws.x0[:cnt], ws.x1[:cnt]
	rows := X[2*start : 2*(start+cnt)]
	for i := range x0 {
		x0[i], x1[i] = rows[2*i], rows[2*i+1]
	}
	z := ws.z[:cnt]
	shlpLogits(z, x0, x1, theta, m.cfg.Hidden[0])
	return z
}

func (m *MLP) evaluateSHLP(ws *Workspace, theta, X []float64, y []int) (sum float64, correct int) {
	n := len(y)
	for start := 0; start < n; start += len(ws.z) {
		cnt := min(len(ws.z), n-start)
		z := m.shlpChunk(ws, theta, X, start, cnt)
		yc := y[start : start+cnt]
		for i, zi := range z {
			c := yc[i]
			if uint(c) > 1 {
				panic(badLabel(start+i, c, 2))
			}
			l, _ := bce(zi, c)
			sum += l
			if (zi > 0) == (c == 1) {
				correct++
			}
		}
	}
	return sum, correct
}

func (m *MLP) predictSHLP(ws *Workspace, dst, theta, X []float64) {
	n := len(X) / 2
	for start := 0; start < n; start += len(ws.z) {
		cnt := min(len(ws.z), n-start)
		z := m.shlpChunk(ws, theta, X, start, cnt)
		row := dst[2*start : 2*(start+cnt)]
		for i, zi := range z {
			row[2*i], row[2*i+1] = sigmoidPair(zi)
		}
	}
}

// shlpUnitGrad writes the gradient of hidden unit j from its masked sums:
// ∂w_jk = v_j Sk, ∂b_j = v_j Sb, ∂v_j = w_j0 S0 + w_j1 S1 + b_j Sb.
func shlpUnitGrad(j int, s0, s1, sb float64, w, b, v, gw, gb, gv []float64) {
	vj := v[j]
	wa, wb := w[2*j], w[2*j+1]
	gw[2*j] = vj * s0
	gw[2*j+1] = vj * s1
	gb[j] = vj * sb
	gv[j] = float64(wa*s0) + float64(wb*s1) + float64(b[j]*sb)
}
