package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/worker"
)

// Tests of status, list and delete: the commands as the user runs them
// (in-process, through --nats), against a real nats-server with JetStream
// and an in-process worker.

// opsServer is a plain JetStream server on a random loopback port, with
// no authentication.
type opsServer struct {
	t   *testing.T
	url string
	js  jetstream.JetStream
	// timeout bounds each command (default 30 s).
	timeout time.Duration
}

func startOpsServer(t *testing.T) *opsServer {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: filepath.Join(t.TempDir(), "js"), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	s := &opsServer{t: t, url: ns.ClientURL()}
	s.js, _ = jetstream.New(s.conn())
	return s
}

func (s *opsServer) conn() *nats.Conn {
	s.t.Helper()
	nc, err := nats.Connect(s.url)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(nc.Close)
	return nc
}

// coordinator sets up the streams and buckets (as submit does).
func (s *opsServer) coordinator() *coordinator.Coordinator {
	s.t.Helper()
	co, err := coordinator.New(s.conn(), coordinator.Config{Logger: testLogger(s.t)})
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := co.Setup(ctx); err != nil {
		s.t.Fatal(err)
	}
	return co
}

func (s *opsServer) startWorker(name string) (stop func()) {
	s.t.Helper()
	w, err := worker.New(s.conn(), worker.Config{Name: name, Slots: 1, FetchWait: 300 * time.Millisecond, Logger: testLogger(s.t)})
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	stop = func() { cancel(); <-done }
	s.t.Cleanup(func() {
		select {
		case <-done:
		default:
			stop()
		}
	})
	return stop
}

// cli runs the app with --nats and the given standard input, and returns
// what it wrote to its standard output.
func (s *opsServer) cli(stdin string, args ...string) (string, error) {
	s.t.Helper()
	app := newApp()
	out := &logBuffer{}
	app.Writer, app.ErrWriter, app.Reader = out, &logBuffer{}, strings.NewReader(stdin)
	timeout := s.timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := app.RunContext(ctx, flagsFirst(app, append(append([]string{"heatbath"}, args...), "--nats", s.url)))
	return out.String(), err
}

// statusJSON runs status --json and decodes its snapshot.
func (s *opsServer) statusJSON(id string) *coordinator.FeedSnapshot {
	s.t.Helper()
	out, err := s.cli("", "status", id, "--json")
	if err != nil {
		s.t.Fatalf("status --json: %v", err)
	}
	var snap coordinator.FeedSnapshot
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		s.t.Fatalf("status --json printed %q: %v", out, err)
	}
	return &snap
}

