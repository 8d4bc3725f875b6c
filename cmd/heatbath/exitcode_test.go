package main

// Exit codes of the whole command line, tested on the real binary (built
// once per test): usage errors exit 2, a sweep whose replicas fail at run
// time exits 3 and counts them in its last line, diverging replicas exit 0
// and are counted as diverged, and an interrupted run exits 130 and
// finishes when run again.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heatbath/heatbath/rundir"
)

// TestExitStatus maps errors to exit statuses and messages as main does.
func TestExitStatus(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	cases := []struct {
		name string
		ctx  context.Context
		err  error
		code int
		msg  string // a part of the message; "" for no message
	}{
		{"ok", bg, nil, exitOK, ""},
		{"error", bg, errors.New("report: x is not a run directory"), exitError, "heatbath: report: x is not a run directory"},
		{"usage", bg, usageErrorf("run: one spec file at most, got 2 arguments"), exitUsage, "heatbath: run: one spec file at most"},
		{"wrapped usage", bg, fmt.Errorf("outer: %w", usageErrorf("bad")), exitUsage, "outer: bad"},
		{"failed replicas", bg, &replicasFailedError{sweep: "s", failed: 2}, exitFailed, ""},
		{"interrupted, message kept", canceled, errors.New("run: interrupted; run the same command again to resume"), exitInterrupted, "heatbath: run: interrupted; run the same command again"},
		{"interrupted elsewhere", canceled, fmt.Errorf("setup: %w", context.Canceled), exitInterrupted, "interrupted (setup: context canceled); run the same command again to resume"},
		{"interrupted beats failed", canceled, &replicasFailedError{sweep: "s", failed: 1}, exitInterrupted, "interrupted"},
	}
	for _, c := range cases {
		code, msg := exitStatus(c.ctx, c.err)
		if code != c.code || (c.msg == "") != (msg == "") || !strings.Contains(msg, c.msg) || strings.Contains(msg, "\n") {
			t.Errorf("%s: exit %d %q, want %d with a line containing %q", c.name, code, msg, c.code, c.msg)
		}
	}
}

// TestExitCodesDocumented: --help and README.md list every exit status
// with the same meaning.
func TestExitCodesDocumented(t *testing.T) {
	var out bytes.Buffer
	app := newApp()
	app.Writer = &out
	if err := app.Run([]string{"heatbath", "--help"}); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	help := out.String()
	if !strings.Contains(help, "EXIT CODES:") {
		t.Fatalf("--help has no EXIT CODES section:\n%s", help)
	}
	codes := map[int]bool{}
	for _, e := range exitCodes {
		codes[e.code] = true
		if line := fmt.Sprintf("   %-5d%s\n", e.code, e.meaning); !strings.Contains(help, line) {
			t.Errorf("--help lacks %q", line)
		}
		if row := fmt.Sprintf("| %d | %s |", e.code, e.meaning); !bytes.Contains(readme, []byte(row)) {
			t.Errorf("README.md lacks the row %q", row)
		}
	}
	for _, c := range []int{exitOK, exitError, exitUsage, exitFailed, exitInterrupted} {
		if !codes[c] {
			t.Errorf("exit status %d is not in exitCodes", c)
		}
	}
}

// heatbathBinary builds the command into a folder of t and returns its
// path.
func heatbathBinary(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build heatbath: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "heatbath")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a finished heatbath process.
type proc struct {
	code           int
	stdout, stderr string
}

// lastLine returns the last line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// runBinary runs bin with args in dir and returns its exit status and
// output.
func runBinary(t *testing.T, bin, dir string, args ...string) proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("heatbath %s: %v", strings.Join(args, " "), err)
	}
	return proc{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

// countLine matches the last line of run, submit and resume.
func countLineRE(name string, done, diverged, failed, cancelled int, dir string) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`^sweep %s-[0-9a-f]{8}: %d done, %d diverged, %d failed, %d cancelled \(run dir %s\)$`,
		name, done, diverged, failed, cancelled, regexp.QuoteMeta(dir)))
}

