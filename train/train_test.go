package train

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func spiralConfig(method protocol.MethodConfig, steps int64) protocol.ReplicaConfig {
	return protocol.ReplicaConfig{
		Data:      protocol.DataConfig{Kind: "spiral", Train: 200, Validation: 50, Test: 200},
		Model:     protocol.ModelConfig{Hidden: []int{20}},
		Method:    method,
		Steps:     steps,
		EvalEvery: 50,
		Batch:     25,
		Seed:      3,
		DataSeed:  1,
	}
}

func adlala() protocol.MethodConfig { return protocol.MethodConfig{Name: "adlala", H: 0.25} }

func mustBuild(t testing.TB, cfg protocol.ReplicaConfig) *Replica {
	t.Helper()
	r, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func collect(t testing.TB, r *Replica, until int64) [][]float64 {
	t.Helper()
	var rows [][]float64
	if err := r.RunUntil(until, func(row []float64) error {
		rows = append(rows, append([]float64(nil), row...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestGoldenTrajectory guards against silent numerical changes: the
// trajectory of a short AdLaLa chain on the spiral set must reproduce
// testdata/golden_adlala.csv to the last bit. Regenerate only for an
// intended change of the numerics, with `go test ./train -run Golden -update`,
// and say why in the commit.
func TestGoldenTrajectory(t *testing.T) {
	cfg := spiralConfig(adlala(), 400)
	r := mustBuild(t, cfg)
	var b bytes.Buffer
	tw, err := rundir.NewTrajectoryWriter(&b, r.Columns())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RunUntil(cfg.Steps, tw.Write); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	golden := filepath.Join("testdata", "golden_adlala.csv")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, b.Bytes()) {
		gl, wl := strings.Split(string(want), "\n"), strings.Split(b.String(), "\n")
		for i := range gl {
			if i >= len(wl) || gl[i] != wl[i] {
				got := ""
				if i < len(wl) {
					got = wl[i]
				}
				t.Fatalf("trajectory differs from %s at line %d:\nwant %s\ngot  %s", golden, i+1, gl[i], got)
			}
		}
		t.Fatal("trajectory differs from the golden file")
	}
}

// TestCheckpointResumeBitForBit: a replica checkpointed mid-run and
// restored into a freshly built replica continues with exactly the rows of
// an uninterrupted run, and ends with the same parameters and results.
func TestCheckpointResumeBitForBit(t *testing.T) {
	for _, m := range []protocol.MethodConfig{adlala(), {Name: "lol", H: 0.25}, {Name: "adam", H: 0.005}} {
		t.Run(m.Name, func(t *testing.T) {
			cfg := spiralConfig(m, 500)
			a := mustBuild(t, cfg)
			rowsA := collect(t, a, cfg.Steps)

			b := mustBuild(t, cfg)
			rowsB := collect(t, b, 230)
			ck, err := b.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			c := mustBuild(t, cfg)
			if err := c.UnmarshalBinary(ck); err != nil {
				t.Fatal(err)
			}
			rowsB = append(rowsB, collect(t, c, cfg.Steps)...)
			if len(rowsA) != len(rowsB) {
				t.Fatalf("%d rows uninterrupted, %d resumed", len(rowsA), len(rowsB))
			}
			for i := range rowsA {
				for j := range rowsA[i] {
					x, y := rowsA[i][j], rowsB[i][j]
					if math.Float64bits(x) != math.Float64bits(y) && !(math.IsNaN(x) && math.IsNaN(y)) {
						t.Fatalf("row %d column %s: %v uninterrupted, %v resumed", i, a.Columns()[j], x, y)
					}
				}
			}
			pa, _ := a.Artifacts(a.Result())
			pc, _ := c.Artifacts(c.Result())
			for name := range pa {
				if !bytes.Equal(pa[name], pc[name]) {
					t.Errorf("%s differs after resume", name)
				}
			}
		})
	}
}

func TestSameSeedSameBitsDifferentSeedDiffers(t *testing.T) {
	cfg := spiralConfig(adlala(), 200)
	a := collect(t, mustBuild(t, cfg), 200)
	b := collect(t, mustBuild(t, cfg), 200)
	cfg.Seed = 4
	c := collect(t, mustBuild(t, cfg), 200)
	last := len(a) - 1
	for j := range a[last] {
		if math.Float64bits(a[last][j]) != math.Float64bits(b[last][j]) && !math.IsNaN(a[last][j]) {
			t.Fatalf("same seed: column %d differs", j)
		}
	}
	if a[last][5] == c[last][5] {
		t.Error("different seeds gave the same final test loss")
	}
}

// TestBadConfigsNameTheField covers the bad inputs named in the issue:
// negative step size, unknown method, a partition naming a layer that does
// not exist, a batch larger than the data.
func TestBadConfigsNameTheField(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*protocol.ReplicaConfig)
		want string
	}{
		{"negative h", func(c *protocol.ReplicaConfig) { c.Method.H = -0.1 }, "method.h: -0.1"},
		{"unknown method", func(c *protocol.ReplicaConfig) { c.Method.Name = "adalala" }, `method.name: "adalala" is unknown`},
		{"missing layer", func(c *protocol.ReplicaConfig) {
			c.Method = protocol.MethodConfig{Name: "partitioned", H: 0.1, Groups: []protocol.GroupConfig{
				{Tensors: []string{"layer0"}, Integrator: "adaptive"}, {Tensors: []string{"layer2"}, Integrator: "langevin"}}}
		}, `method.groups[1].tensors: "layer2": layer 2 does not exist`},
		{"unknown integrator", func(c *protocol.ReplicaConfig) {
			c.Method = protocol.MethodConfig{Name: "partitioned", H: 0.1, Groups: []protocol.GroupConfig{{Tensors: []string{"all"}, Integrator: "nuts"}}}
		}, `method.groups[0].integrator: "nuts"`},
		{"batch too large", func(c *protocol.ReplicaConfig) { c.Batch = 1000 }, "batch:"},
		{"negative tau", func(c *protocol.ReplicaConfig) { c.Method.Hidden.Tau = protocol.Float(-1) }, "tau = -1"},
		{"unknown data", func(c *protocol.ReplicaConfig) { c.Data.Kind = "moons" }, `data.kind: "moons"`},
		{"zero steps", func(c *protocol.ReplicaConfig) { c.Steps = 0 }, "steps: 0"},
		{"bad activation", func(c *protocol.ReplicaConfig) { c.Model.Activation = "gelu" }, "model.activation"},
		{"bad schedule", func(c *protocol.ReplicaConfig) {
			c.Method.Schedule = protocol.ScheduleConfig{Kind: "geometric", To: 0}
		}, "schedule"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := spiralConfig(adlala(), 100)
			tc.mod(&cfg)
			_, err := Build(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestDivergenceIsReported: an absurd step size makes the chain diverge; the
// result says so with the step.
func TestDivergenceIsReported(t *testing.T) {
	cfg := spiralConfig(protocol.MethodConfig{Name: "sgd", H: 1e6}, 300)
	r := mustBuild(t, cfg)
	collect(t, r, cfg.Steps)
	res := r.Result()
	if res.Status != "diverged" || res.DivergedAt <= 0 || res.DivergedAt >= cfg.Steps {
		t.Fatalf("status %q at step %d, want diverged at a step in (0, %d)", res.Status, res.DivergedAt, cfg.Steps)
	}
	if !r.Done() {
		t.Error("a diverged replica must be done")
	}
}

// TestPresetPartitions: the presets put the hidden layers and the output
// layer in separate groups with the integrators of the paper, also for a
// deeper network.
func TestPresetPartitions(t *testing.T) {
	cfg := spiralConfig(protocol.MethodConfig{Name: "lol", H: 0.1}, 10)
	cfg.Model.Hidden = []int{8, 6}
	r := mustBuild(t, cfg)
	if len(r.Groups) != 2 || r.Groups[0].Integrator != "langevin" || r.Groups[1].Integrator != "overdamped" {
		t.Fatalf("groups %+v", r.Groups)
	}
	want0 := "layer0.weight,layer0.bias,layer1.weight,layer1.bias"
	if got := strings.Join(r.Groups[0].Tensors, ","); got != want0 {
		t.Errorf("hidden group tensors %s, want %s", got, want0)
	}
	if got := strings.Join(r.Groups[1].Tensors, ","); got != "layer2.weight,layer2.bias" {
		t.Errorf("output group tensors %s", got)
	}
}

func TestRunAllocatesNothingBetweenEvaluations(t *testing.T) {
	cfg := spiralConfig(adlala(), 1_000_000)
	cfg.EvalEvery = 1_000_000
	r := mustBuild(t, cfg)
	collect(t, r, 1)
	n := r.Chain.Steps()
	if a := testing.AllocsPerRun(50, func() {
		n += 10
		_ = r.RunUntil(n, nil)
	}); a != 0 {
		t.Fatalf("10 steps allocate %v times", a)
	}
}
