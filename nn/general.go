package nn

// The general path handles any depth, width, activation and class count.
// It pushes the whole minibatch (or a chunk of evaluation rows) through
// each layer at once, as matrix–matrix products (gemm.go):
//
//	forward   A⁽ˡ⁾ = act(W⁽ˡ⁾ A⁽ˡ⁻¹⁾ + b⁽ˡ⁾ 1ᵀ)          (out×nb = out×in · in×nb)
//	weights   ∂W⁽ˡ⁾ = Δ⁽ˡ⁾ A⁽ˡ⁻¹⁾ᵀ,  ∂b⁽ˡ⁾ = Δ⁽ˡ⁾ 1      (out×in = out×nb · nb×in)
//	deltas    Δ⁽ˡ⁻¹⁾ = (W⁽ˡ⁾ᵀ Δ⁽ˡ⁾) ⊙ act'(A⁽ˡ⁻¹⁾)       (in×nb = in×out · out×nb)
//
// Activations and deltas are stored feature-major (unit o of row i at
// [o*ld + i], with ld = nb rounded up to a multiple of 8 so that the vector
// kernels need no ragged column edge and no 4-wide block, which runs at half
// the speed of the 8-wide ones; the padding columns are computed from zero
// inputs and never read), so that the forward and delta products vectorise
// across the rows of the batch; the weight product needs the layer input row-major
// (sample-major), which is the gathered minibatch for layer 0 and a
// transposed copy of the activations for the others.
//
// Summation order (fixed by gemm): a pre-activation is
// (((b_o + w_o0·a_0) + w_o1·a_1) + …), a weight gradient sums over the batch
// rows in minibatch order starting from 0, a bias gradient likewise, and a
// delta sums over the layer's outputs in order. Changing any of these
// changes results in the last bits: bump NumericsVersion.

// generalChunk is the number of rows Evaluate and PredictTo push through
// the general path at a time.
const generalChunk = 256

// allocGeneral allocates the general path's buffers of ws.
func (ws *Workspace) allocGeneral(m *MLP) {
	bp := pad8(ws.maxBatch)
	d := m.cfg.Inputs
	ws.gx = make([]float64, ws.maxBatch*d)
	ws.gxt = make([]float64, bp*d)
	ws.acts = make([][]float64, len(m.layers))
	ws.wt = make([][]float64, len(m.layers))
	ws.bias = make([][]float64, len(m.layers))
	widest := 0
	for l, ly := range m.layers {
		// Training: out×bp feature-major; evaluation: chunk×pad8(out)
		// row-major. The two never live at the same time.
		ws.acts[l] = make([]float64, max(ly.out*bp, generalChunk*pad8(ly.out)))
		ws.wt[l] = make([]float64, ly.in*pad8(ly.out))
		ws.bias[l] = make([]float64, pad8(ly.out))
		widest = max(widest, ly.out)
		if l > 0 {
			widest = max(widest, ly.in)
		}
	}
	ws.hs = make([]float64, ws.maxBatch*widest)
	ws.d0 = make([]float64, bp*widest)
	ws.d1 = make([]float64, bp*widest)
	ws.zrow = make([]float64, m.out)
}

// gatherRows copies the minibatch rows X[idx[i]·d : idx[i]·d+d] into xt
// (feature-major, d×ld with ld = pad8(nb), nb = len(idx), the padding
// columns [nb, ld) zero) and gx (row-major, nb×d) in one pass over the
// batch, eight rows at a time: the block is transposed straight from X,
// reading the eight rows side by side (eight streams from memory in flight
// instead of one row after another), so that the eight writes of a feature
// fill one 64-byte line of xt; the rows, now in cache, are then copied to
// gx. The last, partial block writes its padding zeros in the same sweep,
// so no element of xt is written twice. It panics with badIndex or
// badLabel on an index outside [0, len(y)) or a label outside
// [0, classes), before reading that row.
func gatherRows(gx, xt []float64, ld int, X []float64, d int, y []int, classes int, idx []int) {
	n, nb := len(y), len(idx)
	var rows [8][]float64
	for i0 := 0; i0 < nb; i0 += 8 {
		cnt := min(8, nb-i0)
		for j := range cnt {
			i := i0 + j
			r := idx[i]
			if uint(r) >= uint(n) {
				panic(badIndex(i, r, n))
			}
			if c := y[r]; uint(c) >= uint(classes) {
				panic(badLabel(r, c, classes))
			}
			rows[j] = X[r*d : r*d+d]
		}
		if cnt == 8 {
			transpose8(xt[i0:], ld, &rows, d)
			for j, row := range rows {
				copy(gx[(i0+j)*d:(i0+j)*d+d], row)
			}
			continue
		}
		for j, row := range rows[:cnt] {
			copy(gx[(i0+j)*d:(i0+j)*d+d], row)
		}
		for k := range d {
			o := xt[k*ld+i0 : k*ld+i0+8]
			for j, row := range rows[:cnt] {
				o[j] = row[k]
			}
			clear(o[cnt:])
		}
	}
}

