package main

import (
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// TestCountsShowPrunedOnlyWhenAny: a sweep with pruned replicas says how
// many on its status line; one without keeps the line it always had.
func TestCountsShowPrunedOnlyWhenAny(t *testing.T) {
	m := map[protocol.State]int{protocol.StateDone: 3, protocol.StateRunning: 1}
	if got, want := counts(m), "3 done, 1 running, 0 pending, 0 preempted, 0 failed, 0 cancelled"; got != want {
		t.Errorf("counts without pruned = %q, want %q", got, want)
	}
	m[protocol.StatePruned] = 5
	if got, want := counts(m), "3 done, 1 running, 0 pending, 0 preempted, 0 failed, 0 cancelled, 5 pruned"; got != want {
		t.Errorf("counts with pruned = %q, want %q", got, want)
	}
}
