package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heatbath/heatbath/train"
)

// openPTY opens a new pseudo-terminal and returns its terminal side (a
// new pty has no size: 0 rows, 0 columns) and the controlling side.
func openPTY(t *testing.T) (tty, ctl *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ctl.Close() })
	if err := unix.IoctlSetPointerInt(int(ctl.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ctl.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("pseudo-terminal %d: %v", n, err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty, ctl
}

// TestTerminalWithoutSize: a terminal that reports no size gets progress
// as periodic lines, one that has a size gets the bar redrawn in place;
// TERM=dumb gets lines whatever its size.
func TestTerminalWithoutSize(t *testing.T) {
	tty, ctl := openPTY(t)
	t.Setenv("TERM", "xterm")
	if !isTerminal(tty) {
		t.Fatal("the pty is not a terminal")
	}
	if w := terminalWidth(tty); w != 0 {
		t.Fatalf("a terminal of no size: width %d, want 0", w)
	}
	if b := newBar(tty, 100); b.tty {
		t.Error("the bar redraws in place on a terminal of no size")
	}
	if sp := newSweepProgressTo(tty, nil, false); sp.tty || sp.p != nil {
		t.Error("a sweep draws bars on a terminal of no size")
	}
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 100}); err != nil {
		t.Fatal(err)
	}
	if w := terminalWidth(tty); w != 100 {
		t.Fatalf("a terminal of 100 columns: width %d", w)
	}
	b := newBar(tty, 100)
	if !b.tty {
		t.Fatal("the bar does not redraw on a terminal with a size")
	}
	b.update(50, train.Metrics{}, time.Second)
	buf := make([]byte, 4096)
	n, err := ctl.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "\r\x1b[K") || !strings.Contains(string(buf[:n]), "ETA 1s") {
		t.Errorf("the bar wrote %q (%v), want a line redrawn in place with the ETA", buf[:n], err)
	}
	if sp := newSweepProgressTo(tty, nil, false); !sp.tty || sp.p == nil {
		t.Error("a sweep draws no bars on a terminal with a size")
	} else {
		sp.close()
	}
	t.Setenv("TERM", "dumb")
	if w := terminalWidth(tty); w != 0 {
		t.Errorf("TERM=dumb: width %d, want 0", w)
	}
}
