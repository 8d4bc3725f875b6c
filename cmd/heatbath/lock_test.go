package main

// Tests of the run directory's one writer and identity through the command
// line: two `run --out X` at once, a directory of another sweep, --force,
// and destinations that cannot be written.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heatbath/heatbath/rundir"
)

// writeSmallSpec writes smallSpec as a spec file and returns its path and
// the sweep's id.
func writeSmallSpec(t *testing.T, steps, seeds int) (path, id string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(smallSpec, steps, seeds, steps/4)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, smallSweep(t, steps, seeds, steps/4).ID
}

// startCLI runs the test binary as the heatbath command in a child
// process (see TestMain); done is closed when it has exited, and err then
// holds its exit error.
func startCLI(t *testing.T, args ...string) (cmd *exec.Cmd, done chan struct{}, err *error, stderr *logBuffer) {
	t.Helper()
	cmd = exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HEATBATH_TEST_CLI="+strings.Join(args, "\x1f"))
	stderr = &logBuffer{}
	cmd.Stdout, cmd.Stderr = &logBuffer{}, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan struct{})
	err = new(error)
	go func() {
		*err = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return cmd, done, err, stderr
}

// waitForHolder waits until pid has written itself into dir's lock file
// and its collector has written sweep.json, or fails the test if the
// process ends first.
func waitForHolder(t *testing.T, dir string, pid int, done <-chan struct{}, stderr *logBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if h, err := rundir.ReadHolder(dir); err == nil && h.PID == pid {
			if _, err := os.Stat(filepath.Join(dir, rundir.FileSweep)); err == nil {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("the first run ended before it held %s: %s", dir, stderr)
		case <-ctx.Done():
			t.Fatalf("pid %d never held %s", pid, dir)
		case <-tick.C:
		}
	}
}

func wantLockedBy(t *testing.T, what string, err error, pid int, dir string) {
	t.Helper()
	var le *rundir.LockedError
	if !errors.As(err, &le) || !errors.Is(err, rundir.ErrLocked) {
		t.Fatalf("%s: %v; want it refused as in use", what, err)
	}
	msg := err.Error()
	if le.Holder.PID != pid || !strings.Contains(msg, "run directory "+dir+" is in use by pid "+strconv.Itoa(pid)) ||
		!strings.Contains(msg, "since ") || strings.Contains(msg, "\n") {
		t.Errorf("%s: %q; want one line naming %s and pid %d", what, msg, dir, pid)
	}
}

