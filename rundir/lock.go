package rundir

// The run directory's lock and identity.
//
// A run directory has one writer at a time. The writer holds an exclusive
// OS file lock (flock(2) on Unix, through github.com/gofrs/flock) on
// FileLock and writes who it is into that file, so that a second writer is
// refused at once with a message naming the holder.
//
// Why a stale lock is taken over safely: the kernel releases a flock(2)
// lock when the last descriptor of the open file that holds it is closed,
// and a process's descriptors are closed when it exits for any reason,
// SIGKILL and crashes included. So whenever TryLock succeeds, no live
// process holds the directory: what the file still says about an earlier
// holder is leftover text, and is overwritten. There is no guessing from
// pids (which are reused) or ages. Go opens every file close-on-exec, so a
// child process the holder starts does not inherit the lock.
//
// The NFS caveat: on NFS, Linux emulates flock(2) with byte-range locks that
// the server arbitrates (NLM for NFSv3, the protocol's own locks for NFSv4),
// so the lock holds across machines; the lock of a client that crashed (not
// just a process that died) is released only when the server expires its
// lease (about 90 s on NFSv4), and until then the directory is refused, not
// shared. A file system mounted with local locks only (mount options
// "nolock" or "local_lock=flock"/"all") gives no protection between
// machines: two machines could then both write one run directory.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// LockVersion is the version of the holder record in FileLock.
const LockVersion = 1

// Holder identifies the process that holds a run directory.
type Holder struct {
	// Version is LockVersion.
	Version int `json:"version"`
	// PID is the holder's process id on Host.
	PID int `json:"pid"`
	// Host is the holder's host name.
	Host string `json:"host"`
	// Command is the holder's command line.
	Command string `json:"command"`
	// Since is when the holder took the lock (RFC 3339, UTC, seconds).
	Since time.Time `json:"since"`
	// Build is the heatbath module version that wrote the record, as Go's
	// build information gives it ("(devel)" for a build from a checkout);
	// empty when unknown.
	Build string `json:"build,omitempty"`
}

// ErrLocked is matched by errors.Is for a *LockedError.
var ErrLocked = errors.New("run directory is in use")

// LockedError is the error of Lock when another writer holds the run
// directory.
type LockedError struct {
	// Dir is the run directory as the caller named it.
	Dir string
	// Holder is what the lock file says about its holder; zero when the
	// file could not be read or did not name one yet (a holder writes its
	// record right after taking the lock), see Unknown.
	Holder Holder
	// Unknown, if not empty, says why the holder is not known.
	Unknown string
}

// Error is one line naming the folder and the holder.
func (e *LockedError) Error() string {
	if e.Holder.PID == 0 {
		why := e.Unknown
		if why == "" {
			why = "it has not written its name yet"
		}
		return fmt.Sprintf("run directory %s is in use by another process (%s)", e.Dir, why)
	}
	h := e.Holder
	var b strings.Builder
	fmt.Fprintf(&b, "run directory %s is in use by pid %d", e.Dir, h.PID)
	if h.Host != "" {
		fmt.Fprintf(&b, " on host %s", h.Host)
	}
	var in []string
	if h.Command != "" {
		in = append(in, strconv.Quote(h.Command))
	}
	if !h.Since.IsZero() {
		in = append(in, "since "+h.Since.UTC().Format(time.RFC3339))
	}
	if len(in) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(in, ", "))
	}
	return b.String()
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// DirLock is a run directory held by this process, as Lock returns it.
// Keep it reachable until Unlock (a deferred Unlock does): the lock lives
// as long as its open file.
type DirLock struct {
	dir    string
	fl     *flock.Flock
	f      *os.File // FileLock opened for writing the holder record
	holder Holder
}

