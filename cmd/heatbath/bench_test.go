package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
)

func benchSweep(b *testing.B, src string) *coordinator.Sweep {
	b.Helper()
	f, err := spec.Parse("bench.yaml", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	sw, _, err := sweepOf(f)
	if err != nil {
		b.Fatal(err)
	}
	return sw
}

// backToBack runs the sweep's chains one after the other in this process,
// doing the work a worker does for each (build, run with trajectory rows,
// result files) but with no NATS.
func backToBack(b *testing.B, sw *coordinator.Sweep, dir string) {
	for _, r := range sw.Replicas {
		rep, err := train.Build(r.Config)
		if err != nil {
			b.Fatal(err)
		}
		rdir := filepath.Join(dir, r.ID)
		os.MkdirAll(rdir, 0o755)
		f, _ := os.Create(filepath.Join(rdir, "trajectory.csv"))
		tw, _ := rundir.NewTrajectoryWriter(f, rep.Columns())
		if err := rep.RunUntil(r.Config.Steps, tw.Write); err != nil {
			b.Fatal(err)
		}
		tw.Flush()
		f.Close()
		if err := rep.WriteArtifacts(rdir, rep.Result()); err != nil {
			b.Fatal(err)
		}
	}
}

// embeddedRun runs the sweep on the embedded default and returns the time
// from its submission to its end (the collected results on disk).
func embeddedRun(b *testing.B, sw *coordinator.Sweep, dir string, workers int, sync bool) time.Duration {
	log := hclog.NewNullLogger()
	var t0 time.Time
	if _, err := runEmbedded(context.Background(), sw, dir, embeddedOptions{workers: workers, sync: sync, quiet: true, log: log,
		submitted: func() { t0 = time.Now() }}); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

const overheadSpec = `
name: overhead
data: {kind: spiral, train: 500, validation: 200, test: 1000}
model: {hidden: [100]}
steps: 20000
eval_every: 200
batch: 25
seeds: 16
methods:
  - {name: adlala, h: 0.25}
  - {name: adam, lr: 0.005}
checkpoint: {seconds: 30}
`

// BenchmarkSweepOverhead runs the same 32-replica sweep back to back in one
// process and through the embedded default (one worker slot: this machine
// has about one core of throughput), alternating, and reports the ratio of
// the medians.
func BenchmarkSweepOverhead(b *testing.B) {
	sw := benchSweep(b, overheadSpec)
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			var local, nats []float64
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				backToBack(b, sw, b.TempDir())
				local = append(local, time.Since(t0).Seconds())
				t0 = time.Now()
				embeddedRun(b, sw, b.TempDir(), 1, sync)
				nats = append(nats, time.Since(t0).Seconds())
			}
			b.ReportMetric(median(local), "s-local")
			b.ReportMetric(median(nats), "s-embedded")
			b.ReportMetric(median(nats)/median(local), "ratio")
		})
	}
}

// BenchmarkTrivialReplicas pushes 500 replicas of 5 steps each through the
// embedded default and reports replicas per second, with every JetStream
// write fsynced (the default) and without. File creation dominates: run it
// with TMPDIR on the file system of interest.
func BenchmarkTrivialReplicas(b *testing.B) {
	src := `
name: trivial
data: {kind: spiral, train: 40, test: 40}
model: {hidden: [4]}
steps: 5
eval_every: 5
batch: 10
seeds: 250
methods:
  - {name: sgd, h: 0.1}
  - {name: langevin, h: 0.1}
checkpoint: {every: 0, seconds: 60}
`
	sw := benchSweep(b, src)
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			var rates, whole, floor, synced []float64
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				pipeline := embeddedRun(b, sw, b.TempDir(), 2, sync)
				whole = append(whole, float64(len(sw.Replicas))/time.Since(t0).Seconds())
				rates = append(rates, float64(len(sw.Replicas))/pipeline.Seconds())
				floor = append(floor, float64(len(sw.Replicas))/fileFloor(b, b.TempDir(), len(sw.Replicas), false).Seconds())
				synced = append(synced, float64(len(sw.Replicas))/fileFloor(b, b.TempDir(), len(sw.Replicas), true).Seconds())
			}
			// replicas/s: from submission to the last result on disk;
			// replicas/s-with-startup: including server start and stop;
			// fs-only-replicas/s: the file system alone, creating the
			// replica directories with nothing else running, measured
			// right after each run on the same file system;
			// fs-only-synced-replicas/s: the same, every file fsynced as
			// rundir.WriteFiles does.
			b.ReportMetric(median(rates), "replicas/s")
			b.ReportMetric(median(whole), "replicas/s-with-startup")
			b.ReportMetric(median(floor), "fs-only-replicas/s")
			b.ReportMetric(median(synced), "fs-only-synced-replicas/s")
		})
	}
}

