package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestHandComputed checks loss and gradient against values worked out by
// hand (decimals evaluated to 40 digits with Python's decimal module) for
// three tiny networks: one per code path and output type.
func TestHandComputed(t *testing.T) {
	// σ(s) = 1/(1+e^{-s}); softplus(s) = log(1+e^s).
	const (
		// Case 1: 1 input, 1 ReLU unit, w = 2, b = -1, v = 3, c = 0.5.
		// Row A: x = 1, y = 1: a = 1, h = 1, z = 3.5, ℓ = softplus(-3.5), δ_A = σ(3.5)-1.
		// Row B: x = -1, y = 0: a = -3, h = 0, z = 0.5, ℓ = softplus(0.5), δ_B = σ(0.5).
		// Mean over 2: ∂w = ∂b = v·δ_A/2, ∂v = h_A·δ_A/2, ∂c = (δ_A+δ_B)/2.
		loss1 = 0.5019137012263636230339042645814602892855
		dwb1  = -0.04396834612703447829793433717127237584175
		dv1   = -0.01465611537567815943264477905709079194725
		dc1   = 0.2965735502252491228868055038156634474294

		// Case 2 (specialised kernel): 2 inputs, 2 ReLU units,
		// W = [[1, -1], [0.5, 2]], b = (0, -10), v = (2, -1), c = -0.5.
		// x = (3, 1), y = 1: a = (2, -6.5), h = (2, 0), z = 3.5, δ = σ(3.5)-1.
		// ∂W_0 = v_0 δ x = (6δ, 2δ), ∂b_0 = 2δ, ∂v_0 = h_0 δ = 2δ, ∂c = δ;
		// unit 1 is inactive, so its parameters get 0.
		loss2   = 0.02975041827262056519481117408174982881572
		delta2  = -0.0293122307513563188652895581141815838945
		sixD2   = -0.1758733845081379131917373486850895033670
		twoD2   = -0.0586244615027126377305791162283631677890
		loss3   = 1.002631030917680222596755867732775734582
		dw3     = -0.8129630903432546136459191360518720230482
		db3     = -0.4064815451716273068229595680259360115241
		dV3a    = 0.3546702991682808527195164846069039409929
		dV3b    = 0.1274852040611488151513905439440567566547
		dV3c    = -0.4821555032294296678709070285509606976476
		dc3a    = 0.4656946175265568952553383466546418792410
		dc3b    = 0.1673925713113710450678938769411135864665
		dc3c    = -0.6330871888379279403232322235957554657075
		handTol = 1e-15 // a few ulps of results of size ~1 after ~10 roundings
	)
	cases := []struct {
		name  string
		cfg   Config
		theta []float64
		X     []float64
		y     []int
		loss  float64
		grad  []float64
	}{
		{
			name:  "relu-binary-general",
			cfg:   Config{Inputs: 1, Hidden: []int{1}, Classes: 2},
			theta: []float64{2, -1, 3, 0.5},
			X:     []float64{1, -1},
			y:     []int{1, 0},
			loss:  loss1,
			grad:  []float64{dwb1, dwb1, dv1, dc1},
		},
		{
			name:  "relu-binary-kernel",
			cfg:   Config{Inputs: 2, Hidden: []int{2}, Classes: 2},
			theta: []float64{1, -1, 0.5, 2, 0, -10, 2, -1, -0.5},
			X:     []float64{3, 1},
			y:     []int{1},
			loss:  loss2,
			grad:  []float64{sixD2, twoD2, 0, 0, twoD2, 0, twoD2, 0, delta2},
		},
		{
			// Case 3: 1 input, 1 tanh unit, 3 classes, w = 0.5, b = 0,
			// V = (1, -1, 2), c = (0, 0.5, -1); x = 2, y = 2.
			// h = tanh(1), z = (h, 0.5-h, 2h-1), ℓ = log Σ e^{z_k} - z_2,
			// δ = softmax(z) - e_2, ∂V = δ h, ∂c = δ,
			// ∂b = (Vᵀδ)(1-h²), ∂w = ∂b·x.
			name:  "tanh-softmax-general",
			cfg:   Config{Inputs: 1, Hidden: []int{1}, Classes: 3, Activation: Tanh},
			theta: []float64{0.5, 0, 1, -1, 2, 0, 0.5, -1},
			X:     []float64{2},
			y:     []int{2},
			loss:  loss3,
			grad:  []float64{dw3, db3, dV3a, dV3b, dV3c, dc3a, dc3b, dc3c},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mustNew(t, c.cfg)
			if m.NumParams() != len(c.theta) {
				t.Fatalf("NumParams = %d, want %d", m.NumParams(), len(c.theta))
			}
			idx := make([]int, len(c.y))
			for i := range idx {
				idx[i] = i
			}
			grad := make([]float64, len(c.theta))
			for i := range grad {
				grad[i] = math.NaN() // must be overwritten
			}
			loss := m.LossGrad(m.NewWorkspace(len(idx)), c.theta, grad, c.X, c.y, idx)
			if math.Abs(loss-c.loss) > handTol {
				t.Errorf("loss = %.17g, want %.17g", loss, c.loss)
			}
			for k, g := range grad {
				if !(math.Abs(g-c.grad[k]) <= handTol) {
					t.Errorf("grad %s = %.17g, want %.17g", tensorOf(m, k), g, c.grad[k])
				}
			}
		})
	}
}

