package sampler

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// harmonic is U(θ) = ½ Σ kᵢ θᵢ², optionally with Gaussian gradient noise of
// standard deviation noise drawn from its own source (the "unknown" noise of
// a minibatch gradient).
type harmonic struct {
	k     []float64
	noise float64
	rng   *rand.Rand
}

func newHarmonic(n int, k, noise float64, seed uint64) *harmonic {
	h := &harmonic{k: make([]float64, n), noise: noise, rng: rand.New(rand.NewPCG(seed, 99))}
	for i := range h.k {
		h.k[i] = k
	}
	return h
}

func (h *harmonic) problem() Problem {
	return Problem{Grad: func(grad, theta []float64) float64 {
		var u float64
		for i, x := range theta {
			grad[i] = h.k[i] * x
			if h.noise > 0 {
				grad[i] += h.noise * h.rng.NormFloat64()
			}
			u += 0.5 * h.k[i] * x * x
		}
		return u
	}}
}

func whole(n int) []Tensor { return []Tensor{{Name: "x", Off: 0, Len: n}} }

func mustChain(t testing.TB, set Settings, theta0 []float64, prob Problem, seed uint64) *Chain {
	t.Helper()
	c, err := New(set, theta0, prob, seed, 1)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustStep(t testing.TB, c *Chain, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := c.Step(); err != nil {
			t.Fatal(err)
		}
	}
}

// baoabStationary returns the exact stationary variances of the position
// and of the post-O momentum of merged-kick BAOAB on U = ½kq², by iterating
// the Lyapunov equation Σ ← MΣMᵀ + NNᵀ of the linear one-step map
// (q, p) ↦ (q', p') with q₁ = q + (h/2)p, p₁ = c p + d R, q' = q₁ + (h/2)p₁,
// p' = p₁ − h k q'.
func baoabStationary(h, gamma, tau, k float64, overdamped bool) (varQ, varPmid float64) {
	c := math.Exp(-gamma * h)
	if overdamped {
		c = 0
	}
	d := math.Sqrt((1 - c*c) * tau)
	// q' = q + (h/2)p + (h/2)(c p + d R) = q + (h/2)(1+c) p + (h/2) d R
	// p' = c p + d R − h k q'
	m := [2][2]float64{{1, h / 2 * (1 + c)}, {0, c}}
	nn := [2]float64{h / 2 * d, d}
	m[1][0] = -h * k * m[0][0]
	m[1][1] -= h * k * m[0][1]
	nn[1] -= h * k * nn[0]
	var s [2][2]float64
	for it := 0; it < 200000; it++ {
		var ms, out [2][2]float64
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				ms[i][j] = m[i][0]*s[0][j] + m[i][1]*s[1][j]
			}
		}
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				out[i][j] = ms[i][0]*m[j][0] + ms[i][1]*m[j][1] + nn[i]*nn[j]
			}
		}
		s = out
	}
	return s[0][0], c*c*s[1][1] + d*d
}

