package nn

// LineLosses writes into dst[i] the mean loss over the rows of X (row-major
// n×Inputs, labels y) at θ(αᵢ) = (1−αᵢ)·a + αᵢ·b, αᵢ = alphas[i]: the
// loss along a line (Goodfellow et al. 2015).
//
// On the general path the first layer's products are computed once per
// end point, since X·W(α)ᵀ = (1−α)·X·Waᵀ + α·X·Wbᵀ: the first layer
// holds almost all of the work of a wide input (784-100-10: 99%), so the
// line costs about two evaluations plus the cheap layers at every α,
// instead of an evaluation per α. The layer-0 pre-activation at α is
// b0(α) + (float64((1−α)·za) + float64(α·zb)), each term rounded, so it can
// differ from Evaluate at θ(α) in the last bits; it is the same on every
// platform and kernel. The other layers use θ(α) itself. The SHLP path (2
// inputs) evaluates θ(α) at every α. It panics on lengths that do not
// match, as Evaluate.
func (m *MLP) LineLosses(ws *Workspace, dst, alphas, a, b, X []float64, y []int) {
	ws.check(m)
	m.checkParams("a", a)
	m.checkParams("b", b)
	m.checkData(X, y)
	if len(dst) != len(alphas) {
		panic("nn: LineLosses: len(dst) != len(alphas)")
	}
	theta := make([]float64, m.nparams)
	at := func(alpha float64) {
		for j := range theta {
			theta[j] = float64((1-alpha)*a[j]) + float64(alpha*b[j])
		}
	}
	n := len(y)
	if m.shlp || n == 0 {
		for i, alpha := range alphas {
			at(alpha)
			dst[i], _ = m.Evaluate(ws, theta, X, y)
		}
		return
	}
	d := m.cfg.Inputs
	ly0 := m.layers[0]
	ld0 := pad8(ly0.out)
	// za, zb: X·Wᵀ of layer 0 at a and at b, without the bias.
	za, zb := make([]float64, n*ld0), make([]float64, n*ld0)
	for _, e := range []struct {
		theta, z []float64
	}{{a, za}, {b, zb}} {
		m.loadWeights(ws, e.theta)
		for start := 0; start < n; start += generalChunk {
			cnt := min(generalChunk, n-start)
			gemm(cnt, ld0, d, X[start*d:(start+cnt)*d], d, 1, ws.wt[0], ld0, e.z[start*ld0:(start+cnt)*ld0], ld0)
		}
	}
	last := len(m.layers) - 1
	for i, alpha := range alphas {
		at(alpha)
		m.loadWeights(ws, theta)
		var sum float64
		var correct int
		for start := 0; start < n; start += generalChunk {
			cnt := min(generalChunk, n-start)
			out := ws.acts[0][:cnt*ld0]
			zas, zbs := za[start*ld0:(start+cnt)*ld0], zb[start*ld0:(start+cnt)*ld0]
			for r := range cnt {
				o, pa, pb := out[r*ld0:r*ld0+ld0], zas[r*ld0:r*ld0+ld0], zbs[r*ld0:r*ld0+ld0]
				for j, bj := range ws.bias[0][:ld0] {
					o[j] = bj + (float64((1-alpha)*pa[j]) + float64(alpha*pb[j]))
				}
			}
			m.cfg.Activation.activate(out) // layer 0 is hidden: New wants one
			z := m.forwardFrom(ws, 1, out, ld0, cnt)
			sum, correct = m.addLosses(sum, correct, z, pad8(m.layers[last].out), y, start, cnt)
		}
		dst[i] = sum / float64(n)
	}
}
