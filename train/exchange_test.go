package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/sampler"
)

func exchangeConfig(energy string) protocol.ReplicaConfig {
	cfg := spiralConfig(protocol.MethodConfig{Name: "lala", H: 0.25}, 400)
	ladder := []float64{1e-4, 1e-3, 1e-2, 3e-2}
	if energy == EnergyMinibatch {
		// The variance correction δ²s²/2 rules out swaps between τ = 1e-4 and
		// 1e-3 (δ = 9,000) on minibatches of 25: a hotter ladder swaps.
		ladder = []float64{0.01, 0.02, 0.04, 0.08}
	}
	cfg.Exchange = &protocol.ExchangeConfig{Ladder: ladder, Every: 30, Energy: energy}
	return cfg
}

func sameRows(t *testing.T, cols []string, a, b [][]float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d rows against %d", len(a), len(b))
	}
	for i := range a {
		for j := range a[i] {
			x, y := a[i][j], b[i][j]
			if math.Float64bits(x) != math.Float64bits(y) && !(math.IsNaN(x) && math.IsNaN(y)) {
				t.Fatalf("row %d column %s: %v against %v", i, cols[j], x, y)
			}
		}
	}
}

// TestExchangeSetResumesBitForBit interrupts an exchange set (full and
// minibatch energies) between two swap rounds, after some swaps, restores it into a fresh
// replica and checks that the rung-0 trajectory and every file, the
// exchange files included, equal those of an uninterrupted run.
func TestExchangeSetResumesBitForBit(t *testing.T) {
	for _, energy := range []string{EnergyFull, EnergyMinibatch} {
		t.Run(energy, func(t *testing.T) {
			cfg := exchangeConfig(energy)
			a := mustBuild(t, cfg)
			rowsA := collect(t, a, cfg.Steps)

			b := mustBuild(t, cfg)
			rowsB := collect(t, b, 263)
			var swapped int64
			for k := 0; k+1 < b.ex.x.K(); k++ {
				swapped += b.ex.x.Accepted(k)
			}
			if swapped == 0 {
				t.Fatal("no swap before the checkpoint: the test would not check that rungs are restored")
			}
			ck, err := b.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			c := mustBuild(t, cfg)
			if err := c.UnmarshalBinary(ck); err != nil {
				t.Fatal(err)
			}
			rowsB = append(rowsB, collect(t, c, cfg.Steps)...)
			sameRows(t, a.Columns(), rowsA, rowsB)
			pa, err := a.Artifacts(a.Result())
			if err != nil {
				t.Fatal(err)
			}
			pc, err := c.Artifacts(c.Result())
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range rundir.ExchangeResultFiles() {
				if len(pa[name]) == 0 {
					t.Errorf("%s missing", name)
				}
			}
			for name := range pa {
				if !bytes.Equal(pa[name], pc[name]) {
					t.Errorf("%s differs after resume", name)
				}
			}
			var s rundir.ExchangeSummary
			if err := json.Unmarshal(pa[rundir.FileExchange], &s); err != nil {
				t.Fatal(err)
			}
			var acc int64
			for _, p := range s.Pairs {
				acc += p.Accepted
			}
			for _, p := range s.Pairs {
				t.Logf("%s: pair %d (τ %g, %g): %d of %d accepted", energy, p.Rung, p.TauLo, p.TauHi, p.Accepted, p.Proposed)
			}
			if s.Rounds != cfg.Steps/cfg.Exchange.Every || acc == 0 {
				t.Errorf("%d rounds (want %d), %d swaps accepted (want some)", s.Rounds, cfg.Steps/cfg.Exchange.Every, acc)
			}
			if _, err := b.Artifacts(b.Result()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestExchangeChainsAreIndependentChainsUntilSwapped checks the set's
// bookkeeping against plain replicas: with swaps that can never be
// accepted (a ladder whose rounds come after the last step), chain k of
// the set is the replica of seed ChainSeed(seed, k) at τ_k, row for row,
// and the rung-0 trajectory is chain 0's.
func TestExchangeChainsAreIndependentChainsUntilSwapped(t *testing.T) {
	cfg := exchangeConfig(EnergyFull)
	cfg.Steps = 200
	cfg.Exchange.Every = 200 // no round before the end
	set := mustBuild(t, cfg)
	rows := collect(t, set, cfg.Steps)
	files, err := set.Artifacts(set.Result())
	if err != nil {
		t.Fatal(err)
	}
	chainRows, err := rundir.NewTrajectoryReader(bytes.NewReader(files[rundir.FileExchangeChains]), "chains")
	if err != nil {
		t.Fatal(err)
	}
	var all [][]float64
	for {
		row, err := chainRows.Next(nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, append([]float64(nil), row...))
	}
	for k, tau := range cfg.Exchange.Ladder {
		one := cfg
		one.Exchange = nil
		one.Seed = ChainSeed(cfg.Seed, k)
		one.Method.Params.Tau = protocol.Float(tau)
		r := mustBuild(t, one)
		want := collect(t, r, cfg.Steps)
		var got [][]float64
		for _, row := range all {
			if int(row[0]) == k {
				got = append(got, row[2:])
			}
		}
		sameRows(t, r.Columns(), want, got)
		if k == 0 {
			sameRows(t, r.Columns(), want, rows)
		}
	}
}

// TestExchangeRefusesPerGroupTemperatures checks the configurations an
// exchange set refuses, and that each message says why.
func TestExchangeRefusesPerGroupTemperatures(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*protocol.ReplicaConfig)
		want string
	}{
		{"group tau", func(c *protocol.ReplicaConfig) { c.Method.Output.Tau = protocol.Float(1e-3) }, "method.output.tau"},
		{"method tau", func(c *protocol.ReplicaConfig) { c.Method.Params.Tau = protocol.Float(1e-3) }, "the ladder sets the temperature of every group"},
		{"schedule", func(c *protocol.ReplicaConfig) {
			c.Method.Schedule = protocol.ScheduleConfig{Kind: "linear", To: 0}
		}, "temperature schedule"},
		{"no temperature", func(c *protocol.ReplicaConfig) { c.Method = protocol.MethodConfig{Name: "adam", H: 0.01} }, "nothing to exchange"},
		{"cycle tau", func(c *protocol.ReplicaConfig) { c.Method.Cycle = &protocol.CycleConfig{Cycles: 2, Explore: 0.2} }, "method.cycle"},
		{"ladder", func(c *protocol.ReplicaConfig) { c.Exchange.Ladder = []float64{1e-3, 1e-4} }, "exchange.ladder"},
		{"energy", func(c *protocol.ReplicaConfig) { c.Exchange.Energy = "exact" }, "exchange.energy"},
		{"every", func(c *protocol.ReplicaConfig) { c.Exchange.Every = 1000 }, "exchange.every"},
	} {
		cfg := exchangeConfig(EnergyFull)
		tc.edit(&cfg)
		err := Resolve(&cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestCyclicalReplicaAveragesCycleSamples runs a replica under a cyclical
// schedule and checks that the model average holds exactly one sample per
// cycle and that the evaluation rows include each cycle's end.
func TestCyclicalReplicaAveragesCycleSamples(t *testing.T) {
	cfg := spiralConfig(protocol.MethodConfig{Name: "sgld", H: 0.1, Cycle: &protocol.CycleConfig{Cycles: 3, Explore: 0.3}}, 301)
	r := mustBuild(t, cfg)
	rows := collect(t, r, cfg.Steps)
	if r.predN != 3 {
		t.Errorf("model average over %d samples, want 3 (one per cycle)", r.predN)
	}
	ends := map[float64]bool{}
	for _, row := range rows {
		ends[row[0]] = true
	}
	for _, s := range []float64{101, 202, 301} {
		if !ends[s] {
			t.Errorf("no evaluation at the end of the cycle at step %g", s)
		}
	}
	plain := spiralConfig(protocol.MethodConfig{Name: "sgld", H: 0.1}, 301)
	p := mustBuild(t, plain)
	collect(t, p, plain.Steps)
	if p.Chain.Theta()[0] == r.Chain.Theta()[0] {
		t.Error("the cycle changed nothing")
	}
	bad := spiralConfig(protocol.MethodConfig{Name: "sgld", H: 0.1, Cycle: &protocol.CycleConfig{Cycles: 0}}, 301)
	if err := Resolve(&bad); err == nil || !strings.Contains(err.Error(), "method.cycle") {
		t.Errorf("cycles: 0 gave %v", err)
	}
}

// TestExchangeSetWithADivergedChain: a hot chain that diverges stops, its
// swaps are rejected (its energy is NaN) and the rest of the set runs to
// the end; exchange.json records the divergence. When the chain at the
// coldest rung diverges, the set ends diverged.
func TestExchangeSetWithADivergedChain(t *testing.T) {
	cfg := exchangeConfig(EnergyFull)
	cfg.Method = adlala() // its thermostat ξ overflows at τ = 1e300
	cfg.Exchange.Ladder = []float64{1e-4, 1e-3, 1e300}
	r := mustBuild(t, cfg)
	collect(t, r, cfg.Steps)
	if !r.Done() || r.Err() != nil || r.Chain.Steps() != cfg.Steps {
		t.Fatalf("done %v, err %v, step %d: the set should finish", r.Done(), r.Err(), r.Chain.Steps())
	}
	hot := r.ex.subs[2]
	if hot.Chain.Err() == nil {
		t.Fatal("the chain at τ = 1e300 did not diverge; the test needs it to")
	}
	if r.ex.x.RungOf(2) != 2 || r.ex.x.Accepted(1) != 0 {
		t.Errorf("the diverged chain moved (rung %d, %d swaps of pair 1 accepted)", r.ex.x.RungOf(2), r.ex.x.Accepted(1))
	}
	files, err := r.Artifacts(r.Result())
	if err != nil {
		t.Fatal(err)
	}
	var s rundir.ExchangeSummary
	if err := json.Unmarshal(files[rundir.FileExchange], &s); err != nil {
		t.Fatal(err)
	}
	if !s.Chains[2].Diverged || s.Chains[0].Diverged || s.Chains[1].Diverged {
		t.Errorf("divergence record %+v", s.Chains)
	}

	cold := exchangeConfig(EnergyFull)
	cold.Method.H = 1e6 // every chain diverges at once
	c := mustBuild(t, cold)
	collect(t, c, cold.Steps)
	if !c.Done() || !errors.Is(c.Err(), sampler.ErrDiverged) {
		t.Fatalf("done %v, err %v: the set should end diverged", c.Done(), c.Err())
	}
	if res := c.Result(); res.Status != rundir.StatusDiverged {
		t.Errorf("status %s, want diverged", res.Status)
	}
}
