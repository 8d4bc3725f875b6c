package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
	"github.com/heatbath/heatbath/worker"
)

// electionSpec: replicas long enough (a few seconds each) that a sweep
// outlives four leader kills (each an election of 4-10 s and a restart),
// with several checkpoints per replica. 400,000 steps since the vector
// integrator (numerics version 5) made AdLaLa about 1.6 times faster: at
// 150,000 the sweep ended before the third kill in 3 of 4 runs, at
// 250,000 before the fourth in 1 of 3.
const electionSpec = `
name: elections
data: {kind: spiral, train: 200, validation: 40, test: 100}
model: {hidden: [40]}
steps: 400000
eval_every: 1000
batch: 10
seeds: 8
methods:
  - name: adlala
    h: 0.25
  - name: adam
    lr: 0.01
checkpoint: {every: 40000}
`

func electionSweep(t *testing.T) *coordinator.Sweep {
	t.Helper()
	f, err := spec.Parse("elections.yaml", []byte(electionSpec))
	if err != nil {
		t.Fatal(err)
	}
	reps, err := f.Expand(train.Resolve)
	if err != nil {
		t.Fatal(err)
	}
	s := &coordinator.Sweep{ID: f.SweepID(), Name: f.Spec.Name, SpecHash: f.Hash()[:16], Spec: string(f.Canonical()),
		CheckpointEvery: f.Spec.Checkpoint.Every}
	for _, r := range reps {
		s.Replicas = append(s.Replicas, r.ReplicaInfo)
	}
	return s
}

// runSweep submits sw on the coordinator connection cnc, runs one worker
// (one slot) on each connection of wncs, collects into dir and calls
// during (in the test goroutine) while the sweep runs, with a function
// that reports whether the sweep has finished.
func runSweep(t *testing.T, cnc *nats.Conn, replicas int, wncs []*nats.Conn, sw *coordinator.Sweep, dir string,
	during func(started <-chan struct{}, finished func() bool)) *rundir.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	log := hclog.NewNullLogger()
	if path := os.Getenv("HEATBATH_TEST_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		log = hclog.New(&hclog.LoggerOptions{Output: f, Level: hclog.Debug, Name: t.Name()})
	}
	co, err := coordinator.New(cnc, coordinator.Config{Replicas: replicas, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	wctx, wstop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, nc := range wncs {
		wk, err := worker.New(nc, worker.Config{Name: fmt.Sprintf("w%d", i), Slots: 1, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := wk.Run(wctx); err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		}()
	}
	defer func() {
		wstop()
		wg.Wait()
	}()
	// started is closed when the first replica is recorded done.
	started := make(chan struct{})
	go func() {
		js, _ := jetstream.New(cnc)
		recs, err := records.Open(ctx, js)
		if err != nil {
			return
		}
		w, err := recs.Watch(ctx, sw.ID)
		if err != nil {
			return
		}
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue
				}
				if st, err := protocol.DecodeReplicaState(e.Value()); err == nil && st.State == protocol.StateDone {
					close(started)
					return
				}
			}
		}
	}()
	var mu sync.Mutex
	done := false
	var sum *rundir.Summary
	var cerr error
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		s, err := co.Collect(ctx, sw.ID, dir)
		mu.Lock()
		sum, cerr, done = s, err, true
		mu.Unlock()
	}()
	if during != nil {
		during(started, func() bool { mu.Lock(); defer mu.Unlock(); return done })
	}
	<-collected
	if cerr != nil {
		// Say where each replica stands.
		js, _ := jetstream.New(cnc)
		if recs, err := records.Open(context.Background(), js); err == nil {
			for _, r := range sw.Replicas {
				st, _, err := recs.GetLeader(context.Background(), sw.ID, r.ID)
				if err == nil {
					t.Logf("replica %s: %s, attempt %d by %s, step %d/%d, lost %d errors %d preemptions %d: %s", r.ID, st.State,
						st.Attempt, st.Worker, st.Step, st.Steps, st.Lost, st.Errors, st.Preemptions, st.Error)
				}
			}
		}
		durable, _ := protocol.CollectorConsumer(sw.ID)
		if cons, err := js.Consumer(context.Background(), protocol.StreamEvents, durable); err == nil {
			if ci, err := cons.Info(context.Background()); err == nil {
				t.Logf("collector consumer: leader %s, delivered %d, ack floor %d, pending %d, ack pending %d, redelivered %d, waiting %d",
					ci.Cluster.Leader, ci.Delivered.Stream, ci.AckFloor.Stream, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting)
			}
		}
		t.Fatalf("collect: %v", cerr)
	}
	t.Logf("sweep %s on %d worker(s): %d replicas collected in %v", sw.ID, len(wncs), len(sw.Replicas), time.Since(t0).Round(time.Millisecond))
	return sum
}

