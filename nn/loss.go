package nn

import (
	"fmt"
	"math"
)

// LossGrad returns the mean loss over the minibatch rows X[idx[i]],
//
//	L̃_B(θ) = (1/|B|) Σ_{i∈B} ℓ(f_θ(x_i), y_i),
//
// and writes ∇_θ L̃_B(θ) into grad (overwritten). X is row-major
// n×Inputs, y[r] is the class label of row r, in [0, Classes), and idx
// lists the minibatch rows (repeats allowed). LossGrad allocates nothing.
//
// LossGrad panics if ws was not made by m, if len(theta) or len(grad) is
// not NumParams(), if len(X) is not len(y)·Inputs, if idx is empty or longer
// than ws.MaxBatch(), or if an index or label is out of range. grad must not
// overlap theta or X.
func (m *MLP) LossGrad(ws *Workspace, theta, grad []float64, X []float64, y []int, idx []int) float64 {
	ws.check(m)
	m.checkParams("theta", theta)
	m.checkParams("grad", grad)
	m.checkData(X, y)
	if len(idx) == 0 {
		panic("nn: empty minibatch")
	}
	if len(idx) > ws.maxBatch {
		panic(fmt.Sprintf("nn: len(idx) = %d exceeds the workspace's maxBatch %d", len(idx), ws.maxBatch))
	}
	if m.shlp {
		return m.lossGradSHLP(ws, theta, grad, X, y, idx)
	}
	return m.lossGradGeneral(ws, theta, grad, X, y, idx)
}

// Evaluate returns the mean loss and the accuracy over all n = len(y) rows
// of X (row-major n×Inputs), in chunks that fit ws; the result does not
// depend on ws.MaxBatch(). A row counts as correct when its most probable
// class equals its label: for Classes == 2 class 1 is predicted iff the
// logit z > 0 (p > 0.5), so a tie p = 0.5 predicts class 0; for Classes > 2
// ties go to the lowest class index, like argmax in PyTorch. With n = 0
// Evaluate returns (0, 0). Evaluate allocates nothing and panics on the same
// shape errors as LossGrad.
func (m *MLP) Evaluate(ws *Workspace, theta []float64, X []float64, y []int) (loss, acc float64) {
	ws.check(m)
	m.checkParams("theta", theta)
	m.checkData(X, y)
	if len(y) == 0 {
		return 0, 0
	}
	var sum float64
	var correct int
	if m.shlp {
		sum, correct = m.evaluateSHLP(ws, theta, X, y)
	} else {
		sum, correct = m.evaluateGeneral(ws, theta, X, y)
	}
	n := float64(len(y))
	return sum / n, float64(correct) / n
}

// PredictTo writes the class probabilities of the rows of X (row-major
// n×Inputs) into dst, row-major n×Classes. For Classes == 2 row r is
// (1-p, p) with p = σ(z) the sigmoid of the logit; both entries are computed
// directly from z, so a probability near 0 keeps its relative precision.
// For Classes > 2 the row is softmax(z). PredictTo allocates nothing. It
// panics if len(X) is not a multiple of Inputs or len(dst) is not
// n·Classes; dst must not overlap theta or X.
func (m *MLP) PredictTo(ws *Workspace, dst, theta, X []float64) {
	ws.check(m)
	m.checkParams("theta", theta)
	d := m.cfg.Inputs
	if len(X)%d != 0 {
		panic(fmt.Sprintf("nn: len(X) = %d is not a multiple of Inputs = %d", len(X), d))
	}
	n := len(X) / d
	if len(dst) != n*m.cfg.Classes {
		panic(fmt.Sprintf("nn: len(dst) = %d, want n·Classes = %d·%d", len(dst), n, m.cfg.Classes))
	}
	if m.shlp {
		m.predictSHLP(ws, dst, theta, X)
		return
	}
	m.predictGeneral(ws, dst, theta, X)
}

func (m *MLP) checkData(X []float64, y []int) {
	if len(X) != len(y)*m.cfg.Inputs {
		panic(fmt.Sprintf("nn: len(X) = %d, want len(y)·Inputs = %d·%d", len(X), len(y), m.cfg.Inputs))
	}
}

