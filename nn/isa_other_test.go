//go:build purego || !amd64

package nn

import "testing"

// expISAs returns no instruction set: this build has no expLog1p kernel.
func expISAs(testing.TB) []string { return nil }

// expAVX512 exists for the test's switch; nothing reads it in this build.
var expAVX512 bool
