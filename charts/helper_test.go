package charts

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

// This file writes synthetic run directories in the format of
// docs/formats.md and remembers what it wrote, so tests can compute the
// expected chart data by hand.

// synthGroup is one group of a synthetic sweep.
type synthGroup struct {
	Method string
	// Settings are the grid settings besides method and seed.
	Settings map[string]string
	// Tau is the temperature of every thermostat group (samplers only).
	Tau float64
}

// synthConfig describes a synthetic sweep.
type synthConfig struct {
	Groups    []synthGroup
	Seeds     int
	Rows      int // evaluations per trajectory
	EvalEvery int64
	GridNX    int
	GridNY    int
	Params    int
	Test      int // test points
	// Diverged and Incomplete name replica indices with that status
	// (incomplete: listed in sweep.json, no directory).
	Diverged, Incomplete map[int]bool
	// NoFiles writes no grid.json, params.bin, interp.csv (not 2-D data,
	// lost files). The parameters are written as params.bin, the format
	// of run directories before params.safetensors, which is still read.
	NoFiles bool
}

// smallConfig is the run most tests use: three methods, a τ ladder of two
// points for adlala, three seeds, one diverged and one incomplete replica.
func smallConfig() synthConfig {
	return synthConfig{
		Groups: []synthGroup{
			{Method: "adam"},
			{Method: "adlala", Settings: map[string]string{"tau": "0.0001"}, Tau: 1e-4},
			{Method: "adlala", Settings: map[string]string{"tau": "0.001"}, Tau: 1e-3},
			{Method: "lol", Tau: 1e-4},
		},
		Seeds: 3, Rows: 21, EvalEvery: 100, GridNX: 5, GridNY: 4, Params: 40, Test: 20,
		Diverged:   map[int]bool{11: true},
		Incomplete: map[int]bool{10: true},
	}
}

// synthReplica is what was written for one replica.
type synthReplica struct {
	ID, Group, Method string
	Settings          map[string]string
	Seed              uint64
	Status            string
	Dir               string
	// Columns and Traj are trajectory.csv (NaN = empty cell).
	Columns []string
	Traj    [][]float64
	Final   ensemble.Metrics
	Best    ensemble.Metrics
	Grid    *rundir.Grid
	Params  []float64
	Interp  []InterpPoint
}

// col returns the trajectory column name of r, or nil.
func (r *synthReplica) col(name string) []float64 {
	for k, c := range r.Columns {
		if c == name {
			out := make([]float64, len(r.Traj))
			for i, row := range r.Traj {
				out[i] = row[k]
			}
			return out
		}
	}
	return nil
}

