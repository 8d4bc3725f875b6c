package ensemble

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// writeBenchRun writes a run directory of 1,000 replicas (10 groups × 100
// seeds), each with a 400-row trajectory and predictions on 1,000 test
// points, generating and writing one replica at a time.
func writeBenchRun(b *testing.B, dir string) {
	b.Helper()
	var groups []synthGroup
	for _, m := range []string{"adlala", "lol"} {
		for i, tau := range []string{"1e-05", "0.0001", "0.001", "0.01"} {
			groups = append(groups, synthGroup{Method: m, Tau: tau, Seeds: 100, AccMean: 0.85 + 0.02*float64(i%3), AccSD: 0.01, TkinErr: 0.05})
		}
	}
	groups = append(groups,
		synthGroup{Method: "sgd", Seeds: 100, AccMean: 0.85, AccSD: 0.05, Stuck: true},
		synthGroup{Method: "adam", Seeds: 100, AccMean: 0.87, AccSD: 0.04, Stuck: true})
	cfg := synthConfig{Seed: 1, Rows: 400, Points: 1000, Groups: groups}

	var ids []synthReplica
	synthEach(cfg, func(r *synthReplica) {
		writeReplica(b, dir, r)
		ids = append(ids, synthReplica{ID: r.ID, Index: r.Index, Group: r.Group, Settings: r.Settings, Seed: r.Seed, NoDir: true})
	})
	// sweep.json only: the directories are written.
	writeRun(b, dir, ids, nil, nil)
}

// peakHeap samples the heap (live and not yet collected objects) every
// millisecond until stop is closed, then sends the maximum.
func peakHeap(stop <-chan struct{}, out chan<- uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			out <- peak
			return
		case <-t.C:
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak {
				peak = v
			}
		}
	}
}

// BenchmarkAnalyze1000 loads and analyzes a run of 1,000 replicas. It
// reports the peak heap during LoadRun+Analyze (including garbage not yet
// collected) and the heap retained by the Run and Summary after a GC.
// Run it with -benchtime=1x: generating the directory takes a few seconds.
func BenchmarkAnalyze1000(b *testing.B) {
	dir := b.TempDir()
	start := time.Now()
	writeBenchRun(b, dir)
	var size int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			size += info.Size()
		}
		return nil
	})
	b.Logf("generated 1000 replicas (%.0f MB) in %v", float64(size)/1e6, time.Since(start).Round(time.Millisecond))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	b.ReportAllocs()
	b.ResetTimer()
	var run *Run
	var sum *Summary
	var peak uint64
	for b.Loop() {
		stop, out := make(chan struct{}), make(chan uint64)
		go peakHeap(stop, out)
		var err error
		run, err = LoadRun(dir)
		if err != nil {
			b.Fatal(err)
		}
		sum, err = Analyze(run, Options{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		close(stop)
		peak = max(peak, <-out)
	}
	b.StopTimer()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/(1<<20), "retained-MB")
	if sum.Status.Done != 1000 || len(sum.Groups) != 10 {
		b.Fatalf("summary: %+v groups %d", sum.Status, len(sum.Groups))
	}
	runtime.KeepAlive(run)
}
