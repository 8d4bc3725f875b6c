package main

// BenchmarkScale: many short replicas through a 3-node cluster, many
// workers and one coordinator process.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/worker"
)

// scaleSpec is BenchmarkTrivialReplicas's sweep with a seed count to fill
// in: two methods, so 2 × seeds replicas of 5 steps each.
const scaleSpec = `
name: scale
data: {kind: spiral, train: 40, test: 40}
model: {hidden: [4]}
steps: 5
eval_every: 5
batch: 10
seeds: %d
methods:
  - {name: sgd, h: 0.1}
  - {name: langevin, h: 0.1}
checkpoint: {every: 0, seconds: 60}
`

// BenchmarkScale runs a sweep of many 5-step replicas on an in-process
// 3-node cluster (internal/testcluster: R3 streams, every write fsynced,
// stores under TMPDIR) with W in-process workers of 2 slots each, every
// worker on its own connection to node i mod 3, and the coordinator as a
// separate process: `heatbath submit SPEC --nats <node 0> --out DIR`
// (the test binary re-executed), which submits, collects every result
// into the run directory and exits. It reports, per size:
//
//   - replicas/s: replicas over the coordinator process's wall time, from
//     its start (process start, connect, submission) to its exit after the
//     last result is on disk;
//   - coord-cpu-s and coord-cpu-ms/replica: the coordinator process's user
//     plus system CPU (its rusage);
//   - coord-MiB-peak-rss: its own VmHWM (see BenchmarkCoordinatorMemory);
//   - <stream>-B/replica: StreamInfo.State.Bytes of TASKS, EVENTS,
//     KV_hb_replicas and OBJ_hb_artifacts after the sweep, per replica (what
//     one replica of the three holds; the cluster stores each three times);
//   - js-api-requests/replica: JetStream API requests (stream and consumer
//     management, KV and object gets, consumer info: not publishes or pull
//     fetches' deliveries) the three nodes received during the
//     coordinator's run, workers' included, per replica.
//
// The workers share the benchmark process (and its two cores) with the
// three servers; only the coordinator is measured on its own.
func BenchmarkScale(b *testing.B) {
	for _, size := range []struct{ replicas, workers int }{{500, 4}, {500, 16}, {500, 32}, {2000, 16}, {5000, 16}} {
		b.Run(fmt.Sprintf("replicas=%d/workers=%d", size.replicas, size.workers), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				scaleRun(b, size.replicas, size.workers)
			}
		})
	}
}

func scaleRun(b *testing.B, replicas, workers int) {
	tc := testcluster.Start(b, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	log := hclog.NewNullLogger()
	// The streams exist (R3) before the workers start; the coordinator
	// process finds them and keeps them R3.
	co, err := coordinator.New(tc.ConnectTo(0), coordinator.Config{Replicas: 3, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	if err := co.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopWorkers(); wg.Wait() }()
	for w := range workers {
		wk, err := worker.New(tc.ConnectTo(w%3), worker.Config{Name: fmt.Sprintf("w%d", w), Slots: 2,
			FetchWait: time.Second, Heartbeat: 5 * time.Second, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = wk.Run(wctx) }()
	}

	dir := b.TempDir()
	spec := filepath.Join(dir, "scale.yaml")
	if err := os.WriteFile(spec, []byte(fmt.Sprintf(scaleSpec, replicas/2)), 0o644); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	hwm := filepath.Join(dir, "hwm")
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HEATBATH_TEST_CLI="+strings.Join([]string{"submit", spec, "--nats", tc.URL(0),
		"--out", out, "--no-report", "--quiet", "--log-level", "error"}, "\x1f"), "HEATBATH_BENCH_HWM="+hwm)
	var stderr logBuffer
	cmd.Stdout, cmd.Stderr = &logBuffer{}, &stderr
	api0 := jsAPIRequests(b, tc)
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("coordinator: %v\n%s", err, stderr.String())
	}
	wall := time.Since(t0)
	api := jsAPIRequests(b, tc) - api0
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("coordinator: no rusage")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	hwmKB := readHWM(b, hwm)
	ents, err := os.ReadDir(filepath.Join(out, rundir.DirReplicas))
	if err != nil {
		b.Fatal(err)
	}
	got := 0
	for _, e := range ents {
		if _, err := rundir.ReadResult(filepath.Join(out, rundir.DirReplicas, e.Name())); err == nil {
			got++
		}
	}
	if got != replicas {
		b.Fatalf("%d results on disk, want %d", got, replicas)
	}

	js, err := jetstream.New(tc.ConnectTo(0))
	if err != nil {
		b.Fatal(err)
	}
	kvStream, err := protocol.KVStream(protocol.BucketReplicas)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []struct{ name, unit string }{
		{protocol.StreamTasks, "TASKS-B/replica"},
		{protocol.StreamEvents, "EVENTS-B/replica"},
		{kvStream, "KV-B/replica"},
		{"OBJ_" + protocol.BucketArtifacts, "OBJ-B/replica"},
	} {
		st, err := js.Stream(ctx, s.name)
		if err != nil {
			b.Fatalf("stream %s: %v", s.name, err)
		}
		b.ReportMetric(float64(st.CachedInfo().State.Bytes)/float64(replicas), s.unit)
	}
	b.ReportMetric(float64(replicas)/wall.Seconds(), "replicas/s")
	b.ReportMetric(cpu.Seconds(), "coord-cpu-s")
	b.ReportMetric(cpu.Seconds()*1000/float64(replicas), "coord-cpu-ms/replica")
	b.ReportMetric(hwmKB/1024, "coord-MiB-peak-rss")
	b.ReportMetric(float64(api)/float64(replicas), "js-api-requests/replica")
}

// jsAPIRequests returns the JetStream API requests the cluster's nodes
// have received since they started, summed over the nodes (each node
// counts the requests its clients sent it, workers' and coordinator's).
func jsAPIRequests(b *testing.B, tc *testcluster.Cluster) uint64 {
	var n uint64
	for i := range tc.N() {
		info, err := tc.Node(i).Jsz(nil)
		if err != nil {
			b.Fatalf("node %d: jsz: %v", i, err)
		}
		n += info.API.Total
	}
	return n
}