// TestCommandLineExitCodes runs the built command: usage errors, a sweep
// whose every replica fails at run time, a sweep with diverging replicas,
// and an interrupted sweep that a second run finishes.
func TestCommandLineExitCodes(t *testing.T) {
	bin := heatbathBinary(t)
	work := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(work, "cache")) // the workers' data cache
	write := func(name, text string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(work, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return name
	}

	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"nosuch"},
			{"rnu", "x.yaml"},
			{"--bogus"},
			{"run", "--bogus"},
			{"train", "--steps", "many"},
			{"run", "a.yaml", "b.yaml"},
			{"report"},
			{"export", "runs/x", "--best", "--replica", "r1", "--to", "out"},
		} {
			p := runBinary(t, bin, work, args...)
			if p.code != exitUsage || strings.Count(p.stderr, "\n") != 1 || !strings.HasPrefix(p.stderr, "heatbath: ") || p.stdout != "" {
				t.Errorf("heatbath %s: exit %d, stdout %q, stderr %q; want exit %d and one line on stderr", strings.Join(args, " "), p.code, p.stdout, p.stderr, exitUsage)
			}
		}
		if p := runBinary(t, bin, work, "rnu"); !strings.Contains(p.stderr, `did you mean "run"?`) {
			t.Errorf("a misspelt command: %q, want the closest command", p.stderr)
		}
		if p := runBinary(t, bin, work, "--help"); p.code != exitOK || !strings.Contains(p.stdout, "EXIT CODES:") {
			t.Errorf("--help: exit %d, output:\n%s", p.code, p.stdout)
		}
	})

	t.Run("every replica fails at run time", func(t *testing.T) {
		// The CSV file has a malformed row: the spec is valid (loading it
		// hashes the file but does not parse it; the file is stored with
		// the sweep at submission), and each replica fails in the worker,
		// parsing it. heatbath validate reads the data and refuses it.
		write("bad.csv", "0.1,0.2,0\n0.3,oops,1\n")
		spec := write("fail.yaml", fmt.Sprintf(`
name: allfail
data: {kind: csv, path: %s}
model: {hidden: [8]}
steps: 200
eval_every: 100
batch: 10
seeds: 3
methods:
  - name: adam
    lr: 0.01
`, filepath.Join(work, "bad.csv")))
		if p := runBinary(t, bin, work, "validate", spec); p.code != exitError || !strings.Contains(p.stderr, "data.path") {
			t.Fatalf("validate of a malformed CSV: exit %d, %s; want exit %d naming data.path", p.code, p.stderr, exitError)
		}
		out := filepath.Join("runs", "fail")
		p := runBinary(t, bin, work, "run", spec, "--out", out, "-q", "--workers", "2")
		if p.code != exitFailed {
			t.Fatalf("run: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", p.code, exitFailed, p.stdout, p.stderr)
		}
		if re := countLineRE("allfail", 0, 0, 3, 0, out); !re.MatchString(lastLine(p.stdout)) {
			t.Errorf("last line %q, want it to match %s", lastLine(p.stdout), re)
		}
		if n := strings.Count(p.stdout, "failed after 1 attempt: invalid_config: data.path:"); n != 3 {
			t.Errorf("%d lines name a failed replica's error, want 3:\n%s", n, p.stdout)
		}
		sum, err := rundir.ReadSummary(filepath.Join(work, out))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Failed() != 3 || sum.Diverged() != 0 || sum.Cancelled() != 0 {
			t.Errorf("summary.json counts %v, want 3 failed", sum.Counts)
		}
		// The report of such a directory.
		p = runBinary(t, bin, work, "report", out)
		if p.code != exitOK {
			t.Fatalf("report: exit %d\n%s", p.code, p.stderr)
		}
		md, err := os.ReadFile(filepath.Join(work, out, rundir.DirReport, "summary.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sum.Replicas {
			listed := false
			for _, line := range strings.Split(string(md), "\n") {
				listed = listed || strings.Contains(line, r.ID) && strings.Contains(line, "invalid_config") && strings.Contains(line, "oops")
			}
			if !listed {
				t.Errorf("report/summary.md has no line with replica %s, its error code and message:\n%s", r.ID, md)
			}
		}
	})

	t.Run("diverging replicas are results", func(t *testing.T) {
		spec := write("div.yaml", `
name: div
data: {kind: spiral, train: 100, validation: 40, test: 100}
model: {hidden: [8]}
steps: 400
eval_every: 100
batch: 10
seeds: 2
methods:
  - name: sgd
    lr: [0.01, 1e300]
`)
		out := filepath.Join("runs", "div")
		p := runBinary(t, bin, work, "run", spec, "--out", out, "-q", "--workers", "2")
		if p.code != exitOK {
			t.Fatalf("run: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", p.code, exitOK, p.stdout, p.stderr)
		}
		if re := countLineRE("div", 2, 2, 0, 0, out); !re.MatchString(lastLine(p.stdout)) {
			t.Errorf("last line %q, want it to match %s", lastLine(p.stdout), re)
		}
		sum, err := rundir.ReadSummary(filepath.Join(work, out))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sum.Replicas {
			// The step size is named as the spec wrote it: lr.
			wantDiverged := r.Settings["lr"] == "1e+300"
			if (r.Status == rundir.StatusDiverged) != wantDiverged || wantDiverged && r.DivergedAt <= 0 || !strings.Contains(r.Group, ",lr=") {
				t.Errorf("replica %s (group %s, lr %s): status %s at step %d", r.ID, r.Group, r.Settings["lr"], r.Status, r.DivergedAt)
			}
		}
		table, _ := os.ReadFile(filepath.Join(work, out, rundir.FileTable))
		if header := strings.Split(strings.SplitN(string(table), "\n", 2)[0], ","); !slices.Contains(header, "lr") || slices.Contains(header, "h") {
			t.Errorf("%s header %v, want an lr column and no h column", rundir.FileTable, header)
		}
		if sum.Diverged() != 2 || sum.Counts[rundir.StatusDone] != 2 {
			t.Errorf("summary.json counts %v, want 2 done and 2 diverged", sum.Counts)
		}
		// heatbath train: a diverged chain is a result too.
		p = runBinary(t, bin, work, "train", "-q", "--method", "sgd", "--lr", "1e300", "--steps", "200", "--eval-every", "100",
			"--hidden", "8", "--train-size", "100", "--test-size", "100", "--batch", "10", "--out", "runs/one")
		if p.code != exitOK || !strings.HasPrefix(lastLine(p.stdout), "the chain diverged at step ") {
			t.Errorf("train: exit %d, last line %q; stderr %s", p.code, lastLine(p.stdout), p.stderr)
		}
	})

	t.Run("interrupted run exits 130 and resumes", func(t *testing.T) {
		// One chain of millions of cheap steps, checkpointed often: long
		// enough to be interrupted once its first trajectory rows are in.
		const steps = 3_000_000
		spec := write("long.yaml", fmt.Sprintf(`
name: long
data: {kind: spiral, train: 50, validation: 20, test: 50}
model: {hidden: [4]}
steps: %d
eval_every: 100000
batch: 5
seeds: 1
methods:
  - name: adam
    lr: 0.01
checkpoint: {every: 100000}
`, steps))
		out := filepath.Join("runs", "long")
		args := []string{"run", spec, "--out", out, "-q", "--workers", "1", "--no-report"}
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		glob := filepath.Join(work, out, rundir.DirReplicas, "*", rundir.FileTrajectory)
		for started := false; !started; {
			select {
			case err := <-exited:
				t.Fatalf("the run ended before it was interrupted (%v)\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
			m, _ := filepath.Glob(glob)
			started = len(m) == 1
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		<-exited
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
			t.Fatalf("interrupted run: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, stdout.String(), stderr.String())
		}
		if l := lastLine(stderr.String()); !strings.Contains(l, "interrupted") || !strings.Contains(l, "run the same command again") {
			t.Errorf("interrupted run: last line %q, want it to say how to resume", l)
		}
		m, _ := filepath.Glob(filepath.Join(work, out, rundir.DirReplicas, "*"))
		if ok, _ := rundir.Exists(filepath.Join(m[0], rundir.FileResult)); ok {
			t.Fatal("the replica finished although the run was interrupted")
		}

		p := runBinary(t, bin, work, args...)
		if p.code != exitOK {
			t.Fatalf("second run: exit %d\nstdout:\n%s\nstderr:\n%s", p.code, p.stdout, p.stderr)
		}
		// The replica the first run handed back is requeued, not left to
		// wait out the ack wait of its old delivery.
		if !strings.Contains(p.stderr, "requeued=1") {
			t.Errorf("second run did not requeue the handed-back replica; stderr:\n%s", p.stderr)
		}
		if re := countLineRE("long", 1, 0, 0, 0, out); !re.MatchString(lastLine(p.stdout)) {
			t.Errorf("second run: last line %q, want it to match %s", lastLine(p.stdout), re)
		}
		res, err := rundir.ReadResult(m[0])
		if err != nil || res.Steps != steps {
			t.Fatalf("after the second run: result %+v (%v), want %d steps", res, err, steps)
		}
		sum, err := rundir.ReadSummary(filepath.Join(work, out))
		if err != nil || len(sum.Replicas) != 1 || sum.Replicas[0].Attempts != 2 {
			t.Errorf("summary %+v (%v), want one replica of 2 attempts (interrupted, resumed)", sum, err)
		}
	})
}