// fileFloor creates n replica directories with a trivial replica's files
// (a directory, ten files of its sizes, result.json last) and returns the
// time it took: the rate no sweep writing these directories can beat on
// that file system. Plain, the files are written with os.WriteFile and
// result.json through a rename, as the collector did before the run
// directory had one owner; synced, through rundir.WriteFiles as the
// collector writes them now (each file fsynced, renamed into place, the
// folder fsynced): the difference is the cost of durability.
func fileFloor(b *testing.B, dir string, n int, synced bool) time.Duration {
	sizes := map[string]int{"trajectory.csv": 350, "replica.json": 780, "params.safetensors": 600, "best_params.safetensors": 600,
		"init_params.safetensors": 600, "predictions.json": 1700, "grid.json": 68000, "interp.csv": 2000, "result.json": 1100}
	data := make([]byte, 68000)
	files := map[string][]byte{}
	for name, size := range sizes {
		files[name] = data[:size]
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		rdir := filepath.Join(dir, "replicas", fmt.Sprintf("r%04d", i))
		if err := os.MkdirAll(rdir, 0o755); err != nil {
			b.Fatal(err)
		}
		if synced {
			if err := rundir.WriteFiles(rdir, files, rundir.FileResult); err != nil {
				b.Fatal(err)
			}
			continue
		}
		for name, content := range files {
			if name == rundir.FileResult {
				name += ".tmp"
			}
			if err := os.WriteFile(filepath.Join(rdir, name), content, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.Rename(filepath.Join(rdir, "result.json.tmp"), filepath.Join(rdir, "result.json")); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0)
}

// BenchmarkCoordinatorMemory measures the peak resident memory of a
// coordinator process (`heatbath resume ... --out DIR`, the test binary
// re-executed) that collects a sweep whose replicas write 1×, 10×, 100× and
// 200× the default number of trajectory rows (eval_every = steps/100,
// /1000, /10000, /20000). Workers run in the benchmark process, against an
// embedded server that listens on loopback. The coordinator streams rows
// to disk and keeps none, so its memory should not grow with the rows
// beyond the bounded events in flight. The peak is the child's own VmHWM:
// ru_maxrss of a child started by Go reports the parent's peak when that
// is larger.
func BenchmarkCoordinatorMemory(b *testing.B) {
	for _, factor := range []int{1, 10, 100, 200} {
		b.Run(fmt.Sprintf("rows=%dx", factor), func(b *testing.B) {
			const steps = 20000
			src := fmt.Sprintf(`
name: memory
data: {kind: spiral, train: 200, test: 200}
model: {hidden: [20]}
steps: %d
eval_every: %d
batch: 20
seeds: 8
methods: [{name: adlala, h: 0.25}]
`, steps, steps/100/factor)
			sw := benchSweep(b, src)
			for i := 0; i < b.N; i++ {
				c := startServer(b, true)
				co := c.coordinator(30*time.Second, 5, hclog.NewNullLogger())
				if _, err := co.Submit(context.Background(), sw); err != nil {
					b.Fatal(err)
				}
				c.startWorker(2, time.Second, "")
				out := filepath.Join(b.TempDir(), "run")
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				hwm := filepath.Join(b.TempDir(), "hwm")
				cmd.Env = append(os.Environ(), "HEATBATH_TEST_CLI="+strings.Join([]string{"resume", sw.ID, "--nats", c.srv.ClientURL(),
					"--out", out, "--no-report", "--quiet", "--log-level", "error"}, "\x1f"), "HEATBATH_BENCH_HWM="+hwm)
				var stderr logBuffer
				cmd.Stderr = &stderr
				if os.Getenv("HEATBATH_BENCH_GCTRACE") != "" {
					cmd.Env = append(cmd.Env, "GODEBUG=gctrace=1")
					defer func() { os.WriteFile(os.Getenv("HEATBATH_BENCH_GCTRACE"), []byte(stderr.String()), 0o644) }()
				}
				if err := cmd.Run(); err != nil {
					b.Fatalf("coordinator: %v\n%s", err, stderr.String())
				}
				hwmKB := readHWM(b, hwm)
				rows := 0
				for _, r := range sw.Replicas {
					bs, _ := os.ReadFile(filepath.Join(out, "replicas", r.ID, "trajectory.csv"))
					rows += bytes.Count(bs, []byte("\n")) - 1
				}
				b.ReportMetric(hwmKB/1024, "MiB-peak-rss")
				b.ReportMetric(float64(rows), "rows")
			}
		})
	}
}

// readHWM reads the VmHWM, in kB, that a coordinator process run by a
// benchmark wrote to path as it exited (see TestMain).
func readHWM(b *testing.B, path string) float64 {
	b.Helper()
	kb, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var hwmKB float64
	if _, err := fmt.Sscanf(string(kb), "%f kB", &hwmKB); err != nil {
		b.Fatalf("VmHWM %q: %v", kb, err)
	}
	return hwmKB
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
