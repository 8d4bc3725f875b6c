package sampler

import (
	"errors"
	"fmt"
	"math"

	"github.com/heatbath/heatbath/internal/detmath"
)

// Cycle is a cyclical schedule (cyclical SG-MCMC, Zhang, Li, Zhang, Chen,
// Wilson, ICLR 2020). A run of T steps is cut into M cycles of
// L = ⌈T/M⌉ steps; step n (the step from n to n+1, Zhang's t = n + 1) has
// the phase r(n) = mod(n, L)/L and the cosine factor
//
//	f(n) = (cos(π·r(n)) + 1)/2
//
// which starts each cycle at 1 and falls towards 0 at its end. With
// StepSize the step size is h·f(n) (Zhang's η_t = η₀/2·(cos(π·mod(t−1, L)/L) + 1));
// with Tau every temperature is multiplied by f(n). The first fraction
// Explore (β) of each cycle explores: every temperature is 0 there, so
// the samplers optimize (SGLD is gradient descent, Langevin is damped
// heavy-ball; the driving noise σ_A of adaptive groups, which is not
// scaled by τ, stays). A sample is collected at the end of every cycle
// (after the step n with n + 1 ≡ 0 mod L, and after the last step), the
// end of the cycle's sampling phase, for model averaging.
type Cycle struct {
	// Cycles is M ≥ 1.
	Cycles int
	// Steps is the run length T ≥ M.
	Steps int64
	// Explore is β ∈ [0, 1): the fraction of each cycle run at τ = 0.
	Explore float64
	// StepSize cycles the step size.
	StepSize bool
	// Tau cycles the temperatures.
	Tau bool
}

// Validate checks the cycle; messages name the field.
func (c *Cycle) Validate() error {
	if c.Cycles < 1 {
		return fmt.Errorf("sampler: cycle.cycles = %d must be at least 1", c.Cycles)
	}
	if c.Steps < int64(c.Cycles) {
		return fmt.Errorf("sampler: cycle.cycles = %d exceeds the %d steps of the run", c.Cycles, c.Steps)
	}
	if !(c.Explore >= 0 && c.Explore < 1) {
		return fmt.Errorf("sampler: cycle.explore = %g must lie in [0, 1)", c.Explore)
	}
	if !c.StepSize && !c.Tau && c.Explore == 0 {
		return errors.New("sampler: cycle changes nothing: set step_size, tau or explore")
	}
	return nil
}

// Len returns the cycle length L = ⌈T/M⌉.
func (c *Cycle) Len() int64 { return (c.Steps + int64(c.Cycles) - 1) / int64(c.Cycles) }

// Phase returns r(n) = mod(n, L)/L ∈ [0, 1).
func (c *Cycle) Phase(n int64) float64 {
	l := c.Len()
	return float64(n%l) / float64(l)
}

// Factor returns the cosine factor f(n) = (cos(π·r(n)) + 1)/2 ∈ (0, 1].
func (c *Cycle) Factor(n int64) float64 { return (detmath.Cos(math.Pi*c.Phase(n)) + 1) / 2 }

// Exploring reports whether step n lies in the exploration part of its
// cycle (r(n) < β).
func (c *Cycle) Exploring(n int64) bool { return c.Phase(n) < c.Explore }

// CollectAfter reports whether the state after step n (that is, at step
// count n + 1) is a cycle's sample: the last step of a cycle or of the run.
func (c *Cycle) CollectAfter(n int64) bool { return (n+1)%c.Len() == 0 || n+1 == c.Steps }

// Plan drives a chain through a step-size schedule and a cycle on top of
// its Settings: step n runs with step size H·HSchedule.Factor(n)·f_h(n) and
// temperatures τ_g·f_τ(n), where f_h and f_τ are the cycle's factors (1
// when the cycle does not apply to them) and τ_g·f_τ(n) is further
// multiplied by each group's own temperature Schedule.
//
// With a step size that changes from step to step, the merged kick between
// steps n and n+1 of the palindromic integrators is B_{(h_n + h_{n+1})/2}
// (the closing half kick of step n and the opening half kick of step n+1),
// so Plan.Step runs the chain's step with h_n and then kicks by
// (h_{n+1} − h_n)/2 with the new gradient.
//
// A Plan reads the chain's step count at every step and keeps no state of
// its own: a chain restored from a checkpoint continues bit for bit under
// the same Plan.
type Plan struct {
	hSched Schedule
	cycle  *Cycle
	h0     float64
	tau0   []float64 // base temperature per group
	setTau bool
}

// NewPlan builds the plan of chain c from a step-size schedule (a factor
// on Settings.H; the zero Schedule keeps it) and a cycle (nil: none). The
// chain's current H and temperatures are the bases.
func NewPlan(c *Chain, hSched Schedule, cycle *Cycle) (*Plan, error) {
	if err := hSched.Validate(); err != nil {
		return nil, fmt.Errorf("step-size %w", err)
	}
	p := &Plan{hSched: hSched, h0: c.set.H}
	p.hSched.Steps = append([]int64(nil), hSched.Steps...)
	p.hSched.Values = append([]float64(nil), hSched.Values...)
	if cycle != nil {
		if err := cycle.Validate(); err != nil {
			return nil, err
		}
		cy := *cycle
		p.cycle = &cy
		p.setTau = cy.Tau || cy.Explore > 0
	}
	p.tau0 = make([]float64, len(c.set.Groups))
	for i := range c.set.Groups {
		p.tau0[i] = c.set.Groups[i].Tau
	}
	return p, nil
}

// Cycle returns the plan's cycle, or nil.
func (p *Plan) Cycle() *Cycle { return p.cycle }

// StepSize returns h_n.
func (p *Plan) StepSize(n int64) float64 {
	h := p.h0 * p.hSched.Factor(n)
	if p.cycle != nil && p.cycle.StepSize {
		h *= p.cycle.Factor(n)
	}
	return h
}

// TauFactor returns the cycle's factor on every temperature at step n:
// 0 while exploring, f(n) when the cycle applies to τ, else 1.
func (p *Plan) TauFactor(n int64) float64 {
	if p.cycle == nil {
		return 1
	}
	if p.cycle.Exploring(n) {
		return 0
	}
	if p.cycle.Tau {
		return p.cycle.Factor(n)
	}
	return 1
}

// Step advances chain c (the chain the plan was built for) by one step of
// the plan. Errors are those of Chain.Step.
func (p *Plan) Step(c *Chain) error {
	n := c.step
	h := p.StepSize(n)
	c.set.H = h
	if p.setTau {
		f := p.TauFactor(n)
		for i := range c.set.Groups {
			c.set.Groups[i].Tau = p.tau0[i] * f
		}
	}
	if err := c.Step(); err != nil {
		return err
	}
	if hn := p.StepSize(n + 1); hn != h {
		c.kick((hn - h) / 2)
	}
	return nil
}