// transpose8 writes feature k of the eight rows (each of length d) to
// dst[k*ld : k*ld+8], for every k < d.
func transpose8(dst []float64, ld int, rows *[8][]float64, d int) {
	r0, r1, r2, r3 := rows[0][:d], rows[1][:d], rows[2][:d], rows[3][:d]
	r4, r5, r6, r7 := rows[4][:d], rows[5][:d], rows[6][:d], rows[7][:d]
	for k, v := range r0 {
		o := dst[k*ld : k*ld+8]
		o[0], o[1], o[2], o[3] = v, r1[k], r2[k], r3[k]
		o[4], o[5], o[6], o[7] = r4[k], r5[k], r6[k], r7[k]
	}
}

// transposeTo writes the transpose of the rows×cols block src (leading
// dimension lds) into dst (leading dimension ldd): dst[i·ldd+k] =
// src[k·lds+i] for k < rows, i < cols. It goes eight source rows at a time,
// so that dst is written in runs of eight consecutive elements instead of
// one element per source row read; other elements of dst are left alone.
func transposeTo(dst []float64, ldd int, src []float64, lds, rows, cols int) {
	k := 0
	var blk [8][]float64
	for ; k+8 <= rows; k += 8 {
		for j := range blk {
			blk[j] = src[(k+j)*lds:][:cols]
		}
		transpose8(dst[k:], ldd, &blk, cols)
	}
	for ; k < rows; k++ {
		for i, v := range src[k*lds : k*lds+cols] {
			dst[i*ldd+k] = v
		}
	}
}

// forwardBatch runs the ld feature-major input columns xt (Inputs×ld)
// through every layer, leaving A⁽ˡ⁾ in ws.acts[l][:out·ld], and returns the
// logits (out×ld, a view into ws.acts).
func (m *MLP) forwardBatch(ws *Workspace, theta, xt []float64, ld int) []float64 {
	in := xt
	last := len(m.layers) - 1
	for l, ly := range m.layers {
		out := ws.acts[l][:ly.out*ld]
		b := theta[ly.b : ly.b+ly.out]
		for o, bo := range b {
			row := out[o*ld : o*ld+ld]
			for i := range row {
				row[i] = bo
			}
		}
		gemm(ly.out, ld, ly.in, theta[ly.w:ly.w+ly.in*ly.out], ly.in, 1, in, ld, out, ld)
		if l < last {
			m.cfg.Activation.activate(out)
		}
		in = out
	}
	return in
}

// Evaluation runs row-major instead: each layer is C = A·Wᵀ with A the
// rows (X itself for layer 0, so no gather) and Wᵀ copied once per call,
// padded to pad8(out) columns with zeros. Each pre-activation is still
// (((b_o + w_o0·a_0) + w_o1·a_1) + …), so evaluation gives the same bits as
// the training forward pass.

// loadWeights copies every layer's Wᵀ (in×pad8(out)) and bias (pad8(out))
// into ws, the padding zero.
func (m *MLP) loadWeights(ws *Workspace, theta []float64) {
	for l, ly := range m.layers {
		// Columns [out, pad8(out)) of wt are never written: zero.
		transposeTo(ws.wt[l], pad8(ly.out), theta[ly.w:ly.w+ly.in*ly.out], ly.in, ly.out, ly.in)
		copy(ws.bias[l], theta[ly.b:ly.b+ly.out])
	}
}

// forwardRows runs the cnt row-major rows of X (cnt×Inputs) through every
// layer with the weights loadWeights left in ws and returns the logits,
// row-major cnt×pad8(out) (a view into ws.acts).
func (m *MLP) forwardRows(ws *Workspace, X []float64, cnt int) []float64 {
	return m.forwardFrom(ws, 0, X, m.cfg.Inputs, cnt)
}

// forwardFrom is forwardRows from layer l0 on: in (cnt rows, leading
// dimension lda) is the input of layer l0, the activated output of layer
// l0−1 when l0 > 0.
func (m *MLP) forwardFrom(ws *Workspace, l0 int, in []float64, lda, cnt int) []float64 {
	last := len(m.layers) - 1
	for l := l0; l <= last; l++ {
		ly := m.layers[l]
		ld := pad8(ly.out)
		out := ws.acts[l][:cnt*ld]
		for i := range cnt {
			copy(out[i*ld:i*ld+ld], ws.bias[l])
		}
		gemm(cnt, ld, ly.in, in, lda, 1, ws.wt[l], ld, out, ld)
		if l < last {
			m.cfg.Activation.activate(out)
		}
		in, lda = out, ld
	}
	return in
}