func TestTensorsLayout(t *testing.T) {
	// The paper's network: 2·100 + 100 + 100 + 1 = 401 parameters.
	m := mustNew(t, Config{Inputs: 2, Hidden: []int{100}, Classes: 2})
	if m.NumParams() != 401 || m.NumLayers() != 2 {
		t.Fatalf("NumParams, NumLayers = %d, %d, want 401, 2", m.NumParams(), m.NumLayers())
	}
	want := []Tensor{
		{Name: "layer0.weight", Layer: 0, Off: 0, Len: 200, Rows: 100, Cols: 2},
		{Name: "layer0.bias", Layer: 0, Bias: true, Off: 200, Len: 100, Rows: 100, Cols: 1},
		{Name: "layer1.weight", Layer: 1, Off: 300, Len: 100, Rows: 1, Cols: 100},
		{Name: "layer1.bias", Layer: 1, Bias: true, Off: 400, Len: 1, Rows: 1, Cols: 1},
	}
	got := m.Tensors()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tensor %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	got[0].Name = "changed"
	if m.Tensors()[0].Name != "layer0.weight" {
		t.Error("Tensors returned internal storage")
	}

	// A deeper softmax network: tensors tile the vector in order.
	m = mustNew(t, Config{Inputs: 5, Hidden: []int{4, 3}, Classes: 6})
	off := 0
	for i, tn := range m.Tensors() {
		if tn.Off != off || tn.Len != tn.Rows*tn.Cols || tn.Layer != i/2 || tn.Bias != (i%2 == 1) {
			t.Errorf("tensor %d = %+v, want offset %d", i, tn, off)
		}
		off += tn.Len
	}
	if off != m.NumParams() || off != (5*4+4)+(4*3+3)+(3*6+6) {
		t.Errorf("tensors cover %d, NumParams = %d", off, m.NumParams())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Inputs: 0, Hidden: []int{3}, Classes: 2}, "inputs = 0"},
		{Config{Inputs: -2, Hidden: []int{3}, Classes: 2}, "inputs = -2"},
		{Config{Inputs: 2, Classes: 2}, "hidden is empty"},
		{Config{Inputs: 2, Hidden: []int{3, 0}, Classes: 2}, "hidden[1] = 0, must be positive"},
		{Config{Inputs: 2, Hidden: []int{-1}, Classes: 2}, "hidden[0] = -1"},
		{Config{Inputs: 2, Hidden: []int{3}, Classes: 1}, "classes = 1"},
		{Config{Inputs: 2, Hidden: []int{3}, Classes: 0}, "classes = 0"},
		{Config{Inputs: 2, Hidden: []int{3}, Classes: 2, Activation: 7}, "activation = Activation(7)"},
		{Config{Inputs: math.MaxInt / 4, Hidden: []int{8}, Classes: 2}, "more than"},
		{Config{Inputs: math.MaxInt, Hidden: []int{1}, Classes: 2}, "more than"},
	}
	for _, c := range cases {
		m, err := New(c.cfg)
		if err == nil || m != nil {
			t.Errorf("New(%+v) = %v, %v; want an error", c.cfg, m, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "nn: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) error %q, want it to contain %q", c.cfg, err, c.want)
		}
	}
	// New copies Hidden.
	hidden := []int{4}
	m := mustNew(t, Config{Inputs: 2, Hidden: hidden, Classes: 2})
	hidden[0] = 100
	if m.NumParams() != 2*4+4+4+1 || m.Config().Hidden[0] != 4 {
		t.Error("New did not copy cfg.Hidden")
	}
}