func badIndex(i, r, n int) string {
	return fmt.Sprintf("nn: idx[%d] = %d out of range [0, %d)", i, r, n)
}

func badLabel(r, c, classes int) string {
	return fmt.Sprintf("nn: y[%d] = %d out of range [0, %d)", r, c, classes)
}

// bce returns the binary cross-entropy of logit z against label t ∈ {0, 1}
// and the sigmoid p = σ(z). With s = z for t = 0 and s = -z for t = 1,
//
//	ℓ = -t log σ(z) - (1-t) log(1-σ(z)) = softplus(s) = max(s, 0) + log1p(e^{-|z|}),
//
// which equals max(z,0) - t·z + log1p(e^{-|z|}) and never overflows; the
// same e = e^{-|z|} gives σ(z) = 1/(1+e) for z ≥ 0 and e/(1+e) for z < 0.
// dℓ/dz = σ(z) - t.
func bce(z float64, t int) (loss, p float64) {
	e := math.Exp(-math.Abs(z))
	s := z
	if t == 1 {
		s = -z
	}
	loss = math.Log1p(e)
	if s > 0 {
		loss += s
	}
	if z >= 0 {
		p = 1 / (1 + e)
	} else {
		p = e / (1 + e)
	}
	return loss, p
}

// sigmoidPair returns (1-σ(z), σ(z)), each computed without cancellation.
func sigmoidPair(z float64) (p0, p1 float64) {
	e := math.Exp(-math.Abs(z))
	big, small := 1/(1+e), e/(1+e)
	if z >= 0 {
		return small, big
	}
	return big, small
}

// softmaxXent overwrites z with softmax(z) and returns the cross-entropy
// -log softmax(z)_t = log Σ_k e^{z_k-M} + M - z_t, M = max_k z_k, and the
// argmax of z (lowest index on ties).
func softmaxXent(z []float64, t int) (loss float64, argmax int) {
	mx := z[0]
	for k, v := range z {
		if v > mx {
			mx, argmax = v, k
		}
	}
	zt := z[t]
	var s float64
	for k, v := range z {
		e := math.Exp(v - mx)
		z[k] = e
		s += e
	}
	inv := 1 / s
	for k := range z {
		z[k] *= inv
	}
	return math.Log(s) + mx - zt, argmax
}

// The general path handles any depth, width, activation and class count.
// It runs each sample through all layers (activations stored in ws.act),
// then straight back, accumulating into grad.

func (m *MLP) lossGradGeneral(ws *Workspace, theta, grad, X []float64, y []int, idx []int) float64 {
	clear(grad)
	d, n := m.cfg.Inputs, len(y)
	inv := 1 / float64(len(idx))
	var sum float64
	for i, r := range idx {
		if uint(r) >= uint(n) {
			panic(badIndex(i, r, n))
		}
		c := y[r]
		if uint(c) >= uint(m.cfg.Classes) {
			panic(badLabel(r, c, m.cfg.Classes))
		}
		x := X[r*d : r*d+d]
		z := m.forward(ws, theta, x)
		delta := ws.d0[:m.out]
		if m.out == 1 {
			l, p := bce(z[0], c)
			sum += l
			delta[0] = (p - float64(c)) * inv
		} else {
			copy(delta, z)
			l, _ := softmaxXent(delta, c)
			sum += l
			// ∂ℓ/∂z_k = softmax(z)_k - [k = t]
			delta[c]--
			for k := range delta {
				delta[k] *= inv
			}
		}
		m.backward(ws, theta, grad, x, delta)
	}
	return sum / float64(len(idx))
}