// TestHarmonicVariances checks BAOAB (several γ) and the overdamped LM
// scheme on a harmonic potential: the sampled variance of the position and
// of the post-O momentum must match the exact stationary values of the
// discrete map, and the position variance must equal τ/k, since BAOAB is
// exact in configuration for harmonic potentials (Leimkuhler & Matthews
// 2013, §4). Pooled over 2000 independent coordinates × 3000 samples the
// relative standard error of a variance estimate is below 0.3% (with
// correlation times of a few steps), so a 2% tolerance is > 5σ.
func TestHarmonicVariances(t *testing.T) {
	const (
		n   = 2000
		k   = 2.0
		tau = 0.01
		h   = 0.3
	)
	cases := []struct {
		name  string
		kind  Kind
		gamma float64
	}{
		{"langevin-gamma1", Langevin, 1},
		{"langevin-gamma10", Langevin, 10},
		{"overdamped", Overdamped, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := Settings{H: h, Groups: []Group{{Name: "x", Tensors: whole(n), Kind: tc.kind, Gamma: tc.gamma, Tau: tau}}}
			c := mustChain(t, set, make([]float64, n), newHarmonic(n, k, 0, 1).problem(), 7)
			mustStep(t, c, 500) // burn-in: e^{−γt} and the position relaxation are far below 1e-3 by then
			var sq, tk float64
			var cnt int
			for s := 0; s < 3000; s++ {
				mustStep(t, c, 1)
				for _, x := range c.Theta() {
					sq += x * x
				}
				tk += c.Diag(0).TKin
				cnt++
			}
			varQ := sq / float64(cnt*n)
			varP := tk / float64(cnt)
			wantQ, wantP := baoabStationary(h, tc.gamma, tau, k, tc.kind == Overdamped)
			if math.Abs(wantQ-tau/k)/(tau/k) > 1e-9 {
				t.Fatalf("exact discrete position variance %g differs from τ/k = %g: BAOAB should be exact in configuration", wantQ, tau/k)
			}
			if rel := math.Abs(varQ-wantQ) / wantQ; rel > 0.02 {
				t.Errorf("position variance %g, want %g (rel. error %.3f > 0.02)", varQ, wantQ, rel)
			}
			if rel := math.Abs(varP-wantP) / wantP; rel > 0.02 {
				t.Errorf("kinetic temperature %g, want %g (rel. error %.3f > 0.02)", varP, wantP, rel)
			}
			t.Logf("var q = %.5g (exact %.5g, τ/k %.5g); T_kin = %.5g (exact discrete %.5g, τ %.5g)", varQ, wantQ, tau/k, varP, wantP, tau)
		})
	}
}

// TestOverdampedIsLeimkuhlerMatthews checks the identity of algorithms.md
// §3(b): BAOAB with a full momentum refresh is the LM scheme
// θ_{n+1} = θ_n − δ∇U(θ_n) + √(δτ/2)(R_n + R_{n+1}) with δ = h²/2,
// driven by the same normal draws.
func TestOverdampedIsLeimkuhlerMatthews(t *testing.T) {
	const (
		n   = 5
		h   = 0.25
		tau = 0.3
	)
	ho := newHarmonic(n, 1.5, 0, 1)
	set := Settings{H: h, Groups: []Group{{Tensors: whole(n), Kind: Overdamped, Tau: tau}}}
	theta0 := []float64{1, -2, 0.5, 3, -1}
	c := mustChain(t, set, theta0, ho.problem(), 11)
	ref := newRefNormals(11, 1)
	rs := make([]float64, n)
	delta := h * h / 2
	x := append([]float64(nil), theta0...)
	prev := make([]float64, n) // R_{-1}: the first step has only the initial half kick, no previous noise
	first := true
	for s := 0; s < 50; s++ {
		mustStep(t, c, 1)
		ref.fill(rs)
		for i := range x {
			r := rs[i]
			noise := math.Sqrt(delta*tau/2) * r
			drift := delta
			if first {
				// The first step follows the initial half kick from p = 0,
				// so it carries half the drift and no previous noise.
				drift = delta / 2
			} else {
				noise += math.Sqrt(delta*tau/2) * prev[i]
			}
			x[i] += -drift*ho.k[i]*x[i] + noise
			prev[i] = r
		}
		first = false
		for i := range x {
			if d := math.Abs(x[i] - c.Theta()[i]); d > 1e-12 {
				t.Fatalf("step %d coordinate %d: chain %v, LM recurrence %v", s+1, i, c.Theta()[i], x[i])
			}
		}
	}
}