func TestParseActivation(t *testing.T) {
	for _, a := range []Activation{ReLU, Tanh} {
		got, err := ParseActivation(a.String())
		if err != nil || got != a {
			t.Errorf("ParseActivation(%q) = %v, %v", a.String(), got, err)
		}
	}
	for _, s := range []string{"", "ReLU", "sigmoid"} {
		if _, err := ParseActivation(s); err == nil {
			t.Errorf("ParseActivation(%q) succeeded", s)
		}
	}
	if s := Activation(9).String(); s != "Activation(9)" {
		t.Errorf("Activation(9).String() = %q", s)
	}
	var zero Config
	if zero.Activation != ReLU {
		t.Error("zero Activation is not ReLU")
	}
}

// TestInitBounds checks that every tensor lies within ±1/√fan_in of its
// layer and that large tensors fill that range: for a tensor of n ≥ 600
// entries the chance that no draw lands in [0.98a, a] is 0.99^n ≤ 2.4e-3
// per side (and the seed is fixed).
func TestInitBounds(t *testing.T) {
	m := mustNew(t, Config{Inputs: 3, Hidden: []int{200, 50}, Classes: 4})
	theta := make([]float64, m.NumParams())
	m.Init(theta, rand.NewPCG(11, 12))
	for _, tn := range m.Tensors() {
		bound := 1 / math.Sqrt(float64(m.layers[tn.Layer].in))
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range theta[tn.Off : tn.Off+tn.Len] {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if lo < -bound || hi > bound {
			t.Errorf("%s in [%g, %g], want within ±%g", tn.Name, lo, hi, bound)
		}
		if tn.Len >= 600 && (lo > -0.98*bound || hi < 0.98*bound) {
			t.Errorf("%s in [%g, %g], does not fill ±%g", tn.Name, lo, hi, bound)
		}
	}
}

// TestInitStatistics checks the mean and variance of a large layer against
// U(-a, a): mean 0, variance a²/3. With n = 100,000 draws the standard
// error of the mean is a/√(3n) ≈ 1.8e-3·a and that of the sample variance
// is √(Var((X)²)/n) = a²·√(4/45/n) ≈ 9.4e-4·a²; we allow 5 standard errors.
func TestInitStatistics(t *testing.T) {
	m := mustNew(t, Config{Inputs: 4, Hidden: []int{25000}, Classes: 2})
	theta := make([]float64, m.NumParams())
	m.Init(theta, rand.NewPCG(5, 6))
	w := theta[:100000] // layer0.weight, fan_in 4, a = 0.5
	a := 0.5
	n := float64(len(w))
	var s, s2 float64
	for _, v := range w {
		s += v
	}
	mean := s / n
	for _, v := range w {
		s2 += (v - mean) * (v - mean)
	}
	variance := s2 / (n - 1)
	if se := a / math.Sqrt(3*n); math.Abs(mean) > 5*se {
		t.Errorf("mean = %g, want 0 ± %g", mean, 5*se)
	}
	if se := a * a * math.Sqrt(4.0/45/n); math.Abs(variance-a*a/3) > 5*se {
		t.Errorf("variance = %g, want %g ± %g", variance, a*a/3, 5*se)
	}
}

func TestInitDeterministic(t *testing.T) {
	m := mustNew(t, Config{Inputs: 2, Hidden: []int{30, 20}, Classes: 3})
	a := make([]float64, m.NumParams())
	b := make([]float64, m.NumParams())
	c := make([]float64, m.NumParams())
	m.Init(a, rand.NewPCG(1, 2))
	m.Init(b, rand.NewPCG(1, 2))
	m.Init(c, rand.NewPCG(1, 3))
	same := 0
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("same seed, parameter %d differs: %v vs %v", i, a[i], b[i])
		}
		if a[i] == c[i] {
			same++
		}
	}
	if same > 0 {
		t.Errorf("different seeds gave %d identical parameters", same)
	}
	// Exactly one Uint64 per parameter: the source continues where Init stopped.
	src := rand.NewPCG(1, 2)
	m.Init(c, src)
	ref := rand.NewPCG(1, 2)
	for range m.NumParams() {
		ref.Uint64()
	}
	if src.Uint64() != ref.Uint64() {
		t.Error("Init did not consume exactly NumParams values")
	}
}

