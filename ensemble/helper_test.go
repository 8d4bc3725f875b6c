package ensemble

import (
	"bufio"
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

	"github.com/heatbath/heatbath/rundir"
)

// synthThermo is one entry of result.json "groups" plus its trajectory
// columns.
type synthThermo struct {
	Name       string
	Integrator string
	N          int
	Tau        float64 // 0 for groups without a temperature
	TkinMean   float64 // 0: no momenta (empty tkin cells)
}

// synthReplica is everything the helper writes for one replica.
type synthReplica struct {
	ID       string
	Index    int
	Group    string
	Settings map[string]string
	Seed     uint64

	// Status "" writes no result.json (an unfinished replica); NoDir writes
	// no directory at all.
	Status        string
	NoDir         bool
	NoReplicaJSON bool
	Error         string
	DivergedAt    int64 // result.json diverged_at

	Final, Best Metrics
	BestBy      string
	Thermo      []synthThermo

	// Traj holds the rows of trajectory.csv: step, train_loss, train_acc,
	// val_loss, val_acc, test_loss, test_acc, then per thermostat tau, tkin,
	// tkin_mean. NaN is written as an empty cell. Nil writes no file.
	Traj [][]float64

	Classes           int
	Labels            []int
	PFinal, PAveraged [][]float64 // nil: no predictions.json
}

// writeRun writes a run directory in the format of docs/formats.md:
// sweep.json listing the replicas in listOrder (nil: as given) and their
// directories created in writeOrder (nil: as given).
func writeRun(tb testing.TB, dir string, reps []synthReplica, listOrder, writeOrder []int) {
	tb.Helper()
	ident := func(n int) []int {
		o := make([]int, n)
		for i := range o {
			o[i] = i
		}
		return o
	}
	if listOrder == nil {
		listOrder = ident(len(reps))
	}
	if writeOrder == nil {
		writeOrder = ident(len(reps))
	}
	sw := rundir.Sweep{Version: 1, ID: "sweep-test", Name: "synthetic", SpecHash: "abc123", Created: json.RawMessage(`"2025-01-01T00:00:00Z"`)}
	for _, i := range listOrder {
		r := reps[i]
		sw.Replicas = append(sw.Replicas, rundir.SweepEntry{ID: r.ID, Index: r.Index, Group: r.Group, Settings: r.Settings, Seed: r.Seed})
	}
	mustWriteJSON(tb, filepath.Join(dir, "sweep.json"), sw)
	for _, i := range writeOrder {
		writeReplica(tb, dir, &reps[i])
	}
}

func mustWriteJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func appendCell(b []byte, x float64) []byte {
	if math.IsNaN(x) {
		return b
	}
	return strconv.AppendFloat(b, x, 'g', -1, 64)
}

