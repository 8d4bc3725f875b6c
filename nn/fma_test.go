package nn

import (
	"testing"

	"github.com/heatbath/heatbath/internal/fmacheck"
)

// TestNoFusedMultiplyAdd: built for amd64 with GOAMD64=v3 and for arm64,
// package nn contains no fused multiply-add except from math.FMA, so the
// pure-Go kernels round the same on every machine (internal/fmacheck). The
// product and SHLP assembly kernels use no FMA instruction, and the
// expLog1p kernels one exactly where detmath calls math.FMA, checked bit
// for bit by TestExpLog1pKernelAgrees (nn/internal/asmgen).
func TestNoFusedMultiplyAdd(t *testing.T) {
	fmacheck.Check(t, ".", ".")
}
