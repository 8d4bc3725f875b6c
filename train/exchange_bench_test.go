//go:build unix

package train

import (
	"syscall"
	"testing"
	"time"

	"github.com/heatbath/heatbath/protocol"
)

// exchangeBenchConfig is the set-up of examples/exchange-spiral.yaml at
// 4,000 steps: AdLaLa on the 4-turn spiral (500 training points, 100
// hidden units, batch 25), 4 temperatures, swaps every 500 steps on the
// full training loss, evaluations every 500 steps.
func exchangeBenchConfig() protocol.ReplicaConfig {
	return protocol.ReplicaConfig{
		Data:   protocol.DataConfig{Kind: "spiral", Train: 500, Validation: 200, Test: 1000},
		Model:  protocol.ModelConfig{Hidden: []int{100}},
		Method: protocol.MethodConfig{Name: "adlala", H: 0.25},
		Steps:  4000, EvalEvery: 500, Batch: 25, Seed: 1, DataSeed: 1,
		Exchange: &protocol.ExchangeConfig{Ladder: []float64{1e-5, 1e-4, 1e-3, 1e-2}, Every: 500, Energy: EnergyFull},
	}
}

// BenchmarkExchangeThroughput times the same four chains of 4,000 steps
// run as one exchange set ("set") and as four independent replicas one
// after the other ("independent"), building included, and reports
// chain-steps per second of wall time and the process's CPU time
// (user + system, getrusage) per chain-step, which a loaded machine
// disturbs less. Run both side by side to compare: issue 13 asks for the
// set within 10% of the independent chains.
func BenchmarkExchangeThroughput(b *testing.B) {
	cfg := exchangeBenchConfig()
	k := len(cfg.Exchange.Ladder)
	b.Run("set", func(b *testing.B) {
		c0 := cpuTime()
		for range b.N {
			r, err := Build(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.RunUntil(cfg.Steps, nil); err != nil {
				b.Fatal(err)
			}
		}
		n := float64(int64(b.N) * int64(k) * cfg.Steps)
		b.ReportMetric(n/b.Elapsed().Seconds(), "chain-steps/s")
		b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/n, "cpu-ns/chain-step")
	})
	b.Run("independent", func(b *testing.B) {
		c0 := cpuTime()
		for range b.N {
			for i, tau := range cfg.Exchange.Ladder {
				one := cfg
				one.Exchange = nil
				one.Seed = ChainSeed(cfg.Seed, i)
				one.Method.Params.Tau = protocol.Float(tau)
				r, err := Build(one)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.RunUntil(cfg.Steps, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		n := float64(int64(b.N) * int64(k) * cfg.Steps)
		b.ReportMetric(n/b.Elapsed().Seconds(), "chain-steps/s")
		b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/n, "cpu-ns/chain-step")
	})
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
