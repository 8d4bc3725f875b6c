package nn

import "fmt"

// evalChunk is the number of rows the single-hidden-layer kernel pushes
// through its forward pass at a time in Evaluate and PredictTo. The logits
// (2 KiB) and input columns (4 KiB) stay in L1.
const evalChunk = 256

// Workspace holds all scratch memory of LossGrad, Evaluate and PredictTo,
// so that these allocate nothing. A Workspace belongs to the MLP that
// created it and is not safe for concurrent use: give each goroutine its
// own.
type Workspace struct {
	m        *MLP
	maxBatch int

	// General path (general.go), sizes in brackets, B = maxBatch,
	// P = pad8(B), d = Inputs, W = the widest layer, C = generalChunk:
	gx   []float64   // [B·d] the minibatch rows, row-major
	gxt  []float64   // [d·P] the minibatch rows, feature-major
	acts [][]float64 // per layer: [out·P] activations, feature-major (training), or [C·pad8(out)], row-major (evaluation)
	wt   [][]float64 // per layer: [in·pad8(out)] Wᵀ, for evaluation
	bias [][]float64 // per layer: [pad8(out)] b, for evaluation
	hs   []float64   // [B·W] a hidden layer's activations, row-major
	d0   []float64   // [P·W] deltas, feature-major
	d1   []float64   // [P·W] deltas of the layer below
	zrow []float64   // [out] one row's logits

	// Single-hidden-layer path (shlp.go), sizes in brackets, B = maxBatch,
	// C = pad8(max(B, evalChunk)), P = pad8(B), H = hidden width:
	x0, x1   []float64 // [C] gathered input columns
	t        []float64 // [B] labels as 0/1
	z        []float64 // [C] logits
	ez, lz   []float64 // [C] e^{−|z|} and log1p of it (expLog1p)
	dz       []float64 // [B] δ_i = ∂L/∂z_i, already divided by the batch size
	dx0, dx1 []float64 // [B] δ_i·x_i0, δ_i·x_i1
	mask     []float64 // [H·P] ReLU derivative m_ij ∈ {0,1}, unit-major: m[j*pad8(b)+i]
	w0, w1   []float64 // [H] w_j0, w_j1 de-interleaved, for the vector backward kernels
	s0, s1   []float64 // [H] masked sums S0_j, S1_j from the vector backward kernels
	sb       []float64 // [H] masked sums Sb_j
}

// NewWorkspace returns a Workspace for minibatches of up to maxBatch rows.
// It panics if maxBatch < 1.
func (m *MLP) NewWorkspace(maxBatch int) *Workspace {
	if maxBatch < 1 {
		panic(fmt.Sprintf("nn: maxBatch = %d, must be positive", maxBatch))
	}
	ws := &Workspace{m: m, maxBatch: maxBatch}
	if m.shlp {
		h := m.cfg.Hidden[0]
		c := pad8(max(maxBatch, evalChunk))
		ws.x0 = make([]float64, c)
		ws.x1 = make([]float64, c)
		ws.t = make([]float64, maxBatch)
		ws.z = make([]float64, c)
		ws.ez = make([]float64, c)
		ws.lz = make([]float64, c)
		ws.dz = make([]float64, maxBatch)
		ws.dx0 = make([]float64, maxBatch)
		ws.dx1 = make([]float64, maxBatch)
		ws.mask = make([]float64, h*pad8(maxBatch))
		ws.w0 = make([]float64, h)
		ws.w1 = make([]float64, h)
		ws.s0 = make([]float64, h)
		ws.s1 = make([]float64, h)
		ws.sb = make([]float64, h)
		return ws
	}
	ws.allocGeneral(m)
	return ws
}

// MaxBatch returns the largest minibatch LossGrad accepts with ws.
func (ws *Workspace) MaxBatch() int { return ws.maxBatch }

// check panics unless ws was made by m.
func (ws *Workspace) check(m *MLP) {
	if ws == nil || ws.m != m {
		panic("nn: workspace belongs to a different MLP")
	}
}
