//go:build purego || !amd64

package nn

import "testing"

// expISAs returns no instruction set: this build has no expLog1p kernel.
func expISAs(testing.TB) []string { return nil }

// useExpISA is never called without expISAs.
func useExpISA(string) {}
