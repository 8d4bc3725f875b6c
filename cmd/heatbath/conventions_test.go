package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/train"
)

// cliRun is one run of the command line as main runs it.
type cliRun struct {
	code           int
	stdout, stderr string
}

// runArgs runs heatbath with args through runMain.
func runArgs(t *testing.T, args ...string) cliRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), append([]string{"heatbath"}, args...), &stdout, &stderr)
	return cliRun{code, stdout.String(), stderr.String()}
}

// TestHelpEverywhere: the app's help (no arguments, help, --help) lists
// the commands and the exit codes; a command's help is the same whether
// asked as `help CMD` or `CMD --help`.
func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"--help"}, {"-h"}, {"help", "help"}} {
		r := runArgs(t, args...)
		if r.code != exitOK || r.stderr != "" || !strings.Contains(r.stdout, "COMMANDS:") || !strings.Contains(r.stdout, "EXIT CODES:") ||
			!strings.Contains(r.stdout, "130  interrupted") || !strings.Contains(r.stdout, "--version") {
			t.Errorf("heatbath %v: exit %d, stderr %q, stdout:\n%s", args, r.code, r.stderr, r.stdout)
		}
	}
	for _, cmd := range newApp().Commands {
		byHelp := runArgs(t, "help", cmd.Name)
		byFlag := runArgs(t, cmd.Name, "--help")
		if byHelp.code != exitOK || byFlag.code != exitOK || !strings.Contains(byHelp.stdout, "heatbath "+cmd.Name+" - ") || byHelp.stdout != byFlag.stdout {
			t.Errorf("%s: help CMD (exit %d) and CMD --help (exit %d) differ or miss the command:\n%s\n---\n%s", cmd.Name, byHelp.code, byFlag.code, byHelp.stdout, byFlag.stdout)
		}
	}
}

// TestUnknownCommand: an unknown command, also as a help topic, is a usage
// error (exit 2, not 3: that is "replicas failed") that says "unknown
// command" with the closest command, on one line.
func TestUnknownCommand(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"trian"}, `heatbath: unknown command "trian"; did you mean "train"?`},
		{[]string{"valdiate", "x.yaml"}, `unknown command "valdiate"; did you mean "validate"?`},
		{[]string{"rep"}, `unknown command "rep"; did you mean "report"?`},
		{[]string{"help", "expotr"}, `unknown command "expotr"; did you mean "export"?`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" (commands: train, validate,`},
	}
	for _, tc := range cases {
		r := runArgs(t, tc.args...)
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, "heatbath: ") || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("heatbath %v: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, r.code, r.stdout, r.stderr, exitUsage, tc.want)
		}
	}
	if r := runArgs(t, "frobnicate"); strings.Contains(r.stderr, "did you mean") {
		t.Errorf("a far name got a suggestion: %q", r.stderr)
	}
}

// TestVersion: --version and version print one line with the version, the
// Go version and the commit, from the build information.
func TestVersion(t *testing.T) {
	re := regexp.MustCompile(`^heatbath \S+ (go\S+) commit \S+.*\n$`)
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := runArgs(t, args...)
		m := re.FindStringSubmatch(r.stdout)
		if r.code != exitOK || m == nil || m[1] != runtime.Version() {
			t.Errorf("heatbath %v: exit %d, stdout %q; want one line with %s", args, r.code, r.stdout, runtime.Version())
		}
	}
	if r := runArgs(t, "version", "x"); r.code != exitUsage {
		t.Errorf("version x: exit %d, want %d", r.code, exitUsage)
	}
}

// TestLogLevel: --log-level and HEATBATH_LOG_LEVEL take the five levels in
// any case and reject anything else as a usage error on one line.
func TestLogLevel(t *testing.T) {
	for _, args := range [][]string{
		{"list", "--log-level", "loud", "--nats", "nats://127.0.0.1:1"},
		{"run", "--log-level", "verbose"},
		{"worker", "--log-level=", "--nats", "nats://127.0.0.1:1"},
	} {
		r := runArgs(t, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "heatbath: --log-level ") || !strings.Contains(r.stderr, "want trace, debug, info, warn, error") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("heatbath %v: exit %d, stderr %q; want exit %d naming the levels", args, r.code, r.stderr, exitUsage)
		}
	}
	t.Run("environment", func(t *testing.T) {
		t.Setenv("HEATBATH_LOG_LEVEL", "chatty")
		if r := runArgs(t, "list", "--nats", "nats://127.0.0.1:1"); r.code != exitUsage || !strings.Contains(r.stderr, `HEATBATH_LOG_LEVEL "chatty" is not a level`) {
			t.Errorf("HEATBATH_LOG_LEVEL=chatty: exit %d, stderr %q", r.code, r.stderr)
		}
	})
	// A known level gets past the flags: the command fails later, on the
	// server it cannot reach (exit 1).
	for _, lvl := range []string{"warn", "DEBUG", "error"} {
		if r := runArgs(t, "list", "--log-level", lvl, "--nats", "nats://127.0.0.1:1"); r.code != exitError || !strings.Contains(r.stderr, "cannot connect") {
			t.Errorf("--log-level %s: exit %d, stderr %q; want the connection error", lvl, r.code, r.stderr)
		}
	}
}