// Lock creates dir if needed and takes its lock without waiting: an
// exclusive OS lock on dir/FileLock, into which it writes this process's
// Holder (pid, host, command, since, build) and fsyncs it. command is the
// command line to show to a second writer (see CommandLine).
//
// A directory held by another writer, in this process or another, gives a
// *LockedError (errors.Is(err, ErrLocked)). A lock left by a dead process
// is taken over: the kernel drops a flock(2) lock when its holder's files
// are closed, at exit for any reason (SIGKILL too), so a lock that can be
// taken is held by nobody, and the old record is just overwritten. (On NFS
// the server arbitrates; the lock of a crashed client lasts until its lease
// expires, and a mount with local locks only does not protect between
// machines.) A destination
// that cannot be created or written gives a one-line error naming the
// folder: "run directory X: cannot create: ...", "run directory X is not
// writable: permission denied".
func Lock(dir, command string) (*DirLock, error) {
	if dir == "" {
		return nil, errors.New("run directory: empty path")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, createError(dir, err)
	}
	path := filepath.Join(dir, FileLock)
	// Read-write, so that NFS (where flock is emulated with byte-range
	// locks, which need a writable descriptor) and a folder the caller
	// cannot write fail here, and world-readable, so that anyone refused
	// can read who holds it.
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o644))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, openError(dir, err)
	}
	if !ok {
		return nil, lockedError(dir, path)
	}
	// The holder record goes through a second descriptor of the same file
	// (gofrs/flock does not hand out its own). It stays open until Unlock:
	// closing it cannot drop a flock(2) lock, which belongs to the other
	// open file, but it would drop the process's locks where flock is
	// emulated with fcntl(2) locks (AIX, Solaris), which belong to the
	// process and go with any close of the file. (On Windows, where
	// gofrs/flock locks byte 0 with LockFileEx, which other handles must
	// respect, this write would be refused: the holder record is written
	// and tested on Unix only.)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		_ = fl.Unlock()
		return nil, openError(dir, err)
	}
	l := &DirLock{dir: dir, fl: fl, f: f, holder: currentHolder(command)}
	if err := l.writeHolder(); err != nil {
		_ = f.Close()
		_ = fl.Unlock()
		return nil, fmt.Errorf("run directory %s: cannot write the lock file: %w", dir, err)
	}
	return l, nil
}

// Dir returns the run directory as Lock was given it.
func (l *DirLock) Dir() string { return l.dir }

// Holder returns the record this lock wrote.
func (l *DirLock) Holder() Holder { return l.holder }

// Unlock empties the lock file and releases the lock; the file stays (see
// FileLock). It is safe to call more than once. Emptying first means that a
// lock file with a record always names a live holder, or one that died
// without unlocking.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Truncate(0)
	if err == nil {
		err = l.f.Sync()
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if uerr := l.fl.Unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("run directory %s: unlock: %w", l.dir, err)
	}
	return nil
}

// writeHolder writes the record at the start of the file before cutting
// the file to its length, so that a reader never sees an empty file in
// between (a reader decodes the first JSON value and ignores the rest).
func (l *DirLock) writeHolder() error {
	b, err := json.Marshal(l.holder)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return err
	}
	if err := l.f.Truncate(int64(len(b))); err != nil {
		return err
	}
	return l.f.Sync()
}

func currentHolder(command string) Holder {
	host, _ := os.Hostname()
	h := Holder{Version: LockVersion, PID: os.Getpid(), Host: host, Command: command,
		Since: time.Now().UTC().Truncate(time.Second)}
	if bi, ok := debug.ReadBuildInfo(); ok {
		h.Build = bi.Main.Version
	}
	return h
}

// ReadHolder reads the holder record of dir's lock file. It returns a zero
// Holder and no error when the file is missing or empty (nobody holds the
// directory, or a holder has just taken it and not written yet). The
// record is only as current as the lock: use Lock to know whether the
// directory is held.
func ReadHolder(dir string) (Holder, error) {
	var h Holder
	f, err := os.Open(filepath.Join(dir, FileLock))
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, err
	}
	defer f.Close()
	// Only the first value: a record being rewritten can have the end of
	// a longer earlier record after it until the file is cut.
	err = json.NewDecoder(f).Decode(&h)
	if errors.Is(err, io.EOF) {
		return Holder{}, nil
	}
	if err != nil {
		return Holder{}, fmt.Errorf("%s: %w", filepath.Join(dir, FileLock), err)
	}
	return h, nil
}

func lockedError(dir, path string) error {
	e := &LockedError{Dir: dir}
	h, err := ReadHolder(dir)
	switch {
	case err != nil:
		e.Unknown = "its lock file " + path + " is unreadable: " + errText(err)
	case h.PID == 0:
		e.Unknown = "it has not written its name into " + path + " yet"
	default:
		e.Holder = h
	}
	return e
}

// createError is the error of a run directory that cannot be created.
func createError(dir string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && filepath.Clean(pe.Path) == filepath.Clean(dir) {
		if errors.Is(pe.Err, syscall.ENOTDIR) {
			if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
				return fmt.Errorf("run directory %s: cannot create: it is a file, not a folder", dir)
			}
		}
		return fmt.Errorf("run directory %s: cannot create: %w", dir, pe.Err)
	}
	return fmt.Errorf("run directory %s: cannot create: %w", dir, err)
}

