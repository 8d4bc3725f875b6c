package rundir

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv names the run directory a re-executed test binary locks.
const helperEnv = "HEATBATH_LOCK_HELPER_DIR"

// helperCommand is the command line the helper process records.
const helperCommand = "heatbath run --out helper"

// TestLockHelperProcess is not a test: run by holdInChild in a child
// process, it locks the run directory named by helperEnv, prints
// "locked", and holds the lock until its standard input closes.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process of the lock tests")
	}
	l, err := Lock(dir, helperCommand)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := l.Unlock(); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// holdInChild starts a child process that holds dir's lock and returns it
// once the lock is taken. Closing release makes the child unlock and exit.
func holdInChild(t *testing.T, dir string) (cmd *exec.Cmd, release io.Closer) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper process: %q, %v", line, err)
	}
	return cmd, stdin
}

func lockOrFail(t *testing.T, dir, command string) *DirLock {
	t.Helper()
	l, err := Lock(dir, command)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func lockedBy(t *testing.T, err error) *LockedError {
	t.Helper()
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("want a *LockedError, got %T: %v", err, err)
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("errors.Is(%v, ErrLocked) is false", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	return le
}

func TestLockWritesHolderAndUnlockClears(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs", "x") // created by Lock
	l := lockOrFail(t, dir, "heatbath run --out runs/x")
	h, err := ReadHolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if h.Version != LockVersion || h.PID != os.Getpid() || h.Host != host || h.Command != "heatbath run --out runs/x" ||
		h.Since.IsZero() || h.Since.Location() != time.UTC {
		t.Errorf("holder record %+v: want version %d, pid %d, host %q, the command, a UTC time", h, LockVersion, os.Getpid(), host)
	}
	if h != l.Holder() {
		t.Errorf("record %+v differs from the lock's holder %+v", h, l.Holder())
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileLock))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"since":"`+h.Since.Format(time.RFC3339)+`"`) {
		t.Errorf("since is not RFC 3339 in %s", raw)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, FileLock)); err != nil || st.Size() != 0 {
		t.Errorf("after Unlock the lock file should stay, empty: %v, %v", st, err)
	}
	if h, err := ReadHolder(dir); err != nil || h.PID != 0 {
		t.Errorf("after Unlock ReadHolder = %+v, %v; want no holder", h, err)
	}
	lockOrFail(t, dir, "again").Unlock()
}

// flock(2) locks belong to an open file, not to a process: a second Lock
// in the same process opens the file again and is refused.
func TestLockRefusedInSameProcess(t *testing.T) {
	dir := t.TempDir()
	l := lockOrFail(t, dir, "first")
	_, err := Lock(dir, "second")
	le := lockedBy(t, err)
	if le.Holder.PID != os.Getpid() || le.Holder.Command != "first" || le.Dir != dir {
		t.Errorf("refusal names %+v in %s; want this process's first lock in %s", le.Holder, le.Dir, dir)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	lockOrFail(t, dir, "second").Unlock()
}

func TestLockRefusedAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	child, release := holdInChild(t, dir)
	_, err := Lock(dir, "parent")
	le := lockedBy(t, err)
	if le.Holder.PID != child.Process.Pid || le.Holder.Command != helperCommand {
		t.Errorf("refusal names %+v; want pid %d, command %q", le.Holder, child.Process.Pid, helperCommand)
	}
	msg := err.Error()
	for _, want := range []string{dir, "pid " + strconv.Itoa(child.Process.Pid), strconv.Quote(helperCommand), "since "} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not name %q", msg, want)
		}
	}
	// The holder lets go and exits: the directory is free.
	release.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("helper process: %v", err)
	}
	lockOrFail(t, dir, "parent").Unlock()
}

// A holder killed with SIGKILL cannot unlock or clear its record; the
// kernel drops its lock, and the next Lock takes over and overwrites the
// record.
func TestLockOfKilledProcessTakenOver(t *testing.T) {
	dir := t.TempDir()
	child, _ := holdInChild(t, dir)
	pid := child.Process.Pid
	if _, err := Lock(dir, "parent"); lockedBy(t, err).Holder.PID != pid {
		t.Fatalf("while the child lives: %v; want it named", err)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if h, err := ReadHolder(dir); err != nil || h.PID != pid {
		t.Fatalf("the killed holder's record should still be there: %+v, %v", h, err)
	}
	l := lockOrFail(t, dir, "parent")
	defer l.Unlock()
	if h, err := ReadHolder(dir); err != nil || h.PID != os.Getpid() || h.Command != "parent" {
		t.Errorf("record after takeover: %+v, %v; want this process", h, err)
	}
}

func TestLockedErrorMessage(t *testing.T) {
	since := time.Date(2026, 11, 30, 8, 40, 0, 0, time.UTC)
	e := &LockedError{Dir: "runs/x", Holder: Holder{PID: 4242, Host: "h1", Command: "heatbath run --out runs/x", Since: since}}
	want := `run directory runs/x is in use by pid 4242 on host h1 ("heatbath run --out runs/x", since 2026-11-30T08:40:00Z)`
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e.Error(), want)
	}
	// A command with a newline stays on one line.
	e.Holder.Command = "a\nb"
	if strings.Contains(e.Error(), "\n") {
		t.Errorf("not one line: %q", e.Error())
	}
	unknown := (&LockedError{Dir: "runs/x", Unknown: "its lock file is unreadable"}).Error()
	if unknown != "run directory runs/x is in use by another process (its lock file is unreadable)" {
		t.Errorf("unknown holder: %s", unknown)
	}
	if !errors.Is(fmt.Errorf("run: %w", e), ErrLocked) {
		t.Error("a wrapped *LockedError does not match ErrLocked")
	}
}

// A holder rewrites its record in place (the file cannot be replaced: the
// lock is on it), so a reader can see a new record followed by the end of
// a longer old one; it reads the first.
func TestReadHolderIgnoresTail(t *testing.T) {
	dir := t.TempDir()
	rec := `{"version":1,"pid":7,"host":"h","command":"c","since":"2026-11-30T08:40:00Z"}` + "\n" + `tail of an older record"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, FileLock), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	if h, err := ReadHolder(dir); err != nil || h.PID != 7 || h.Host != "h" {
		t.Errorf("ReadHolder = %+v, %v", h, err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileLock), []byte(`{"pid":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadHolder(dir); err == nil {
		t.Error("a torn record reads without error")
	}
}

// A destination that cannot be created fails at once with one line naming
// the folder. Works as root too: a regular file stops mkdir for anyone.
func TestLockUncreatable(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{filepath.Join(file, "x"), "run directory " + filepath.Join(file, "x") + ": cannot create: mkdir " + file + ": not a directory"},
		{file, "run directory " + file + ": cannot create: it is a file, not a folder"},
		{"", "run directory: empty path"},
	} {
		_, err := Lock(c.dir, "c")
		if err == nil || err.Error() != c.want {
			t.Errorf("Lock(%q) = %v\nwant %s", c.dir, err, c.want)
		}
	}
}

// Permission bits do not stop root, so this runs only as another user.
func TestLockNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes regardless of permission bits; TestLockUncreatable covers the failure path")
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	_, err := Lock(ro, "c")
	if want := "run directory " + ro + " is not writable: permission denied"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("%v does not match fs.ErrPermission", err)
	}
	sub := filepath.Join(ro, "x")
	_, err = Lock(sub, "c")
	if want := "run directory " + sub + ": cannot create: permission denied"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func writeSweepID(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sweep.json"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckIdentity(t *testing.T) {
	tmp := t.TempDir()
	const want = "demo-1234abcd"

	// Fine: missing, empty, only the lock and the server's store, half
	// written by the same sweep.
	if err := CheckIdentity(filepath.Join(tmp, "missing"), want); err != nil {
		t.Errorf("missing directory: %v", err)
	}
	bare := filepath.Join(tmp, "bare")
	lockOrFail(t, bare, "c").Unlock()
	if err := os.MkdirAll(filepath.Join(bare, ".jetstream", "jetstream"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckIdentity(bare, want); err != nil {
		t.Errorf("lock and .jetstream only: %v", err)
	}
	same := filepath.Join(tmp, "same")
	writeSweepID(t, same, `{"version": 1, "id": "demo-1234abcd", "replicas": []}`)
	if err := os.MkdirAll(filepath.Join(same, "replicas", "r0000-aaaaaaaa"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckIdentity(same, want); err != nil {
		t.Errorf("same sweep: %v", err)
	}

	// Refused: another sweep, an unreadable sweep.json.
	other := filepath.Join(tmp, "runs", "x")
	writeSweepID(t, other, `{"version": 1, "id": "quick-c4d87fe9"}`)
	err := CheckIdentity(other, want)
	var me *SweepMismatchError
	if !errors.As(err, &me) || me.Have != "quick-c4d87fe9" || me.Want != want || me.Dir != other {
		t.Fatalf("another sweep: %#v", err)
	}
	wantMsg := other + " holds sweep quick-c4d87fe9, not demo-1234abcd: choose another --out, or add --force to start over " +
		"(the old content is moved to " + other + ".old-<UTC time>)"
	if err.Error() != wantMsg {
		t.Errorf("got  %s\nwant %s", err, wantMsg)
	}
	for name, content := range map[string]string{"torn": `{"version": 1, "id": "qu`, "no-id": `{"version": 1}`} {
		dir := filepath.Join(tmp, name)
		writeSweepID(t, dir, content)
		err := CheckIdentity(dir, want)
		if !errors.As(err, &me) || me.Err == nil || !strings.Contains(err.Error(), "--force") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s sweep.json: %v", name, err)
		}
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestMoveAside(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 40, 0, 0, time.UTC)
	asideClock = func() time.Time { return at }
	t.Cleanup(func() { asideClock = time.Now })

	tmp := t.TempDir()
	dir := filepath.Join(tmp, "x")
	l := lockOrFail(t, dir, "holder")
	defer l.Unlock()

	// Nothing but the lock: nothing to move, no folder.
	if got, err := MoveAside(dir); err != nil || got != "" {
		t.Fatalf("MoveAside of a directory holding only its lock = %q, %v", got, err)
	}
	if got := listDir(t, tmp); len(got) != 1 {
		t.Fatalf("a folder was created: %v", got)
	}

	fill := func(content string) {
		writeSweepID(t, dir, content)
		if err := os.MkdirAll(filepath.Join(dir, "replicas", "r0"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "replicas", "r0", "result.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, ".jetstream"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fill("first")
	aside, err := MoveAside(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := dir + ".old-20261130T084000"; aside != want {
		t.Errorf("aside = %s, want %s", aside, want)
	}
	if got := listDir(t, dir); strings.Join(got, ",") != FileLock {
		t.Errorf("left in the run directory: %v; want only %s", got, FileLock)
	}
	if got := listDir(t, aside); strings.Join(got, ",") != ".jetstream,replicas,sweep.json" {
		t.Errorf("moved: %v", got)
	}
	if b, err := os.ReadFile(filepath.Join(aside, "replicas", "r0", "result.json")); err != nil || string(b) != "first" {
		t.Errorf("moved content: %q, %v", b, err)
	}
	// The lock is still held and still names its holder.
	if _, err := Lock(dir, "other"); lockedBy(t, err).Holder.Command != "holder" {
		t.Errorf("after MoveAside: %v", err)
	}

	// Same second again: a new folder, the first one untouched.
	fill("second")
	aside2, err := MoveAside(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := dir + ".old-20261130T084000-2"; aside2 != want {
		t.Errorf("second aside = %s, want %s", aside2, want)
	}
	for folder, want := range map[string]string{aside: "first", aside2: "second"} {
		if b, err := os.ReadFile(filepath.Join(folder, "sweep.json")); err != nil || string(b) != want {
			t.Errorf("%s holds %q, %v; want %q", folder, b, err, want)
		}
	}
}

// MoveAside of "." puts the folder beside the current directory, not in
// it.
func TestMoveAsideDot(t *testing.T) {
	asideClock = func() time.Time { return time.Date(2026, 11, 30, 8, 40, 0, 0, time.UTC) }
	t.Cleanup(func() { asideClock = time.Now })
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "x")
	writeSweepID(t, dir, "{}")
	t.Chdir(dir)
	aside, err := MoveAside(".")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(filepath.Join(tmp, "x.old-20261130T084000"))
	if got, _ := filepath.EvalSymlinks(aside); got != want || want == "" {
		t.Errorf("aside = %s, want %s", aside, want)
	}
}

func TestCommandLine(t *testing.T) {
	got := CommandLine([]string{"heatbath", "run", "--out", "runs/my run", "it's", ""})
	want := `heatbath run --out 'runs/my run' 'it'\''s' ''`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