func (m *MLP) lossGradGeneral(ws *Workspace, theta, grad, X []float64, y []int, idx []int) float64 {
	d, nb := m.cfg.Inputs, len(idx)
	ld := pad8(nb)
	// Gather the minibatch row-major (for the layer-0 weight gradient) and
	// feature-major (for the forward pass, padding columns zero).
	gx, xt := ws.gx[:nb*d], ws.gxt[:d*ld]
	gatherRows(gx, xt, ld, X, d, y, m.cfg.Classes, idx)
	z := m.forwardBatch(ws, theta, xt, ld)

	// Output deltas Δ = ∂ℓ/∂z / nb, feature-major like z.
	inv := 1 / float64(nb)
	delta := ws.d0[:m.out*ld]
	clear(delta) // padding columns stay zero
	var sum float64
	if m.out == 1 {
		for i, r := range idx {
			c := y[r]
			l, p := bce(z[i], c)
			sum += l
			delta[i] = (p - float64(c)) * inv
		}
	} else {
		zr := ws.zrow
		for i, r := range idx {
			c := y[r]
			for k := range zr {
				zr[k] = z[k*ld+i]
			}
			l, _ := softmaxXent(zr, c)
			sum += l
			zr[c]-- // ∂ℓ/∂z_k = softmax(z)_k - [k = t]
			for k, v := range zr {
				delta[k*ld+i] = v * inv
			}
		}
	}

	spare := ws.d1
	for l := len(m.layers) - 1; l >= 0; l-- {
		ly := m.layers[l]
		// The layer input, row-major (nb×in).
		insm := gx
		if l > 0 {
			a := ws.acts[l-1][:ly.in*ld]
			insm = ws.hs[:nb*ly.in]
			transposeTo(insm, ly.in, a, ld, ly.in, nb)
		}
		gw := grad[ly.w : ly.w+ly.in*ly.out]
		clear(gw)
		gemm(ly.out, ly.in, nb, delta, ld, 1, insm, ly.in, gw, ly.in)
		gb := grad[ly.b : ly.b+ly.out]
		for o := range gb {
			var s float64
			for _, v := range delta[o*ld : o*ld+nb] {
				s += v
			}
			gb[o] = s
		}
		if l == 0 {
			break
		}
		prev := spare[:ly.in*ld]
		clear(prev)
		gemm(ly.in, ld, ly.out, theta[ly.w:ly.w+ly.in*ly.out], 1, ly.in, delta, ld, prev, ld)
		m.cfg.Activation.backprop(prev, ws.acts[l-1][:ly.in*ld])
		delta, spare = prev, delta[:cap(delta)]
	}
	return sum / float64(nb)
}

func (m *MLP) evaluateGeneral(ws *Workspace, theta, X []float64, y []int) (sum float64, correct int) {
	d, n := m.cfg.Inputs, len(y)
	ld := pad8(m.out)
	m.loadWeights(ws, theta)
	for start := 0; start < n; start += generalChunk {
		cnt := min(generalChunk, n-start)
		z := m.forwardRows(ws, X[start*d:(start+cnt)*d], cnt)
		sum, correct = m.addLosses(sum, correct, z, ld, y, start, cnt)
	}
	return sum, correct
}

// addLosses adds to sum the losses of rows start … start+cnt−1, whose
// logits are the rows of z (row-major, leading dimension ld), in row order,
// and to correct the number of them classified right; it overwrites z.
func (m *MLP) addLosses(sum float64, correct int, z []float64, ld int, y []int, start, cnt int) (float64, int) {
	for i, c := range y[start : start+cnt] {
		if uint(c) >= uint(m.cfg.Classes) {
			panic(badLabel(start+i, c, m.cfg.Classes))
		}
		zi := z[i*ld : i*ld+m.out]
		var l float64
		var pred int
		if m.out == 1 {
			l, _ = bce(zi[0], c)
			if zi[0] > 0 {
				pred = 1
			}
		} else {
			l, pred = softmaxXent(zi, c)
		}
		sum += l
		if pred == c {
			correct++
		}
	}
	return sum, correct
}

func (m *MLP) predictGeneral(ws *Workspace, dst, theta, X []float64) {
	d, k := m.cfg.Inputs, m.cfg.Classes
	n := len(X) / d
	ld := pad8(m.out)
	m.loadWeights(ws, theta)
	for start := 0; start < n; start += generalChunk {
		cnt := min(generalChunk, n-start)
		z := m.forwardRows(ws, X[start*d:(start+cnt)*d], cnt)
		for i := range cnt {
			row := dst[(start+i)*k : (start+i)*k+k]
			if m.out == 1 {
				row[0], row[1] = sigmoidPair(z[i*ld])
			} else {
				copy(row, z[i*ld:i*ld+k])
				softmaxXent(row, 0)
			}
		}
	}
}
