package sampler

import (
	"math"
	"testing"
)

// TestCycleFollowsZhang checks the cycle against the formula of Zhang et
// al. (2020) written with their 1-based t, the number of samples (one per
// cycle, M in all, the last after the last step) and the exploration
// fraction of each cycle.
func TestCycleFollowsZhang(t *testing.T) {
	for _, tc := range []struct {
		steps  int64
		cycles int
		beta   float64
	}{{1000, 4, 0.25}, {1001, 3, 0.5}, {10, 10, 0}} {
		cy := Cycle{Cycles: tc.cycles, Steps: tc.steps, Explore: tc.beta, StepSize: true}
		if err := cy.Validate(); err != nil {
			t.Fatal(err)
		}
		l := int64(math.Ceil(float64(tc.steps) / float64(tc.cycles)))
		var collected, explored int64
		for tt := int64(1); tt <= tc.steps; tt++ {
			want := (math.Cos(math.Pi*float64((tt-1)%l)/float64(l)) + 1) / 2
			if got := cy.Factor(tt - 1); math.Abs(got-want) > 1e-15 {
				t.Fatalf("T=%d M=%d: factor at t=%d is %g, Zhang's formula %g", tc.steps, tc.cycles, tt, got, want)
			}
			if cy.CollectAfter(tt - 1) {
				collected++
			}
			if cy.Exploring(tt - 1) {
				explored++
			}
		}
		if collected != int64(tc.cycles) {
			t.Errorf("T=%d M=%d: %d samples collected, want one per cycle", tc.steps, tc.cycles, collected)
		}
		full := tc.steps / l // complete cycles
		if want := full * int64(math.Ceil(tc.beta*float64(l))); explored < want || explored > want+l {
			t.Errorf("T=%d M=%d β=%g: %d exploration steps, want about %d", tc.steps, tc.cycles, tc.beta, explored, want)
		}
	}
	for _, bad := range []Cycle{{Cycles: 0, Steps: 10, StepSize: true}, {Cycles: 20, Steps: 10, StepSize: true}, {Cycles: 2, Steps: 10, Explore: 1}, {Cycles: 2, Steps: 10}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("cycle %+v accepted", bad)
		}
	}
}

// TestPlanVariableStepIsPalindromic checks that a Langevin chain under a
// cyclical step size equals the unmerged scheme
// B_{h_n/2} A_{h_n/2} O_{h_n} A_{h_n/2} B_{h_n/2}, step by step, driven by the
// same normal draws: the merged kick must be (h_n + h_{n+1})/2.
func TestPlanVariableStepIsPalindromic(t *testing.T) {
	const (
		n     = 3
		h0    = 0.2
		gamma = 2.0
		tau   = 0.1
	)
	ho := newHarmonic(n, 1.5, 0, 1)
	set := Settings{H: h0, Groups: []Group{{Tensors: whole(n), Kind: Langevin, Gamma: gamma, Tau: tau}}}
	theta0 := []float64{1, -0.5, 2}
	c := mustChain(t, set, theta0, ho.problem(), 5)
	cy := &Cycle{Cycles: 3, Steps: 60, StepSize: true}
	plan, err := NewPlan(c, Schedule{}, cy)
	if err != nil {
		t.Fatal(err)
	}
	ref := newRefNormals(5, 1)
	r := make([]float64, n)
	q := append([]float64(nil), theta0...)
	p := make([]float64, n)
	for s := int64(0); s < 60; s++ {
		if err := plan.Step(c); err != nil {
			t.Fatal(err)
		}
		h := h0 * cy.Factor(s)
		cc := math.Exp(-gamma * h)
		d := math.Sqrt((1 - cc*cc) * tau)
		ref.fill(r)
		for i := range q {
			p[i] -= h / 2 * ho.k[i] * q[i]
			q[i] += h / 2 * p[i]
			p[i] = cc*p[i] + d*r[i]
			q[i] += h / 2 * p[i]
			p[i] -= h / 2 * ho.k[i] * q[i]
		}
		for i := range q {
			if math.Abs(q[i]-c.Theta()[i]) > 1e-12 {
				t.Fatalf("step %d coordinate %d: plan %v, palindromic scheme %v", s+1, i, c.Theta()[i], q[i])
			}
		}
	}
}

// TestPlanExplorationIsNoiseless runs two SGLD chains with different seeds
// under a cycle with β = 0.5: in the exploration half of the first cycle
// τ = 0 and they move identically (gradient descent); once the sampling
// half starts they differ.
func TestPlanExplorationIsNoiseless(t *testing.T) {
	set := Settings{H: 0.05, Groups: []Group{{Tensors: whole(4), Kind: SGLD, Tau: 0.01}}}
	cy := &Cycle{Cycles: 2, Steps: 200, Explore: 0.5, StepSize: true}
	mk := func(seed uint64) (*Chain, *Plan) {
		c := mustChain(t, set, []float64{1, 2, 3, 4}, newHarmonic(4, 1, 0, 1).problem(), seed)
		p, err := NewPlan(c, Schedule{}, cy)
		if err != nil {
			t.Fatal(err)
		}
		return c, p
	}
	a, pa := mk(1)
	b, pb := mk(2)
	for s := int64(0); s < 60; s++ {
		if err := pa.Step(a); err != nil {
			t.Fatal(err)
		}
		if err := pb.Step(b); err != nil {
			t.Fatal(err)
		}
		same := a.Theta()[0] == b.Theta()[0]
		if cy.Exploring(s) && !same {
			t.Fatalf("step %d explores but the chains differ: τ is not 0", s)
		}
		if !cy.Exploring(s) && same {
			t.Fatalf("step %d samples but the chains agree: τ was not restored", s)
		}
	}
	if tau := a.Diag(0).Tau; tau != 0.01 {
		t.Errorf("τ in the sampling phase %g, want the base 0.01", tau)
	}
}

// TestPlanRestoreBitForBit checkpoints a chain under a plan mid-cycle,
// restores it into a fresh chain and plan and checks the same bits.
func TestPlanRestoreBitForBit(t *testing.T) {
	set := Settings{H: 0.1, Groups: []Group{{Tensors: whole(5), Kind: Adaptive, Tau: 0.05, SigmaA: 0.1, Epsilon: 0.5, Xi0: 0.1}}}
	cy := &Cycle{Cycles: 4, Steps: 400, Explore: 0.2, StepSize: true, Tau: true}
	ho := newHarmonic(5, 1, 0, 1)
	a := mustChain(t, set, []float64{1, -1, 2, 0.5, 3}, ho.problem(), 3)
	pa, _ := NewPlan(a, Schedule{Kind: Linear, From: 1, To: 0.5, End: 400}, cy)
	for s := 0; s < 137; s++ {
		if err := pa.Step(a); err != nil {
			t.Fatal(err)
		}
	}
	blob, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := mustChain(t, set, make([]float64, 5), ho.problem(), 77)
	if err := b.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	pb, _ := NewPlan(b, Schedule{Kind: Linear, From: 1, To: 0.5, End: 400}, cy)
	for s := 137; s < 400; s++ {
		if err := pa.Step(a); err != nil {
			t.Fatal(err)
		}
		if err := pb.Step(b); err != nil {
			t.Fatal(err)
		}
		for i := range a.Theta() {
			if a.Theta()[i] != b.Theta()[i] {
				t.Fatalf("step %d: restored chain differs at %d", s+1, i)
			}
		}
	}
}