// evalConfigs are the shapes used for the Evaluate/PredictTo checks: the
// specialised kernel and the general path with both output types.
func evalConfigs() []Config {
	return []Config{
		{Inputs: 2, Hidden: []int{20}, Classes: 2},
		{Inputs: 3, Hidden: []int{8, 6}, Classes: 2, Activation: Tanh},
		{Inputs: 2, Hidden: []int{10}, Classes: 4},
		{Inputs: 13, Hidden: []int{9, 5, 7}, Classes: 3}, // ragged widths: every kernel edge
	}
}

// TestEvaluateMatchesLossGrad: over all rows at once, Evaluate's loss must
// be LossGrad's loss, bit for bit: on the general path the two run
// different products (feature-major W·A against row-major A·Wᵀ) that must
// compute every pre-activation in the same order (general.go), and nothing
// may fuse a multiply-add in one and not the other.
func TestEvaluateMatchesLossGrad(t *testing.T) {
	for i, cfg := range evalConfigs() {
		t.Run(cfgName(cfg), func(t *testing.T) {
			m := mustNew(t, cfg)
			rng := rand.New(rand.NewPCG(9, uint64(i)))
			X, y := randData(rng, m, 300, 2)
			theta := make([]float64, m.NumParams())
			m.Init(theta, rng)
			idx := make([]int, len(y))
			for r := range idx {
				idx[r] = r
			}
			ws := m.NewWorkspace(len(y))
			lg := m.LossGrad(ws, theta, make([]float64, len(theta)), X, y, idx)
			le, acc := m.Evaluate(ws, theta, X, y)
			if le != lg {
				t.Errorf("Evaluate loss %.17g, LossGrad loss %.17g", le, lg)
			}
			if want := refMeanLoss(m, theta, X, y, idx); math.Abs(le-want) > 1e-12*want {
				t.Errorf("Evaluate loss %.17g, reference %.17g", le, want)
			}
			if acc < 0 || acc > 1 {
				t.Errorf("accuracy %g", acc)
			}
		})
	}
}

