package train

import (
	"fmt"
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// benchReplica builds the set-up of ../shared/bench/torch_ref.py: trig data
// of Figure 2 (1000 training points), SHLP 2→H→1 with ReLU and sigmoid,
// mean BCE, minibatches by epoch-wise reshuffling.
func benchReplica(b *testing.B, method protocol.MethodConfig, hidden, batch int) *Replica {
	b.Helper()
	cfg := protocol.ReplicaConfig{
		Data:   protocol.DataConfig{Kind: "trig", Preset: "fig2", Train: 1000, Test: 1000},
		Model:  protocol.ModelConfig{Hidden: []int{hidden}},
		Method: method, Steps: 1 << 62, EvalEvery: 1 << 62, Batch: batch, Seed: 1, DataSeed: 1,
	}
	r, err := Build(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := r.RunUntil(300, nil); err != nil { // warm-up, as torch_ref.py
		b.Fatal(err)
	}
	return r
}

// BenchmarkStep times one full step (one minibatch gradient plus the
// integrator) at the paper's sizes. "baoab" is the method torch_ref.py
// times (h = 0.05, γ = 1, τ = 1e-4); adlala and adam are for comparison.
func BenchmarkStep(b *testing.B) {
	methods := []struct {
		name string
		m    protocol.MethodConfig
	}{
		{"baoab", protocol.MethodConfig{Name: "langevin", H: 0.05, Params: protocol.GroupConfig{Gamma: protocol.Float(1), Tau: protocol.Float(1e-4)}}},
		{"adlala", protocol.MethodConfig{Name: "adlala", H: 0.25}},
		{"sgd", protocol.MethodConfig{Name: "sgd", H: 0.05}},
		{"adam", protocol.MethodConfig{Name: "adam", H: 1e-3}},
	}
	for _, h := range []int{100, 500} {
		for _, bs := range []int{20, 25, 50} {
			for _, m := range methods {
				b.Run(fmt.Sprintf("H=%d/B=%d/%s", h, bs, m.name), func(b *testing.B) {
					r := benchReplica(b, m.m, h, bs)
					b.ReportAllocs()
					b.ResetTimer()
					if err := r.RunUntil(r.Chain.Steps()+int64(b.N), nil); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
				})
			}
		}
	}
}

// BenchmarkEval1000 times one test evaluation (loss and accuracy on 1000
// points), as torch_ref.py's eval1000.
func BenchmarkEval1000(b *testing.B) {
	for _, h := range []int{100, 500} {
		b.Run(fmt.Sprintf("H=%d", h), func(b *testing.B) {
			r := benchReplica(b, protocol.MethodConfig{Name: "sgd", H: 0.05}, h, 50)
			b.ReportAllocs()
			for b.Loop() {
				r.Model.Evaluate(r.evalWS, r.Chain.Theta(), r.Test.X, r.Test.Y)
			}
		})
	}
}