// TestSweepRidesThroughLeaderKills runs a sweep with R3 streams and
// buckets on a 3-node cluster and kills, one after the other mid-sweep,
// the leader of the task stream, the events stream, the replica bucket
// and the object store (restarting each node after a new leader took
// over), with no worker dying. Every replica must finish in its first
// attempt, with exactly one result event, and the results must be
// identical to a run of the same sweep on the embedded server.
func TestSweepRidesThroughLeaderKills(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster and two sweeps")
	}
	// Long: four kills take 25-35 s of elections and restarts, the sweep
	// must outlast them and is then run again on the embedded server
	// (about 60 s on an idle 2-core machine, 80-190 s on a loaded one).
	// It used to fail in about half the runs (a new TASKS consumer leader
	// redelivered live tasks: see worker.handle and testcluster's
	// TestNewConsumerLeaderUsesPublishTime); it runs in CI since it
	// passes. HEATBATH_SKIP_ELECTION_TEST=1 skips it on a busy machine.
	if os.Getenv("HEATBATH_SKIP_ELECTION_TEST") != "" {
		t.Skip("HEATBATH_SKIP_ELECTION_TEST is set")
	}
	sw := electionSweep(t)
	c := testcluster.Start(t, 3)
	cnc := c.ConnectTo(0)
	dir := filepath.Join(t.TempDir(), "cluster")
	targets := []struct {
		name   string
		leader func() int
	}{
		{"TASKS", func() int { return c.StreamLeader(protocol.StreamTasks) }},
		{"EVENTS", func() int { return c.StreamLeader(protocol.StreamEvents) }},
		{"replica KV", func() int { return c.KVLeader(protocol.BucketReplicas) }},
		{"object store", func() int { return c.ObjectStoreLeader(protocol.BucketArtifacts) }},
	}
	killed := 0
	sum := runSweep(t, cnc, 3, []*nats.Conn{c.ConnectTo(1), c.ConnectTo(2)}, sw, dir, func(started <-chan struct{}, finished func() bool) {
		select {
		case <-started:
		case <-time.After(testcluster.WaitTimeout):
			t.Error("no replica finished")
			return
		}
		for _, tg := range targets {
			if finished() {
				t.Errorf("the sweep finished before the leader of %s was killed (make the replicas longer)", tg.name)
				return
			}
			t0 := time.Now()
			i := tg.leader()
			c.Kill(i)
			t1 := time.Now()
			if j := tg.leader(); j == i {
				t.Fatalf("%s: leader %d again while it is down", tg.name, j)
			}
			t2 := time.Now()
			c.Restart(i)
			killed++
			t.Logf("killed node %d, the leader of %s (kill %v, new leader %v, restart %v)", i, tg.name,
				t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
		}
	})
	if killed != len(targets) {
		t.Fatalf("%d of %d leaders killed", killed, len(targets))
	}
	n := len(sw.Replicas)
	if sum.Counts["done"] != n {
		t.Errorf("counts %v; want %d done", sum.Counts, n)
	}

	// Every replica finished in its first attempt, none lost or handed
	// back, with exactly one result event.
	js, _ := jetstream.New(cnc)
	ctx := context.Background()
	recs, err := records.Open(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	evts, err := js.Stream(ctx, protocol.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	filter, _ := protocol.EventFilter(sw.ID)
	info, err := evts.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sw.Replicas {
		st, _, err := recs.GetLeader(ctx, sw.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != protocol.StateDone || st.Attempt != 1 || st.Lost+st.Errors+st.Preemptions != 0 {
			t.Errorf("replica %s: %s in attempt %d (lost %d, errors %d, preemptions %d); want done in attempt 1",
				r.ID, st.State, st.Attempt, st.Lost, st.Errors, st.Preemptions)
		}
		subj, _ := protocol.EventSubject(sw.ID, r.ID, protocol.EventResult)
		if k := info.State.Subjects[subj]; k != 1 {
			t.Errorf("replica %s: %d result events; want 1", r.ID, k)
		}
	}

	// The same sweep on the embedded server gives the same files.
	srv, err := embedded.Start(embedded.Options{StoreDir: filepath.Join(t.TempDir(), "js")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	enc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var wncs []*nats.Conn
	for range 2 {
		wnc, err := srv.Connect()
		if err != nil {
			t.Fatal(err)
		}
		defer wnc.Close()
		wncs = append(wncs, wnc)
	}
	edir := filepath.Join(t.TempDir(), "embedded")
	esum := runSweep(t, enc, 1, wncs, sw, edir, nil)
	if fmt.Sprint(esum.Counts) != fmt.Sprint(sum.Counts) {
		t.Errorf("counts %v on the cluster, %v embedded", sum.Counts, esum.Counts)
	}
	for _, r := range sw.Replicas {
		for _, f := range []string{rundir.FileParams, rundir.FileBestParams, rundir.FileTrajectory} {
			a, err := os.ReadFile(filepath.Join(rundir.ReplicaDir(dir, r.ID), f))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(rundir.ReplicaDir(edir, r.ID), f))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("replica %s: %s differs from the embedded run's", r.ID, f)
			}
		}
	}
}
