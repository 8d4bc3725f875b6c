package train

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heatbath/heatbath/spec"
)

// BenchmarkEndOfRun runs replica 0 of every shipped example
// (examples/*.yaml) at its default length and reports the CPU seconds of
// its end-of-run work (Artifacts: the final predictions, the grid, the
// parameter files and the loss along a line) and their share of the
// replica's build, steps and end of run ("end-%"), in CPU time (cpuTime:
// the chains are single-threaded, so on a busy machine CPU time measures
// their work better than the wall clock). The issue 12 target is
// at most 10% on every example. Run it with
//
//	go test ./train -run '^$' -bench EndOfRun -benchtime 1x
//
// (MNIST examples are skipped without the GoMNIST module's files).
func BenchmarkEndOfRun(b *testing.B) {
	paths, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil || len(paths) == 0 {
		b.Skipf("no examples: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		b.Run(name, func(b *testing.B) {
			f, err := spec.Load(path)
			if err != nil {
				b.Fatal(err)
			}
			reps, err := f.Expand(Resolve)
			if err != nil {
				b.Fatal(err)
			}
			cfg := reps[0].Config
			if cfg.Data.Kind == "mnist" && cfg.Data.Dir == "" {
				if _, err := mnistDir(); err != nil {
					b.Skip(err)
				}
			}
			var run, end time.Duration
			for b.Loop() {
				c0 := cpuTime()
				r, err := Build(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.RunUntil(cfg.Steps, nil); err != nil {
					b.Fatal(err)
				}
				c1 := cpuTime()
				if _, err := r.Artifacts(r.Result()); err != nil {
					b.Fatal(err)
				}
				c2 := cpuTime()
				run += c1 - c0
				end += c2 - c1
			}
			b.ReportMetric(end.Seconds()/float64(b.N), "end-s")
			b.ReportMetric(100*end.Seconds()/(run+end).Seconds(), "end-%")
		})
	}
}
