package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/protocol"
)

// etaSnapshot is a sweep of three groups: "a" with a replica running at
// 10 steps/s (300 steps left) and a pending one (200 steps), "b" done
// (one replica failed), "c" only pending; the sweep's ETA is 99 s.
func etaSnapshot() *coordinator.FeedSnapshot {
	eta := 99.0
	return &coordinator.FeedSnapshot{Sweep: "s", Total: 5, StepsPerSecond: 10, ETASeconds: &eta,
		Counts: map[protocol.State]int{protocol.StateRunning: 1, protocol.StatePending: 2, protocol.StateDone: 1, protocol.StateFailed: 1},
		Replicas: []coordinator.FeedReplica{
			{ID: "r0", Group: "a", State: protocol.StateRunning, Step: 100, Steps: 400, StepsPerSecond: 10},
			{ID: "r1", Group: "a", State: protocol.StatePending, Steps: 200},
			{ID: "r2", Group: "b", State: protocol.StateDone, Step: 400, Steps: 400},
			{ID: "r3", Group: "b", State: protocol.StateFailed, Step: 50, Steps: 400},
			{ID: "r4", Group: "c", State: protocol.StatePending, Steps: 400},
		}}
}

// TestGroupETA: a group's ETA is its unfinished replicas' steps left at
// the summed rate of its running ones; a finished group is done, one with
// nothing running is queued.
func TestGroupETA(t *testing.T) {
	groups := groupsOf(etaSnapshot())
	for g, want := range map[string]string{"a": "ETA 50s", "b": "done", "c": "queued"} {
		if got := groups[g].eta(); got != want {
			t.Errorf("group %s: %q, want %q (%+v)", g, got, want, *groups[g])
		}
	}
}

// TestGroupBarsShowETA: on a terminal with a size, each group's bar shows
// its own ETA (or done, queued) after the percentage, besides the
// sweep's steps/s and ETA on the bar of finished replicas.
func TestGroupBarsShowETA(t *testing.T) {
	tty, ctl := openPTY(t)
	t.Setenv("TERM", "xterm")
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 160}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&out, ctl) // until the pty is closed
	}()
	sp := newSweepProgressTo(tty, nil, false)
	if sp.p == nil {
		t.Fatal("no bars on a terminal with a size")
	}
	sp.update(etaSnapshot())
	sp.close()
	tty.Close()
	ctl.Close()
	<-read
	text := out.String()
	for _, want := range []string{"ETA 50s", "done", "queued", "ETA 1m39s"} {
		if !strings.Contains(text, want) {
			t.Errorf("the bars show no %q; the terminal got %q", want, text)
		}
	}
}
