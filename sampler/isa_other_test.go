//go:build purego || !amd64

package sampler

import "testing"

// vectorISAs returns no instruction set: this build has no loop kernels.
func vectorISAs(testing.TB) []string { return nil }

// useISA is never called without vectorISAs.
func useISA(string) {}
