package main

// Integration tests of the distributed system on a real, in-process
// nats-server with JetStream (no Docker, no mocks): a sweep completes with
// the same bits as in-process chains; a worker process killed with SIGKILL
// mid-replica is replaced and the replica resumes from its checkpoint to an
// identical result; a coordinator restarted mid-sweep loses and duplicates
// nothing; a stale attempt's result is ignored; poison and malformed tasks
// fail with their reason; malformed and wrong-version events are dropped.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
	"github.com/heatbath/heatbath/worker"
)

// testLogger sends hclog output through t.Log, so it shows only on failure
// or with -v.
func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Debug, Output: tWriter{t}})
}

// capturingLogger is testLogger that also keeps what it logs, for tests
// that check the log.
func capturingLogger(t testing.TB) (hclog.Logger, *logBuffer) {
	logs := &logBuffer{}
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Debug, Output: io.MultiWriter(logs, tWriter{t})}), logs
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// logBuffer records log lines for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type cluster struct {
	t   testing.TB
	srv *embedded.Server
	dir string
}

func startServer(t testing.TB, listen bool) *cluster {
	t.Helper()
	dir := t.TempDir()
	// A listening test server takes subprocess workers without credentials;
	// auth_test.go covers the credentials.
	srv, err := embedded.Start(embedded.Options{StoreDir: filepath.Join(dir, "js"), Listen: listen, Insecure: listen, Port: -1, SyncAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return &cluster{t: t, srv: srv, dir: dir}
}

func (c *cluster) conn() *nats.Conn {
	c.t.Helper()
	nc, err := c.srv.Connect()
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

func (c *cluster) coordinator(ackWait time.Duration, maxDeliver int, log hclog.Logger) *coordinator.Coordinator {
	c.t.Helper()
	co, err := coordinator.New(c.conn(), coordinator.Config{AckWait: ackWait, MaxDeliver: maxDeliver, Logger: log})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := co.Setup(ctx); err != nil {
		c.t.Fatal(err)
	}
	return co
}

// startWorker runs an in-process worker until the test ends or stop is
// called.
func (c *cluster) startWorker(slots int, heartbeat time.Duration, name string) (stop func()) {
	c.t.Helper()
	w, err := worker.New(c.conn(), worker.Config{Name: name, Slots: slots, FetchWait: 300 * time.Millisecond,
		Heartbeat: heartbeat, Logger: testLogger(c.t)})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	c.t.Cleanup(stop)
	return stop
}

const smallSpec = `
name: itest
data: {kind: spiral, train: 100, validation: 40, test: 100}
model: {hidden: [12]}
steps: %d
eval_every: 100
batch: 10
seeds: %d
methods:
  - name: adlala
    h: 0.25
  - name: adam
    lr: 0.01
checkpoint: {every: %d}
`

func smallSweep(t testing.TB, steps, seeds, ckpt int) *coordinator.Sweep {
	t.Helper()
	f, err := spec.Parse("itest.yaml", []byte(fmt.Sprintf(smallSpec, steps, seeds, ckpt)))
	if err != nil {
		t.Fatal(err)
	}
	sw, _, err := sweepOf(f)
	if err != nil {
		t.Fatal(err)
	}
	return sw
}

// localParams runs replica id in-process, without NATS, and returns its
// final parameters file and trajectory.
func localParams(t testing.TB, id string, cfg protocol.ReplicaConfig) (params []byte, traj string) {
	t.Helper()
	r, err := train.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.ID = id
	var b bytes.Buffer
	tw, _ := rundir.NewTrajectoryWriter(&b, r.Columns())
	if err := r.RunUntil(cfg.Steps, tw.Write); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	params, err = rundir.EncodeParams(r.ParamsMeta(rundir.ParamsFinal, r.Chain.Steps()), r.Chain.Theta())
	if err != nil {
		t.Fatal(err)
	}
	return params, b.String()
}

func collect(t testing.TB, co *coordinator.Coordinator, id, dir string, timeout time.Duration) *rundir.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sum, err := co.Collect(ctx, id, dir)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	return sum
}

// submitOne submits the first replica of smallSweep(steps, 1, ckpt) alone
// and returns the sweep and the replica's record key in the bucket kv.
func submitOne(t *testing.T, c *cluster, co *coordinator.Coordinator, steps, ckpt int) (sw *coordinator.Sweep, kv jetstream.KeyValue, key string) {
	t.Helper()
	sw = smallSweep(t, steps, 1, ckpt)
	sw.Replicas = sw.Replicas[:1]
	ctx := context.Background()
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(c.conn())
	kv, err := js.KeyValue(ctx, protocol.BucketReplicas)
	if err != nil {
		t.Fatal(err)
	}
	key, _ = protocol.ReplicaKey(sw.ID, sw.Replicas[0].ID)
	return sw, kv, key
}

// overwriteState writes next over a replica's record, as a worker would
// (compare-and-set against the current revision), and reports whether the
// write went through.
func overwriteState(t *testing.T, kv jetstream.KeyValue, key string, next protocol.ReplicaState) bool {
	t.Helper()
	ctx := context.Background()
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	next.Updated = time.Now()
	b, err := protocol.Encode(&next)
	if err != nil {
		t.Fatal(err)
	}
	_, err = kv.Update(ctx, key, b, e.Revision())
	return err == nil
}

// checkRunMatchesLocal checks every replica of a finished run against the
// same chain run in-process: identical parameters and trajectory.
func checkRunMatchesLocal(t *testing.T, sw *coordinator.Sweep, dir string) {
	t.Helper()
	for _, r := range sw.Replicas {
		want, wantTraj := localParams(t, r.ID, r.Config)
		got, err := os.ReadFile(filepath.Join(dir, "replicas", r.ID, rundir.FileParams))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Errorf("replica %s: params.safetensors differs from the in-process run", r.ID)
		}
		traj, err := os.ReadFile(filepath.Join(dir, "replicas", r.ID, "trajectory.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if string(traj) != wantTraj {
			t.Errorf("replica %s: trajectory.csv differs from the in-process run", r.ID)
		}
	}
}

// TestSweepCompletesSameBitsAnyWorkerCount: the same sweep through NATS
// with one worker slot and with three gives exactly the files of chains run
// in-process without NATS.
func TestSweepCompletesSameBitsAnyWorkerCount(t *testing.T) {
	for _, slots := range []int{1, 3} {
		t.Run(fmt.Sprintf("slots=%d", slots), func(t *testing.T) {
			c := startServer(t, false)
			co := c.coordinator(10*time.Second, 5, testLogger(t))
			sw := smallSweep(t, 1000, 2, 300)
			if _, err := co.Submit(context.Background(), sw); err != nil {
				t.Fatal(err)
			}
			c.startWorker(slots, time.Second, "")
			dir := filepath.Join(c.dir, "run")
			sum := collect(t, co, sw.ID, dir, time.Minute)
			if sum.Counts["done"] != len(sw.Replicas) {
				t.Fatalf("counts %v, want %d done", sum.Counts, len(sw.Replicas))
			}
			checkRunMatchesLocal(t, sw, dir)
			js, _ := jetstream.New(c.conn())
			swkv, _ := js.KeyValue(context.Background(), protocol.BucketSweeps)
			if e, err := swkv.Get(context.Background(), sw.ID); err != nil {
				t.Fatal(err)
			} else if rec, err := protocol.DecodeSweepRecord(e.Value()); err != nil || rec.Status != protocol.SweepDone {
				t.Errorf("sweep record %+v (%v), want status done", rec, err)
			}
			// Resubmitting the same sweep enqueues nothing.
			n, err := co.Submit(context.Background(), sw)
			if err != nil || n != 0 {
				t.Fatalf("resubmit: %d enqueued, err %v; want 0", n, err)
			}
		})
	}
}

// The worker subprocess: the test binary re-executed with
// HEATBATH_TEST_WORKER_URL set runs a worker against that server.
func TestMain(m *testing.M) {
	if args := os.Getenv("HEATBATH_TEST_CLI"); args != "" {
		// The test binary as the heatbath command (for benchmarks that
		// measure one process, e.g. the coordinator's memory).
		app := newApp()
		if err := app.RunContext(context.Background(), flagsFirst(app, append([]string{"heatbath"}, strings.Split(args, "\x1f")...))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if path := os.Getenv("HEATBATH_BENCH_HWM"); path != "" {
			// The peak resident memory of this process's own address
			// space: ru_maxrss as the parent sees it can report the
			// parent's peak instead (the kernel carries the hiwater mark
			// of the address space that exec replaced, here the parent's,
			// since Go forks with CLONE_VM).
			status, _ := os.ReadFile("/proc/self/status")
			for _, line := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(line, "VmHWM:") {
					os.WriteFile(path, []byte(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))), 0o644)
				}
			}
		}
		if os.Getenv("HEATBATH_BENCH_GCTRACE") != "" {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(os.Stderr, "memstats: Sys %d MiB, HeapSys %d MiB, HeapInuse %d MiB, StackSys %d MiB, TotalAlloc %d MiB, NumGC %d\n",
				ms.Sys>>20, ms.HeapSys>>20, ms.HeapInuse>>20, ms.StackSys>>20, ms.TotalAlloc>>20, ms.NumGC)
			if f, err := os.Create(os.Getenv("HEATBATH_BENCH_GCTRACE") + ".heap"); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
		os.Exit(0)
	}
	if url := os.Getenv("HEATBATH_TEST_WORKER_URL"); url != "" {
		nc, err := nats.Connect(url)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		w, err := worker.New(nc, worker.Config{Name: "subprocess", Slots: 1, FetchWait: 300 * time.Millisecond, Heartbeat: 300 * time.Millisecond,
			Logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Info})})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		if err := w.Run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestWorkerKilledMidReplicaResumesIdentically kills a worker process with
// SIGKILL after its replica checkpointed; after AckWait the task goes to a
// new worker, which resumes from the checkpoint, and the replica ends
// bit-identical to an uninterrupted run.
func TestWorkerKilledMidReplicaResumesIdentically(t *testing.T) {
	st := interruptWorker(t, syscall.SIGKILL)
	t.Logf("killed after the checkpoint at step %d; resumed by a new worker; result identical", st.Step)
}

// TestWorkerSIGTERMHandsBack: on SIGTERM a worker stops pulling,
// checkpoints its replica, marks it preempted, hands the task back and
// exits with status 0; the next worker resumes from that checkpoint.
func TestWorkerSIGTERMHandsBack(t *testing.T) {
	st := interruptWorker(t, syscall.SIGTERM)
	if st.State != protocol.StatePreempted {
		t.Errorf("state after SIGTERM %s, want preempted", st.State)
	}
	t.Logf("preempted at step %d; resumed by a new worker; result identical", st.Step)
}

// interruptWorker runs one replica on a worker subprocess, sends it sig
// once the replica has checkpointed, lets an in-process worker finish the
// replica and checks the result against an uninterrupted in-process run.
// It returns the replica's record right after the subprocess exited.
func interruptWorker(t *testing.T, sig syscall.Signal) protocol.ReplicaState {
	c := startServer(t, true)
	co := c.coordinator(2*time.Second, 5, testLogger(t))
	sw := smallSweep(t, 60000, 1, 2000)
	sw.Replicas = sw.Replicas[:1] // one AdLaLa replica
	if _, err := co.Submit(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	cmd, stderr, read := checkpointedWorker(t, c, sw, 4000, 60*time.Second)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if sig == syscall.SIGTERM && err != nil {
		t.Errorf("worker exit after SIGTERM: %v (want status 0); log:\n%s", err, stderr.String())
	}
	after := *read()
	if after.Step >= sw.Replicas[0].Config.Steps {
		t.Fatalf("the replica finished before the signal (step %d)", after.Step)
	}
	c.startWorker(1, 300*time.Millisecond, "replacement")
	dir := filepath.Join(c.dir, "run")
	sum := collect(t, co, sw.ID, dir, 2*time.Minute)
	if sum.Counts["done"] != 1 {
		t.Fatalf("counts %v", sum.Counts)
	}
	if sum.Replicas[0].Attempts != 2 {
		t.Errorf("attempts %d, want 2 (the interrupted one and the resumed one)", sum.Replicas[0].Attempts)
	}
	checkRunMatchesLocal(t, sw, dir)
	return after
}

// checkpointedWorker starts a worker subprocess against c's server and
// waits until sw's first replica runs on it with a checkpoint at step
// minStep or later. It returns the process, its log and a reader of the
// replica's record.
func checkpointedWorker(t *testing.T, c *cluster, sw *coordinator.Sweep, minStep int64, within time.Duration) (*exec.Cmd, *logBuffer, func() *protocol.ReplicaState) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HEATBATH_TEST_WORKER_URL="+c.srv.ClientURL())
	stderr := new(logBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(c.conn())
	kv, err := js.KeyValue(context.Background(), protocol.BucketReplicas)
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	key, _ := protocol.ReplicaKey(sw.ID, sw.Replicas[0].ID)
	read := func() *protocol.ReplicaState {
		e, err := kv.Get(context.Background(), key)
		if err != nil {
			return nil
		}
		st, _ := protocol.DecodeReplicaState(e.Value())
		return st
	}
	deadline := time.Now().Add(within)
	for {
		st := read()
		if st != nil && st.State == protocol.StateRunning && st.Step >= minStep && st.Checkpoint != "" {
			return cmd, stderr, read
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the subprocess never checkpointed past step %d; state %+v; its log:\n%s", minStep, st, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCoordinatorRestartLosesNothing stops the collecting coordinator in
// the middle of a sweep and starts a new one on a new connection: the
// sweep finishes with every replica present once, and every trajectory has
// each evaluation exactly once.
func TestCoordinatorRestartLosesNothing(t *testing.T) {
	c := startServer(t, false)
	co := c.coordinator(10*time.Second, 5, testLogger(t))
	sw := smallSweep(t, 3000, 3, 500)
	if _, err := co.Submit(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	c.startWorker(2, time.Second, "")
	dir := filepath.Join(c.dir, "run")
	ctx, cancel := context.WithCancel(context.Background())
	var firstDone int
	go func() {
		// Stop the first coordinator once some, not all, replicas are done.
		for ctx.Err() == nil {
			entries, _ := os.ReadDir(filepath.Join(dir, "replicas"))
			firstDone = 0
			for _, e := range entries {
				if _, err := os.Stat(filepath.Join(dir, "replicas", e.Name(), "result.json")); err == nil {
					firstDone++
				}
			}
			if firstDone >= 2 {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if _, err := co.Collect(ctx, sw.ID, dir); err == nil {
		t.Fatal("the first coordinator should have been stopped mid-sweep")
	}
	if firstDone >= len(sw.Replicas) {
		t.Fatalf("the first coordinator saw all %d replicas; the test did not restart mid-sweep", firstDone)
	}
	co2 := c.coordinator(10*time.Second, 5, testLogger(t))
	sum := collect(t, co2, sw.ID, dir, time.Minute)
	if sum.Counts["done"] != len(sw.Replicas) || len(sum.Replicas) != len(sw.Replicas) {
		t.Fatalf("after restart: counts %v, %d replicas; want %d done", sum.Counts, len(sum.Replicas), len(sw.Replicas))
	}
	checkRunMatchesLocal(t, sw, dir) // no row lost, none duplicated
	t.Logf("restarted after %d of %d replicas", firstDone, len(sw.Replicas))
}

// TestStaleResultIgnored: a result from an attempt that has been
// superseded (a zombie worker) is ignored; the replica's files come from
// the current attempt.
func TestStaleResultIgnored(t *testing.T) {
	c := startServer(t, false)
	log, logs := capturingLogger(t)
	co := c.coordinator(10*time.Second, 5, log)
	sw, kv, key := submitOne(t, c, co, 500, 0)
	r := sw.Replicas[0]
	js, _ := jetstream.New(c.conn())
	ctx := context.Background()
	// A zombie took attempt 1; a newer worker took over as attempt 2.
	for _, next := range []protocol.ReplicaState{
		{State: protocol.StateRunning, Attempt: 1, Worker: "zombie", Steps: r.Config.Steps},
		{State: protocol.StateRunning, Attempt: 2, Worker: "newer", Steps: r.Config.Steps},
	} {
		if !overwriteState(t, kv, key, next) {
			t.Fatal("state write refused")
		}
	}
	// The zombie's late result, with a bogus result.json.
	obs, _ := js.ObjectStore(ctx, protocol.BucketArtifacts)
	obj, _ := protocol.ArtifactObject(sw.ID, r.ID, "result.json")
	info, err := obs.PutBytes(ctx, obj, []byte(`{"status":"done","bogus":true}`))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := protocol.EventSubject(sw.ID, r.ID, protocol.EventResult)
	b, _ := protocol.Encode(&protocol.Result{Sweep: sw.ID, Replica: r.ID, Attempt: 1, Worker: "zombie", Status: protocol.ResultDone,
		Artifacts: []protocol.ObjectRef{{Name: obj, File: "result.json", Digest: info.Digest, Size: int64(info.Size)}}})
	if _, err := js.Publish(ctx, subj, b); err != nil {
		t.Fatal(err)
	}
	// A real worker finds the replica running and takes over (attempt 3).
	c.startWorker(1, time.Second, "real")
	dir := filepath.Join(c.dir, "run")
	sum := collect(t, co, sw.ID, dir, time.Minute)
	if sum.Counts["done"] != 1 {
		t.Fatalf("counts %v", sum.Counts)
	}
	res, _ := os.ReadFile(filepath.Join(dir, "replicas", r.ID, "result.json"))
	if bytes.Contains(res, []byte("bogus")) {
		t.Fatal("the stale attempt's result.json was written")
	}
	if !strings.Contains(logs.String(), "stale result ignored") {
		t.Error("the stale result was not reported in the log")
	}
	checkRunMatchesLocal(t, sw, dir)
}

// TestPoisonAndMalformedTasksFail: a task whose config can never run fails
// with its reason (not retried); an undecodable task body and a task of
// another protocol version fail their replicas as malformed; a task that
// keeps getting lost (never acknowledged) fails after MaxDeliver with the
// max-deliveries reason; malformed events do not stop the coordinator.
func TestPoisonAndMalformedTasksFail(t *testing.T) {
	c := startServer(t, false)
	log, logs := capturingLogger(t)
	co := c.coordinator(700*time.Millisecond, 2, log)
	ctx := context.Background()
	nc := c.conn()
	js, _ := jetstream.New(nc)

	// Sweep A, one replica whose task keeps getting lost: a "worker" takes
	// it and dies (never acks) until the server gives up (MaxDeliver 2).
	lostSweep := smallSweep(t, 300, 1, 0)
	lostSweep.ID += "-lost"
	lostSweep.Replicas = lostSweep.Replicas[:1]
	if _, err := co.Submit(ctx, lostSweep); err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, protocol.StreamTasks, "workers-cpu")
	if err != nil {
		t.Fatal(err)
	}
	lostDone := make(chan *rundir.Summary, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		sum, err := co.Collect(cctx, lostSweep.ID, filepath.Join(c.dir, "lost"))
		if err != nil {
			t.Errorf("collect: %v", err)
		}
		lostDone <- sum
	}()
	takes := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(lostDone) == 0; {
		// Keep a pull outstanding: the advisory fires when the server
		// next tries, and fails, to deliver.
		if _, err := cons.Next(jetstream.FetchMaxWait(time.Second)); err == nil {
			takes++
		}
	}
	sumA := <-lostDone
	if sumA == nil {
		t.FailNow()
	}
	if takes != 2 {
		t.Errorf("the lost task was delivered %d times, want MaxDeliver = 2", takes)
	}
	if r := sumA.Replicas[0]; r.State != string(protocol.StateFailed) || r.ErrorCode != "max_deliver" || !strings.Contains(r.Error, "delivered 2 times") {
		t.Errorf("lost replica: state %s code %q error %q; want failed max_deliver", r.State, r.ErrorCode, r.Error)
	}

	// Sweep B: an invalid config, a garbage body, a version-3 body and a
	// good replica, plus malformed events.
	sw := smallSweep(t, 300, 2, 0)
	// Replica 0 can never run: its CSV data names no file (a missing
	// file is refused at submission: the data is stored with the sweep).
	sw.Replicas[0].Config.Data = protocol.DataConfig{Kind: "csv"}
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	stream, _ := js.Stream(ctx, protocol.StreamTasks)
	for i, body := range map[int]string{1: "{not json", 2: `{"v":3,"sweep":"x"}`} {
		subj, _ := protocol.TaskSubject("cpu", sw.ID, sw.Replicas[i].ID)
		if err := stream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, subj, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	evSubj, _ := protocol.EventSubject(sw.ID, sw.Replicas[3].ID, protocol.EventTraj)
	js.Publish(ctx, evSubj, []byte(`{"v":99}`))
	js.Publish(ctx, evSubj, []byte(`garbage`))
	c.startWorker(1, time.Second, "real")
	sum := collect(t, co, sw.ID, filepath.Join(c.dir, "run"), time.Minute)
	byID := map[string]rundir.SummaryReplica{}
	for _, r := range sum.Replicas {
		byID[r.ID] = r
	}
	check := func(i int, state protocol.State, code, reason string) {
		t.Helper()
		r := byID[sw.Replicas[i].ID]
		if r.State != string(state) || r.ErrorCode != code || !strings.Contains(r.Error, reason) {
			t.Errorf("replica %d: state %s code %q error %q; want %s %s containing %q", i, r.State, r.ErrorCode, r.Error, state, code, reason)
		}
	}
	check(0, protocol.StateFailed, "invalid_config", "data.path")
	check(1, protocol.StateFailed, "malformed", "")
	check(2, protocol.StateFailed, "malformed", "version 3")
	check(3, protocol.StateDone, "", "")
	if !strings.Contains(logs.String(), "malformed trajectory chunk dropped") {
		t.Error("the malformed events were not logged")
	}
	for i := 0; i < 3; i++ {
		if a := byID[sw.Replicas[i].ID].Attempts; a > 1 {
			t.Errorf("replica %d was retried (%d attempts): deterministic failures must not be", i, a)
		}
	}
}

// TestCancelKeepsFinishedAndResumeCompletes: cancel stops a sweep midway,
// keeps the replicas that finished and marks the rest cancelled; resume
// re-enqueues exactly the unfinished ones (twice in a row: it is safe to
// repeat) and the sweep completes with every result identical to
// in-process chains.
func TestCancelKeepsFinishedAndResumeCompletes(t *testing.T) {
	c := startServer(t, false)
	co := c.coordinator(10*time.Second, 5, testLogger(t))
	sw := smallSweep(t, 4000, 3, 1000)
	ctx := context.Background()
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	stop := c.startWorker(1, time.Second, "")
	// Cancel once two replicas are done.
	for deadline := time.Now().Add(time.Minute); ; {
		sts, err := co.Status(ctx, sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, s := range sts {
			if s.State.State == protocol.StateDone {
				done++
			}
		}
		if done >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replicas did not finish")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := co.Cancel(ctx, sw.ID); err != nil {
		t.Fatal(err)
	}
	stop()
	sts, _ := co.Status(ctx, sw.ID)
	var doneIDs []string
	cancelled := 0
	for _, s := range sts {
		switch s.State.State {
		case protocol.StateDone:
			doneIDs = append(doneIDs, s.ID)
		case protocol.StateCancelled:
			cancelled++
		default:
			t.Errorf("replica %s is %s after cancel; want done or cancelled", s.ID, s.State.State)
		}
	}
	if len(doneIDs) < 2 || cancelled == 0 {
		t.Fatalf("after cancel: %d done, %d cancelled", len(doneIDs), cancelled)
	}
	n1, err := co.Resume(ctx, sw.ID)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := co.Resume(ctx, sw.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n1 != len(sw.Replicas)-len(doneIDs) || n2 != n1 {
		t.Fatalf("resume enqueued %d then %d; want %d (the unfinished replicas) both times", n1, n2, len(sw.Replicas)-len(doneIDs))
	}
	c.startWorker(2, time.Second, "")
	dir := filepath.Join(c.dir, "run")
	sum := collect(t, co, sw.ID, dir, time.Minute)
	if sum.Counts["done"] != len(sw.Replicas) {
		t.Fatalf("after resume: %v", sum.Counts)
	}
	for _, r := range sum.Replicas {
		for _, id := range doneIDs {
			if r.ID == id && r.Attempts != 1 {
				t.Errorf("replica %s finished before the cancel but ran %d attempts", id, r.Attempts)
			}
		}
	}
	checkRunMatchesLocal(t, sw, dir)
}

// TestZombieWorkerIsFenced: while a worker runs a replica, the replica's
// record moves on to a newer attempt (as when the task was redelivered to
// another worker). The old worker's next checkpoint finds itself
// superseded and drops its work: it never publishes a result. The task is
// redelivered and a later attempt finishes with the uninterrupted result.
func TestZombieWorkerIsFenced(t *testing.T) {
	c := startServer(t, false)
	co := c.coordinator(2*time.Second, 5, testLogger(t))
	sw, kv, key := submitOne(t, c, co, 60000, 1000)
	r := sw.Replicas[0]
	ctx := context.Background()
	c.startWorker(1, 300*time.Millisecond, "zombie")
	// Once the zombie has checkpointed, take the replica over in KV.
	for deadline := time.Now().Add(time.Minute); ; {
		e, err := kv.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := protocol.DecodeReplicaState(e.Value())
		if st.State == protocol.StateRunning && st.Worker == "zombie" && st.Step >= 2000 {
			next := *st
			next.Attempt, next.Worker = st.Attempt+1, "intruder"
			if overwriteState(t, kv, key, next) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the zombie never checkpointed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	dir := filepath.Join(c.dir, "run")
	sum := collect(t, co, sw.ID, dir, 2*time.Minute)
	if sum.Counts["done"] != 1 || sum.Replicas[0].Attempts != 3 {
		t.Fatalf("counts %v, attempts %d; want done after attempt 3 (zombie 1, intruder 2, redelivery 3)", sum.Counts, sum.Replicas[0].Attempts)
	}
	// No result of attempt 1 or 2 was ever published.
	js, _ := jetstream.New(c.conn())
	filter, _ := protocol.ReplicaEventFilter(sw.ID, r.ID)
	oc, err := js.OrderedConsumer(ctx, protocol.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatal(err)
	}
	results := 0
	for {
		m, err := oc.Next(jetstream.FetchMaxWait(500 * time.Millisecond))
		if err != nil {
			break
		}
		if strings.HasSuffix(m.Subject(), ".result") {
			res, err := protocol.DecodeResult(m.Data())
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempt != 3 {
				t.Errorf("a result of superseded attempt %d was published", res.Attempt)
			}
			results++
		}
	}
	if results != 1 {
		t.Errorf("%d results published, want 1", results)
	}
	checkRunMatchesLocal(t, sw, dir)
}

// TestTrajectoryChunksOutOfOrder: trajectory chunks that arrive out of
// order (as after a redelivery) and a result that arrives before the last
// of them still give the complete, in-order trajectory: a chunk whose
// preceding row is not on disk yet is taken again later, and the sweep is
// not finished until the last row is written.
func TestTrajectoryChunksOutOfOrder(t *testing.T) {
	c := startServer(t, false)
	co := c.coordinator(10*time.Second, 5, testLogger(t))
	sw, kv, key := submitOne(t, c, co, 400, 0)
	r := sw.Replicas[0]
	ctx := context.Background()
	// Play the worker by hand: run the chain, then publish its events.
	rep, err := train.Build(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	rep.ID = r.ID // as a worker does
	var rows [][]float64
	if err := rep.RunUntil(r.Config.Steps, func(row []float64) error {
		rows = append(rows, append([]float64(nil), row...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 5 {
		t.Fatalf("only %d rows", len(rows))
	}
	nc := c.conn()
	js, _ := jetstream.New(nc)
	publish := func(kind protocol.EventKind, m protocol.Message) {
		t.Helper()
		subj, _ := protocol.EventSubject(sw.ID, r.ID, kind)
		b, err := protocol.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, subj, b); err != nil {
			t.Fatal(err)
		}
	}
	chunk := func(seq int, from, to int) *protocol.TrajChunk {
		after := int64(-1)
		if from > 0 {
			after = int64(rows[from-1][0])
		}
		return &protocol.TrajChunk{Sweep: sw.ID, Replica: r.ID, Attempt: 1, Seq: int64(seq), After: after,
			Columns: rep.Columns(), Rows: rows[from:to]}
	}
	setState := func(next protocol.ReplicaState) {
		t.Helper()
		if !overwriteState(t, kv, key, next) {
			t.Fatal("state write refused")
		}
	}
	setState(protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "hand", Steps: r.Config.Steps})
	n := len(rows)
	publish(protocol.EventTraj, chunk(2, 2*n/3, n))
	publish(protocol.EventTraj, chunk(0, 0, n/3))
	res := rep.Result()
	files, err := rep.Artifacts(res)
	if err != nil {
		t.Fatal(err)
	}
	var inline []protocol.InlineFile
	for _, name := range rundir.ResultFiles() {
		if b, ok := files[name]; ok {
			inline = append(inline, protocol.InlineFile{File: name, Data: b})
		}
	}
	publish(protocol.EventResult, &protocol.Result{Sweep: sw.ID, Replica: r.ID, Attempt: 1, Worker: "hand",
		Status: protocol.ResultDone, Files: inline})
	setState(protocol.ReplicaState{State: protocol.StateDone, Attempt: 1, Worker: "hand", Step: r.Config.Steps, Steps: r.Config.Steps})
	// The middle chunk comes last.
	go func() {
		time.Sleep(300 * time.Millisecond)
		publish(protocol.EventTraj, chunk(1, n/3, 2*n/3))
	}()
	dir := filepath.Join(c.dir, "run")
	sum := collect(t, co, sw.ID, dir, time.Minute)
	if sum.Counts["done"] != 1 {
		t.Fatalf("counts %v", sum.Counts)
	}
	checkRunMatchesLocal(t, sw, dir)
}

// TestWorkerStopWaitsForResults: a worker publishes each finished
// replica's result beside its next chain; when it is stopped, Run returns
// only after those publications are complete. Right after it returns, no
// replica is half-finished: a replica with a result event is recorded done
// and its task is gone from the queue, and a replica recorded done has its
// result event.
func TestWorkerStopWaitsForResults(t *testing.T) {
	c := startServer(t, false)
	co := c.coordinator(10*time.Second, 5, testLogger(t))
	sw := smallSweep(t, 200, 15, 0)
	ctx := context.Background()
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(c.conn())
	kv, _ := js.KeyValue(ctx, protocol.BucketReplicas)
	events, _ := js.Stream(ctx, protocol.StreamEvents)
	tasks, _ := js.Stream(ctx, protocol.StreamTasks)
	// A worker on its own connection, closed as soon as Run returns (as a
	// worker process exits): publications still in flight would be cut.
	wnc := c.conn()
	w, err := worker.New(wnc, worker.Config{Name: "w", Slots: 2, FetchWait: 300 * time.Millisecond,
		Heartbeat: time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = w.Run(wctx)
		wnc.Close()
	}()
	stop := func() { cancel(); <-ran }
	state := func(r coordinator.Replica) *protocol.ReplicaState {
		key, _ := protocol.ReplicaKey(sw.ID, r.ID)
		e, err := kv.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		st, err := protocol.DecodeReplicaState(e.Value())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
		done := 0
		for _, r := range sw.Replicas {
			if state(r).State == protocol.StateDone {
				done++
			}
		}
		if done >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replicas do not finish")
		}
	}
	stop()
	results, finished := 0, 0
	for _, r := range sw.Replicas {
		st := state(r)
		subj, _ := protocol.EventSubject(sw.ID, r.ID, protocol.EventResult)
		_, err := events.GetLastMsgForSubject(ctx, subj)
		hasResult := err == nil
		tsubj, _ := protocol.TaskSubject("cpu", sw.ID, r.ID)
		_, err = tasks.GetLastMsgForSubject(ctx, tsubj)
		queued := err == nil
		if hasResult {
			results++
			if st.State != protocol.StateDone || queued {
				t.Errorf("replica %s: result published but state %s, task queued %v", r.ID, st.State, queued)
			}
		}
		if st.State == protocol.StateDone {
			finished++
			if !hasResult {
				t.Errorf("replica %s: done without a result event", r.ID)
			}
		}
	}
	if finished < 5 || finished == len(sw.Replicas) {
		t.Fatalf("%d of %d replicas finished; the worker should have been stopped mid-sweep", finished, len(sw.Replicas))
	}
	t.Logf("stopped with %d of %d replicas finished", finished, len(sw.Replicas))
}

// TestCollectIntoNewDirectoryReplays: once a sweep has been collected, its
// events are acknowledged, but the stream keeps them. A coordinator that
// collects the same sweep into a new directory (or into one that lost its
// files) rebuilds every replica from those events: the same rows and files.
func TestCollectIntoNewDirectoryReplays(t *testing.T) {
	c := startServer(t, false)
	log, logs := capturingLogger(t)
	co := c.coordinator(10*time.Second, 5, log)
	sw := smallSweep(t, 2000, 2, 500)
	if _, err := co.Submit(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	c.startWorker(2, time.Second, "")
	first := filepath.Join(c.dir, "first")
	if sum := collect(t, co, sw.ID, first, time.Minute); sum.Counts["done"] != len(sw.Replicas) {
		t.Fatalf("first collection: counts %v", sum.Counts)
	}
	second := filepath.Join(c.dir, "second")
	sum := collect(t, c.coordinator(10*time.Second, 5, log), sw.ID, second, time.Minute)
	if sum.Counts["done"] != len(sw.Replicas) {
		t.Fatalf("second collection: counts %v", sum.Counts)
	}
	checkRunMatchesLocal(t, sw, second)
	for _, r := range sw.Replicas {
		for _, f := range []string{"result.json", "predictions.json", "grid.json", "interp.csv", rundir.FileInitParams, rundir.FileBestParams, "trajectory.csv"} {
			a, errA := os.ReadFile(filepath.Join(first, "replicas", r.ID, f))
			b, errB := os.ReadFile(filepath.Join(second, "replicas", r.ID, f))
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("replica %s: %s differs between the two collections (%v, %v)", r.ID, f, errA, errB)
			}
		}
	}
	if n := strings.Count(logs.String(), "rebuilt a replica from its events"); n != len(sw.Replicas) {
		t.Errorf("%d replicas rebuilt from their events, want %d", n, len(sw.Replicas))
	}
}
