package nn

import (
	"fmt"
	"math"

	"github.com/heatbath/heatbath/internal/detmath"
)

// Activation is the nonlinearity applied after every hidden Linear layer.
// The output layer has no activation of its own: its logits go to the loss
// (see the package documentation). The zero value is ReLU.
//
// The numeric values are part of the API: never renumber them.
type Activation int

const (
	// ReLU is relu(a) = max(a, 0), with derivative 1 for a > 0 and 0 for
	// a <= 0 (0 at exactly a = 0, as in PyTorch).
	ReLU Activation = iota
	// Tanh is tanh(a), with derivative 1 - tanh(a)².
	Tanh
)

// ParseActivation returns the Activation named s: "relu" or "tanh".
func ParseActivation(s string) (Activation, error) {
	switch s {
	case "relu":
		return ReLU, nil
	case "tanh":
		return Tanh, nil
	}
	return 0, fmt.Errorf("nn: unknown activation %q, want \"relu\" or \"tanh\"", s)
}

// String returns the name accepted by ParseActivation, or "Activation(n)"
// for an invalid value.
func (a Activation) String() string {
	switch a {
	case ReLU:
		return "relu"
	case Tanh:
		return "tanh"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

func (a Activation) valid() bool { return a == ReLU || a == Tanh }

// activate overwrites v with act(v).
func (a Activation) activate(v []float64) {
	switch a {
	case ReLU:
		// x < 0 rather than max(x, 0): NaN passes through, so a diverged
		// parameter shows up as a NaN loss. Branch-free (the sign is
		// data-dependent and a branch mispredicts): the bits are kept or
		// cleared by a mask, which gives exactly x or +0.
		for i, x := range v {
			keep := ^uint64(0)
			if x < 0 {
				keep = 0
			}
			v[i] = math.Float64frombits(math.Float64bits(x) & keep)
		}
	case Tanh:
		for i, x := range v {
			v[i] = detmath.Tanh(x)
		}
	}
}

// backprop multiplies delta elementwise by act'(a), expressed through the
// stored activation h = act(a): for ReLU act' = [h > 0], for Tanh 1 - h².
func (a Activation) backprop(delta, h []float64) {
	h = h[:len(delta)]
	switch a {
	case ReLU:
		for i, hi := range h { // branch-free, as in activate: delta[i] or +0
			keep := uint64(0)
			if hi > 0 {
				keep = ^uint64(0)
			}
			delta[i] = math.Float64frombits(math.Float64bits(delta[i]) & keep)
		}
	case Tanh:
		for i, hi := range h {
			delta[i] *= 1 - float64(hi*hi)
		}
	}
}
