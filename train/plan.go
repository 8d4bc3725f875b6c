package train

import (
	"errors"
	"fmt"

	"github.com/heatbath/heatbath/internal/suggest"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/sampler"
)

// DefaultExchangeEvery is the default number of steps between two swap
// rounds of an exchange set.
const DefaultExchangeEvery = 500

// Energy criteria of an exchange set (protocol.ExchangeConfig.Energy).
const (
	EnergyFull      = "full"
	EnergyMinibatch = "minibatch"
)

// resolveExtras fills the defaults of the step-size schedule, the cycle
// and the exchange of cfg and validates them against the chain settings
// set (built from cfg.Method). Errors name the field.
func resolveExtras(cfg *protocol.ReplicaConfig, set *sampler.Settings) error {
	m := &cfg.Method
	if m.StepSchedule != nil {
		if _, err := schedule(*m.StepSchedule, cfg.Steps); err != nil {
			return fmt.Errorf("method.step_schedule.%w", err)
		}
	}
	if m.Cycle != nil {
		if _, err := cycleOf(m.Cycle, cfg.Steps); err != nil {
			return fmt.Errorf("method.%w", err)
		}
	}
	x := cfg.Exchange
	if x == nil {
		return nil
	}
	if err := sampler.ValidateLadder(x.Ladder); err != nil {
		return fmt.Errorf("exchange.ladder: %s", trimSampler(err))
	}
	defaulted := x.Every == 0
	if defaulted {
		x.Every = DefaultExchangeEvery
	}
	if x.Every < 0 || x.Every > cfg.Steps {
		if defaulted {
			return fmt.Errorf("exchange.every: the default %d is more than steps = %d: set exchange.every to at most %d", x.Every, cfg.Steps, cfg.Steps)
		}
		return fmt.Errorf("exchange.every: %d must lie in [1, steps = %d]", x.Every, cfg.Steps)
	}
	switch x.Energy {
	case "":
		x.Energy = EnergyFull
	case EnergyFull, EnergyMinibatch:
	default:
		return fmt.Errorf("exchange.energy: %s", suggest.Unknown(x.Energy, []string{EnergyFull, EnergyMinibatch}))
	}
	if x.F == 0 {
		x.F = 1
	}
	if !(x.F >= 1) {
		return fmt.Errorf("exchange.f: %g must be at least 1", x.F)
	}
	if x.Energy == EnergyFull && x.F != 1 {
		return fmt.Errorf("exchange.f: %g applies to energy: minibatch only", x.F)
	}
	if field := tauSetIn(m); field != "" {
		return fmt.Errorf("%s: set with exchange: the ladder sets the temperature of every group (each chain targets exp(−L̄/τ) with one τ, which the swap rule needs), so a method in an exchange set must not set tau", field)
	}
	hasTau := false
	for i := range set.Groups {
		g := &set.Groups[i]
		if !g.Kind.HasTau() {
			continue
		}
		hasTau = true
		if g.Schedule.Kind != sampler.Constant {
			return fmt.Errorf("method.schedule: group %s has a temperature schedule (%s); an exchange set swaps between fixed temperatures, whose targets a schedule would move between swaps", g.Name, g.Schedule.Kind)
		}
	}
	if !hasTau {
		return fmt.Errorf("method.name: %s has no temperature (sgld, overdamped, langevin, adaptive or a preset of them): nothing to exchange", m.Name)
	}
	if c := m.Cycle; c != nil && (c.Tau || c.Explore > 0) {
		return errors.New("method.cycle: cycles of the temperature (tau, explore) cannot be combined with exchange, which sets each chain's temperature; cycle the step size only")
	}
	return nil
}

// tauSetIn returns the field of the first τ the method sets, or "".
func tauSetIn(m *protocol.MethodConfig) string {
	if m.Params.Tau != nil {
		return "method.tau"
	}
	if m.Hidden.Tau != nil {
		return "method.hidden.tau"
	}
	if m.Output.Tau != nil {
		return "method.output.tau"
	}
	for i, g := range m.Groups {
		if g.Tau != nil {
			return fmt.Sprintf("method.groups[%d].tau", i)
		}
	}
	return ""
}

func trimSampler(err error) string {
	s := err.Error()
	const p = "sampler: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// cycleOf maps a CycleConfig onto a sampler.Cycle over a run of steps.
func cycleOf(c *protocol.CycleConfig, steps int64) (*sampler.Cycle, error) {
	cy := &sampler.Cycle{Cycles: c.Cycles, Steps: steps, Explore: c.Explore, StepSize: c.StepSize == nil || *c.StepSize, Tau: c.Tau}
	if err := cy.Validate(); err != nil {
		return nil, fmt.Errorf("cycle: %s", trimSampler(err))
	}
	return cy, nil
}

// buildPlan returns the plan of chain c under cfg's step-size schedule and
// cycle, or nil when there are none.
func buildPlan(cfg *protocol.ReplicaConfig, c *sampler.Chain) (*sampler.Plan, error) {
	m := &cfg.Method
	if m.StepSchedule == nil && m.Cycle == nil {
		return nil, nil
	}
	var hs sampler.Schedule
	if m.StepSchedule != nil {
		var err error
		if hs, err = schedule(*m.StepSchedule, cfg.Steps); err != nil {
			return nil, fmt.Errorf("method.step_schedule.%w", err)
		}
	}
	var cy *sampler.Cycle
	if m.Cycle != nil {
		var err error
		if cy, err = cycleOf(m.Cycle, cfg.Steps); err != nil {
			return nil, fmt.Errorf("method.%w", err)
		}
	}
	return sampler.NewPlan(c, hs, cy)
}

// step advances the chain by one step, under the plan if there is one.
func (r *Replica) step() error {
	if r.plan != nil {
		return r.plan.Step(r.Chain)
	}
	return r.Chain.Step()
}

// collectAfter reports whether the state at step n (n ≥ 1) is a cycle's
// sample, to be evaluated and averaged.
func (r *Replica) collectAfter(n int64) bool {
	if r.plan == nil || r.plan.Cycle() == nil || n < 1 {
		return false
	}
	return r.plan.Cycle().CollectAfter(n - 1)
}

// averageNow reports whether the evaluation at the chain's current step
// enters the model average: the cycles' samples under a cycle, else the
// last AverageLast evaluations.
func (r *Replica) averageNow() bool {
	if r.plan != nil && r.plan.Cycle() != nil {
		return r.collectAfter(r.Chain.Steps())
	}
	return r.evals >= r.numEvals-min(AverageLast, r.numEvals)
}
