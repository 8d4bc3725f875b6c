//go:build !amd64 || purego

package nn

// gemmKernels lists the kernels this build can run, by name, for the
// tests: only the pure-Go one without the amd64 assembly.
func gemmKernels() map[string]func(m, n, k int, a []float64, ars, acs int, b []float64, ldb int, c []float64, ldc int) {
	return map[string]func(m, n, k int, a []float64, ars, acs int, b []float64, ldb int, c []float64, ldc int){"go": gemmGo}
}

// shlpKernels lists the SHLP pair kernels this build can run, by name, for
// the tests: only the pure-Go one without the amd64 assembly.
func shlpKernels() map[string]func(z, x0, x1, w, b, v []float64, pairs int, mask []float64) {
	return map[string]func(z, x0, x1, w, b, v []float64, pairs int, mask []float64){"go": shlpPairsGo}
}

// useKernels installs the kernel set name for the tests and reports
// whether this build can run it: only "go" without the amd64 assembly.
func useKernels(name string) bool { return name == "go" }
