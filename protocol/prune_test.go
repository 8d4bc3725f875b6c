package protocol

import (
	"errors"
	"math"
	"testing"
)

// TestPrunedIsFinal: pending, running and preempted replicas may be
// pruned; pruned is terminal and has no way out (resume does not run it
// again), and a pruning write keeps the attempt.
func TestPrunedIsFinal(t *testing.T) {
	for _, from := range []State{StatePending, StateRunning, StatePreempted} {
		if !CanTransition(from, StatePruned) {
			t.Errorf("%s → pruned refused", from)
		}
	}
	for _, from := range []State{StateDone, StateFailed, StateCancelled} {
		if CanTransition(from, StatePruned) {
			t.Errorf("%s → pruned allowed", from)
		}
	}
	for _, to := range []State{StatePending, StateRunning, StatePreempted, StateDone, StateFailed, StateCancelled, StatePruned} {
		if CanTransition(StatePruned, to) {
			t.Errorf("pruned → %s allowed", to)
		}
	}
	if !StatePruned.Terminal() || !StatePruned.Valid() {
		t.Error("pruned is not a valid terminal state")
	}
	from := ReplicaState{State: StateRunning, Attempt: 2, Worker: "w1"}
	to := from
	to.State = StatePruned
	if err := CheckTransition(from, to); err != nil {
		t.Errorf("running → pruned: %v", err)
	}
	to.Attempt = 3
	if err := CheckTransition(from, to); err == nil {
		t.Error("running → pruned with a new attempt accepted")
	}
}

// TestPruneConfigCheck: the checks of the config, field first.
func TestPruneConfigCheck(t *testing.T) {
	ok := PruneConfig{Metric: "val_loss", At: []float64{0.1, 0.3}, Keep: 0.5, Among: "group"}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []PruneConfig{
		{Metric: "loss", At: []float64{0.1}, Keep: 0.5, Among: "all"},
		{Metric: "val_loss", Keep: 0.5, Among: "all"},
		{Metric: "val_loss", At: []float64{0.3, 0.3}, Keep: 0.5, Among: "all"},
		{Metric: "val_loss", At: []float64{0.3}, Keep: math.NaN(), Among: "all"},
		{Metric: "val_loss", At: []float64{0.3}, Keep: 0.5, Among: "seed"},
	} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	c := ok.Clone()
	c.At[0] = 0.2
	if ok.At[0] != 0.1 {
		t.Error("Clone shares At")
	}
}

// TestPruneDecisionRoundTrip: a decision encodes and decodes unchanged,
// and inconsistent ones are refused.
func TestPruneDecisionRoundTrip(t *testing.T) {
	d := &PruneDecision{Sweep: "s1", Replica: "r0002", Seq: 3, Cohort: "all", Milestone: 1, Step: 30, Value: 0.25,
		Reached: 4, Rank: 3, Kept: 2, Prune: true}
	b, err := Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePruneDecision(b)
	if err != nil || *got != *d {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	bad := *d
	bad.Prune = false
	if _, err := Encode(&bad); err == nil {
		t.Error("a kept decision ranked below kept accepted")
	}
	bad = *d
	bad.Value = math.Inf(1)
	var pe *Error
	if _, err := Encode(&bad); !errors.As(err, &pe) {
		t.Errorf("infinite value: %v", err)
	}
}

// TestPruneNames: the key is refused by ParseReplicaKey (readers of
// replica records skip it) and matched by the sweep's key filter; the
// subject parses back.
func TestPruneNames(t *testing.T) {
	k, err := PruneKey("s1", "r0001", 2)
	if err != nil || k != "s1.r0001.prune2" {
		t.Fatalf("key %q, %v", k, err)
	}
	if _, _, err := ParseReplicaKey(k); err == nil {
		t.Error("ParseReplicaKey accepts a prune key")
	}
	subj, err := PruneSubject("s1", "r0001")
	if err != nil {
		t.Fatal(err)
	}
	sw, rep, err := ParsePruneSubject(subj)
	if err != nil || sw != "s1" || rep != "r0001" {
		t.Fatalf("parse %s: %s %s %v", subj, sw, rep, err)
	}
	if _, _, err := ParsePruneSubject(CancelFilter); err == nil {
		t.Error("a cancel subject parses as a prune subject")
	}
	if _, err := PruneKey("s.1", "r", 0); err == nil {
		t.Error("a dotted sweep makes a key")
	}
}

// TestMilestoneSteps: ceil(at·steps), repeats dropped; a task's
// publish_at must be positive and increasing.
func TestMilestoneSteps(t *testing.T) {
	c := PruneConfig{At: []float64{0.1, 0.3, 0.31}}
	if got := c.MilestoneSteps(1000); len(got) != 3 || got[0] != 100 || got[1] != 300 || got[2] != 310 {
		t.Errorf("1000 steps: %v", got)
	}
	if got := c.MilestoneSteps(7); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Errorf("7 steps: %v, want [1 3]", got)
	}
	task := Task{Sweep: "s", Replica: "r", Group: "g", Config: ReplicaConfig{Steps: 10}, SpecHash: "h", PublishAt: []int64{3, 5}}
	if err := task.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]int64{{0}, {5, 5}, {5, 3}} {
		task.PublishAt = bad
		if err := task.Validate(); err == nil {
			t.Errorf("publish_at %v accepted", bad)
		}
	}
}