// TestEvaluateBatched: n = 1000 rows through a workspace of maxBatch 7 must
// give exactly the same loss and accuracy as through one of maxBatch 1000,
// because the per-row results do not depend on the chunking and are summed
// in row order either way.
func TestEvaluateBatched(t *testing.T) {
	for i, cfg := range evalConfigs() {
		t.Run(cfgName(cfg), func(t *testing.T) {
			m := mustNew(t, cfg)
			rng := rand.New(rand.NewPCG(10, uint64(i)))
			X, y := randData(rng, m, 1000, 2)
			theta := make([]float64, m.NumParams())
			m.Init(theta, rng)
			l1, a1 := m.Evaluate(m.NewWorkspace(7), theta, X, y)
			l2, a2 := m.Evaluate(m.NewWorkspace(1000), theta, X, y)
			if l1 != l2 || a1 != a2 {
				t.Errorf("maxBatch 7: (%.17g, %g); maxBatch 1000: (%.17g, %g)", l1, a1, l2, a2)
			}
			// Accuracy against the reference forward pass.
			correct := 0
			for r := range y {
				z, _ := refForward(m, theta, X[r*cfg.Inputs:(r+1)*cfg.Inputs])
				pred := 0
				if len(z) == 1 {
					if z[0] > 0 {
						pred = 1
					}
				} else {
					for k := range z {
						if z[k] > z[pred] {
							pred = k
						}
					}
				}
				if pred == y[r] {
					correct++
				}
			}
			if want := float64(correct) / 1000; a1 != want {
				t.Errorf("accuracy %g, reference %g", a1, want)
			}
			if l, a := m.Evaluate(m.NewWorkspace(3), theta, nil, nil); l != 0 || a != 0 {
				t.Errorf("empty Evaluate = %g, %g; want 0, 0", l, a)
			}
		})
	}
}

// TestPredictTo: rows are probability vectors (sum 1 within 4ε, since each
// entry is rounded once and the sum adds ≤ k roundings), and the mean of
// -log p[y] is Evaluate's loss.
func TestPredictTo(t *testing.T) {
	for i, cfg := range evalConfigs() {
		t.Run(cfgName(cfg), func(t *testing.T) {
			m := mustNew(t, cfg)
			rng := rand.New(rand.NewPCG(12, uint64(i)))
			X, y := randData(rng, m, 600, 2)
			theta := make([]float64, m.NumParams())
			m.Init(theta, rng)
			for k := range theta {
				theta[k] *= 4 // confident predictions, p near 0 and 1
			}
			ws := m.NewWorkspace(5)
			k := cfg.Classes
			p := make([]float64, len(y)*k)
			m.PredictTo(ws, p, theta, X)
			var nll float64
			for r := range y {
				row := p[r*k : r*k+k]
				var s float64
				for _, v := range row {
					if v < 0 || v > 1 {
						t.Fatalf("row %d = %v", r, row)
					}
					s += v
				}
				if math.Abs(s-1) > 4*0x1p-52 {
					t.Errorf("row %d sums to 1%+g", r, s-1)
				}
				nll -= math.Log(row[y[r]])
			}
			loss, _ := m.Evaluate(ws, theta, X, y)
			if nll /= float64(len(y)); math.Abs(nll-loss) > 1e-9*loss {
				t.Errorf("mean -log p[y] = %.17g, Evaluate loss %.17g", nll, loss)
			}
		})
	}
}

// TestZeroAllocs proves the step-loop methods allocate nothing, on the
// specialised kernel and on the general path.
func TestZeroAllocs(t *testing.T) {
	for i, cfg := range append(evalConfigs(), Config{Inputs: 2, Hidden: []int{500}, Classes: 2},
		Config{Inputs: 784, Hidden: []int{100}, Classes: 10}) {
		t.Run(cfgName(cfg), func(t *testing.T) {
			m := mustNew(t, cfg)
			rng := rand.New(rand.NewPCG(13, uint64(i)))
			X, y := randData(rng, m, 500, 2)
			theta := make([]float64, m.NumParams())
			grad := make([]float64, m.NumParams())
			m.Init(theta, rng)
			ws := m.NewWorkspace(50)
			idx := rng.Perm(len(y))[:50]
			dst := make([]float64, len(y)*cfg.Classes)
			if n := testing.AllocsPerRun(20, func() { m.LossGrad(ws, theta, grad, X, y, idx) }); n != 0 {
				t.Errorf("LossGrad: %v allocations per call", n)
			}
			if n := testing.AllocsPerRun(20, func() { m.Evaluate(ws, theta, X, y) }); n != 0 {
				t.Errorf("Evaluate: %v allocations per call", n)
			}
			if n := testing.AllocsPerRun(20, func() { m.PredictTo(ws, dst, theta, X) }); n != 0 {
				t.Errorf("PredictTo: %v allocations per call", n)
			}
		})
	}
}

