package records

import (
	"context"
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// TestPruneDecisionsAreWrittenOnce: the first decision stored under a key
// counts (a second, different one gets the first back); the log comes
// back in Seq order, without the replica records; Prune records a
// running replica pruned and leaves a finished one alone.
func TestPruneDecisionsAreWrittenOnce(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	if log, err := s.PruneLog(ctx, "s1"); err != nil || len(log) != 0 {
		t.Fatalf("empty log: %v, %v", log, err)
	}
	for _, id := range []string{"r0", "r1"} {
		if _, err := s.Create(ctx, "s1", id, running(1, "w1")); err != nil {
			t.Fatal(err)
		}
	}
	d1 := protocol.PruneDecision{Sweep: "s1", Replica: "r1", Seq: 1, Cohort: "all", Step: 10, Value: 2, Reached: 2, Rank: 2, Kept: 1, Prune: true}
	d0 := protocol.PruneDecision{Sweep: "s1", Replica: "r0", Seq: 0, Cohort: "all", Step: 10, Value: 1, Reached: 1, Rank: 1, Kept: 1}
	for _, d := range []protocol.PruneDecision{d1, d0} {
		got, created, err := s.CreatePrune(ctx, &d)
		if err != nil || !created || *got != d {
			t.Fatalf("create %+v: %+v, %v, %v", d, got, created, err)
		}
	}
	other := d1
	other.Seq, other.Rank, other.Prune = 5, 1, false
	got, created, err := s.CreatePrune(ctx, &other)
	if err != nil || created || got.Seq != 1 || !got.Prune {
		t.Fatalf("second decision for r1: %+v, created %v, %v; want the first back", got, created, err)
	}
	log, err := s.PruneLog(ctx, "s1")
	if err != nil || len(log) != 2 || log[0].Replica != "r0" || log[1].Replica != "r1" {
		t.Fatalf("log %+v, %v", log, err)
	}
	if wrote, err := s.Prune(ctx, "s1", "r1", "pruned at milestone 0"); err != nil || !wrote {
		t.Fatalf("prune r1: %v, %v", wrote, err)
	}
	if st, _, err := s.Get(ctx, "s1", "r1"); err != nil || st.State != protocol.StatePruned || st.Error != "pruned at milestone 0" {
		t.Fatalf("r1: %+v, %v", st, err)
	}
	if _, err := s.Update(ctx, "s1", "r0", func(x *protocol.ReplicaState) bool { x.State = protocol.StateDone; return true }); err != nil {
		t.Fatal(err)
	}
	if wrote, err := s.Prune(ctx, "s1", "r0", "late"); err != nil || wrote {
		t.Fatalf("prune done r0: wrote %v, %v", wrote, err)
	}
}
