package nn

import (
	"fmt"
	"math"

	"github.com/heatbath/heatbath/internal/detmath"
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
	e := detmath.Exp(-math.Abs(z))
	return bceFrom(z, e, detmath.Log1p(e), t)
}

// sigmoidPair returns (1-σ(z), σ(z)), each computed without cancellation.
func sigmoidPair(z float64) (p0, p1 float64) {
	e := detmath.Exp(-math.Abs(z))
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
		e := detmath.Exp(v - mx)
		z[k] = e
		s += e
	}
	inv := 1 / s
	for k := range z {
		z[k] *= inv
	}
	return detmath.Log(s) + mx - zt, argmax
}

// bceFrom finishes bce from e = detmath.Exp(−|z|) and l = detmath.Log1p(e):
// the same loss and probability as bce(z, t).
func bceFrom(z, e, l float64, t int) (loss, p float64) {
	s := z
	if t == 1 {
		s = -z
	}
	loss = l
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

// expLog1p sets e[i] = detmath.Exp(−|z[i]|) and l[i] = detmath.Log1p(e[i])
// for every i (the two calls of bce), with len(e), len(l) ≥ len(z):
// expLog1pGo, or a vector kernel with the same bits (gemm_amd64.go).
var expLog1p = expLog1pGo

func expLog1pGo(z, e, l []float64) {
	e, l = e[:len(z)], l[:len(z)]
	for i, zi := range z {
		e[i] = detmath.Exp(-math.Abs(zi))
		l[i] = detmath.Log1p(e[i])
	}
}
