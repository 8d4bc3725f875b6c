// Package pyclient lets tests check the project's files with the Python
// clients users read them with (PyTorch, pandas), through Debian's
// /usr/bin/python3 (not a python3 found on PATH, which may be another
// installation without Debian's packages).
package pyclient

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Python is the interpreter the tests run: Debian's, where apt-get installs
// python3-torch and python3-pandas (.ci/run does).
const Python = "/usr/bin/python3"

// Require returns Python once every module imports. When one does not, the
// test is skipped, or fails when the environment has CI=true (CI installs
// the packages, so a missing one there is a defect, not a reason to skip).
func Require(t testing.TB, modules ...string) string {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true; Debian: apt-get install python3-torch python3-pandas)", why)
		}
		t.Skip(why)
	}
	if _, err := os.Stat(Python); err != nil {
		missing(Python + " not found")
	}
	for _, m := range modules {
		if out, err := exec.Command(Python, "-c", "import "+m).CombinedOutput(); err != nil {
			missing(Python + ": cannot import " + m + ": " + strings.TrimSpace(string(bytes.TrimSpace(out))))
		}
	}
	return Python
}
