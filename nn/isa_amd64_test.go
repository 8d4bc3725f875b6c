//go:build !purego

package nn

import "testing"

// expISAs returns the instruction sets whose expLog1p kernel this machine
// runs, switching expAVX512 for each as the subtest runs it (the caller's
// subtests run in order) and back at the end of t.
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
