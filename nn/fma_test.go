package nn

import (
	"testing"

	"github.com/heatbath/heatbath/internal/fmacheck"
)

// TestNoFusedMultiplyAdd: built for amd64 with GOAMD64=v3 and for arm64,
// package nn contains no fused multiply-add except from math.FMA, so the
// pure-Go kernels round the same on every machine (internal/fmacheck). The
// assembly kernels use no FMA instruction (nn/internal/asmgen).
func TestNoFusedMultiplyAdd(t *testing.T) {
	fmacheck.Check(t, ".", ".")
}
