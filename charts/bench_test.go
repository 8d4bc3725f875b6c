package charts

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/heatbath/heatbath/ensemble"
)

// bigConfig is a sweep of 1,000 replicas: 4 methods × 5 settings × 50
// seeds, 401 evaluations each (80,000 steps every 200), a 60×60 grid,
// 401 parameters.
func bigConfig() synthConfig {
	cfg := synthConfig{Seeds: 50, Rows: 401, EvalEvery: 200, GridNX: 60, GridNY: 60, Params: 401, Test: 200}
	for _, tau := range []float64{1e-5, 3e-5, 1e-4, 3e-4, 1e-3} {
		ts := fmt.Sprint(tau)
		cfg.Groups = append(cfg.Groups,
			synthGroup{Method: "adlala", Settings: map[string]string{"tau": ts}, Tau: tau},
			synthGroup{Method: "lol", Settings: map[string]string{"tau": ts}, Tau: tau})
	}
	for _, lr := range []string{"0.001", "0.002", "0.005", "0.01", "0.02"} {
		cfg.Groups = append(cfg.Groups,
			synthGroup{Method: "adam", Settings: map[string]string{"lr": lr}},
			synthGroup{Method: "sgd", Settings: map[string]string{"lr": lr}})
	}
	return cfg
}

// BenchmarkRender1000 renders the report of a synthetic 1,000-replica run
// (writing the run and ensemble.LoadRun + Analyze are not timed; their
// durations are logged).
func BenchmarkRender1000(b *testing.B) {
	dir := b.TempDir()
	start := time.Now()
	writeSynthRun(b, dir, bigConfig())
	written := time.Since(start)
	start = time.Now()
	run, err := ensemble.LoadRun(dir)
	if err != nil {
		b.Fatal(err)
	}
	sum, err := ensemble.Analyze(run, ensemble.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d replicas written in %v; LoadRun + Analyze %v", len(run.Replicas), written, time.Since(start))
	out := filepath.Join(dir, "report")
	b.ResetTimer()
	for b.Loop() {
		if err := Render(dir, out, sum, run, Extra{}); err != nil {
			b.Fatal(err)
		}
	}
}
