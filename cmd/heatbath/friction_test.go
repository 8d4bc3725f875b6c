package main

import (
	"os"
	"path/filepath"
	"strings"
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

// TestFlagWithoutValueAtTheEnd: a flag that wants a value, last on a line
// that also has a positional argument, is a usage error saying what it
// wants; it does not take the "--" that flagsFirst puts before the
// positional arguments as its value (export wrote to a folder "--").
func TestFlagWithoutValueAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", dir, "--to"}, "heatbath: export: --to needs a value: folder to write"},
		{[]string{"report", dir, "--select"}, "heatbath: report: --select needs a value: selection metric"},
		{[]string{"train", "spec.yaml", "--steps"}, "heatbath: train: --steps needs a value (a whole number)"},
		{[]string{"report", dir, "--selct"}, `heatbath: report: unknown flag --selct; did you mean --select?`},
	} {
		r := runArgs(t, tc.args...)
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("heatbath %v: exit %d, stderr %q; want exit %d and one line starting %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "--")); err == nil {
		t.Error(`export wrote a folder called "--"`)
	}
}

// TestLogLevelSuggests: a misspelt --log-level names the closest level.
func TestLogLevelSuggests(t *testing.T) {
	for typed, want := range map[string]string{"warning": "warn", "inf": "info", "Eror": "error"} {
		r := runArgs(t, "run", "--log-level", typed, filepath.Join(t.TempDir(), "nothere.yaml"))
		line := `heatbath: --log-level "` + typed + `" is not a level; did you mean "` + want + `"? (want trace, debug, info, warn, error)` + "\n"
		if r.code != exitUsage || r.stderr != line {
			t.Errorf("--log-level %s: exit %d, stderr %q; want exit %d, %q", typed, r.code, r.stderr, exitUsage, line)
		}
	}
}

// TestFieldWithoutFlag: a chain from flags whose error is about a field no
// flag sets says so in one line (a usage error), instead of naming a
// file called "flags".
func TestFieldWithoutFlag(t *testing.T) {
	r := runArgs(t, "train", "-q", "--method", "partitioned", "--out", filepath.Join(t.TempDir(), "out"))
	want := "heatbath: train: groups: a partitioned method needs at least one group (no flag sets groups: give it in a spec file)\n"
	if r.code != exitUsage || r.stderr != want {
		t.Errorf("train --method partitioned: exit %d, stderr %q; want exit %d, %q", r.code, r.stderr, exitUsage, want)
	}
}

// TestRunRefusesTrainDirectory: a sweep is not written into the folder of
// one chain of heatbath train (it has no sweep.json, which alone made a
// run directory another sweep's): run says so in one line and writes
// nothing there.
func TestRunRefusesTrainDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "one")
	if r := runArgs(t, "train", "-q", "--steps", "20", "--eval-every", "10", "--hidden", "4", "--train-size", "50",
		"--test-size", "50", "--batch", "10", "--out", dir); r.code != exitOK {
		t.Fatalf("train: exit %d, %s", r.code, r.stderr)
	}
	specFile := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(specFile, []byte("name: s\ndata: {kind: spiral, train: 50, test: 50}\nmodel: {hidden: [4]}\nsteps: 20\nbatch: 10\nmethods: [{name: adam, lr: 0.01}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runArgs(t, "run", specFile, "-q", "--out", dir)
	if r.code != exitError || !strings.HasPrefix(r.stderr, "heatbath: "+dir+" holds one chain of heatbath train (replica.json), not sweep s-") ||
		!strings.Contains(r.stderr, "choose another --out, or add --force") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("run --out a train directory: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "sweep.json")); err == nil {
		t.Error("run wrote sweep.json into the train directory")
	}
}

// TestReportOfOneChainTitles: the report of a train directory titles its
// learning curves as one chain, not as a mean over seeds with a band.
func TestReportOfOneChainTitles(t *testing.T) {
	out := filepath.Join(t.TempDir(), "one")
	trainChain(t, out, 1)
	if r := runArgs(t, "report", out); r.code != exitOK {
		t.Fatalf("report: exit %d, %s", r.code, r.stderr)
	}
	svg, err := os.ReadFile(filepath.Join(out, "report", "learning-curves.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(svg); !strings.Contains(s, "Test loss (one chain)") || strings.Contains(s, "mean over seeds") {
		t.Error("learning-curves.svg of one chain is not titled 'Test loss (one chain)', or speaks of a mean over seeds")
	}
}

// TestWorkerNamesChecked: a worker --name or --pool that cannot be a NATS
// subject token is a usage error naming the flag, before any connection
// is tried (the --nats given would refuse it, exit 1).
func TestWorkerNamesChecked(t *testing.T) {
	for _, args := range [][]string{{"--name", "a.b"}, {"--pool", "gpu pool"}} {
		r := runArgs(t, append([]string{"worker", "--nats", "nats://127.0.0.1:1"}, args...)...)
		want := "heatbath: worker: " + args[0] + ` "` + args[1] + `" may hold only letters, digits, - and _ (1 to 128 of them)` + "\n"
		if r.code != exitUsage || r.stderr != want {
			t.Errorf("worker %v: exit %d, stderr %q; want exit %d, %q", args, r.code, r.stderr, exitUsage, want)
		}
	}
}
