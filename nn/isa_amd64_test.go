//go:build !purego

package nn

import "testing"

// expISAs returns the instruction sets whose expLog1p kernel this machine
// runs, for useExpISA, and restores the kernel chosen at start-up at the
// end of t.
func expISAs(t testing.TB) []string {
	was := expAVX512
	t.Cleanup(func() { expAVX512 = was })
	var isas []string
	if haveAVX512 {
		isas = append(isas, "AVX512")
	}
	if haveAVX2 {
		isas = append(isas, "AVX2")
	}
	return isas
}

// useExpISA selects the expLog1p kernel of isa ("AVX512" or "AVX2").
func useExpISA(isa string) { expAVX512 = isa == "AVX512" }
