package sampler

import (
	"fmt"
	"math"
)

// Kind enumerates the integrators a group can use. The values are stable.
type Kind int

const (
	// SGD is plain gradient descent: θ ← θ − h·g.
	SGD Kind = iota
	// Momentum is SGD with heavy-ball momentum as in PyTorch's
	// optim.SGD(momentum=μ, dampening=0): b ← μ·b + g; θ ← θ − h·b.
	Momentum
	// Adam is PyTorch's optim.Adam with weight decay 0 and amsgrad off.
	Adam
	// SGLD is Euler–Maruyama for overdamped Langevin (Welling & Teh 2011):
	// θ ← θ − h·g + √(2hτ)·R.
	SGLD
	// Overdamped is the Leimkuhler–Matthews scheme for overdamped Langevin,
	// run as BAOAB with a full momentum refresh (γ → ∞).
	Overdamped
	// Langevin is underdamped Langevin dynamics, BAOAB splitting.
	Langevin
	// Adaptive is adaptive Langevin (SGNHT family): ACDEDCAB splitting with
	// one thermostat variable ξ per tensor.
	Adaptive
)

var kindNames = [...]string{"sgd", "momentum", "adam", "sgld", "overdamped", "langevin", "adaptive"}

// String returns the name used in spec files.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// ParseKind maps a spec name to a Kind.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("sampler: integrator %q is unknown (want one of sgd, momentum, adam, sgld, overdamped, langevin, adaptive)", s)
}

// HasMomentum reports whether the integrator carries a physical momentum p
// whose kinetic temperature |p|²/N is meaningful.
func (k Kind) HasMomentum() bool { return k == Overdamped || k == Langevin || k == Adaptive }

// Tensor is a contiguous part [Off, Off+Len) of the flat parameter vector.
// Adaptive groups keep one ξ per Tensor.
type Tensor struct {
	Name     string
	Off, Len int
}

// Group assigns one integrator and its hyperparameters to a set of tensors.
// Fields that an integrator does not use are ignored.
type Group struct {
	// Name labels the group in diagnostics ("hidden", "output", ...).
	Name string
	// Tensors are the parameters the group updates; groups must not overlap.
	Tensors []Tensor
	// Kind is the integrator.
	Kind Kind

	Gamma   float64 // friction γ (Langevin)
	Tau     float64 // temperature τ (SGLD, Overdamped, Langevin, Adaptive)
	SigmaA  float64 // driving noise σ_A (Adaptive); not scaled by τ
	Epsilon float64 // thermostat coupling ε (Adaptive)
	Xi0     float64 // initial ξ (Adaptive)

	Momentum float64 // μ (Momentum)
	Beta1    float64 // β₁ (Adam)
	Beta2    float64 // β₂ (Adam)
	Eps      float64 // ε added to the denominator (Adam)

	// Schedule multiplies Tau over time; the zero value keeps it constant.
	Schedule Schedule
}

// Settings configures a Chain.
type Settings struct {
	// H is the step size shared by all groups (the learning rate of SGD,
	// Momentum, Adam and SGLD).
	H float64
	// Groups partition (part of) the parameter vector; parameters in no
	// group stay fixed.
	Groups []Group
}

// Validate checks the settings against a parameter vector of length n.
// Messages name the group and the field.
func (s *Settings) Validate(n int) error {
	if !(s.H > 0) || math.IsInf(s.H, 0) {
		return fmt.Errorf("sampler: h = %g must be a positive step size", s.H)
	}
	if len(s.Groups) == 0 {
		return fmt.Errorf("sampler: no groups: at least one group of parameters must be assigned an integrator")
	}
	owner := make([]int, n)
	for gi := range s.Groups {
		g := &s.Groups[gi]
		name := g.Name
		if name == "" {
			name = fmt.Sprint(gi)
		}
		if len(g.Tensors) == 0 {
			return fmt.Errorf("sampler: group %s has no tensors", name)
		}
		for _, t := range g.Tensors {
			if t.Off < 0 || t.Len <= 0 || t.Off+t.Len > n {
				return fmt.Errorf("sampler: group %s: tensor %s [%d, %d) lies outside the %d parameters", name, t.Name, t.Off, t.Off+t.Len, n)
			}
			for i := t.Off; i < t.Off+t.Len; i++ {
				if owner[i] != 0 {
					return fmt.Errorf("sampler: group %s: tensor %s overlaps group %s", name, t.Name, s.Groups[owner[i]-1].Name)
				}
				owner[i] = gi + 1
			}
		}
		check := func(field string, v float64, positive bool) error {
			bad := math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (positive && v == 0)
			if bad {
				want := "non-negative"
				if positive {
					want = "positive"
				}
				return fmt.Errorf("sampler: group %s: %s = %g must be finite and %s", name, field, v, want)
			}
			return nil
		}
		var err error
		switch g.Kind {
		case SGD:
		case Momentum:
			err = check("momentum", g.Momentum, false)
			if err == nil && g.Momentum >= 1 {
				err = fmt.Errorf("sampler: group %s: momentum = %g must be below 1", name, g.Momentum)
			}
		case Adam:
			for _, f := range []struct {
				n string
				v float64
			}{{"beta1", g.Beta1}, {"beta2", g.Beta2}} {
				if !(f.v >= 0 && f.v < 1) {
					err = fmt.Errorf("sampler: group %s: %s = %g must lie in [0, 1)", name, f.n, f.v)
				}
			}
			if err == nil {
				err = check("eps", g.Eps, true)
			}
		case SGLD, Overdamped:
			err = check("tau", g.Tau, false)
		case Langevin:
			if err = check("tau", g.Tau, false); err == nil {
				err = check("gamma", g.Gamma, true)
			}
		case Adaptive:
			err = check("tau", g.Tau, false)
			if err == nil {
				err = check("sigma_a", g.SigmaA, false)
			}
			if err == nil {
				err = check("epsilon", g.Epsilon, true)
			}
			if err == nil && (math.IsNaN(g.Xi0) || math.IsInf(g.Xi0, 0)) {
				err = fmt.Errorf("sampler: group %s: xi0 = %g must be finite", name, g.Xi0)
			}
		default:
			err = fmt.Errorf("sampler: group %s: integrator %d is unknown", name, int(g.Kind))
		}
		if err != nil {
			return err
		}
		if err := g.Schedule.Validate(); err != nil {
			return fmt.Errorf("group %s: %w", name, err)
		}
	}
	return nil
}