func (m *MLP) evaluateGeneral(ws *Workspace, theta, X []float64, y []int) (sum float64, correct int) {
	d := m.cfg.Inputs
	for r, c := range y {
		if uint(c) >= uint(m.cfg.Classes) {
			panic(badLabel(r, c, m.cfg.Classes))
		}
		z := m.forward(ws, theta, X[r*d:r*d+d])
		var l float64
		var pred int
		if m.out == 1 {
			l, _ = bce(z[0], c)
			if z[0] > 0 {
				pred = 1
			}
		} else {
			l, pred = softmaxXent(z, c)
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
	for r := 0; r < len(X)/d; r++ {
		z := m.forward(ws, theta, X[r*d:r*d+d])
		row := dst[r*k : r*k+k]
		if m.out == 1 {
			row[0], row[1] = sigmoidPair(z[0])
		} else {
			copy(row, z)
			softmaxXent(row, 0)
		}
	}
}

// forward runs x through every layer, a⁽ˡ⁾ = act(W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾) with
// a⁽⁻¹⁾ = x and no activation on the output layer, storing each a⁽ˡ⁾ in
// ws.act. It returns the output logits (a view into ws.act).
func (m *MLP) forward(ws *Workspace, theta, x []float64) []float64 {
	in, off := x, 0
	last := len(m.layers) - 1
	for l, ly := range m.layers {
		out := ws.act[off : off+ly.out]
		off += ly.out
		w := theta[ly.w : ly.w+ly.in*ly.out]
		b := theta[ly.b : ly.b+ly.out]
		b = b[:len(out)]
		for o := range out {
			out[o] = b[o] + dot(w[o*ly.in:o*ly.in+ly.in], in)
		}
		if l < last {
			m.cfg.Activation.activate(out)
		}
		in = out
	}
	return in
}

// backward accumulates into grad the gradient of one sample given
// delta = ∂ℓ/∂z at the output (destroyed) and the activations left in
// ws.act by forward(x):
//
//	∂/∂W⁽ˡ⁾ += δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ,  ∂/∂b⁽ˡ⁾ += δ⁽ˡ⁾,  δ⁽ˡ⁻¹⁾ = (W⁽ˡ⁾ᵀ δ⁽ˡ⁾) ⊙ act'(a⁽ˡ⁻¹⁾).
func (m *MLP) backward(ws *Workspace, theta, grad, x, delta []float64) {
	off := m.acts - m.out // start of the output layer's activations
	spare := ws.d1        // delta is ws.d0[:m.out]; the two swap roles per layer
	for l := len(m.layers) - 1; l >= 0; l-- {
		ly := m.layers[l]
		in := x
		if l > 0 {
			off -= ly.in
			in = ws.act[off : off+ly.in]
		}
		gw := grad[ly.w : ly.w+ly.in*ly.out]
		gb := grad[ly.b : ly.b+ly.out]
		gb = gb[:len(delta)]
		for o, dl := range delta {
			if dl == 0 { // common with ReLU: a dead unit contributes nothing
				continue
			}
			gb[o] += dl
			axpy(dl, in, gw[o*ly.in:o*ly.in+ly.in])
		}
		if l == 0 {
			break
		}
		w := theta[ly.w : ly.w+ly.in*ly.out]
		prev := spare[:ly.in]
		clear(prev)
		for o, dl := range delta {
			if dl != 0 {
				axpy(dl, w[o*ly.in:o*ly.in+ly.in], prev)
			}
		}
		m.cfg.Activation.backprop(prev, in)
		delta, spare = prev, delta[:cap(delta)]
	}
}

// dot returns Σ_k a[k]·b[k] over len(a) terms (len(b) >= len(a)), with four
// partial sums to break the add latency chain.
func dot(a, b []float64) float64 {
	var s0, s1, s2, s3 float64
	for len(a) >= 4 && len(b) >= 4 {
		s0 += a[0] * b[0]
		s1 += a[1] * b[1]
		s2 += a[2] * b[2]
		s3 += a[3] * b[3]
		a, b = a[4:], b[4:]
	}
	b = b[:len(a)]
	for k, v := range a {
		s0 += v * b[k]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy computes y[k] += alpha·x[k] for k < len(y) (len(x) >= len(y)).
func axpy(alpha float64, x, y []float64) {
	x = x[:len(y)]
	for k, v := range x {
		y[k] += alpha * v
	}
}
