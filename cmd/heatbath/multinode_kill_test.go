package main

// A sweep on R3 streams of a 3-node cluster survives the kill of the
// TASKS stream leader.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/worker"
)

// TestSweepSurvivesTasksLeaderKill: a sweep on R3 streams, with two
// workers connected to two different nodes and the coordinator to a
// third. Mid-sweep (once the collector runs and a replica record says
// running) the node leading the TASKS stream is killed (no leadership
// handover; see testcluster.Kill), and restarted once another node leads
// TASKS. The sweep completes: every
// replica done, exactly one result on disk and one result event in EVENTS
// per replica, files identical to chains run in-process, streams still R3.
func TestSweepSurvivesTasksLeaderKill(t *testing.T) {
	tc := testcluster.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	log := testLogger(t)
	co, err := coordinator.New(tc.ConnectTo(0), coordinator.Config{AckWait: 10 * time.Second, Replicas: 3, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	sw := smallSweep(t, 4000, 4, 1000) // 2 methods x 4 seeds = 8 replicas
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	// The kill comes when a replica record says running (mid-sweep: the
	// others wait their turn), the restart as soon as another node leads
	// TASKS: states, never time. The watch starts before the workers, so
	// that it sees the first running state.
	js0 := clusterJS(t, tc)
	kv, err := js0.KeyValue(ctx, protocol.BucketReplicas)
	if err != nil {
		t.Fatal(err)
	}
	filter, err := protocol.ReplicaKeyFilter(sw.ID)
	if err != nil {
		t.Fatal(err)
	}
	watch, err := kv.Watch(ctx, filter)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopWorkers(); wg.Wait() }()
	for _, node := range []int{1, 2} {
		w, err := worker.New(tc.ConnectTo(node), worker.Config{Name: fmt.Sprintf("w%d", node), Slots: 1,
			FetchWait: 300 * time.Millisecond, Heartbeat: time.Second, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = w.Run(wctx) }()
	}

	waitStarted := func() bool {
		for {
			select {
			case e := <-watch.Updates():
				if e == nil {
					continue
				}
				if st, err := protocol.DecodeReplicaState(e.Value()); err == nil && st.State == protocol.StateRunning {
					return true
				}
			case <-ctx.Done():
				return false
			}
		}
	}
	out := filepath.Join(t.TempDir(), "run")
	type result struct {
		sum *rundir.Summary
		err error
	}
	res := make(chan result, 1)
	go func() {
		sum, err := co.Collect(ctx, sw.ID, out)
		res <- result{sum, err}
	}()

	killed := -1
	// The kill may come while the collector starts: its first watch of
	// the records and its events consumer are bounded and tried again.
	if waitStarted() {
		killed = tc.StreamLeader(protocol.StreamTasks)
		t.Logf("killing node %d, leader of %s", killed, protocol.StreamTasks)
		tc.Kill(killed)
		if now := tc.StreamLeader(protocol.StreamTasks); now == killed {
			t.Fatalf("TASKS leader still node %d after its kill", now)
		}
		tc.Restart(killed)
	}
	r := <-res
	if r.err != nil {
		t.Fatalf("collect: %v", r.err)
	}
	if killed < 0 {
		t.Fatal("the sweep finished before the kill: make it longer")
	}
	if r.sum.Counts["done"] != len(sw.Replicas) {
		t.Fatalf("counts %v, want all %d done", r.sum.Counts, len(sw.Replicas))
	}
	checkRunMatchesLocal(t, sw, out)

	// Nothing duplicated: one replica directory with a result per
	// replica, one result event per replica in EVENTS.
	ents, err := os.ReadDir(filepath.Join(out, rundir.DirReplicas))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(sw.Replicas) {
		t.Errorf("%d replica directories, want %d", len(ents), len(sw.Replicas))
	}
	js := clusterJS(t, tc)
	evts, err := js.Stream(ctx, protocol.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range sw.Replicas {
		if _, err := rundir.ReadResult(rundir.ReplicaDir(out, rep.ID)); err != nil {
			t.Errorf("replica %s: %v", rep.ID, err)
		}
		subj, err := protocol.EventSubject(sw.ID, rep.ID, protocol.EventResult)
		if err != nil {
			t.Fatal(err)
		}
		info, err := evts.Info(ctx, jetstream.WithSubjectFilter(subj))
		if err != nil {
			t.Fatal(err)
		}
		if n := info.State.Subjects[subj]; n != 1 {
			t.Errorf("replica %s: %d result events in %s, want 1", rep.ID, n, protocol.StreamEvents)
		}
	}
	requireReplicas(t, js, "the kill and restart of the TASKS leader", 3)
}
