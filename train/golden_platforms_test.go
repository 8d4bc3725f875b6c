package train

import (
	"testing"

	"github.com/heatbath/heatbath/internal/fmacheck"
)

// TestGoldenTrajectoryEverywhere runs TestGoldenTrajectory built for amd64
// with GOAMD64=v1 and v3, for amd64 on an emulated processor without AVX
// or FMA (qemu -cpu Nehalem: the kernels' run-time fallback), for amd64
// with AVX-512 hidden (GODEBUG=cpu.avx512f=off: the AVX2 and AVX kernels)
// and for arm64 (under qemu-user on other hosts): each must reproduce
// testdata/golden_adlala.csv to the last bit, so a replica resumed on
// another machine continues the same trajectory.
func TestGoldenTrajectoryEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tests for five platforms")
	}
	if *update {
		t.Skip("-update rewrites the golden file (TestGoldenTrajectory); run again without it to check the platforms")
	}
	for _, p := range fmacheck.Platforms {
		t.Run(p.Name, func(t *testing.T) { fmacheck.RunTest(t, ".", p, "^TestGoldenTrajectory$") })
	}
}
