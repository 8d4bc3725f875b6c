package spec

import (
	"fmt"

	"github.com/heatbath/heatbath/internal/suggest"
	"github.com/heatbath/heatbath/protocol"
)

// ExchangeSpec turns the temperatures of a sweep into exchange sets
// (replica exchange): every method with temperature-carrying groups runs
// one replica per seed and setting whose K chains sit at the K
// temperatures and propose swaps of adjacent temperatures every Every
// steps, instead of K independent replicas. Methods without a temperature
// (sgd, momentum, adam) run as usual.
type ExchangeSpec struct {
	// Every is the number of steps between swap rounds (default 500).
	Every int64 `yaml:"every"`
	// Energy is "full" (default) or "minibatch".
	Energy string `yaml:"energy"`
	// F is the correction factor of the minibatch criterion (default 1).
	F float64 `yaml:"f"`
}

// checkExchange validates the exchange section against the rest of the
// spec.
func (f *File) checkExchange() error {
	s := &f.Spec
	x := s.Exchange
	if x == nil {
		return nil
	}
	if s.Temperatures == nil {
		return f.errorf("exchange", "needs temperatures: they are the ladder the chains exchange over")
	}
	ts, err := s.Temperatures.Temperatures()
	if err != nil {
		return f.errorf("temperatures", "%v", err)
	}
	if len(ts) < 2 {
		return f.errorf("temperatures", "exchange needs at least 2 temperatures, the spec gives %d", len(ts))
	}
	if x.Every < 0 || x.Every > s.Steps {
		return f.errorf("exchange.every", "%d must lie in [1, steps = %d]", x.Every, s.Steps)
	}
	switch x.Energy {
	case "", "full", "minibatch":
	default:
		return f.errorf("exchange.energy", "%s", suggest.Unknown(x.Energy, []string{"full", "minibatch"}))
	}
	if x.F != 0 && !(x.F >= 1) {
		return f.errorf("exchange.f", "%g must be at least 1", x.F)
	}
	if len(s.Schedules) > 0 {
		return f.errorf("schedules", "cannot be combined with exchange: an exchange set swaps between fixed temperatures")
	}
	for i := range s.Methods {
		m := &s.Methods[i]
		if usesTemperature(m) && setsTau(m) {
			return f.errorf(fmt.Sprintf("methods[%d]", i), "sets tau, but with exchange the temperatures ladder sets the temperature of every group: each chain targets exp(−L̄/τ) with one τ, which the swap rule needs; remove tau from the method")
		}
	}
	return nil
}

// usesTemperature reports whether the method has temperature-carrying
// groups.
func usesTemperature(m *MethodSpec) bool {
	if temperatureKinds[m.Name] {
		return true
	}
	if m.Name == "partitioned" {
		for _, g := range m.Groups {
			if temperatureKinds[g.Integrator] {
				return true
			}
		}
	}
	return false
}

// exchangeConfig returns the exchange of a method's replicas over the
// ladder temps, or nil when the spec has no exchange or the method no
// temperature.
func (s *Spec) exchangeConfig(m *MethodSpec, temps []float64) *protocol.ExchangeConfig {
	if s.Exchange == nil || !usesTemperature(m) || len(temps) < 2 {
		return nil
	}
	return &protocol.ExchangeConfig{Ladder: append([]float64(nil), temps...), Every: s.Exchange.Every,
		Energy: s.Exchange.Energy, F: s.Exchange.F}
}
