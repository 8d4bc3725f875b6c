package protocol

// ExchangeConfig makes a replica an exchange set: K chains at the
// temperatures Ladder (coldest first), run in lockstep, which propose swaps
// of temperatures between adjacent rungs every Every steps (replica
// exchange, package sampler). Every temperature-carrying group of each
// chain runs at its rung's τ; the method must not set τ itself.
type ExchangeConfig struct {
	// Ladder holds the K ≥ 2 temperatures, strictly increasing.
	Ladder []float64 `json:"ladder"`
	// Every is the number of steps between two swap rounds (default 500).
	Every int64 `json:"every,omitempty"`
	// Energy is "full" (the mean loss over the whole training set, exact;
	// the default) or "minibatch" (each chain's latest minibatch loss with
	// the variance-corrected criterion of Deng et al. 2020).
	Energy string `json:"energy,omitempty"`
	// F is the correction factor of the minibatch criterion (≥ 1,
	// default 1).
	F float64 `json:"f,omitempty"`
}

// CycleConfig is a cyclical schedule (Zhang et al. 2020): Cycles cosine
// cycles over the run, of the step size (StepSize, default true) and/or of
// the temperatures (Tau), the first fraction Explore of each cycle at
// τ = 0, one sample collected at the end of each cycle for model averaging.
type CycleConfig struct {
	// Cycles is the number of cycles M over the run (≥ 1).
	Cycles int `json:"cycles"`
	// Explore is the fraction β ∈ [0, 1) of each cycle run at τ = 0.
	Explore float64 `json:"explore,omitempty"`
	// StepSize cycles the step size (nil: true).
	StepSize *bool `json:"step_size,omitempty"`
	// Tau cycles every temperature with the same cosine.
	Tau bool `json:"tau,omitempty"`
}

// Clone returns a deep copy of x (nil for nil).
func (x *ExchangeConfig) Clone() *ExchangeConfig {
	if x == nil {
		return nil
	}
	c := *x
	c.Ladder = append([]float64(nil), x.Ladder...)
	return &c
}
