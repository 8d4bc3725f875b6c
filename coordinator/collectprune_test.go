package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// TestCollectPruneSurvivesRestart: successive halving on the embedded
// server, with the workers played by hand (6 replicas of 400 steps,
// milestones at steps 100 and 200, keep half, among all). A first
// collector sees r1, r0, r2, r3 reach step 100 in that order (val_loss 2,
// 1, 0.5, 3), stores four decisions and prunes r3 (rank 4 of 4), then
// stops. While it is down, r4 and r5 reach step 100 and the stored
// decision of r2 is removed (as if the collector had stopped after
// writing r2's rows and before storing its decision). A second collector
// must not forget the first one's decisions (r1, the first to arrive,
// was kept; a collector that re-derived the decisions from the rows on
// disk, in sweep order, would see r1 rank 2 of 2 and stop it, and r1
// would never reach its second milestone), nor repeat them (each replica
// and milestone decided once, r3's decision unchanged), and must take
// r2's decision again from its rows on disk. It ends with r3 and r5
// pruned, their records pruned, their workers told, every kept replica
// decided at both milestones, and summary.json and prune.json saying so.
func TestCollectPruneSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	co, nc := embeddedCoordinator(t, ctx, Config{})
	sw := testSweep(6)
	sw.Prune = &protocol.PruneConfig{Metric: "val_loss", At: []float64{0.25, 0.5}, Keep: 0.5, Among: "all"}
	submitNoWorkers(t, ctx, co, sw)
	var mu sync.Mutex
	told := map[string]int{}
	sub, err := nc.Subscribe(protocol.PruneFilter, func(m *nats.Msg) {
		_, rep, err := protocol.ParsePruneSubject(m.Subject)
		if err == nil {
			mu.Lock()
			told[rep]++
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	publish, set := playWorkers(t, ctx, co, nc, sw.ID)
	// rows publishes replica id's rows at steps after..., val_loss v.
	rows := func(id string, after int64, v float64, steps ...int64) {
		t.Helper()
		ch := &protocol.TrajChunk{Sweep: sw.ID, Replica: id, Attempt: 1, After: after, Columns: []string{"step", "train_loss", "val_loss"}}
		for _, s := range steps {
			ch.Rows = append(ch.Rows, []float64{float64(s), 0.5, v})
		}
		publish(id, protocol.EventTraj, ch)
	}
	finish := func(id string, after int64, v float64, steps ...int64) {
		t.Helper()
		rows(id, after, v, steps...)
		publish(id, protocol.EventResult, &protocol.Result{Sweep: sw.ID, Replica: id, Attempt: 1, Worker: "hand", Status: protocol.ResultDone,
			Files: []protocol.InlineFile{{File: rundir.FileResult, Data: resultJSON("done", 0)}}})
		set(id, protocol.ReplicaState{State: protocol.StateDone, Attempt: 1, Worker: "hand", Step: testSteps})
	}
	state := func(id string) protocol.State {
		t.Helper()
		st, _, err := co.recs().Get(ctx, sw.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return st.State
	}
	// waitLog waits until n decisions are stored and replica pruned (if
	// any) is recorded pruned.
	waitLog := func(n int, pruned string) []protocol.PruneDecision {
		t.Helper()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			log, err := co.recs().PruneLog(ctx, sw.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(log) >= n && (pruned == "" || state(pruned) == protocol.StatePruned) {
				return log
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%d of %d decisions stored, %s %s: %v", len(log), n, pruned, state(pruned), ctx.Err())
			case <-tick.C:
			}
		}
	}

	for i := range 6 {
		set(sw.Replicas[i].ID, protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "hand"})
	}
	dir := filepath.Join(t.TempDir(), "run")
	// The first collector.
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := co.Collect(cctx, sw.ID, dir)
		done <- err
	}()
	// One at a time, so that they arrive in this order.
	for i, r := range []struct {
		id string
		v  float64
	}{{"r1", 2}, {"r0", 1}, {"r2", 0.5}, {"r3", 3}} {
		rows(r.id, -1, r.v, 100)
		waitLog(i+1, "")
	}
	first := waitLog(4, "r3")
	stop()
	<-done
	if len(first) != 4 {
		t.Fatalf("first collector stored %d decisions, want 4: %+v", len(first), first)
	}
	var r3 protocol.PruneDecision
	for _, d := range first {
		if d.Replica == "r3" {
			r3 = d
		}
		if d.Prune != (d.Replica == "r3") {
			t.Errorf("first collector's decision %+v", d)
		}
	}
	if r3.Reached != 4 || r3.Rank != 4 || r3.Kept != 2 || r3.Value != 3 || r3.Step != 100 {
		t.Errorf("r3's decision %+v, want rank 4 of 4 with 2 kept", r3)
	}
	// While no collector runs: r2's decision goes missing, r3..r5 reach
	// the first milestone.
	key, _ := protocol.PruneKey(sw.ID, "r2", 0)
	if err := co.kv.Purge(ctx, key); err != nil {
		t.Fatal(err)
	}
	rows("r4", -1, 0.1, 100)
	rows("r5", -1, 5, 100)

	// The second collector.
	go func() {
		_, err := co.Collect(ctx, sw.ID, dir)
		done <- err
	}()
	waitLog(6, "r5")
	for _, id := range []string{"r3", "r5"} {
		if s := state(id); s != protocol.StatePruned {
			t.Errorf("%s is %s, want pruned", id, s)
		}
	}
	finish("r0", 100, 0.9, 200, 300, 400)
	finish("r1", 100, 0.5, 200, 300, 400)
	finish("r2", 100, 0.4, 200, 300, 400)
	finish("r4", 100, 0.05, 200, 300, 400)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	pl, err := rundir.ReadPruneLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	type rm struct {
		replica   string
		milestone int
	}
	seen := map[rm]bool{}
	var seqs []int
	var prunedIDs []string
	for _, d := range pl.Decisions {
		k := rm{d.Replica, d.Milestone}
		if seen[k] {
			t.Errorf("decision repeated: %+v", d)
		}
		seen[k] = true
		seqs = append(seqs, d.Seq)
		if d.Prune {
			prunedIDs = append(prunedIDs, d.Replica)
		}
		if d.Replica == "r3" && d != r3 {
			t.Errorf("r3's decision changed: %+v, was %+v", d, r3)
		}
	}
	if !seen[rm{"r2", 0}] {
		t.Error("r2's lost decision was not taken again from its rows on disk")
	}
	for _, id := range []string{"r0", "r1", "r2", "r4"} {
		if !seen[rm{id, 1}] {
			t.Errorf("kept replica %s has no decision at its second milestone", id)
		}
	}
	if len(pl.Decisions) != 10 {
		t.Errorf("%d decisions, want 6 at step 100 and 4 at step 200: %+v", len(pl.Decisions), pl.Decisions)
	}
	if !slices.IsSorted(seqs) {
		t.Errorf("decisions out of order: seqs %v", seqs)
	}
	slices.Sort(prunedIDs)
	if !slices.Equal(prunedIDs, []string{"r3", "r5"}) {
		t.Errorf("pruned %v, want r3 r5", prunedIDs)
	}
	sum, err := rundir.ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Counts[rundir.StatusPruned] != 2 || sum.Counts[rundir.StatusDone] != 4 {
		t.Errorf("counts %v, want 4 done and 2 pruned", sum.Counts)
	}
	for _, r := range sum.Replicas {
		if r.State == string(protocol.StatePruned) && r.Steps != 100 {
			t.Errorf("pruned %s: %d steps in summary.json, want 100 (its last row)", r.ID, r.Steps)
		}
	}
	if p := sum.Prune; p == nil || !p.Ran || p.Pruned != 2 || p.Decisions != 10 {
		t.Errorf("summary's prune %+v", sum.Prune)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range []string{"r3", "r5"} {
		if told[id] == 0 {
			t.Errorf("the worker of %s was not told to stop", id)
		}
	}
	for _, id := range []string{"r0", "r1", "r2", "r4"} {
		if told[id] != 0 {
			t.Errorf("the worker of kept %s was told to stop", id)
		}
	}
}

// pruneCollectState returns the collect state of testSweep(n) with a
// prune section (milestone at step 100, keep half, among all).
func pruneCollectState(t *testing.T, n int) *collectState {
	t.Helper()
	sw := testSweep(n)
	sw.Prune = &protocol.PruneConfig{Metric: "val_loss", At: []float64{0.25}, Keep: 0.5, Among: "all"}
	s := newCollectState(sw)
	if _, err := s.enablePrune(nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// recordState feeds replica id's record in state st to the collect state.
func recordState(t *testing.T, s *collectState, id string, st protocol.State) {
	t.Helper()
	key, _ := protocol.ReplicaKey(s.sweep.ID, id)
	rs := protocol.ReplicaState{State: st, Attempt: 1, Worker: "w", Step: testSteps, Steps: testSteps, Updated: t0}
	b, err := protocol.Encode(&rs)
	if err != nil {
		t.Fatal(err)
	}
	s.record(key, b)
}

// TestPruneActsOnlyOnStoredDecisions: a decision to prune is first only
// stored; the replica is stopped once the store succeeded, a failed store
// is retried and holds the end of the collection back.
func TestPruneActsOnlyOnStoredDecisions(t *testing.T) {
	s := pruneCollectState(t, 2)
	cols := []string{"step", "val_loss"}
	s.pruneRows("r0", cols, [][]float64{{100, 1}})
	acts := s.pruneRows("r1", cols, [][]float64{{100, 2}})
	var d *protocol.PruneDecision
	for _, a := range acts {
		switch a := a.(type) {
		case storePrune:
			d = &a.d
		case stopPruned:
			t.Fatal("replica stopped before its decision was stored")
		}
	}
	if d == nil || !d.Prune || d.Replica != "r1" {
		t.Fatalf("actions %+v: want the store of r1's decision to prune", acts)
	}
	if got := s.pruneStored(*d, nil, errors.New("bucket unavailable"), t0); len(got) != 1 {
		t.Fatalf("failed store: %+v", got)
	}
	retry := s.pruneRetry(t0.Add(retryDelay))
	if len(retry) != 2 { // both decisions (r0's keep and r1's prune) are still unstored
		t.Fatalf("retry %+v, want the two stores", retry)
	}
	// Both replicas finished (cancelled: nothing else to collect).
	for _, id := range []string{"r0", "r1"} {
		recordState(t, s, id, protocol.StateCancelled)
	}
	if s.done() != nil {
		t.Fatal("collection finished with decisions unstored")
	}
	for _, a := range retry {
		sp := a.(storePrune)
		got := s.pruneStored(sp.d, &sp.d, nil, t0)
		stop := slices.ContainsFunc(got, func(a action) bool { _, ok := a.(stopPruned); return ok })
		if stop != sp.d.Prune {
			t.Errorf("decision %+v stored: actions %+v", sp.d, got)
		}
	}
	if s.done() != nil {
		t.Fatal("collection finished with a replica not yet recorded pruned")
	}
	s.pruneStopped("r1", true, nil, t0)
	if s.done() == nil {
		t.Fatal("collection did not finish")
	}
}

// TestPruneSummarySaysWhenPruningDidNotRun: a collector that only ever
// saw finished replicas (no coordinator followed the sweep while it ran)
// says in summary.json that pruning did not run.
func TestPruneSummarySaysWhenPruningDidNotRun(t *testing.T) {
	s := pruneCollectState(t, 2)
	for _, id := range []string{"r0", "r1"} {
		recordState(t, s, id, protocol.StateDone)
	}
	p := s.summary().Prune
	if p == nil || p.Ran || !strings.Contains(p.Note, "pruning did not run") {
		t.Errorf("prune summary %+v", p)
	}
	s = pruneCollectState(t, 2)
	recordState(t, s, "r0", protocol.StateRunning)
	if p := s.summary().Prune; p == nil || !p.Ran || p.Note != "" {
		t.Errorf("followed sweep: prune summary %+v", p)
	}
	if n, ok := s.summary().Counts[rundir.StatusPruned]; !ok || n != 0 {
		t.Errorf("counts %v: want pruned among the statuses always present", s.summary().Counts)
	}
}

// TestPruneRacesTheFinish: a replica whose chain finishes as it is
// pruned ends one way in both the record and the run directory. Its
// result, arriving after the collector recorded it pruned, is not
// collected; and a decision to prune a replica whose result is being
// collected is not acted on (it stays done).
func TestPruneRacesTheFinish(t *testing.T) {
	s := pruneCollectState(t, 3)
	cols := []string{"step", "val_loss"}
	s.pruneRows("r0", cols, [][]float64{{100, 1}})
	for _, id := range []string{"r1", "r2"} {
		recordState(t, s, id, protocol.StateRunning)
	}
	// r1 is pruned and recorded so; then its result comes.
	var d protocol.PruneDecision
	for _, a := range s.pruneRows("r1", cols, [][]float64{{100, 2}}) {
		if sp, ok := a.(storePrune); ok {
			d = sp.d
		}
	}
	acts := s.pruneStored(d, &d, nil, t0)
	if !slices.ContainsFunc(acts, func(a action) bool { _, ok := a.(stopPruned); return ok }) {
		t.Fatalf("stored decision to prune r1: %+v", acts)
	}
	s.pruneStopped("r1", true, nil, t0)
	res := &protocol.Result{Sweep: "s1", Replica: "r1", Attempt: 1, Worker: "w", Status: protocol.ResultDone,
		Files: []protocol.InlineFile{{File: rundir.FileResult, Data: resultJSON("done", 0)}}}
	b, err := protocol.Encode(res)
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := protocol.EventSubject("s1", "r1", protocol.EventResult)
	for _, a := range s.event(subj, b, 1) {
		if _, ok := a.(writeResult); ok {
			t.Fatal("the result of a replica recorded pruned is collected")
		}
	}
	// r2's result is being written when its decision to prune is stored.
	res.Replica = "r2"
	b, _ = protocol.Encode(res)
	subj, _ = protocol.EventSubject("s1", "r2", protocol.EventResult)
	if !slices.ContainsFunc(s.event(subj, b, 1), func(a action) bool { _, ok := a.(writeResult); return ok }) {
		t.Fatal("r2's result is not collected")
	}
	for _, a := range s.pruneRows("r2", cols, [][]float64{{100, 3}}) {
		if sp, ok := a.(storePrune); ok {
			d = sp.d
		}
	}
	if !d.Prune || d.Replica != "r2" {
		t.Fatalf("decision %+v, want r2 pruned", d)
	}
	if slices.ContainsFunc(s.pruneStored(d, &d, nil, t0), func(a action) bool { _, ok := a.(stopPruned); return ok }) {
		t.Error("a replica whose result is being collected is pruned")
	}
	if _, ok := s.prune.toStop["r2"]; ok {
		t.Error("the decision that came too late waits to be acted on")
	}
}