// replicaRecord reads a replica's record from the bucket.
func (s *opsServer) replicaRecord(sweep, replica string) *protocol.ReplicaState {
	s.t.Helper()
	ctx := context.Background()
	kv, err := s.js.KeyValue(ctx, protocol.BucketReplicas)
	if err != nil {
		s.t.Fatal(err)
	}
	key, _ := protocol.ReplicaKey(sweep, replica)
	e, err := kv.Get(ctx, key)
	if err != nil {
		s.t.Fatal(err)
	}
	st, err := protocol.DecodeReplicaState(e.Value())
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// TestStatusShowsLiveProgress: while a replica runs and before its first
// checkpoint (its record still says step 0, as `status` showed until now),
// `status --json` shows its step from the progress events, its worker,
// steps/s and ETA, and a sweep-level ETA; the text form shows the same.
// `list` shows the running sweep, and `delete` refuses it, removing
// nothing.
func TestStatusShowsLiveProgress(t *testing.T) {
	s := startOpsServer(t)
	co := s.coordinator()
	// One replica, long enough to be watched, with no checkpoint before
	// its end (every 10^8 steps, none by time).
	sw := smallSweep(t, 10_000_000, 1, 100_000_000)
	sw.Replicas = sw.Replicas[:1]
	id, rep := sw.ID, sw.Replicas[0].ID
	ctx := context.Background()
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	s.startWorker("w-status")

	var snap *coordinator.FeedSnapshot
	deadline := time.Now().Add(2 * time.Minute)
	for {
		snap = s.statusJSON(id)
		r := snap.Replicas[0]
		if r.State == protocol.StateRunning && r.Step > 0 && r.StepsPerSecond > 0 {
			break
		}
		if r.State.Terminal() || time.Now().After(deadline) {
			t.Fatalf("replica never seen running with a step and a rate: %+v", r)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r := snap.Replicas[0]
	if rec := s.replicaRecord(id, rep); rec.State != protocol.StateRunning || rec.Step != 0 {
		t.Fatalf("record %+v: the test needs a running replica that has not checkpointed", rec)
	}
	if r.ID != rep || r.Worker != "w-status" || r.Attempt != 1 || r.Steps != 10_000_000 || r.ETASeconds == nil || *r.ETASeconds <= 0 {
		t.Errorf("replica %+v: want %s on w-status, attempt 1, of 10000000 steps, with an ETA", r, rep)
	}
	if snap.Sweep != id || snap.Status != protocol.SweepRunning || snap.Total != 1 || snap.Counts[protocol.StateRunning] != 1 ||
		snap.StepsDone != r.Step || snap.StepsTotal != 10_000_000 || snap.StepsPerSecond != r.StepsPerSecond || snap.ETASeconds == nil {
		t.Errorf("sweep: %+v", snap)
	}

	text, err := s.cli("", "status", id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status:\n%s", text)
	if !strings.Contains(text, "w-status") || !strings.Contains(text, "steps/s") || !strings.Contains(text, "1 running") ||
		strings.Contains(text, " 0/10000000") {
		t.Errorf("status text lacks the worker, the rate, the count or the live step:\n%s", text)
	}

	// --watch prints a snapshot after another until interrupted, which
	// exits 130.
	app := newApp()
	watched := &logBuffer{}
	app.Writer, app.ErrWriter = watched, &logBuffer{}
	wctx, stopWatch := context.WithCancel(context.Background())
	werr := make(chan error, 1)
	go func() {
		werr <- app.RunContext(wctx, flagsFirst(app, []string{"heatbath", "status", id, "--watch", "--interval", "100ms", "--nats", s.url}))
	}()
	giveUp := time.After(time.Minute)
	for strings.Count(watched.String(), "-- ") < 3 {
		select {
		case err := <-werr:
			t.Fatalf("status --watch ended by itself: %v\n%s", err, watched.String())
		case <-giveUp:
			stopWatch()
			t.Fatalf("status --watch printed fewer than 3 snapshots in a minute:\n%s", watched.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	stopWatch()
	if code, msg := exitStatus(wctx, <-werr); code != exitInterrupted || strings.Contains(msg, "\n") {
		t.Errorf("status --watch after Ctrl-C: exit %d (%q), want %d with one line", code, msg, exitInterrupted)
	}
	if n := strings.Count(watched.String(), "sweep "+id); n < 3 {
		t.Errorf("status --watch printed %d snapshots before the interrupt, want at least 3:\n%s", n, watched.String())
	}

	var infos []coordinator.SweepInfo
	out, err := s.cli("", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		t.Fatalf("list --json printed %q: %v", out, err)
	}
	if len(infos) != 1 || infos[0].ID != id || infos[0].Status != protocol.SweepRunning || infos[0].Replicas != 1 || infos[0].Counts[protocol.StateRunning] != 1 {
		t.Errorf("list: %+v, want the running sweep with its running replica", infos)
	}
	if out, err := s.cli("", "list"); err != nil || !strings.Contains(out, id) {
		t.Errorf("list text (err %v) does not show %s:\n%s", err, id, out)
	}

	_, err = s.cli("", "delete", id, "--yes")
	var running *coordinator.RunningError
	if !errors.As(err, &running) || running.Unfinished != 1 || strings.Contains(err.Error(), "\n") {
		t.Fatalf("delete of a running sweep: %v, want a one-line refusal naming 1 unfinished replica", err)
	}
	if _, err := co.Delete(ctx, id); !errors.As(err, &running) {
		t.Fatalf("coordinator Delete of a running sweep: %v, want a *RunningError", err)
	}
	if rec := s.replicaRecord(id, rep); rec.State != protocol.StateRunning {
		t.Errorf("refused delete changed the record: %+v", rec)
	}
	if _, err := co.Manifest(ctx, id); err != nil {
		t.Errorf("refused delete removed the manifest: %v", err)
	}
	if err := co.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// sweepFootprint counts what a sweep holds on the server.
type sweepFootprint struct {
	records, events, objects int
	sweepRecord, consumer    bool
}

func (s *opsServer) footprint(id string) sweepFootprint {
	s.t.Helper()
	ctx := context.Background()
	var f sweepFootprint
	kv, _ := s.js.KeyValue(ctx, protocol.BucketReplicas)
	filter, _ := protocol.ReplicaKeyFilter(id)
	if keys, err := kv.ListKeysFiltered(ctx, filter); err == nil {
		for range keys.Keys() {
			f.records++
		}
	}
	evts, _ := s.js.Stream(ctx, protocol.StreamEvents)
	efilter, _ := protocol.EventFilter(id)
	info, err := evts.Info(ctx, jetstream.WithSubjectFilter(efilter))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, n := range info.State.Subjects {
		f.events += int(n)
	}
	obs, _ := s.js.ObjectStore(ctx, protocol.BucketArtifacts)
	list, _ := obs.List(ctx)
	for _, o := range list {
		if strings.HasPrefix(o.Name, id+"/") {
			f.objects++
		}
	}
	sweeps, _ := s.js.KeyValue(ctx, protocol.BucketSweeps)
	_, err = sweeps.Get(ctx, id)
	f.sweepRecord = err == nil
	durable, _ := protocol.CollectorConsumer(id)
	_, err = s.js.Consumer(ctx, protocol.StreamEvents, durable)
	f.consumer = err == nil
	return f
}

func kvStream(bucket string) string {
	name, _ := protocol.KVStream(bucket)
	return name
}

// streamConfigs returns the configuration of every stream on the server.
func (s *opsServer) streamConfigs() map[string]jetstream.StreamConfig {
	s.t.Helper()
	out := map[string]jetstream.StreamConfig{}
	for name := range s.js.StreamNames(context.Background()).Name() {
		st, err := s.js.Stream(context.Background(), name)
		if err != nil {
			s.t.Fatal(err)
		}
		out[name] = st.CachedInfo().Config
	}
	return out
}

// streamMsgs returns the number of messages in a stream.
func (s *opsServer) streamMsgs(name string) uint64 {
	s.t.Helper()
	st, err := s.js.Stream(context.Background(), name)
	if err != nil {
		s.t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return info.State.Msgs
}

// TestDeleteRemovesFinishedSweep: a finished sweep is deleted only when
// confirmed; then its replica records, sweep record, events, objects and
// collector consumer are gone (the buckets' streams hold nothing of it, not
// even delete markers) and another sweep on the server keeps everything;
// deleting it again says there is no such sweep.
func TestDeleteRemovesFinishedSweep(t *testing.T) {
	s := startOpsServer(t)
	co := s.coordinator()
	ctx := context.Background()
	fin := smallSweep(t, 300, 1, 100)
	stop := s.startWorker("w-del")
	if _, err := co.Submit(ctx, fin); err != nil {
		t.Fatal(err)
	}
	collect(t, co, fin.ID, filepath.Join(t.TempDir(), "run"), 2*time.Minute)
	stop()
	// Another sweep, submitted with no worker left: it stays pending.
	other := smallSweep(t, 300, 2, 100)
	if _, err := co.Submit(ctx, other); err != nil {
		t.Fatal(err)
	}

	configs := s.streamConfigs()
	before, otherBefore := s.footprint(fin.ID), s.footprint(other.ID)
	if before.records != len(fin.Replicas) || before.events == 0 || before.objects == 0 || !before.sweepRecord || !before.consumer {
		t.Fatalf("finished sweep holds %+v; the test needs records, events, objects, a sweep record and a consumer", before)
	}
	if _, err := s.cli("n\n", "delete", fin.ID); err == nil || !strings.Contains(err.Error(), "not confirmed") {
		t.Fatalf("delete answered n: %v, want not confirmed", err)
	}
	if got := s.footprint(fin.ID); got != before {
		t.Fatalf("unconfirmed delete removed something: %+v, was %+v", got, before)
	}

	out, err := s.cli("", "delete", fin.ID, "--yes")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.footprint(fin.ID); got != (sweepFootprint{}) {
		t.Errorf("after delete the sweep still holds %+v (%s)", got, strings.TrimSpace(out))
	}
	if got := s.footprint(other.ID); got != otherBefore {
		t.Errorf("delete of %s changed the other sweep: %+v, was %+v", fin.ID, got, otherBefore)
	}
	// The buckets' streams hold only the other sweep's records: no delete
	// markers are left behind; the events stream holds none of the sweep.
	if n := s.streamMsgs(kvStream(protocol.BucketReplicas)); n != uint64(otherBefore.records) {
		t.Errorf("replica bucket holds %d messages, want the other sweep's %d records", n, otherBefore.records)
	}
	if n := s.streamMsgs(kvStream(protocol.BucketSweeps)); n != 1 {
		t.Errorf("sweeps bucket holds %d messages, want the other sweep's record", n)
	}
	if n := s.streamMsgs(protocol.StreamEvents); n != uint64(otherBefore.events) {
		t.Errorf("events stream holds %d messages, want the other sweep's %d", n, otherBefore.events)
	}
	if !strings.Contains(out, "sweep "+fin.ID+" deleted") {
		t.Errorf("delete printed %q", out)
	}

	if _, err := s.cli("", "delete", fin.ID, "--yes"); err == nil || !strings.Contains(err.Error(), "no sweep") {
		t.Errorf("second delete: %v, want no such sweep", err)
	}
	if _, err := s.cli("", "status", other.ID); err != nil {
		t.Fatal(err)
	}
	if after := s.streamConfigs(); !reflect.DeepEqual(after, configs) {
		t.Errorf("status, list and delete changed stream configurations:\n%+v\nwas\n%+v", after, configs)
	}
	var infos []coordinator.SweepInfo
	out, err = s.cli("", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &infos); err != nil || len(infos) != 1 || infos[0].ID != other.ID || infos[0].Counts[protocol.StatePending] != len(other.Replicas) {
		t.Errorf("list after delete: %s (err %v), want only %s with its pending replicas", out, err, other.ID)
	}
}

// TestStatusAsObserver: on an embedded server that requires credentials,
// the observer user (read-only) runs status and list, and its delete is
// refused by the server's permissions, removing nothing.
func TestStatusAsObserver(t *testing.T) {
	srv, err := embedded.Start(embedded.Options{StoreDir: filepath.Join(t.TempDir(), "js"), Listen: true, Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	obs, ok := srv.Credential(protocol.RoleObserver)
	if !ok {
		t.Fatal("a listening embedded server has no observer user")
	}
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	co, err := coordinator.New(nc, coordinator.Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := co.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	sw := smallSweep(t, 300, 1, 100)
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	wnc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wnc.Close)
	w, err := worker.New(wnc, worker.Config{Name: "w-obs", Slots: 2, FetchWait: 300 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() { defer close(wdone); _ = w.Run(wctx) }()
	collect(t, co, sw.ID, filepath.Join(t.TempDir(), "run"), time.Minute)
	stopWorker()
	<-wdone

	s := &opsServer{t: t, url: srv.ClientURL()}
	as := []string{"--user", obs.User, "--password", obs.Password}
	out, err := s.cli("", append([]string{"status", sw.ID, "--json"}, as...)...)
	if err != nil {
		t.Fatalf("status as observer: %v", err)
	}
	var snap coordinator.FeedSnapshot
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatalf("status --json printed %q: %v", out, err)
	}
	if snap.Counts[protocol.StateDone] != len(sw.Replicas) || snap.StepsDone != snap.StepsTotal || snap.ETASeconds == nil || *snap.ETASeconds != 0 {
		t.Errorf("finished sweep as the observer sees it: %+v", snap)
	}
	if out, err := s.cli("", append([]string{"list"}, as...)...); err != nil || !strings.Contains(out, sw.ID) {
		t.Errorf("list as observer (err %v):\n%s", err, out)
	}
	// The server refuses the purge of the events (a permissions
	// violation, which the client reports asynchronously: the request
	// itself fails when its time is up).
	s.timeout = 3 * time.Second
	if _, err := s.cli("", append([]string{"delete", sw.ID, "--yes"}, as...)...); err == nil {
		t.Error("the observer deleted a sweep")
	}
	if _, err := co.Manifest(ctx, sw.ID); err != nil {
		t.Errorf("the observer's refused delete removed the manifest: %v", err)
	}
	if sts, err := co.Status(ctx, sw.ID); err != nil || len(sts) != len(sw.Replicas) {
		t.Errorf("the observer's refused delete removed records: %d left, %v", len(sts), err)
	}
}

// TestProgressLineFromFeed: without a terminal the progress of run,
// submit and resume is a log line read from the feed's snapshot: finished
// count, live steps, steps/s and ETA; the line of the finished sweep is
// printed once.
func TestProgressLineFromFeed(t *testing.T) {
	log, logs := capturingLogger(t)
	sp := newSweepProgress(log, false)
	sp.tty = false
	eta := 12.0
	snap := &coordinator.FeedSnapshot{Sweep: "s1", Total: 2, StepsDone: 150, StepsTotal: 400, StepsPerSecond: 25, ETASeconds: &eta,
		Counts: map[protocol.State]int{protocol.StateRunning: 1, protocol.StateDone: 1}}
	sp.update(snap)
	line := logs.String()
	for _, want := range []string{"finished=1/2", "running=1", `steps="37.5%"`, "steps_per_s=25.0", "eta=12s"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line lacks %s: %s", want, line)
		}
	}
	fin := &coordinator.FeedSnapshot{Sweep: "s1", Total: 2, StepsDone: 400, StepsTotal: 400,
		Counts: map[protocol.State]int{protocol.StateDone: 2}}
	sp.update(fin) // the finished sweep is shown at once, not 10 s later
	sp.update(fin)
	if n := strings.Count(logs.String(), "finished=2/2"); n != 1 {
		t.Errorf("the finished sweep's line was printed %d times, want once:\n%s", n, logs.String())
	}
}

// TestOpsCommandsKeepClusterReplication: on a 3-node cluster whose streams
// and buckets are R3, status (also --json), list and delete of a cancelled
// sweep leave every one of them R3.
func TestOpsCommandsKeepClusterReplication(t *testing.T) {
	tc := testcluster.Start(t, 3)
	urls := strings.Join(tc.URLs(), ",")
	js := clusterJS(t, tc)
	spec, id := writeSpec(t, t.TempDir(), "opsr3", 200, 1, 100)
	if err := runCLI(t, "submit", "--detach", "--stream-replicas", "3", "--nats", urls, spec); err != nil {
		t.Fatalf("submit --stream-replicas 3: %v", err)
	}
	requireReplicas(t, js, "submit --stream-replicas 3", 3)
	if err := runCLI(t, "cancel", "--nats", urls, id); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status", "--nats", urls, id},
		{"status", "--json", "--nats", urls, id},
		{"list", "--nats", urls},
		{"delete", "--yes", "--nats", urls, id},
	} {
		if err := runCLI(t, args...); err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		requireReplicas(t, js, strings.Join(args, " "), 3)
	}
}