func writeReplica(tb testing.TB, dir string, r *synthReplica) {
	tb.Helper()
	if r.NoDir {
		return
	}
	rdir := filepath.Join(dir, "replicas", r.ID)
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if !r.NoReplicaJSON {
		mustWriteJSON(tb, filepath.Join(rdir, "replica.json"), map[string]any{
			"id": r.ID, "index": r.Index, "group": r.Group, "settings": r.Settings, "seed": r.Seed,
			"config": map[string]any{"steps": 1000, "seed": r.Seed},
		})
	}
	if r.Status == "" {
		return
	}
	if r.Status == "failed" || r.Status == "cancelled" {
		// A replica that did not finish has failure.json, no result.json
		// (its other files, if any, are never read).
		code := "internal"
		if r.Status == "cancelled" {
			code = "cancelled"
		}
		if err := rundir.WriteFailure(rdir, &rundir.Failure{Replica: r.ID, Code: code, Message: "synthetic " + r.Status,
			Attempts: 2, Worker: "w1", Step: r.Final.Step}); err != nil {
			tb.Fatal(err)
		}
		return
	}
	var groups []map[string]any
	for _, th := range r.Thermo {
		g := map[string]any{"name": th.Name, "integrator": th.Integrator, "tensors": []string{th.Name + ".weight"},
			"n": th.N, "tau": th.Tau, "tkin": th.TkinMean, "tkin_mean": th.TkinMean, "xi": map[string]float64{}}
		groups = append(groups, g)
	}
	mustWriteJSON(tb, filepath.Join(rdir, "result.json"), map[string]any{
		"version": 1, "status": r.Status, "error": r.Error, "diverged_at": r.DivergedAt, "steps": r.Final.Step,
		"final": r.Final, "best": r.Best, "best_by": r.BestBy, "groups": groups,
		"layers":          []map[string]any{{"name": "layer0", "weight_norm": 1.0, "frac_small": 0.0}},
		"small_threshold": 0.01, "elapsed_seconds": 1.0, "steps_per_second": 1000.0,
	})
	if r.Traj != nil {
		f, err := os.Create(filepath.Join(rdir, "trajectory.csv"))
		if err != nil {
			tb.Fatal(err)
		}
		w := bufio.NewWriter(f)
		header := []string{"step", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"}
		for _, th := range r.Thermo {
			header = append(header, "tau:"+th.Name, "tkin:"+th.Name, "tkin_mean:"+th.Name)
		}
		header = append(header, "wnorm:layer0", "small:layer0")
		w.WriteString(strings.Join(header, ","))
		w.WriteByte('\n')
		var b []byte
		for _, row := range r.Traj {
			b = b[:0]
			b = strconv.AppendInt(b, int64(row[0]), 10)
			for _, x := range row[1:] {
				b = append(b, ',')
				b = appendCell(b, x)
			}
			b = append(b, ",1.5,0.01\n"...)
			w.Write(b)
		}
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
		f.Close()
	}
	if r.PFinal != nil {
		var b []byte
		b = fmt.Appendf(b, `{"classes":%d,"labels":[`, r.Classes)
		for i, y := range r.Labels {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(y), 10)
		}
		b = append(b, `],"k":10,"final":`...)
		b = appendRows(b, r.PFinal)
		b = append(b, `,"averaged":`...)
		b = appendRows(b, r.PAveraged)
		b = append(b, '}')
		if err := os.WriteFile(filepath.Join(rdir, "predictions.json"), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	// params.bin: the documented header and a few values.
	var pb []byte
	pb = append(pb, "HBPARAM1"...)
	pb = binary.LittleEndian.AppendUint64(pb, 2)
	pb = binary.LittleEndian.AppendUint64(pb, math.Float64bits(0.5))
	pb = binary.LittleEndian.AppendUint64(pb, math.Float64bits(-0.5))
	if err := os.WriteFile(filepath.Join(rdir, "params.bin"), pb, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func appendRows(b []byte, rows [][]float64) []byte {
	b = append(b, '[')
	for i, row := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for k, x := range row {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
		}
		b = append(b, ']')
	}
	return append(b, ']')
}

// synthGroup describes one group of a synthetic sweep.
type synthGroup struct {
	Method string
	Tau    string // "" for no tau setting
	Seeds  int
	// Final test accuracy of seed s: AccMean + AccSD·z_s.
	AccMean, AccSD float64
	// Stuck puts each chain's train/test loss around its own level (chains
	// that do not mix); otherwise all chains fluctuate around one level.
	Stuck bool
	// TkinErr is the relative error of tkin_mean with respect to τ.
	TkinErr float64
	// Statuses, if set, gives the status of each seed ("" incomplete).
	Statuses []string
}

// synthConfig describes a synthetic sweep.
type synthConfig struct {
	Seed       uint64
	Groups     []synthGroup
	Rows       int // trajectory rows (0: none written)
	Points     int // test points of predictions.json (0: none written)
	NoValSplit bool
}

// groupName joins the settings but the seed, sorted by key.
func groupName(settings map[string]string) string {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		if k != "seed" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + settings[k]
	}
	return strings.Join(parts, ",")
}

// synthRun generates the replicas of a synthetic sweep. Replica ids sort in
// generation order.
func synthRun(cfg synthConfig) []synthReplica {
	var reps []synthReplica
	synthEach(cfg, func(r *synthReplica) { reps = append(reps, *r) })
	return reps
}

// synthEach generates the replicas of a synthetic sweep one at a time.
func synthEach(cfg synthConfig, yield func(*synthReplica)) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	idx := 0
	for gi, sg := range cfg.Groups {
		settings := map[string]string{"method": sg.Method}
		if sg.Tau != "" {
			settings["tau"] = sg.Tau
		}
		group := groupName(settings)
		tau, _ := strconv.ParseFloat(sg.Tau, 64)
		// The test labels depend on the group only (same data seed).
		lrng := rand.New(rand.NewPCG(uint64(gi), 99))
		labels := make([]int, cfg.Points)
		for i := range labels {
			labels[i] = lrng.IntN(2)
		}
		for s := 0; s < sg.Seeds; s++ {
			st := map[string]string{"seed": strconv.Itoa(s)}
			for k, v := range settings {
				st[k] = v
			}
			r := synthReplica{
				ID: fmt.Sprintf("r%04d-%08x", idx, uint32(idx*2654435761)), Index: idx, Group: group,
				Settings: st, Seed: uint64(s), Status: "done", BestBy: "val_loss", Classes: 2, Labels: labels,
			}
			if cfg.NoValSplit {
				r.BestBy = "train_loss"
			}
			if sg.Statuses != nil {
				r.Status = sg.Statuses[s]
			}
			idx++
			if tau > 0 {
				r.Thermo = []synthThermo{
					{Name: "hidden", Integrator: "adaptive", N: 300, Tau: tau, TkinMean: tau * (1 + sg.TkinErr)},
					{Name: "output", Integrator: "langevin", N: 21, Tau: tau, TkinMean: tau * (1 - sg.TkinErr)},
				}
			} else {
				r.Thermo = []synthThermo{{Name: "all", Integrator: sg.Method, N: 321}}
			}
			acc := math.Min(1, math.Max(0, sg.AccMean+sg.AccSD*rng.NormFloat64()))
			level := 0.3
			if sg.Stuck {
				level += 0.2 * float64(s)
			}
			fillReplica(rng, &r, cfg, acc, level)
			yield(&r)
		}
	}
}

// fillReplica writes the trajectory, final/best metrics and predictions of
// a replica whose final test accuracy is acc and whose losses fluctuate
// around level in the second half.
func fillReplica(rng *rand.Rand, r *synthReplica, cfg synthConfig, acc, level float64) {
	rows := cfg.Rows
	if rows == 0 {
		rows = 2
	}
	const evalEvery = 100
	r.Final = Metrics{}
	bestVal := math.Inf(1)
	var traj [][]float64
	for i := 0; i < rows; i++ {
		x := float64(i) / float64(rows-1)
		step := float64(i * evalEvery)
		train := level + 1.0*math.Exp(-8*x) + 0.02*rng.NormFloat64()
		test := train + 0.05 + 0.02*rng.NormFloat64()
		tacc := acc * (1 - 0.5*math.Exp(-8*x))
		if i < rows-1 {
			tacc += 0.005 * rng.NormFloat64()
		}
		vloss, vacc := train+0.04, tacc
		if cfg.NoValSplit {
			vloss, vacc = math.NaN(), math.NaN()
		}
		row := []float64{step, train, tacc, vloss, vacc, test, tacc}
		for _, th := range r.Thermo {
			if th.TkinMean > 0 {
				row = append(row, th.Tau, th.TkinMean*(1+0.1*rng.NormFloat64()), th.TkinMean)
			} else {
				row = append(row, th.Tau, math.NaN(), math.NaN())
			}
		}
		traj = append(traj, row)
		m := Metrics{Step: int64(step), TrainLoss: train, TrainAcc: tacc, ValLoss: vloss, ValAcc: vacc, TestLoss: test, TestAcc: tacc}
		if cfg.NoValSplit {
			m.ValLoss, m.ValAcc = 0, 0
		}
		sel := m.ValLoss
		if cfg.NoValSplit {
			sel = m.TrainLoss
		}
		if sel < bestVal {
			bestVal, r.Best = sel, m
		}
		r.Final = m
	}
	if cfg.Rows > 0 {
		r.Traj = traj
	}
	if cfg.Points > 0 {
		r.PFinal = make([][]float64, cfg.Points)
		r.PAveraged = make([][]float64, cfg.Points)
		for i, y := range r.Labels {
			// Probability of the true class: calibrated around acc.
			q := math.Min(0.999, math.Max(0.001, acc+0.25*rng.NormFloat64()))
			qa := 0.5 + 0.8*(q-0.5)
			r.PFinal[i] = probRow(y, q)
			r.PAveraged[i] = probRow(y, qa)
		}
	}
}

func probRow(y int, q float64) []float64 {
	if y == 0 {
		return []float64{q, 1 - q}
	}
	return []float64{1 - q, q}
}

// mustLoad loads dir or fails the test.
func mustLoad(tb testing.TB, dir string) *Run {
	tb.Helper()
	run, err := LoadRun(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return run
}

// mustAnalyze analyzes run or fails the test.
func mustAnalyze(tb testing.TB, run *Run, opts Options) *Summary {
	tb.Helper()
	s, err := Analyze(run, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
