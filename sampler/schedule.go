package sampler

import (
	"fmt"
	"math"

	"github.com/heatbath/heatbath/internal/detmath"
)

// ScheduleKind enumerates the temperature schedules. The values are stable.
type ScheduleKind int

const (
	// Constant keeps f(n) = 1.
	Constant ScheduleKind = iota
	// Linear interpolates f linearly from From to To between Start and End.
	Linear
	// Geometric interpolates f exponentially: f = From·(To/From)^s, s ∈ [0,1].
	Geometric
	// Cosine follows half a cosine: f = To + (From−To)·(1+cos(πs))/2.
	Cosine
	// Piecewise holds Values[i] on [Steps[i], Steps[i+1]).
	Piecewise
)

var scheduleNames = [...]string{"constant", "linear", "geometric", "cosine", "piecewise"}

// String returns the name used in spec files.
func (k ScheduleKind) String() string {
	if k < 0 || int(k) >= len(scheduleNames) {
		return fmt.Sprintf("ScheduleKind(%d)", int(k))
	}
	return scheduleNames[k]
}

// ParseScheduleKind maps a spec name ("" means constant; "exponential" is an
// alias of geometric, "step" of piecewise) to a ScheduleKind.
func ParseScheduleKind(s string) (ScheduleKind, error) {
	switch s {
	case "", "constant":
		return Constant, nil
	case "linear":
		return Linear, nil
	case "geometric", "exponential":
		return Geometric, nil
	case "cosine":
		return Cosine, nil
	case "piecewise", "step":
		return Piecewise, nil
	}
	return 0, fmt.Errorf("sampler: schedule kind %q is unknown (want constant, linear, geometric, cosine or piecewise)", s)
}

// Schedule is a temperature profile: a group with temperature τ runs step n
// (the step from n to n+1) at τ(n) = τ·f(n). Annealing to zero (To = 0)
// turns a sampler into an optimizer at the end of the run.
//
// For Linear, Geometric and Cosine, with s = clamp((n−Start)/(End−Start), 0, 1):
//
//	linear:    f = From + (To − From)·s
//	geometric: f = From·(To/From)^s            (From, To > 0)
//	cosine:    f = To + (From − To)·(1 + cos(π s))/2
//
// Piecewise: f = Values[i] for Steps[i] ≤ n < Steps[i+1], and 1 before
// Steps[0]. The zero Schedule is Constant.
type Schedule struct {
	Kind       ScheduleKind
	From, To   float64
	Start, End int64
	Steps      []int64
	Values     []float64
}

// Validate checks the schedule; messages name the offending field.
func (s *Schedule) Validate() error {
	switch s.Kind {
	case Constant:
		return nil
	case Linear, Geometric, Cosine:
		if s.End <= s.Start {
			return fmt.Errorf("sampler: schedule.end = %d must be greater than schedule.start = %d", s.End, s.Start)
		}
		if s.Start < 0 {
			return fmt.Errorf("sampler: schedule.start = %d must not be negative", s.Start)
		}
		if !(s.From >= 0) || math.IsInf(s.From, 0) {
			return fmt.Errorf("sampler: schedule.from = %g must be a finite non-negative factor", s.From)
		}
		if !(s.To >= 0) || math.IsInf(s.To, 0) {
			return fmt.Errorf("sampler: schedule.to = %g must be a finite non-negative factor", s.To)
		}
		if s.Kind == Geometric && (s.From == 0 || s.To == 0) {
			return fmt.Errorf("sampler: geometric schedule needs from and to > 0 (from = %g, to = %g); use linear or cosine to anneal to zero", s.From, s.To)
		}
		return nil
	case Piecewise:
		if len(s.Steps) == 0 || len(s.Steps) != len(s.Values) {
			return fmt.Errorf("sampler: piecewise schedule needs as many steps as values (steps: %d, values: %d, at least 1)", len(s.Steps), len(s.Values))
		}
		for i := range s.Steps {
			if i > 0 && s.Steps[i] <= s.Steps[i-1] {
				return fmt.Errorf("sampler: schedule.steps[%d] = %d must be greater than schedule.steps[%d] = %d", i, s.Steps[i], i-1, s.Steps[i-1])
			}
			if v := s.Values[i]; !(v >= 0) || math.IsInf(v, 0) {
				return fmt.Errorf("sampler: schedule.values[%d] = %g must be a finite non-negative factor", i, v)
			}
		}
		return nil
	}
	return fmt.Errorf("sampler: schedule kind %d is unknown", int(s.Kind))
}

// Factor returns f(n). It allocates nothing.
func (s *Schedule) Factor(n int64) float64 {
	switch s.Kind {
	case Linear, Geometric, Cosine:
		var t float64
		switch {
		case n <= s.Start:
			t = 0
		case n >= s.End:
			t = 1
		default:
			t = float64(n-s.Start) / float64(s.End-s.Start)
		}
		switch s.Kind {
		case Linear:
			return s.From + float64((s.To-s.From)*t)
		case Geometric:
			return s.From * detmath.Pow(s.To/s.From, t)
		default:
			return s.To + float64((s.From-s.To)*(1+detmath.Cos(math.Pi*t))/2)
		}
	case Piecewise:
		f := 1.0
		for i, st := range s.Steps {
			if n < st {
				break
			}
			f = s.Values[i]
		}
		return f
	}
	return 1
}
