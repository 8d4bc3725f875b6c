//go:build !purego

package sampler

import "testing"

// vectorISAs returns the instruction sets whose kernels this machine can
// run, for useISA, and restores the kernels chosen at start-up at the end
// of t.
func vectorISAs(t testing.TB) []string {
	was := useAVX512
	t.Cleanup(func() { useAVX512 = was })
	var isas []string
	if haveAVX512 {
		isas = append(isas, "AVX512")
	}
	if haveAVX2 {
		isas = append(isas, "AVX2")
	}
	return isas
}

// useISA selects the loop kernels of isa ("AVX512" or "AVX2").
func useISA(isa string) { useAVX512 = isa == "AVX512" }