// TestNoColor: NO_COLOR (any non-empty value) and TERM=dumb turn the logs'
// colour off; otherwise colour is left to hclog's terminal detection.
func TestNoColor(t *testing.T) {
	cases := []struct {
		noColor, term string
		want          hclog.ColorOption
	}{
		{"", "xterm", hclog.AutoColor},
		{"1", "xterm", hclog.ColorOff},
		{"yes", "xterm-256color", hclog.ColorOff},
		{"", "dumb", hclog.ColorOff},
	}
	for _, tc := range cases {
		t.Setenv("NO_COLOR", tc.noColor)
		t.Setenv("TERM", tc.term)
		if got := logColor(); got != tc.want {
			t.Errorf("NO_COLOR=%q TERM=%q: colour %v, want %v", tc.noColor, tc.term, got, tc.want)
		}
	}
}

// TestNonTerminalProgress: progress to a file (not a terminal) is a line
// per 10% with the steps/s and ETA, and no cursor control.
func TestNonTerminalProgress(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/progress")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if w := terminalWidth(f); w != 0 {
		t.Fatalf("terminalWidth(file) = %d, want 0", w)
	}
	b := newBar(f, 1000)
	for step := int64(50); step <= 1000; step += 50 {
		b.update(step, train.Metrics{}, time.Duration(step)*time.Millisecond)
	}
	b.finish()
	out, _ := os.ReadFile(f.Name())
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 10 || strings.Contains(string(out), "\x1b") || strings.Contains(string(out), "\r") {
		t.Fatalf("%d lines, want 10 without cursor control:\n%q", len(lines), out)
	}
	if !strings.Contains(lines[0], "step 100/1000") || !strings.Contains(lines[0], "ETA 1s") || !strings.Contains(lines[9], "ETA 0s") {
		t.Errorf("lines do not show step and ETA:\n%s", out)
	}
}

// TestFlagErrors: a misspelt flag gets the closest one, a value that does
// not parse names the flag as typed and what it takes; all exit 2 on one
// line.
func TestFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--step", "100"}, "heatbath: train: unknown flag --step; did you mean --steps? (see heatbath train --help)"},
		{[]string{"run", "--wokers", "2"}, "run: unknown flag --wokers; did you mean --workers?"},
		{[]string{"train", "-z"}, "train: unknown flag -z (see heatbath train --help)"},
		{[]string{"--bogus"}, "heatbath: unknown flag --bogus (see heatbath --help)"},
		{[]string{"train", "--steps=abc"}, `train: --steps: "abc" is not a whole number`},
		{[]string{"train", "--lr", "fast"}, `train: --lr: "fast" is not a number`},
		{[]string{"train", "--seed", "-1"}, `train: --seed: "-1" is not a non-negative whole number`},
		{[]string{"status", "x", "--interval", "5"}, `status: --interval: "5" is not a duration such as 500ms, 10s or 2m`},
		{[]string{"train", "--out"}, "train: --out needs a value"},
	}
	for _, tc := range cases {
		r := runArgs(t, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("heatbath %v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
}

// TestTrainResultShowsTauOnlyWhereThereIsOne: the group lines after a
// chain show τ for thermostatted integrators, not for adam, sgd or
// momentum (whose config carries the default τ it never uses).
func TestTrainResultShowsTauOnlyWhereThereIsOne(t *testing.T) {
	res := rundir.Result{Groups: []rundir.GroupResult{
		{GroupInfo: rundir.GroupInfo{Name: "all", Integrator: "adam"}, Tau: 1e-4},
		{GroupInfo: rundir.GroupInfo{Name: "hidden", Integrator: "langevin"}, Tau: 2e-4},
	}}
	var out bytes.Buffer
	printResult(&out, "runs/x", res)
	lines := strings.Split(out.String(), "\n")
	var adam, langevin string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "group all"):
			adam = l
		case strings.HasPrefix(l, "group hidden"):
			langevin = l
		}
	}
	if adam != "group all     adam" || !strings.Contains(langevin, "langevin") || !strings.Contains(langevin, "tau 0.0002") {
		t.Errorf("group lines %q and %q; want adam without tau, langevin with tau 0.0002", adam, langevin)
	}
}

// TestOneDefaultPerFlag: no command's help gives a flag two defaults (a
// default written in the usage text of a flag whose zero value the help
// prints as well: "(default: …) (default: 0)"); such a flag says its
// default with DefaultText.
func TestOneDefaultPerFlag(t *testing.T) {
	for _, cmd := range newApp().Commands {
		r := runArgs(t, cmd.Name, "--help")
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.Count(line, "(default:") > 1 {
				t.Errorf("heatbath %s --help: two defaults in %q", cmd.Name, strings.TrimSpace(line))
			}
		}
	}
}