func TestPanics(t *testing.T) {
	for _, cfg := range evalConfigs()[:2] {
		m := mustNew(t, cfg)
		other := mustNew(t, cfg)
		rng := rand.New(rand.NewPCG(14, 1))
		X, y := randData(rng, m, 10, 1)
		theta := make([]float64, m.NumParams())
		grad := make([]float64, m.NumParams())
		ws := m.NewWorkspace(4)
		badY := append([]int(nil), y...)
		badY[2] = cfg.Classes
		cases := []struct {
			name, want string
			f          func()
		}{
			{"foreign workspace", "different MLP", func() { m.LossGrad(other.NewWorkspace(4), theta, grad, X, y, []int{0}) }},
			{"short theta", "len(theta)", func() { m.LossGrad(ws, theta[1:], grad, X, y, []int{0}) }},
			{"short grad", "len(grad)", func() { m.LossGrad(ws, theta, grad[1:], X, y, []int{0}) }},
			{"X/y mismatch", "len(X)", func() { m.LossGrad(ws, theta, grad, X[1:], y, []int{0}) }},
			{"empty batch", "empty minibatch", func() { m.LossGrad(ws, theta, grad, X, y, nil) }},
			{"batch too big", "maxBatch", func() { m.LossGrad(ws, theta, grad, X, y, []int{0, 1, 2, 3, 4}) }},
			{"index", "idx[1] = 10", func() { m.LossGrad(ws, theta, grad, X, y, []int{0, 10}) }},
			{"negative index", "idx[0] = -1", func() { m.LossGrad(ws, theta, grad, X, y, []int{-1}) }},
			{"label", "y[2] = ", func() { m.LossGrad(ws, theta, grad, X, badY, []int{1, 2}) }},
			{"label in Evaluate", "y[2] = ", func() { m.Evaluate(ws, theta, X, badY) }},
			{"dst", "len(dst)", func() { m.PredictTo(ws, make([]float64, 3), theta, X) }},
			{"maxBatch", "maxBatch = 0", func() { m.NewWorkspace(0) }},
			{"Init", "len(theta)", func() { m.Init(theta[1:], rand.NewPCG(1, 1)) }},
		}
		for _, c := range cases {
			t.Run(cfgName(cfg)+"/"+c.name, func(t *testing.T) {
				defer func() {
					r := recover()
					s, _ := r.(string)
					if !strings.HasPrefix(s, "nn: ") || !strings.Contains(s, c.want) {
						t.Errorf("panic %v, want \"nn: …%s…\"", r, c.want)
					}
				}()
				c.f()
			})
		}
	}
}

// TestNaNPropagates: a NaN parameter must surface as a NaN loss (so that a
// diverged chain is detected), on both paths.
func TestNaNPropagates(t *testing.T) {
	for _, cfg := range evalConfigs() {
		m := mustNew(t, cfg)
		rng := rand.New(rand.NewPCG(15, 1))
		X, y := randData(rng, m, 20, 1)
		theta := make([]float64, m.NumParams())
		m.Init(theta, rng)
		theta[0] = math.NaN()
		ws := m.NewWorkspace(20)
		idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
		if l := m.LossGrad(ws, theta, make([]float64, len(theta)), X, y, idx); !math.IsNaN(l) {
			t.Errorf("%s: LossGrad loss %g with a NaN weight", cfgName(cfg), l)
		}
		if l, _ := m.Evaluate(ws, theta, X, y); !math.IsNaN(l) {
			t.Errorf("%s: Evaluate loss %g with a NaN weight", cfgName(cfg), l)
		}
	}
}