// readAll returns the content of every file under dir by path.
func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestTwoRunsOneDirectory: a second `run --out X` while the first runs is
// refused at once naming the first; the first finishes; the directory
// then reports, and running again resumes (there is nothing left to do).
func TestTwoRunsOneDirectory(t *testing.T) {
	specPath, id := writeSmallSpec(t, 80000, 2)
	out := filepath.Join(t.TempDir(), "x")
	first, done, firstErr, stderr := startCLI(t, "run", specPath, "--out", out, "-q", "--workers", "1", "--no-report")
	waitForHolder(t, out, first.Process.Pid, done, stderr)

	err := runCLI(t, "run", specPath, "--out", out, "-q", "--no-report")
	wantLockedBy(t, "second run", err, first.Process.Pid, out)
	wantLockedBy(t, "report while running", runCLI(t, "report", out), first.Process.Pid, out)
	// Refused before connecting (there is no server at that address).
	wantLockedBy(t, "submit while running", runCLI(t, "submit", specPath, "--out", out, "--nats", "nats://127.0.0.1:1"), first.Process.Pid, out)
	wantLockedBy(t, "resume while running", runCLI(t, "resume", id, "--out", out, "--nats", "nats://127.0.0.1:1"), first.Process.Pid, out)
	select {
	case <-done:
		t.Fatal("the first run ended while the second was refused: the refusal proves nothing (make the sweep longer)")
	default:
	}

	<-done
	if *firstErr != nil {
		t.Fatalf("first run: %v\n%s", *firstErr, stderr)
	}
	if h, err := rundir.ReadHolder(out); err != nil || h.PID != 0 {
		t.Errorf("after the first run the lock file names %+v (%v); want nobody", h, err)
	}
	replicas, err := filepath.Glob(filepath.Join(out, "replicas", "*", "trajectory.csv"))
	if err != nil || len(replicas) != 4 {
		t.Fatalf("trajectories %v (%v), want 4", replicas, err)
	}
	before := readAll(t, filepath.Join(out, "replicas"))
	for _, p := range replicas {
		if n := strings.Count(before[p], "step,"); n != 1 {
			t.Errorf("%s has %d headers", p, n)
		}
	}

	if err := runCLI(t, "report", out); err != nil {
		t.Fatalf("report: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "report", "report.html")); err != nil {
		t.Error(err)
	}
	if err := runCLI(t, "run", specPath, "--out", out, "-q", "--no-report"); err != nil {
		t.Fatalf("run again: %v", err)
	}
	after := readAll(t, filepath.Join(out, "replicas"))
	if len(after) != len(before) {
		t.Errorf("running again changed the replica files: %d files, then %d", len(before), len(after))
	}
	for p, b := range before {
		if after[p] != b {
			t.Errorf("running again rewrote %s", p)
		}
	}
}

// TestOutOfAnotherSweep: --out holding another sweep is refused with both
// ids and the way out, by run, submit and resume, and before anything
// connects or is written; --force moves the old content aside and runs.
func TestOutOfAnotherSweep(t *testing.T) {
	specPath, id := writeSmallSpec(t, 400, 1)
	out := filepath.Join(t.TempDir(), "x")
	old := `{"version": 1, "id": "quick-c4d87fe9", "replicas": []}`
	if err := os.MkdirAll(filepath.Join(out, "replicas", "r0000-00000000"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "sweep.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "replicas", "r0000-00000000", "result.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := readAll(t, out)

	for _, args := range [][]string{
		{"run", specPath, "--out", out, "-q"},
		{"submit", specPath, "--out", out, "--nats", "nats://127.0.0.1:1"},
		{"resume", id, "--out", out, "--nats", "nats://127.0.0.1:1"},
	} {
		err := runCLI(t, args...)
		var me *rundir.SweepMismatchError
		if !errors.As(err, &me) {
			t.Fatalf("%s: %v; want the sweep mismatch", args[0], err)
		}
		want := out + " holds sweep quick-c4d87fe9, not " + id + ": choose another --out, or add --force to start over"
		if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %q\nwant one line containing %q", args[0], err, want)
		}
	}
	after := readAll(t, out)
	for p, b := range before {
		if after[p] != b {
			t.Errorf("a refused command changed %s", p)
		}
	}

	if err := runCLI(t, "run", specPath, "--out", out, "-q", "--no-report", "--force"); err != nil {
		t.Fatalf("run --force: %v", err)
	}
	asides, _ := filepath.Glob(out + ".old-*")
	if len(asides) != 1 {
		t.Fatalf("folders moved aside: %v; want one", asides)
	}
	moved := readAll(t, asides[0])
	for p, b := range before {
		q := filepath.Join(asides[0], strings.TrimPrefix(p, out+string(filepath.Separator)))
		if moved[q] != b {
			t.Errorf("%s was not moved aside intact to %s", p, q)
		}
	}
	s, err := rundir.ReadSweep(out)
	if err != nil || s.ID != id {
		t.Fatalf("after --force the run directory holds %+v (%v); want sweep %s", s, err, id)
	}
	if _, err := os.Stat(filepath.Join(out, "replicas", "r0000-00000000")); !os.IsNotExist(err) {
		t.Errorf("the old sweep's replica is still in the run directory: %v", err)
	}
}

// TestUnwritableOut: an --out that cannot be created or written fails with
// one line about the folder, before the embedded server starts (it used to
// time out waiting for the server).
func TestUnwritableOut(t *testing.T) {
	specPath, _ := writeSmallSpec(t, 400, 1)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ out, want string }{
		{filepath.Join(file, "x"), "run directory " + filepath.Join(file, "x") + ": cannot create: mkdir " + file + ": not a directory"},
		{file, "run directory " + file + ": cannot create: it is a file, not a folder"},
	}
	if os.Geteuid() != 0 { // root writes regardless of permission bits
		ro := filepath.Join(tmp, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ out, want string }{ro, "run directory " + ro + " is not writable: permission denied"})
	}
	for _, c := range cases {
		err := runCLI(t, "run", specPath, "--out", c.out, "-q")
		if err == nil || err.Error() != c.want {
			t.Errorf("run --out %s: %v\nwant %s", c.out, err, c.want)
		}
	}
}
