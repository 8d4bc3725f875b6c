package train

import (
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// mnistBenchConfig is the MNIST workload of bench/compare_issue12.py:
// 784-100-10, B = 50, 10,000 training and 1,000 test points, BAOAB
// (h = 0.05, γ = 1, τ = 1e-4), an evaluation every 200 steps.
func mnistBenchConfig(b *testing.B, steps int64) protocol.ReplicaConfig {
	b.Helper()
	if _, err := mnistDir(); err != nil {
		b.Skip(err)
	}
	cfg := protocol.ReplicaConfig{
		Data:  protocol.DataConfig{Kind: "mnist", Train: 10000, Test: 1000},
		Model: protocol.ModelConfig{Hidden: []int{100}},
		Method: protocol.MethodConfig{Name: "langevin", H: 0.05,
			Params: protocol.GroupConfig{Gamma: protocol.Float(1), Tau: protocol.Float(1e-4)}},
		Steps: steps, EvalEvery: 200, Batch: 50, Seed: 1, DataSeed: 1,
	}
	if err := Resolve(&cfg); err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkMNISTBuild times Build of the MNIST workload: reading the IDX
// files, the split, the network and the chain (the fixed cost of a
// `heatbath train` process before its first step).
func BenchmarkMNISTBuild(b *testing.B) {
	cfg := mnistBenchConfig(b, 3000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMNISTStep times one step of the MNIST workload (gradient and
// integrator, no evaluation), after 300 steps of warm-up.
func BenchmarkMNISTStep(b *testing.B) {
	cfg := mnistBenchConfig(b, 1<<62)
	cfg.EvalEvery = 1 << 62
	r, err := Build(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := r.RunUntil(300, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := r.RunUntil(r.Chain.Steps()+int64(b.N), nil); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkMNISTEval times one evaluation row of the MNIST workload (the
// train metrics on its MaxTrainEval points and the test metrics).
func BenchmarkMNISTEval(b *testing.B) {
	cfg := mnistBenchConfig(b, 3000)
	r, err := Build(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.evaluate(nil); err != nil {
			b.Fatal(err)
		}
	}
}