// TestAdaptiveThermostatAbsorbsGradientNoise injects gradient noise of a
// size the integrator is not told. Plain Langevin overheats: the extra kick
// variance h²σ_g² per step against the damping 1−e^{−2γh} raises T_kin by
// about hσ_g²/(2γ) (= 0.05 here, 6× τ). The adaptive thermostat ξ absorbs
// the noise and holds ⟨|p|²/N⟩ at τ (algorithms.md §3(d)), measured at the
// E-step, where the thermostat acts. 3000 samples of |p|²/N with N = 1000
// and correlation time ~1/(ξh) ≈ 2 steps give a relative standard error of
// about 0.1%; 5% leaves room for the O(h) bias of the splitting.
func TestAdaptiveThermostatAbsorbsGradientNoise(t *testing.T) {
	const (
		n     = 1000
		tau   = 0.01
		h     = 0.1
		noise = 1.0
	)
	measure := func(g Group) (tkin, xi float64) {
		g.Tensors = whole(n)
		g.Tau = tau
		set := Settings{H: h, Groups: []Group{g}}
		c := mustChain(t, set, make([]float64, n), newHarmonic(n, 1, noise, 3).problem(), 5)
		mustStep(t, c, 3000)
		var s float64
		const m = 3000
		for i := 0; i < m; i++ {
			mustStep(t, c, 1)
			s += c.Diag(0).TKin
		}
		d := c.Diag(0)
		if len(d.Xi) > 0 {
			xi = d.Xi[0]
		}
		return s / m, xi
	}
	tl, _ := measure(Group{Kind: Langevin, Gamma: 1})
	ta, xi := measure(Group{Kind: Adaptive, SigmaA: 0.01, Epsilon: 0.01, Xi0: 0.1})
	t.Logf("T_kin: langevin %.4g, adaptive %.4g (ξ = %.3g), target %.4g", tl, ta, xi, tau)
	if tl < 3*tau {
		t.Errorf("plain Langevin T_kin = %g: expected it to overheat well above τ = %g under injected noise", tl, tau)
	}
	if rel := math.Abs(ta-tau) / tau; rel > 0.05 {
		t.Errorf("adaptive Langevin T_kin = %g, want τ = %g within 5%% (rel. error %.3f)", ta, tau, rel)
	}
	// Fluctuation–dissipation: ⟨ξ⟩ ≈ (σ_A² + h·σ_g²)/(2τ) = 5.0 here.
	if want := (0.01*0.01 + h*noise*noise) / (2 * tau); math.Abs(xi-want)/want > 0.3 {
		t.Errorf("ξ = %g, want about %g from fluctuation–dissipation", xi, want)
	}
}

// partitionedSettings uses every integrator, one per tensor, so that the
// save/restore and determinism tests cover all state.
func partitionedSettings() Settings {
	ts := func(i int) []Tensor { return []Tensor{{Name: string(rune('a' + i)), Off: 3 * i, Len: 3}} }
	return Settings{H: 0.05, Groups: []Group{
		{Name: "sgd", Tensors: ts(0), Kind: SGD},
		{Name: "mom", Tensors: ts(1), Kind: Momentum, Momentum: 0.9},
		{Name: "adam", Tensors: ts(2), Kind: Adam, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		{Name: "sgld", Tensors: ts(3), Kind: SGLD, Tau: 0.01},
		{Name: "od", Tensors: ts(4), Kind: Overdamped, Tau: 0.01},
		{Name: "la", Tensors: ts(5), Kind: Langevin, Gamma: 1, Tau: 0.01,
			Schedule: Schedule{Kind: Cosine, From: 1, To: 0, Start: 0, End: 700}},
		{Name: "ad", Tensors: ts(6), Kind: Adaptive, Tau: 0.01, SigmaA: 0.01, Epsilon: 0.05, Xi0: 0.1},
	}}
}

func TestSaveRestoreBitForBit(t *testing.T) {
	const n = 21
	theta0 := make([]float64, n)
	for i := range theta0 {
		theta0[i] = float64(i%5) - 2
	}
	run := func(c *Chain, steps int) { mustStep(t, c, steps) }
	// The problem's own noise source is part of the caller's state; give
	// each chain a fresh, identically seeded one and replay it.
	a := mustChain(t, partitionedSettings(), theta0, newHarmonic(n, 1, 0, 1).problem(), 42)
	run(a, 1000)

	b := mustChain(t, partitionedSettings(), theta0, newHarmonic(n, 1, 0, 1).problem(), 42)
	run(b, 400)
	ck, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := mustChain(t, partitionedSettings(), make([]float64, n), newHarmonic(n, 1, 0, 1).problem(), 999)
	if err := c.UnmarshalBinary(ck); err != nil {
		t.Fatal(err)
	}
	run(c, 600)
	if c.Steps() != 1000 {
		t.Fatalf("restored chain at step %d, want 1000", c.Steps())
	}
	sameBits(t, "theta", a.Theta(), c.Theta())
	sameBits(t, "momenta", a.Momenta(), c.Momenta())
	for i := 0; i < a.NumGroups(); i++ {
		da, dc := a.Diag(i), c.Diag(i)
		if math.Float64bits(da.TKinMean) != math.Float64bits(dc.TKinMean) && !(math.IsNaN(da.TKinMean) && math.IsNaN(dc.TKinMean)) {
			t.Errorf("group %s: tkin mean %v vs %v", da.Name, da.TKinMean, dc.TKinMean)
		}
		sameBits(t, "xi", da.Xi, dc.Xi)
	}
}

func TestRestoreRejectsOtherSettings(t *testing.T) {
	a := mustChain(t, partitionedSettings(), make([]float64, 21), newHarmonic(21, 1, 0, 1).problem(), 1)
	mustStep(t, a, 3)
	ck, _ := a.MarshalBinary()
	other := partitionedSettings()
	other.H = 0.06
	b := mustChain(t, other, make([]float64, 21), newHarmonic(21, 1, 0, 1).problem(), 1)
	if err := b.UnmarshalBinary(ck); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("restore into other settings: err = %v, want ErrStateMismatch", err)
	}
	if err := b.UnmarshalBinary(ck[:len(ck)-5]); err == nil {
		t.Fatal("truncated checkpoint accepted")
	}
	if err := b.UnmarshalBinary([]byte("garbage")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func sameBits(t *testing.T, what string, a, b []float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: lengths %d and %d", what, len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("%s[%d]: %v vs %v (bits differ)", what, i, a[i], b[i])
		}
	}
}