// groupKey joins settings as the spec does: method first, then the other
// keys in order, seed left out.
func groupKey(settings map[string]string) string {
	var keys []string
	for k := range settings {
		if k != "seed" && k != "method" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := []string{"method=" + settings["method"]}
	for _, k := range keys {
		parts = append(parts, k+"="+settings[k])
	}
	return strings.Join(parts, ",")
}

// writeSynthRun writes a run directory into dir and returns the replicas
// in index order.
func writeSynthRun(tb testing.TB, dir string, cfg synthConfig) []*synthReplica {
	tb.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	var reps []*synthReplica
	var entries []rundir.SweepEntry
	idx := 0
	for gi, g := range cfg.Groups {
		for s := 1; s <= cfg.Seeds; s++ {
			settings := map[string]string{"method": g.Method, "seed": strconv.Itoa(s)}
			for k, v := range g.Settings {
				settings[k] = v
			}
			group := groupKey(settings)
			r := &synthReplica{
				ID: fmt.Sprintf("r%04d-%08x", idx, uint32(idx*2654435761)), Group: group, Method: g.Method,
				Settings: settings, Seed: uint64(s), Status: "done",
			}
			r.Dir = filepath.Join(dir, "replicas", r.ID)
			entries = append(entries, rundir.SweepEntry{ID: r.ID, Index: idx, Group: group, Settings: settings, Seed: r.Seed})
			switch {
			case cfg.Incomplete[idx]:
				r.Status = ""
			case cfg.Diverged[idx]:
				r.Status = "diverged"
			}
			if r.Status != "" {
				writeSynthReplica(tb, r, g, gi, idx, cfg, rng)
			}
			reps = append(reps, r)
			idx++
		}
	}
	mustWriteJSON(tb, filepath.Join(dir, "sweep.json"), rundir.Sweep{Version: 1, ID: "sweep-synthetic", Name: "synthetic",
		SpecHash: "feedbeef", Created: json.RawMessage(`"2025-01-01T00:00:00Z"`), Replicas: entries})
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte("name: synthetic\nseeds: 3\n# <script>alert(1)</script>\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return reps
}

func mustWriteJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func mustWriteFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// round3 rounds to 3 decimals, like an accuracy over 1000 points.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// writeSynthReplica writes one replica directory. Group gi gets a quality
// level so methods differ; seeds differ by noise.
func writeSynthReplica(tb testing.TB, r *synthReplica, g synthGroup, gi, idx int, cfg synthConfig, rng *rand.Rand) {
	tb.Helper()
	level := 0.6 + 0.3*float64(gi)/float64(len(cfg.Groups)) + 0.03*rng.Float64()
	sampler := g.Tau > 0
	adaptive := g.Method == "adlala"
	r.Columns = []string{"step", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"}
	thermo := []string{"all"}
	if sampler {
		thermo = []string{"hidden", "output"}
	}
	for _, th := range thermo {
		r.Columns = append(r.Columns, "tau:"+th, "tkin:"+th, "tkin_mean:"+th)
	}
	if adaptive {
		r.Columns = append(r.Columns, "xi:layer0.weight", "xi:layer0.bias")
	}
	r.Columns = append(r.Columns, "wnorm:layer0", "small:layer0")
	tkinSum := make([]float64, len(thermo))
	for i := 0; i < cfg.Rows; i++ {
		step := float64(int64(i) * cfg.EvalEvery)
		frac := float64(i) / float64(max(1, cfg.Rows-1))
		acc := round3(0.5 + (level-0.5)*frac + 0.02*rng.NormFloat64())
		loss := 0.7 - 0.3*frac*level + 0.01*rng.Float64()
		row := []float64{step, loss * 0.9, acc + 0.02, loss * 1.05, acc - 0.01, loss, acc}
		for k := range thermo {
			tau := 1e-4
			if sampler {
				tau = g.Tau
			}
			tkin, mean := math.NaN(), math.NaN()
			if sampler && i > 0 {
				tkin = tau * (1 + 0.2*float64(k) + 0.1*rng.NormFloat64())
				tkinSum[k] += tkin
				mean = tkinSum[k] / float64(i)
			}
			row = append(row, tau, tkin, mean)
		}
		if adaptive {
			row = append(row, 0.1+0.01*step*(1+rng.Float64()), 0.1+0.005*step)
		}
		row = append(row, 5+frac, 0.01)
		r.Traj = append(r.Traj, row)
	}
	if r.Status == "diverged" {
		// A diverged chain's last evaluation is non-finite.
		last := r.Traj[len(r.Traj)-1]
		last[1], last[5] = math.NaN(), math.NaN()
	}
	var b strings.Builder
	b.WriteString(strings.Join(r.Columns, ",") + "\n")
	for _, row := range r.Traj {
		for k, v := range row {
			if k > 0 {
				b.WriteByte(',')
			}
			if !math.IsNaN(v) {
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		b.WriteByte('\n')
	}
	mustWriteFile(tb, filepath.Join(r.Dir, "trajectory.csv"), []byte(b.String()))

	last := r.Traj[len(r.Traj)-1]
	r.Final = ensemble.Metrics{Step: int64(last[0]), TrainLoss: last[1], TrainAcc: last[2], ValLoss: last[3], ValAcc: last[4], TestLoss: last[5], TestAcc: last[6]}
	// The best evaluation: lowest validation loss.
	bi := 0
	for i, row := range r.Traj {
		if row[3] < r.Traj[bi][3] {
			bi = i
		}
	}
	br := r.Traj[bi]
	r.Best = ensemble.Metrics{Step: int64(br[0]), TrainLoss: br[1], TrainAcc: br[2], ValLoss: br[3], ValAcc: br[4], TestLoss: br[5], TestAcc: br[6]}

	var groups []map[string]any
	for k, th := range thermo {
		gr := map[string]any{"name": th, "integrator": g.Method, "tensors": []string{}, "n": cfg.Params / len(thermo), "tau": 1e-4}
		if sampler {
			gr["tau"] = g.Tau
			gr["tkin_mean"] = tkinSum[k] / float64(cfg.Rows-1)
			gr["integrator"] = map[int]string{0: "langevin", 1: "overdamped"}[k]
			if adaptive && k == 0 {
				gr["integrator"] = "adaptive"
			}
		}
		groups = append(groups, gr)
	}
	jm := func(m ensemble.Metrics) map[string]any {
		num := func(x float64) any {
			if math.IsNaN(x) {
				return nil
			}
			return x
		}
		return map[string]any{"step": m.Step, "train_loss": num(m.TrainLoss), "train_acc": num(m.TrainAcc),
			"val_loss": num(m.ValLoss), "val_acc": num(m.ValAcc), "test_loss": num(m.TestLoss), "test_acc": num(m.TestAcc)}
	}
	mustWriteJSON(tb, filepath.Join(r.Dir, "replica.json"), map[string]any{
		"id": r.ID, "index": idx, "group": r.Group, "settings": r.Settings, "seed": r.Seed})
	mustWriteJSON(tb, filepath.Join(r.Dir, "result.json"), map[string]any{
		"version": 1, "status": r.Status, "steps": r.Final.Step, "final": jm(r.Final), "best": jm(r.Best),
		"best_by": "val_loss", "groups": groups, "small_threshold": 0.01,
	})

	// predictions.json
	labels := make([]int, cfg.Test)
	fin := make([][]float64, cfg.Test)
	avg := make([][]float64, cfg.Test)
	for i := range labels {
		labels[i] = i % 2
		q := level + 0.1*rng.Float64()
		p1 := q
		if labels[i] == 0 {
			p1 = 1 - q
		}
		fin[i] = []float64{1 - p1, p1}
		avg[i] = []float64{1 - (p1+0.5)/2, (p1 + 0.5) / 2}
	}
	mustWriteJSON(tb, filepath.Join(r.Dir, "predictions.json"), map[string]any{
		"classes": 2, "labels": labels, "k": 5, "final": fin, "averaged": avg})
	if cfg.NoFiles {
		return
	}

	// grid.json: a smooth boundary that depends on the group and seed.
	gr := &rundir.Grid{}
	for i := 0; i < cfg.GridNX; i++ {
		gr.X = append(gr.X, -2+4*float64(i)/float64(cfg.GridNX-1))
	}
	for j := 0; j < cfg.GridNY; j++ {
		gr.Y = append(gr.Y, -1+3*float64(j)/float64(cfg.GridNY-1))
	}
	shift := 0.3*float64(gi) + 0.1*rng.Float64()
	for j := range gr.Y {
		fr, av := make([]float64, len(gr.X)), make([]float64, len(gr.X))
		for i := range gr.X {
			fr[i] = 1 / (1 + math.Exp(-(2*gr.X[i] - gr.Y[j] + shift)))
			av[i] = 1 / (1 + math.Exp(-(1.5*gr.X[i] - gr.Y[j] + shift)))
		}
		gr.Final = append(gr.Final, fr)
		gr.Averaged = append(gr.Averaged, av)
	}
	for k := 0; k < 30; k++ {
		x, y := -2+4*rng.Float64(), -1+3*rng.Float64()
		label := 0.0
		if 2*x-y > 0 {
			label = 1
		}
		gr.Points = append(gr.Points, []float64{x, y, label})
	}
	mustWriteFile(tb, filepath.Join(r.Dir, "grid.json"), gr.AppendJSON(nil))
	// What was written: probabilities with 6 significant digits.
	var err error
	if r.Grid, err = rundir.ReadGrid(r.Dir); err != nil {
		tb.Fatal(err)
	}

	// params.bin: adam leaves many near-zero parameters, samplers few.
	r.Params = make([]float64, cfg.Params)
	for i := range r.Params {
		v := rng.NormFloat64()
		if !sampler && i%3 == 0 {
			v *= 1e-4
		}
		if i == 0 {
			v = 0
		}
		r.Params[i] = v
	}
	mustWriteFile(tb, filepath.Join(r.Dir, "params.bin"), encodeParams(r.Params))
	mustWriteFile(tb, filepath.Join(r.Dir, "init_params.bin"), encodeParams(make([]float64, cfg.Params)))

	// interp.csv: α from −0.5 to 1.5 in steps of 0.05.
	var ib strings.Builder
	ib.WriteString("alpha,train_loss,test_loss\n")
	for i := -10; i <= 30; i++ {
		a := float64(i) * 0.05
		p := InterpPoint{Alpha: a, Train: 0.7 - 0.4*a + 0.5*a*a + 0.01*rng.Float64(), Test: 0.75 - 0.35*a + 0.5*a*a + 0.01*rng.Float64()}
		r.Interp = append(r.Interp, p)
		fmt.Fprintf(&ib, "%s,%s,%s\n", strconv.FormatFloat(a, 'g', -1, 64), strconv.FormatFloat(p.Train, 'g', -1, 64), strconv.FormatFloat(p.Test, 'g', -1, 64))
	}
	mustWriteFile(tb, filepath.Join(r.Dir, "interp.csv"), []byte(ib.String()))
}

// encodeParams encodes params.bin as documented in docs/formats.md.
func encodeParams(theta []float64) []byte {
	b := []byte("HBPARAM1")
	b = binary.LittleEndian.AppendUint64(b, uint64(len(theta)))
	for _, v := range theta {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// mustLoad loads and analyzes a run directory.
func mustLoad(tb testing.TB, dir string) (*ensemble.Run, *ensemble.Summary) {
	tb.Helper()
	run, err := ensemble.LoadRun(dir)
	if err != nil {
		tb.Fatalf("LoadRun: %v", err)
	}
	sum, err := ensemble.Analyze(run, ensemble.Options{Seed: 1, Resamples: 200})
	if err != nil {
		tb.Fatalf("Analyze: %v", err)
	}
	return run, sum
}

// synthRun writes smallConfig into a temporary directory and loads it.
func synthRun(tb testing.TB) (string, []*synthReplica, *ensemble.Run, *ensemble.Summary) {
	tb.Helper()
	dir := tb.TempDir()
	reps := writeSynthRun(tb, dir, smallConfig())
	run, sum := mustLoad(tb, dir)
	return dir, reps, run, sum
}

// doneOf returns the done synthetic replicas of a group.
func doneOf(reps []*synthReplica, group string) []*synthReplica {
	var out []*synthReplica
	for _, r := range reps {
		if r.Group == group && r.Status == "done" {
			out = append(out, r)
		}
	}
	return out
}

// sameFloat reports whether a and b are equal, NaN equal to NaN.
func sameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

// close reports whether a and b agree to a relative 1e-12 (sums in a
// different order), NaN equal to NaN.
func closeTo(a, b float64) bool {
	if sameFloat(a, b) {
		return true
	}
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}