// TestReLUKink pins the ReLU derivative at and next to 0 on both paths and
// through every kernel loop (unit pairs and the odd last unit): units with
// pre-activation exactly 0 or -1e-12 get no gradient (derivative 0 at 0, as
// PyTorch), units at +1e-12 do.
func TestReLUKink(t *testing.T) {
	for _, inputs := range []int{1, 2} {
		for _, h := range []int{1, 2, 3} {
			for _, pre := range []float64{0, -1e-12, 1e-12} {
				m := mustNew(t, Config{Inputs: inputs, Hidden: []int{h}, Classes: 2})
				ts := m.Tensors()
				theta := make([]float64, m.NumParams())
				for j := range h {
					theta[ts[0].Off+j*inputs] = 1 // W_j0 = 1, other weights 0
					theta[ts[1].Off+j] = pre      // b_j
					theta[ts[2].Off+j] = 1        // v_j
				}
				X := make([]float64, inputs) // x = 0, so a_j = b_j = pre
				grad := make([]float64, m.NumParams())
				loss := m.LossGrad(m.NewWorkspace(1), theta, grad, X, []int{1}, []int{0})
				// z = Σ_j relu(pre), ℓ = softplus(-z), δ = σ(z) - 1.
				hj := max(pre, 0)
				z := float64(h) * hj
				delta := 1/(1+math.Exp(-z)) - 1
				if want := math.Log1p(math.Exp(-z)); math.Abs(loss-want) > 1e-16 {
					t.Errorf("inputs=%d, H=%d, a=%g: loss %.17g, want %.17g", inputs, h, pre, loss, want)
				}
				wantB, wantV := 0.0, 0.0
				if pre > 0 {
					wantB, wantV = delta, delta*hj
				}
				for j := range h {
					if gb, gv := grad[ts[1].Off+j], grad[ts[2].Off+j]; gb != wantB || math.Abs(gv-wantV) > 1e-28 {
						t.Errorf("inputs=%d, H=%d, a_%d = %g: ∂b = %g, ∂v = %g; want %g, %g",
							inputs, h, j, pre, gb, gv, wantB, wantV)
					}
				}
			}
		}
	}
}

// TestTiesAndExtremes: with all parameters 0 every logit is 0, so the loss
// is log K and the documented tie rule (class 0 on a tie) decides the
// accuracy; with the output bias at ±40, PredictTo's small probability
// keeps its relative precision (1-σ(40) computed as 1-p would be 0).
func TestTiesAndExtremes(t *testing.T) {
	for _, cfg := range evalConfigs() {
		m := mustNew(t, cfg)
		theta := make([]float64, m.NumParams())
		X := make([]float64, 3*cfg.Inputs)
		for i := range X {
			X[i] = float64(i) - 2.5
		}
		y := []int{0, 1, 1}
		loss, acc := m.Evaluate(m.NewWorkspace(2), theta, X, y)
		if want := math.Log(float64(cfg.Classes)); math.Abs(loss-want) > 1e-15 || acc != 1.0/3 {
			t.Errorf("%s: all-zero θ gives (%g, %g), want (log %d, 1/3)", cfgName(cfg), loss, acc, cfg.Classes)
		}
		if cfg.Classes != 2 {
			continue
		}
		out := m.Tensors()[m.NumLayers()*2-1] // output bias
		for _, c := range []float64{40, -40} {
			theta[out.Off] = c
			p := make([]float64, 2*3)
			m.PredictTo(m.NewWorkspace(2), p, theta, X)
			small := math.Exp(-40) / (1 + math.Exp(-40))
			got := p[0]
			if c < 0 {
				got = p[1]
			}
			if math.Abs(got-small) > 1e-15*small {
				t.Errorf("%s: z = %g: small probability %g, want %g", cfgName(cfg), c, got, small)
			}
		}
		theta[out.Off] = 0
	}
}