func TestSameSeedSameBits(t *testing.T) {
	theta0 := make([]float64, 21)
	a := mustChain(t, partitionedSettings(), theta0, newHarmonic(21, 1, 0.1, 1).problem(), 5)
	b := mustChain(t, partitionedSettings(), theta0, newHarmonic(21, 1, 0.1, 1).problem(), 5)
	c := mustChain(t, partitionedSettings(), theta0, newHarmonic(21, 1, 0.1, 1).problem(), 6)
	mustStep(t, a, 300)
	mustStep(t, b, 300)
	mustStep(t, c, 300)
	sameBits(t, "theta", a.Theta(), b.Theta())
	differ := false
	for i := range a.Theta() {
		if a.Theta()[i] != c.Theta()[i] {
			differ = true
		}
	}
	if !differ {
		t.Fatal("different seeds gave identical trajectories")
	}
}

// TestOptimizersConverge: on the convex U = ½ Σ kᵢ(θᵢ − 1)², SGD,
// momentum and Adam reach the minimum θ* = 1. SGD with h·k ≤ 0.5
// contracts by at least 0.5 per step; Adam's steps are bounded by h, so it
// gets within a few h of θ* and then its bias-corrected step shrinks.
func TestOptimizersConverge(t *testing.T) {
	const n = 4
	k := []float64{0.5, 1, 2, 5}
	prob := Problem{Grad: func(g, x []float64) float64 {
		var u float64
		for i := range x {
			g[i] = k[i] * (x[i] - 1)
			u += 0.5 * k[i] * (x[i] - 1) * (x[i] - 1)
		}
		return u
	}}
	cases := []struct {
		g     Group
		h     float64
		steps int
		tol   float64
	}{
		{Group{Kind: SGD}, 0.1, 2000, 1e-10},
		{Group{Kind: Momentum, Momentum: 0.9}, 0.02, 3000, 1e-8},
		{Group{Kind: Adam, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, 0.01, 5000, 1e-3},
	}
	for _, tc := range cases {
		t.Run(tc.g.Kind.String(), func(t *testing.T) {
			tc.g.Tensors = whole(n)
			c := mustChain(t, Settings{H: tc.h, Groups: []Group{tc.g}}, []float64{5, -3, 4, 0}, prob, 1)
			mustStep(t, c, tc.steps)
			for i, x := range c.Theta() {
				if math.Abs(x-1) > tc.tol {
					t.Errorf("θ[%d] = %v, want 1 ± %g", i, x, tc.tol)
				}
			}
		})
	}
}

// TestAdamFirstStep: with zero initial moments the first bias-corrected
// Adam step is θ ← θ − h·g/(|g| + ε), i.e. a step of length ≈ h against
// the sign of the gradient (Kingma & Ba 2015, §2.1).
func TestAdamFirstStep(t *testing.T) {
	g0 := []float64{3, -0.5, 1e-3}
	prob := Problem{Grad: func(g, x []float64) float64 { copy(g, g0); return 0 }}
	set := Settings{H: 0.1, Groups: []Group{{Tensors: whole(3), Kind: Adam, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}}}
	c := mustChain(t, set, []float64{0, 0, 0}, prob, 1)
	mustStep(t, c, 1)
	for i, x := range c.Theta() {
		want := -0.1 * g0[i] / (math.Abs(g0[i]) + 1e-8)
		if math.Abs(x-want) > 1e-12 {
			t.Errorf("θ[%d] = %v, want %v", i, x, want)
		}
	}
}

// TestAnnealingToZeroOptimizes: with the temperature annealed linearly to
// zero, Langevin dynamics on a harmonic well ends at the minimum (a damped
// oscillator), while at constant τ the spread stays √(τ/k).
func TestAnnealingToZeroOptimizes(t *testing.T) {
	const n = 500
	run := func(s Schedule) float64 {
		set := Settings{H: 0.2, Groups: []Group{{Tensors: whole(n), Kind: Langevin, Gamma: 2, Tau: 0.01, Schedule: s}}}
		c := mustChain(t, set, make([]float64, n), newHarmonic(n, 1, 0, 1).problem(), 3)
		mustStep(t, c, 3000)
		var sq float64
		for _, x := range c.Theta() {
			sq += x * x
		}
		return sq / n
	}
	hot := run(Schedule{})
	cold := run(Schedule{Kind: Linear, From: 1, To: 0, Start: 0, End: 2000})
	if math.Abs(hot-0.01)/0.01 > 0.2 {
		t.Errorf("constant τ: mean θ² = %g, want about τ/k = 0.01", hot)
	}
	if cold > 1e-8 {
		t.Errorf("annealed to τ = 0: mean θ² = %g, want ≈ 0 (the chain should have settled in the minimum)", cold)
	}
}

func TestDivergenceStopsWithStep(t *testing.T) {
	set := Settings{H: 3, Groups: []Group{{Tensors: whole(2), Kind: Langevin, Gamma: 0.1, Tau: 0}}}
	c := mustChain(t, set, []float64{1, 1}, newHarmonic(2, 1, 0, 1).problem(), 1)
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = c.Step()
	}
	var de *DivergenceError
	if !errors.As(err, &de) || !errors.Is(err, ErrDiverged) {
		t.Fatalf("err = %v, want a DivergenceError (h·√k = 3 > 2 is unstable for Verlet)", err)
	}
	if de.Step <= 0 || de.Step != c.Steps() {
		t.Errorf("divergence at step %d, chain at %d", de.Step, c.Steps())
	}
	if err2 := c.Step(); !errors.Is(err2, ErrDiverged) || c.Steps() != de.Step {
		t.Error("a diverged chain must not step on")
	}
	ck, _ := c.MarshalBinary()
	c2 := mustChain(t, set, []float64{1, 1}, newHarmonic(2, 1, 0, 1).problem(), 1)
	if err := c2.UnmarshalBinary(ck); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(c2.Err(), ErrDiverged) {
		t.Error("restored diverged chain lost its status")
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	c := mustChain(t, partitionedSettings(), make([]float64, 21), newHarmonic(21, 1, 0.1, 1).problem(), 1)
	mustStep(t, c, 1)
	if a := testing.AllocsPerRun(200, func() { _ = c.Step() }); a != 0 {
		t.Fatalf("Step allocates %v times per call", a)
	}
	if a := testing.AllocsPerRun(100, func() { _ = c.Diag(6) }); a != 0 {
		t.Fatalf("Diag allocates %v times per call", a)
	}
}

func TestValidateNamesField(t *testing.T) {
	base := func() Settings {
		return Settings{H: 0.1, Groups: []Group{{Name: "hidden", Tensors: whole(4), Kind: Langevin, Gamma: 1, Tau: 1e-4}}}
	}
	cases := []struct {
		name string
		mod  func(*Settings)
		want string
	}{
		{"negative h", func(s *Settings) { s.H = -0.1 }, "h = -0.1"},
		{"no groups", func(s *Settings) { s.Groups = nil }, "no groups"},
		{"zero gamma", func(s *Settings) { s.Groups[0].Gamma = 0 }, "group hidden: gamma = 0"},
		{"negative tau", func(s *Settings) { s.Groups[0].Tau = -1 }, "tau = -1"},
		{"outside", func(s *Settings) { s.Groups[0].Tensors = []Tensor{{Name: "w", Off: 2, Len: 5}} }, "tensor w [2, 7) lies outside"},
		{"overlap", func(s *Settings) {
			s.Groups = append(s.Groups, Group{Name: "out", Tensors: []Tensor{{Name: "b", Off: 3, Len: 1}}, Kind: SGD})
		}, "group out: tensor b overlaps group hidden"},
		{"schedule", func(s *Settings) { s.Groups[0].Schedule = Schedule{Kind: Linear, Start: 10, End: 5} }, "schedule.end = 5"},
		{"geometric zero", func(s *Settings) { s.Groups[0].Schedule = Schedule{Kind: Geometric, From: 1, To: 0, End: 5} }, "geometric"},
		{"adam beta", func(s *Settings) {
			s.Groups[0] = Group{Name: "hidden", Tensors: whole(4), Kind: Adam, Beta1: 1, Beta2: 0.9, Eps: 1e-8}
		}, "beta1 = 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.mod(&s)
			_, err := New(s, make([]float64, 4), newHarmonic(4, 1, 0, 1).problem(), 1, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestScheduleFactor(t *testing.T) {
	cases := []struct {
		s    Schedule
		n    int64
		want float64
	}{
		{Schedule{}, 123, 1},
		{Schedule{Kind: Linear, From: 1, To: 0, Start: 100, End: 200}, 50, 1},
		{Schedule{Kind: Linear, From: 1, To: 0, Start: 100, End: 200}, 150, 0.5},
		{Schedule{Kind: Linear, From: 1, To: 0, Start: 100, End: 200}, 250, 0},
		{Schedule{Kind: Geometric, From: 1, To: 1e-4, Start: 0, End: 100}, 50, 1e-2},
		{Schedule{Kind: Cosine, From: 1, To: 0, Start: 0, End: 100}, 50, 0.5},
		{Schedule{Kind: Cosine, From: 1, To: 0, Start: 0, End: 100}, 100, 0},
		{Schedule{Kind: Piecewise, Steps: []int64{10, 20}, Values: []float64{0.5, 0.1}}, 5, 1},
		{Schedule{Kind: Piecewise, Steps: []int64{10, 20}, Values: []float64{0.5, 0.1}}, 10, 0.5},
		{Schedule{Kind: Piecewise, Steps: []int64{10, 20}, Values: []float64{0.5, 0.1}}, 25, 0.1},
	}
	for _, tc := range cases {
		if got := tc.s.Factor(tc.n); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%v schedule at %d: %v, want %v", tc.s.Kind, tc.n, got, tc.want)
		}
	}
}

func BenchmarkStepHarmonic401(b *testing.B) {
	set := Settings{H: 0.25, Groups: []Group{
		{Name: "hidden", Tensors: []Tensor{{"w", 0, 200}, {"b", 200, 100}}, Kind: Adaptive, Tau: 1e-4, SigmaA: 0.01, Epsilon: 0.05, Xi0: 0.1},
		{Name: "output", Tensors: []Tensor{{"w2", 300, 100}, {"b2", 400, 1}}, Kind: Langevin, Gamma: 0.1, Tau: 1e-4},
	}}
	c := mustChain(b, set, make([]float64, 401), newHarmonic(401, 1, 0, 1).problem(), 1)
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Step()
	}
}

// TestResetMeans: after ResetMeans the running mean of T_kin covers only
// the later steps.
func TestResetMeans(t *testing.T) {
	set := Settings{H: 0.1, Groups: []Group{{Tensors: whole(50), Kind: Langevin, Gamma: 1, Tau: 0.01}}}
	c := mustChain(t, set, make([]float64, 50), newHarmonic(50, 1, 0, 1).problem(), 1)
	mustStep(t, c, 100)
	c.ResetMeans()
	var sum float64
	for i := 0; i < 50; i++ {
		mustStep(t, c, 1)
		sum += c.Diag(0).TKin
	}
	if got, want := c.Diag(0).TKinMean, sum/50; math.Abs(got-want) > 1e-15*want {
		t.Fatalf("mean after reset %v, want %v", got, want)
	}
}