// openError is the error of a lock file that cannot be opened or locked.
func openError(dir string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("run directory %s is not writable: %w", dir, err)
	}
	return fmt.Errorf("run directory %s: cannot lock %s: %w", dir, FileLock, err)
}

// errText is an error's message on one line.
func errText(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// CommandLine joins a command's arguments (os.Args) into one line as a
// POSIX shell would read it back: arguments with spaces or shell
// characters in single quotes.
func CommandLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// SweepMismatchError is the error of CheckIdentity for a run directory that
// holds a different sweep, or whose sweep cannot be read.
type SweepMismatchError struct {
	// Dir is the run directory.
	Dir string
	// Have is the id of the sweep the directory holds; empty if its
	// sweep.json is unreadable (see Err).
	Have string
	// Want is the id of the sweep the caller means to write.
	Want string
	// Err is why sweep.json could not be read, if it could not.
	Err error
}

// Error is one line naming both sweeps and the way out.
func (e *SweepMismatchError) Error() string {
	what := "sweep " + e.Have
	if e.Err != nil {
		why := e.Err
		var fe *FileError
		if errors.As(why, &fe) {
			why = fe.Err // the path is that of sweep.json in Dir
		}
		what = "a " + FileSweep + " that cannot be read (" + errText(why) + ")"
	}
	return fmt.Sprintf("%s holds %s, not %s: choose another --out, or add --force to start over "+
		"(the old content is moved to %s.old-<UTC time>)", e.Dir, what, e.Want, filepath.Clean(e.Dir))
}

// Unwrap returns the read error, if any.
func (e *SweepMismatchError) Unwrap() error { return e.Err }

// CheckIdentity refuses a run directory that holds a sweep other than
// sweepID with a *SweepMismatchError. A directory that does not exist, is
// empty, or holds no sweep.json (only the lock, the embedded server's
// .jetstream, or anything else that is not a sweep's record) is fine, and
// so is one of the same sweep however far it got.
func CheckIdentity(dir, sweepID string) error {
	s, err := ReadSweep(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &SweepMismatchError{Dir: dir, Want: sweepID, Err: err}
	}
	if s.ID != sweepID {
		return &SweepMismatchError{Dir: dir, Have: s.ID, Want: sweepID}
	}
	return nil
}

// asideClock is the clock MoveAside names folders by (tests set it).
var asideClock = time.Now

// asideLayout is the UTC time in an aside folder's name.
const asideLayout = "20060102T150405"

// MoveAside moves everything in dir but the lock file into a new sibling
// folder <dir>.old-<UTC time> (with -2, -3, ... if that exists) and
// returns its path; nothing is deleted. It is what --force does, and works
// while the lock is held: the lock file stays, and so does the lock. A
// directory with nothing to move returns "" and creates no folder. If a
// move fails half way, the error names both folders; what was moved is in
// the new one, the rest where it was.
func MoveAside(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("run directory %s: cannot list it to move its content aside: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		if e.Name() != FileLock {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	src := filepath.Clean(dir)
	if b := filepath.Base(src); b == "." || b == ".." || b == string(filepath.Separator) {
		// "." has no sibling of its own name: go through the absolute path.
		if src, err = filepath.Abs(src); err != nil {
			return "", fmt.Errorf("run directory %s: %w", dir, err)
		}
		if filepath.Dir(src) == src {
			return "", fmt.Errorf("run directory %s: a file system root has no sibling to move its content to", dir)
		}
	}
	base := src + ".old-" + asideClock().UTC().Format(asideLayout)
	aside := base
	for i := 2; ; i++ {
		err := os.Mkdir(aside, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 1000 {
			return "", fmt.Errorf("run directory %s: cannot create a folder to move its content to: %w", dir, err)
		}
		aside = base + "-" + strconv.Itoa(i)
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(src, n), filepath.Join(aside, n)); err != nil {
			return aside, fmt.Errorf("run directory %s: moving its content to %s stopped at %s: %w", dir, aside, n, unwrapPath(err))
		}
	}
	for _, d := range []string{aside, src, filepath.Dir(src)} {
		if err := syncDir(d); err != nil {
			return aside, fmt.Errorf("run directory %s: content moved to %s, but %w", dir, aside, err)
		}
	}
	return aside, nil
}
