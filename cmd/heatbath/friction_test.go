package main

import (
	"path/filepath"
	"testing"
)

// TestTrainFlagsNameTheFlagOnLoad: a chain built from flags whose data
// cannot be loaded names the flag the user typed, not the spec field
// behind it, in one line (exit 1: the folder cannot be read).
func TestTrainFlagsNameTheFlagOnLoad(t *testing.T) {
	empty := t.TempDir()
	nowhere := filepath.Join(empty, "nowhere")
	for _, tc := range []struct {
		dir, want string
	}{
		{empty, "heatbath: --data-path: MNIST folder " + empty + " has no train-images-idx3-ubyte (nor train-images-idx3-ubyte.gz)\n"},
		{nowhere, "heatbath: --data-path: MNIST folder " + nowhere + " does not exist\n"},
	} {
		r := runArgs(t, "train", "-q", "--data", "mnist", "--data-path", tc.dir, "--steps", "10", "--out", filepath.Join(t.TempDir(), "out"))
		if r.code != exitError || r.stderr != tc.want {
			t.Errorf("train --data-path %s: exit %d, stderr %q; want exit %d, %q", tc.dir, r.code, r.stderr, exitError, tc.want)
		}
	}
}
