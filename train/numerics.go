package train

import (
	"errors"
	"fmt"

	"github.com/heatbath/heatbath/nn"
)

// ErrNumerics is matched by every *NumericsError (errors.Is).
var ErrNumerics = errors.New("train: numerics version mismatch")

// NumericsError reports a config or checkpoint of a numerics version
// (nn.NumericsVersion) other than this binary's: the chain would not
// reproduce its bits, and a resumed one would mix two kernels' arithmetic.
type NumericsError struct {
	// What names it: "the config" or "the checkpoint".
	What string
	// Version is its numerics version, 0 when it records none (checkpoints
	// of format HBREPL02 and older).
	Version int
}

// Error implements error, naming both versions.
func (e *NumericsError) Error() string {
	if e.Version == 0 {
		return fmt.Sprintf("train: %s records no numerics version (written before versions were recorded), this binary computes numerics version %d", e.What, nn.NumericsVersion)
	}
	return fmt.Sprintf("train: %s is of numerics version %d, this binary computes numerics version %d", e.What, e.Version, nn.NumericsVersion)
}

// Is makes errors.Is(err, ErrNumerics) true.
func (e *NumericsError) Is(target error) bool { return target == ErrNumerics }
