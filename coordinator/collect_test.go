package coordinator

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// TestCollectRecordsEveryOutcome runs the loop against a real in-process
// JetStream server, playing the workers by hand: one replica finishes,
// one diverges, one fails with a failure event, one is cancelled. The run
// directory gets result.json for the first two, failure.json (and no
// result.json) for the failed one, replicas.csv with a row each, and
// summary.json counting each status once. Collecting again into the same
// directory gives the same summary.
func TestCollectRecordsEveryOutcome(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	co, nc := embeddedCoordinator(t, ctx, Config{})
	sw := testSweep(4)
	submitNoWorkers(t, ctx, co, sw)
	publish, set := playWorkers(t, ctx, co, nc, sw.ID)
	chunk := func(id string, after int64, steps ...int64) *protocol.TrajChunk {
		ch := &protocol.TrajChunk{Sweep: sw.ID, Replica: id, Attempt: 1, After: after, Columns: []string{"step", "train_loss"}}
		for _, s := range steps {
			ch.Rows = append(ch.Rows, []float64{float64(s), 0.5})
		}
		return ch
	}
	result := func(id string, status protocol.ResultStatus, res []byte) *protocol.Result {
		return &protocol.Result{Sweep: sw.ID, Replica: id, Attempt: 1, Worker: "hand", Status: status,
			Files: []protocol.InlineFile{{File: rundir.FileParams, Data: []byte("params")}, {File: rundir.FileResult, Data: res}}}
	}

	// r0 finishes.
	set("r0", protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "hand"})
	publish("r0", protocol.EventTraj, chunk("r0", -1, 100, 200))
	publish("r0", protocol.EventTraj, chunk("r0", 200, 300, 400))
	publish("r0", protocol.EventResult, result("r0", protocol.ResultDone, resultJSON("done", 0)))
	set("r0", protocol.ReplicaState{State: protocol.StateDone, Attempt: 1, Worker: "hand", Step: testSteps})
	// r1 diverges at step 200: a result, recorded failed with CodeDiverged.
	set("r1", protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "hand"})
	publish("r1", protocol.EventTraj, chunk("r1", -1, 100, 200))
	publish("r1", protocol.EventResult, result("r1", protocol.ResultDiverged, resultJSON("diverged", 200)))
	set("r1", protocol.ReplicaState{State: protocol.StateFailed, Attempt: 1, Worker: "hand", Step: 200,
		ErrorCode: protocol.CodeDiverged, Error: "loss is NaN at step 200"})
	// r2 fails: a failure event, then the record.
	set("r2", protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "hand"})
	publish("r2", protocol.EventFailure, &protocol.Failure{Sweep: sw.ID, Replica: "r2", Attempt: 1, Worker: "hand",
		Code: protocol.CodeInvalidConfig, Message: "data.path: no such file", Step: 0})
	set("r2", protocol.ReplicaState{State: protocol.StateFailed, Attempt: 1, Worker: "hand",
		ErrorCode: protocol.CodeInvalidConfig, Error: "data.path: no such file"})
	// r3 is cancelled before it starts.
	set("r3", protocol.ReplicaState{State: protocol.StateCancelled, ErrorCode: protocol.CodeCancelled, Error: "sweep cancelled"})

	dir := filepath.Join(t.TempDir(), "run")
	sum, err := co.Collect(ctx, sw.ID, dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"done": 1, "diverged": 1, "failed": 1, "cancelled": 1}; !equalCounts(sum.Counts, want) {
		t.Errorf("counts %v, want %v", sum.Counts, want)
	}
	exists := func(id, file string) bool {
		ok, err := rundir.Exists(filepath.Join(rundir.ReplicaDir(dir, id), file))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, c := range []struct {
		id              string
		result, failure bool
	}{{"r0", true, false}, {"r1", true, false}, {"r2", false, true}, {"r3", false, false}} {
		if exists(c.id, rundir.FileResult) != c.result || exists(c.id, rundir.FileFailure) != c.failure {
			t.Errorf("%s: result.json %v, failure.json %v; want %v, %v", c.id,
				exists(c.id, rundir.FileResult), exists(c.id, rundir.FileFailure), c.result, c.failure)
		}
	}
	f, err := rundir.ReadFailure(rundir.ReplicaDir(dir, "r2"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Code != "invalid_config" || f.Message != "data.path: no such file" || f.Attempts != 1 || f.Worker != "hand" || f.Replica != "r2" || f.Time.IsZero() {
		t.Errorf("failure.json %+v", f)
	}
	if res, err := rundir.ReadResult(rundir.ReplicaDir(dir, "r1")); err != nil || res.Status != "diverged" || res.DivergedAt != 200 {
		t.Errorf("r1 result.json %+v (%v)", res, err)
	}
	if _, rows, err := rundir.ReadTrajectory(filepath.Join(rundir.ReplicaDir(dir, "r0"), rundir.FileTrajectory)); err != nil || len(rows) != 4 {
		t.Errorf("r0 trajectory: %d rows (%v), want 4", len(rows), err)
	}

	// replicas.csv: a row per replica with its status.
	tf, err := os.Open(filepath.Join(dir, rundir.FileTable))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(tf).ReadAll()
	tf.Close()
	if err != nil {
		t.Fatal(err)
	}
	status := slices.Index(recs[0], "status")
	var statuses []string
	for _, r := range recs[1:] {
		statuses = append(statuses, r[status])
	}
	if want := []string{"done", "diverged", "failed", "cancelled"}; !slices.Equal(statuses, want) {
		t.Errorf("replicas.csv statuses %v, want %v", statuses, want)
	}

	// summary.json on disk; and the same from a second collection into the
	// same directory.
	disk, err := rundir.ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := co.Collect(ctx, sw.ID, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(disk)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Errorf("a second collection gives another summary:\n%s\n%s", a, b)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// embeddedCoordinator starts an in-process JetStream server with its store
// under t.TempDir(), connects a coordinator with cfg (a test logger when
// cfg has none) and sets it up; everything stops with the test.
func embeddedCoordinator(t *testing.T, ctx context.Context, cfg Config) (*Coordinator, *nats.Conn) {
	t.Helper()
	srv, err := embedded.Start(embedded.Options{StoreDir: filepath.Join(t.TempDir(), "js"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if cfg.Logger == nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug})
	}
	co, err := New(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return co, nc
}

// submitNoWorkers submits sw (with a minimal spec) through co and takes
// its tasks away: no worker runs here, the test plays the workers by hand.
func submitNoWorkers(t *testing.T, ctx context.Context, co *Coordinator, sw *Sweep) {
	t.Helper()
	sw.Spec = "name: test\n"
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	if err := co.tasks.Purge(ctx); err != nil {
		t.Fatal(err)
	}
}

// playWorkers returns the hands of the workers of sweep: publish sends
// replica id's event m of the given kind, set writes replica id's record
// (with testSteps steps, updated now) over its current revision.
func playWorkers(t *testing.T, ctx context.Context, co *Coordinator, nc *nats.Conn, sweep string) (
	publish func(id string, kind protocol.EventKind, m protocol.Message), set func(id string, st protocol.ReplicaState)) {
	js, _ := jetstream.New(nc)
	publish = func(id string, kind protocol.EventKind, m protocol.Message) {
		t.Helper()
		subj, _ := protocol.EventSubject(sweep, id, kind)
		b, err := protocol.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, subj, b); err != nil {
			t.Fatal(err)
		}
	}
	set = func(id string, st protocol.ReplicaState) {
		t.Helper()
		key, _ := protocol.ReplicaKey(sweep, id)
		e, err := co.kv.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		st.Steps, st.Updated = testSteps, time.Now()
		b, err := protocol.Encode(&st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := co.kv.Update(ctx, key, b, e.Revision()); err != nil {
			t.Fatal(err)
		}
	}
	return publish, set
}

// hangingWatchKV is a replica bucket whose first n watches are never
// answered, as when the node serving the watch's consumer create request
// dies: the call blocks until its context ends.
type hangingWatchKV struct {
	jetstream.KeyValue
	hung    atomic.Int64
	n       int64
	watches atomic.Int64
}

func (k *hangingWatchKV) Watch(ctx context.Context, keys string, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	k.watches.Add(1)
	if k.hung.Add(1) <= k.n {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return k.KeyValue.Watch(ctx, keys, opts...)
}

// TestCollectSurvivesAnUnansweredWatch: the collector's first watch of
// the replica records is never answered (twice); the collector gives each
// try a deadline, tries again, and collects the sweep.
func TestCollectSurvivesAnUnansweredWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	co, nc := embeddedCoordinator(t, ctx, Config{})
	sw := testSweep(1)
	finishedByHand(t, ctx, co, nc, sw)

	defer func(d time.Duration) { apiTry = d }(apiTry)
	apiTry = 200 * time.Millisecond
	kv := &hangingWatchKV{KeyValue: co.kv, n: 2}
	co.kv = kv
	sum, err := co.Collect(ctx, sw.ID, filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if sum.Counts["done"] != 1 {
		t.Errorf("counts %v; want 1 done", sum.Counts)
	}
	if n := kv.watches.Load(); n != 3 {
		t.Errorf("%d watches; want 2 unanswered and 1 answered", n)
	}
}

// finishedByHand submits sw (one replica, r0) with no worker and plays
// the worker of a finished replica: its trajectory, its result event and
// its record, done.
func finishedByHand(t *testing.T, ctx context.Context, co *Coordinator, nc *nats.Conn, sw *Sweep) {
	t.Helper()
	submitNoWorkers(t, ctx, co, sw)
	js, _ := jetstream.New(nc)
	tsubj, _ := protocol.EventSubject(sw.ID, "r0", protocol.EventTraj)
	chunk := &protocol.TrajChunk{Sweep: sw.ID, Replica: "r0", Attempt: 1, After: -1, Columns: []string{"step", "train_loss"}}
	for s := int64(100); s <= testSteps; s += 100 {
		chunk.Rows = append(chunk.Rows, []float64{float64(s), 0.5})
	}
	b, err := protocol.Encode(chunk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, tsubj, b); err != nil {
		t.Fatal(err)
	}
	subj, _ := protocol.EventSubject(sw.ID, "r0", protocol.EventResult)
	b, err = protocol.Encode(&protocol.Result{Sweep: sw.ID, Replica: "r0", Attempt: 1, Worker: "hand", Status: protocol.ResultDone,
		Files: []protocol.InlineFile{{File: rundir.FileParams, Data: []byte("params")}, {File: rundir.FileResult, Data: resultJSON("done", 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, subj, b); err != nil {
		t.Fatal(err)
	}
	key, _ := protocol.ReplicaKey(sw.ID, "r0")
	e, err := co.kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := protocol.Encode(&protocol.ReplicaState{State: protocol.StateDone, Attempt: 1, Worker: "hand", Step: testSteps, Steps: testSteps, Updated: time.Now()})
	if _, err := co.kv.Update(ctx, key, rec, e.Revision()); err != nil {
		t.Fatal(err)
	}
}

// hangingGetKV is a replica bucket whose first n reads (Get) are never
// answered, as when the node a direct get goes to dies: the call blocks
// until its context ends.
type hangingGetKV struct {
	jetstream.KeyValue
	n, gets atomic.Int64
}

func (k *hangingGetKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	if k.gets.Add(1) <= k.n.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return k.KeyValue.Get(ctx, key)
}

// TestCollectSurvivesAnUnansweredRecordRead: the record reads that fence a
// result are never answered, twice; each has a deadline, the result is
// handed back and fenced again, and the sweep is collected. Before the reads had deadlines the collector waited
// for its context.
func TestCollectSurvivesAnUnansweredRecordRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	co, nc := embeddedCoordinator(t, ctx, Config{})
	sw := testSweep(1)
	finishedByHand(t, ctx, co, nc, sw)

	defer func(d time.Duration) { apiTry = d }(apiTry)
	apiTry = 200 * time.Millisecond
	// The watch answers nothing either, so that the collector learns of
	// the result before the record and must read the record for it.
	kv := &hangingGetKV{KeyValue: &hangingWatchKV{KeyValue: co.kv, n: 1}}
	kv.n.Store(2)
	co.kv = kv
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	defer ccancel()
	sum, err := co.Collect(cctx, sw.ID, filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if sum.Counts["done"] != 1 {
		t.Errorf("counts %v; want 1 done", sum.Counts)
	}
	if n := kv.gets.Load(); n < 2 {
		t.Errorf("%d record reads; want the 2 unanswered ones at least (the test does not reach the fence)", n)
	}
}
