package train

import (
	"testing"

	"github.com/heatbath/heatbath/internal/fmacheck"
)

// TestNoFusedMultiplyAdd: built for amd64 with GOAMD64=v3 and for arm64,
// package train contains no fused multiply-add except from math.FMA, so its
// arithmetic rounds the same on every machine (internal/fmacheck).
func TestNoFusedMultiplyAdd(t *testing.T) {
	fmacheck.Check(t, ".", ".")
}
