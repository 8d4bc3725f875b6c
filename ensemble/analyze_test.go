package ensemble

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// baseConfig is a small sweep with two baselines that do not mix, and an
// AdLaLa temperature ladder whose hottest rung lost some replicas.
func baseConfig() synthConfig {
	return synthConfig{Seed: 1, Rows: 60, Points: 80, Groups: []synthGroup{
		{Method: "adam", Seeds: 6, AccMean: 0.88, AccSD: 0.04, Stuck: true},
		{Method: "adlala", Tau: "0.0001", Seeds: 6, AccMean: 0.92, AccSD: 0.005, TkinErr: 0.05},
		{Method: "adlala", Tau: "0.001", Seeds: 6, AccMean: 0.89, AccSD: 0.005, TkinErr: 0.1,
			Statuses: []string{"done", "done", "diverged", "", "done", "failed"}},
		{Method: "adlala", Tau: "1e-05", Seeds: 6, AccMean: 0.86, AccSD: 0.005, TkinErr: 0.02},
		{Method: "sgd", Seeds: 6, AccMean: 0.85, AccSD: 0.05, Stuck: true},
	}}
}

// summaryJSON encodes s with the run directory replaced by "RUN".
func summaryJSON(t *testing.T, s *Summary, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte(dir), []byte("RUN"))
}

func TestReorderInvariance(t *testing.T) {
	reps := synthRun(baseConfig())
	dirA, dirB := t.TempDir(), t.TempDir()
	writeRun(t, dirA, reps, nil, nil)
	rng := rand.New(rand.NewPCG(3, 3))
	writeRun(t, dirB, reps, rng.Perm(len(reps)), rng.Perm(len(reps)))

	opts := Options{Seed: 9, Resamples: 500, Curves: true}
	runA := mustLoad(t, dirA)
	ja := summaryJSON(t, mustAnalyze(t, runA, opts), dirA)
	jb := summaryJSON(t, mustAnalyze(t, mustLoad(t, dirB), opts), dirB)
	if !bytes.Equal(ja, jb) {
		t.Errorf("summary depends on the order of sweep.json and of the directories")
	}

	// Shuffle the loaded replicas in memory too.
	rng.Shuffle(len(runA.Replicas), func(i, j int) { runA.Replicas[i], runA.Replicas[j] = runA.Replicas[j], runA.Replicas[i] })
	rng.Shuffle(len(runA.Groups), func(i, j int) { runA.Groups[i], runA.Groups[j] = runA.Groups[j], runA.Groups[i] })
	if jc := summaryJSON(t, mustAnalyze(t, runA, opts), dirA); !bytes.Equal(ja, jc) {
		t.Errorf("summary depends on the order of Run.Replicas")
	}

	// A different bootstrap seed changes the intervals (the check above
	// would pass trivially if nothing were seeded).
	if jd := summaryJSON(t, mustAnalyze(t, runA, Options{Seed: 10, Resamples: 500, Curves: true}), dirA); bytes.Equal(ja, jd) {
		t.Errorf("summary does not depend on Options.Seed")
	}
}

func TestStatusesExcluded(t *testing.T) {
	cfg := synthConfig{Seed: 2, Rows: 30, Points: 40, Groups: []synthGroup{{
		Method: "adlala", Tau: "0.0001", Seeds: 8, AccMean: 0.9, AccSD: 0.01, TkinErr: 0.05,
		Statuses: []string{"done", "failed", "done", "diverged", "cancelled", "", "done", ""},
	}}}
	reps := synthRun(cfg)
	reps[7].NoDir = true // listed in sweep.json, never started
	var doneAcc []float64
	for i := range reps {
		r := &reps[i]
		if r.Status == "done" {
			doneAcc = append(doneAcc, r.Final.TestAcc)
			continue
		}
		// Poison everything a non-done replica wrote: if any of it is
		// averaged in, the checks below fail.
		r.Final.TestAcc, r.Best.TestAcc, r.Best.ValLoss = 0.01, 0.01, 1e-6
		for _, row := range r.Traj {
			row[1], row[5], row[6] = 50, 50, 0.01
		}
		for k := range r.PAveraged {
			r.PAveraged[k] = probRow(1-r.Labels[k], 0.99)
			r.PFinal[k] = probRow(1-r.Labels[k], 0.99)
		}
		for k := range r.Thermo {
			r.Thermo[k].TkinMean = 100
		}
	}
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	run := mustLoad(t, dir)
	s := mustAnalyze(t, run, Options{Resamples: 100})

	want := StatusCounts{Total: 8, Done: 3, Diverged: 1, Failed: 1, Cancelled: 1, Incomplete: 2}
	if s.Status != want || s.Groups[0].Status != want {
		t.Errorf("counts %+v / %+v, want %+v", s.Status, s.Groups[0].Status, want)
	}
	checkStats(t, s.Groups[0].FinalTestAcc, Describe(doneAcc), 1e-12)
	if b := s.Best; b == nil || b.AtBest.TestAcc == 0.01 {
		t.Errorf("best replica is a failed one: %+v", b)
	}
	if c := run.Groups[0].Curves.Column("test_loss"); c.N[0] != 3 || c.Mean[len(c.Mean)-1] > 10 {
		t.Errorf("curves include non-done replicas: n %d, last mean %v", c.N[0], c.Mean[len(c.Mean)-1])
	}
	ma := s.ModelAveraging[0]
	if ma.Chains != 3 || ma.Ensemble.Accuracy < 0.5 {
		t.Errorf("model average over %d chains, accuracy %v", ma.Chains, ma.Ensemble.Accuracy)
	}
	for _, c := range s.Convergence {
		if c.Chains != 3 {
			t.Errorf("%s diagnostics over %d chains, want 3", c.Metric, c.Chains)
		}
	}
	for _, e := range s.Equipartition {
		if e.Replicas != 3 || e.RelErr.Max > 1 {
			t.Errorf("equipartition %s over %d replicas, max error %v", e.Name, e.Replicas, e.RelErr.Max)
		}
	}
	if pt := s.Ladders[0].Points[0]; pt.Status != want || pt.TestAcc.N != 3 {
		t.Errorf("ladder point %+v", pt)
	}
}

func TestBestChosenByValidation(t *testing.T) {
	cfg := synthConfig{Seed: 4, Rows: 20, Points: 30, Groups: []synthGroup{
		{Method: "adlala", Tau: "0.0001", Seeds: 2, AccMean: 0.8, AccSD: 0.01},
		{Method: "sgd", Seeds: 2, AccMean: 0.8, AccSD: 0.01},
	}}
	reps := synthRun(cfg)
	// Group adlala: lowest validation loss, worst test accuracy. Group sgd:
	// the reverse. Selection on test would pick sgd.
	set := func(r *synthReplica, val, acc float64) {
		r.Best.ValLoss, r.Best.TestAcc, r.Final.TestAcc = val, acc, acc
	}
	set(&reps[0], 0.10, 0.80)
	set(&reps[1], 0.12, 0.81)
	set(&reps[2], 0.20, 0.99)
	set(&reps[3], 0.22, 0.98)
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Resamples: 100})

	if s.ChosenBy != "val_loss" {
		t.Errorf("chosen by %q", s.ChosenBy)
	}
	b := s.Best
	if b.ID != reps[0].ID || b.Value != 0.10 || b.AtBest.TestAcc != 0.80 {
		t.Errorf("best = %s (val %v, test %v), want %s chosen on validation", b.ID, b.Value, b.AtBest.TestAcc, reps[0].ID)
	}
	if want := filepath.Join(dir, "replicas", reps[0].ID, "params.bin"); b.ParamsPath != want {
		t.Errorf("params path %q, want %q", b.ParamsPath, want)
	}
	if s.BestGroup.Group != reps[0].Group {
		t.Errorf("best group %s, want %s", s.BestGroup.Group, reps[0].Group)
	}
	for _, ma := range s.ModelAveraging {
		if ma.Group == reps[2].Group && ma.BestReplica != reps[2].ID {
			t.Errorf("group best %s, want %s (lower validation loss)", ma.BestReplica, reps[2].ID)
		}
	}

	// Without a validation split the training loss decides, and says so.
	cfg.NoValSplit = true
	reps = synthRun(cfg)
	reps[1].Best.TrainLoss = 1e-3
	dir = t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	s = mustAnalyze(t, mustLoad(t, dir), Options{Resamples: 100})
	if s.ChosenBy != "train_loss" || s.Best.ChosenBy != "train_loss" || s.Best.ID != reps[1].ID {
		t.Errorf("without validation: chosen by %q, best %s; want train_loss, %s", s.ChosenBy, s.Best.ID, reps[1].ID)
	}
	if g := s.Ladders[0].Goldilocks; g.ChosenBy != "train_loss" {
		t.Errorf("ladder without validation chosen by %q, want train_loss like every other selection", g.ChosenBy)
	}
	for _, m := range s.Methods {
		if m.ChosenBy != "train_loss" || m.Representative == nil || m.Representative.ChosenBy != "train_loss" || m.Best == nil || m.Best.ChosenBy != "train_loss" {
			t.Errorf("method %s without validation: %+v", m.Method, m)
		}
	}
}

func TestLadder(t *testing.T) {
	cfg := synthConfig{Seed: 5, Rows: 10, Groups: []synthGroup{
		{Method: "adlala", Tau: "0.01", Seeds: 6, AccMean: 0.60, AccSD: 0.01},
		{Method: "adlala", Tau: "1e-05", Seeds: 6, AccMean: 0.80, AccSD: 0.01},
		{Method: "adlala", Tau: "0.0001", Seeds: 6, AccMean: 0.92, AccSD: 0.01},
		{Method: "adlala", Tau: "0.001", Seeds: 6, AccMean: 0.85, AccSD: 0.01},
		{Method: "lol", Tau: "0.0001", Seeds: 6, AccMean: 0.900, AccSD: 0.02},
		{Method: "lol", Tau: "0.001", Seeds: 6, AccMean: 0.901, AccSD: 0.02},
		{Method: "sgd", Seeds: 3, AccMean: 0.8, AccSD: 0.01},
	}}
	// The Goldilocks τ is chosen on validation: give each group's best
	// validation loss the mean 1 − AccMean, so the validation optimum is
	// the τ of highest accuracy, with seed noise of the accuracy's size.
	reps := synthRun(cfg)
	rng := rand.New(rand.NewPCG(5, 5))
	k := 0
	for _, g := range cfg.Groups {
		for range g.Seeds {
			reps[k].Best.ValLoss = 1 - g.AccMean + g.AccSD*rng.NormFloat64()
			k++
		}
	}
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Seed: 1})
	if len(s.Ladders) != 2 {
		t.Fatalf("%d ladders, want 2 (adlala, lol; sgd has no tau)", len(s.Ladders))
	}
	l := s.Ladders[0]
	var taus []float64
	for _, p := range l.Points {
		taus = append(taus, p.Tau)
	}
	if want := []float64{1e-5, 1e-4, 1e-3, 1e-2}; l.Method != "adlala" || !equalFloats(taus, want) {
		t.Errorf("%s ladder τ = %v, want %v in numeric order", l.Method, taus, want)
	}
	if g := l.Goldilocks; g.Tau != 1e-4 || g.Lo != 1e-4 || g.Hi != 1e-4 || g.PBest < 0.99 || g.ChosenBy != "val_loss" {
		t.Errorf("clear optimum: Goldilocks %+v", g)
	}
	// Two rungs within noise: the interval spans both.
	if g := s.Ladders[1].Goldilocks; g.Lo != 1e-4 || g.Hi != 1e-3 || g.PBest > 0.95 {
		t.Errorf("tie: Goldilocks %+v, want interval [1e-4, 1e-3]", g)
	}
	var pb float64
	for _, p := range s.Ladders[1].Points {
		pb += p.PBest
	}
	if math.Abs(pb-1) > 1e-12 {
		t.Errorf("P(best) sums to %v", pb)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDiagnosticsFromRun(t *testing.T) {
	cfg := synthConfig{Seed: 6, Rows: 200, Points: 20, Groups: []synthGroup{
		{Method: "adlala", Tau: "0.0001", Seeds: 4, AccMean: 0.9, AccSD: 0.01, TkinErr: 0.05},
		{Method: "sgd", Seeds: 4, AccMean: 0.9, AccSD: 0.01, Stuck: true},
	}}
	dir := t.TempDir()
	writeRun(t, dir, synthRun(cfg), nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Resamples: 100})
	for _, c := range s.Convergence {
		mixing := strings.Contains(c.Group, "adlala")
		t.Logf("%s %s: split %.3f rank %.3f ess %.0f (%d×%d)", c.Group, c.Metric, c.SplitRHat, c.RankRHat, c.BulkESS, c.Chains, c.Draws)
		if c.Draws != 100 || c.Chains != 4 {
			t.Errorf("%s: %d chains × %d draws, want 4 × 100 (second half of 200)", c.Group, c.Chains, c.Draws)
		}
		if mixing && !(c.RankRHat < 1.1 && c.SplitRHat < 1.1) {
			t.Errorf("%s %s: R̂ %v / %v for chains around one level", c.Group, c.Metric, c.SplitRHat, c.RankRHat)
		}
		if !mixing && !(c.RankRHat > 1.5 && c.SplitRHat > 1.5) {
			t.Errorf("%s %s: R̂ %v / %v for chains stuck apart", c.Group, c.Metric, c.SplitRHat, c.RankRHat)
		}
	}
	// tkin_mean = τ(1 ± 0.05) for the hidden and output groups.
	if len(s.Equipartition) != 2 {
		t.Fatalf("%d equipartition rows, want 2 (sgd has no temperature)", len(s.Equipartition))
	}
	for _, e := range s.Equipartition {
		wantRatio := map[string]float64{"hidden": 1.05, "output": 0.95}[e.Name]
		if math.Abs(e.RelErr.Mean-0.05) > 1e-9 || math.Abs(e.Ratio.Mean-wantRatio) > 1e-9 || math.Abs(e.RelErrScheduled.Mean-0.05) > 1e-9 {
			t.Errorf("%s: rel err %v ratio %v scheduled %v", e.Name, e.RelErr.Mean, e.Ratio.Mean, e.RelErrScheduled.Mean)
		}
	}
}

func TestTraceThinningAndReach(t *testing.T) {
	cfg := synthConfig{Seed: 7, Rows: 2000, Groups: []synthGroup{{Method: "sgd", Seeds: 1, AccMean: 0.9, AccSD: 0}}}
	reps := synthRun(cfg)
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	tr := mustLoad(t, dir).Replicas[0].Trace
	// Stride doubles at 512 held points: rows 0..511 → stride 2 at row
	// 511, → 4 at row 1022; then 256 + ⌈(2000−1024)/4⌉ = 500 points.
	if tr.Rows != 2000 || tr.Stride != 4 || len(tr.Steps) != 500 {
		t.Errorf("rows %d stride %d points %d, want 2000, 4, 500", tr.Rows, tr.Stride, len(tr.Steps))
	}
	for i, s := range tr.Steps {
		if s != int64(i*tr.Stride*100) || tr.TrainLoss[i] != reps[0].Traj[i*tr.Stride][1] {
			t.Fatalf("point %d: step %d, want %d", i, s, i*tr.Stride*100)
		}
	}
	for _, thr := range []float64{0.3, 0.5, 0.8, 0.85, 0.9, 0.95} {
		want, wantOK := int64(0), false
		for _, row := range reps[0].Traj {
			if row[6] >= thr {
				want, wantOK = int64(row[0]), true
				break
			}
		}
		if got, ok := tr.FirstReach(thr); got != want || ok != wantOK {
			t.Errorf("FirstReach(%v) = %d %v, want %d %v", thr, got, ok, want, wantOK)
		}
	}
}

func TestModelAveraging(t *testing.T) {
	cfg := synthConfig{Seed: 8, Rows: 5, Points: 200, Groups: []synthGroup{{Method: "adlala", Tau: "0.0001", Seeds: 5, AccMean: 0.8, AccSD: 0.05}}}
	reps := synthRun(cfg)
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Resamples: 100})
	// The posterior predictive by brute force: all chains in memory.
	avg := make([][]float64, cfg.Points)
	for i := range avg {
		avg[i] = make([]float64, 2)
		for _, r := range reps {
			avg[i][0] += r.PAveraged[i][0] / float64(len(reps))
			avg[i][1] += r.PAveraged[i][1] / float64(len(reps))
		}
	}
	want := ScorePredictions(avg, reps[0].Labels)
	ma := s.ModelAveraging[0]
	if ma.Chains != 5 || math.Abs(ma.Ensemble.Accuracy-want.Accuracy) > 1e-12 ||
		math.Abs(ma.Ensemble.NLL-want.NLL) > 1e-12 || math.Abs(ma.Ensemble.ECE-want.ECE) > 1e-12 {
		t.Errorf("ensemble %+v, want %+v", ma.Ensemble, want)
	}
	var best *synthReplica
	for i := range reps {
		if best == nil || reps[i].Best.ValLoss < best.Best.ValLoss {
			best = &reps[i]
		}
	}
	wb := ScorePredictions(best.PFinal, best.Labels)
	if ma.BestReplica != best.ID || math.Abs(ma.Best.NLL-wb.NLL) > 1e-12 {
		t.Errorf("best single %s %+v, want %s %+v", ma.BestReplica, ma.Best, best.ID, wb)
	}
	var meanAcc float64
	for _, r := range reps {
		meanAcc += ScorePredictions(r.PFinal, r.Labels).Accuracy / float64(len(reps))
	}
	if math.Abs(ma.ChainFinal.Accuracy-meanAcc) > 1e-12 {
		t.Errorf("mean chain accuracy %v, want %v", ma.ChainFinal.Accuracy, meanAcc)
	}
}

func TestComparisonsAndSpread(t *testing.T) {
	cfg := synthConfig{Seed: 11, Rows: 10, Groups: []synthGroup{
		{Method: "adam", Seeds: 10, AccMean: 0.88, AccSD: 0.04},
		{Method: "adlala", Tau: "0.0001", Seeds: 10, AccMean: 0.92, AccSD: 0.005},
		{Method: "sgd", Seeds: 10, AccMean: 0.85, AccSD: 0.05},
	}}
	dir := t.TempDir()
	writeRun(t, dir, synthRun(cfg), nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Seed: 3})
	// Three methods → three representatives → three pairs.
	if len(s.Comparisons) != 3 || s.Spread == nil || len(s.Spread.Groups) != 3 {
		t.Fatalf("%d comparisons, spread %+v", len(s.Comparisons), s.Spread)
	}
	for _, c := range s.Comparisons {
		if !(c.DiffLo <= c.Diff && c.Diff <= c.DiffHi) || c.Levene.DF1 != 1 || c.Levene.DF2 != c.NA+c.NB-2 {
			t.Errorf("%s vs %s: %+v", c.A, c.B, c)
		}
	}
	// AdLaLa (sd 0.005) against SGD and Adam (sd 0.04–0.05) over 10 seeds.
	if !(s.Spread.Levene.P < 0.05) {
		t.Errorf("spread test p = %v, want < 0.05", s.Spread.Levene.P)
	}

	// Explicit pairs; an unknown group is an error.
	a, b := s.Groups[0].Group, s.Groups[1].Group
	s2 := mustAnalyze(t, mustLoad(t, dir), Options{Pairs: [][2]string{{a, b}}, Resamples: 100})
	if len(s2.Comparisons) != 1 || s2.Comparisons[0].A != a {
		t.Errorf("explicit pairs: %+v", s2.Comparisons)
	}
	if _, err := Analyze(mustLoad(t, dir), Options{Pairs: [][2]string{{a, "nope"}}}); err == nil {
		t.Errorf("unknown group in Pairs: no error")
	}
	if _, err := Analyze(mustLoad(t, dir), Options{Resamples: -1}); err == nil {
		t.Errorf("negative resamples: no error")
	}
}

// TestMalformed checks that a damaged sweep.json, without which there is
// no run to report, is an error naming the problem (damaged replica files
// are skipped instead: TestDamagedReplicaSkipped).
func TestMalformed(t *testing.T) {
	cfg := synthConfig{Seed: 9, Rows: 5, Points: 4, Groups: []synthGroup{{Method: "sgd", Seeds: 2, AccMean: 0.9, AccSD: 0.01}}}
	reps := synthRun(cfg)
	cases := []struct {
		name, file, content, want string
	}{
		{"sweep", "sweep.json", `{"replicas": [`, "sweep.json"},
		{"duplicate id", "sweep.json", `{"version":1,"id":"s","replicas":[{"id":"a","group":"g"},{"id":"a","group":"g"}]}`, `duplicate replica id "a"`},
		{"path in id", "sweep.json", `{"version":1,"id":"s","replicas":[{"id":"../x","group":"g"}]}`, "invalid id"},
		{"no group", "sweep.json", `{"version":1,"id":"s","replicas":[{"id":"a"}]}`, `replica "a" has no group`},
		{"version", "sweep.json", `{"version":99,"id":"s","replicas":[]}`, "unsupported version 99"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeRun(t, dir, reps, nil, nil)
			if err := os.WriteFile(filepath.Join(dir, c.file), []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadRun(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestLoadWarnings(t *testing.T) {
	cfg := synthConfig{Seed: 10, Rows: 5, Points: 4, Groups: []synthGroup{{Method: "sgd", Seeds: 2, AccMean: 0.9, AccSD: 0.01}}}
	reps := synthRun(cfg)
	reps[0].Traj = nil
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	if err := os.MkdirAll(filepath.Join(dir, "replicas", "stray"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := mustLoad(t, dir)
	joined := strings.Join(run.Warnings, "\n")
	for _, want := range []string{reps[0].ID + ": done without trajectory.csv", "replicas/stray is not listed"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %q", joined, want)
		}
	}
	if run.Replicas[0].Trace != nil || run.Replicas[1].Trace == nil {
		t.Errorf("traces: %v %v", run.Replicas[0].Trace, run.Replicas[1].Trace)
	}
}

func TestWriters(t *testing.T) {
	cfg := baseConfig()
	cfg.Groups = append(cfg.Groups, synthGroup{Method: "sgld", Seeds: 1, AccMean: 0.7})
	dir := t.TempDir()
	writeRun(t, dir, synthRun(cfg), nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Resamples: 200, Curves: true})

	var buf bytes.Buffer
	if err := WriteJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version int `json:"version"`
		Groups  []struct {
			Group        string             `json:"group"`
			FinalTestAcc map[string]any     `json:"final_test_acc"`
			Status       map[string]float64 `json:"status"`
		} `json:"groups"`
		Curves []map[string]any `json:"curves"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	if doc.Version != SummaryVersion || len(doc.Groups) != 6 || len(doc.Curves) != 6 {
		t.Errorf("version %d, %d groups, %d curves", doc.Version, len(doc.Groups), len(doc.Curves))
	}
	for _, g := range doc.Groups {
		if g.Group == "method=sgld" {
			if sd, ok := g.FinalTestAcc["sd"]; !ok || sd != nil {
				t.Errorf("sd of one replica = %v, want null", sd)
			}
			if g.FinalTestAcc["mean"] == nil {
				t.Errorf("mean of one replica is null")
			}
		}
	}
	// json.Marshal goes through the same NaN-safe encoding.
	if _, err := json.Marshal(s); err != nil {
		t.Errorf("json.Marshal(summary): %v", err)
	}

	buf.Reset()
	if err := WriteMarkdown(&buf, s); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{"# Ensemble summary: synthetic", "## Status", "## Groups", "## Steps to reach", "## Comparisons",
		"## Best parameterization", "### Each method", "## Temperature ladders", "Goldilocks τ = ", "## Convergence diagnostics",
		"## Equipartition", "## Model averaging", "| method=sgld | 1 | 0."} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}

	buf.Reset()
	if err := WriteTable(&buf, s); err != nil {
		t.Fatal(err)
	}
	tab := buf.String()
	for _, want := range []string{"GROUP", "DONE/TOTAL", "method=adam", "adlala,tau=0.001  ", "3/6", "best replica"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	t.Logf("\n%s", tab)
}

// TestMethodSelection checks Summary.Methods: each method's representative
// group and best replica are chosen on validation when validation and test
// disagree, agree with a choice by hand from the group statistics, and are
// the groups the comparisons and the spread test use.
func TestMethodSelection(t *testing.T) {
	cfg := synthConfig{Seed: 12, Rows: 10, Points: 10, Groups: []synthGroup{
		{Method: "adlala", Tau: "0.0001", Seeds: 3, AccMean: 0.9, AccSD: 0.01},
		{Method: "adlala", Tau: "0.001", Seeds: 3, AccMean: 0.9, AccSD: 0.01},
		{Method: "sgd", Seeds: 3, AccMean: 0.8, AccSD: 0.01},
		{Method: "sgld", Seeds: 2, AccMean: 0.8, AccSD: 0.01, Statuses: []string{"failed", "diverged"}},
	}}
	reps := synthRun(cfg)
	// adlala τ=1e-3 has the lower mean validation loss and the worse test
	// accuracies; within each method the replica of lowest validation loss
	// does not have the best test accuracy. A choice on test would pick
	// other groups and replicas.
	set := func(r *synthReplica, val, acc float64) {
		r.Best.ValLoss, r.Best.TestAcc, r.Final.TestAcc = val, acc, acc
	}
	set(&reps[0], 0.30, 0.95)
	set(&reps[1], 0.32, 0.96)
	set(&reps[2], 0.20, 0.90) // adlala's best replica by validation: the group that loses on average, not the best test accuracy
	set(&reps[3], 0.25, 0.80)
	set(&reps[4], 0.26, 0.81)
	set(&reps[5], 0.27, 0.82)
	set(&reps[6], 0.40, 0.70)
	set(&reps[7], 0.45, 0.90)
	set(&reps[8], 0.50, 0.91)
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Resamples: 100})

	if len(s.Methods) != 3 {
		t.Fatalf("%d methods, want 3 (adlala, sgd, sgld): %+v", len(s.Methods), s.Methods)
	}
	want := []struct {
		method, rep, best string
	}{
		{"adlala", reps[3].Group, reps[2].ID},
		{"sgd", reps[6].Group, reps[6].ID},
		{"sgld", "", ""},
	}
	for i, w := range want {
		m := s.Methods[i]
		if m.Method != w.method || m.ChosenBy != "val_loss" {
			t.Errorf("methods[%d] = %s chosen by %s, want %s by val_loss", i, m.Method, m.ChosenBy, w.method)
			continue
		}
		if w.rep == "" {
			if m.Representative != nil || m.Best != nil || len(m.Groups) != 0 {
				t.Errorf("%s has no done replica, got representative %+v, best %+v, groups %v", m.Method, m.Representative, m.Best, m.Groups)
			}
			continue
		}
		if m.Representative == nil || m.Representative.Group != w.rep || m.Representative.ChosenBy != "val_loss" {
			t.Errorf("%s: representative %+v, want %s (lowest mean validation loss, not best test accuracy)", m.Method, m.Representative, w.rep)
		}
		if m.Best == nil || m.Best.ID != w.best || m.Best.Method != w.method || m.Best.Value != m.Best.AtBest.ValLoss {
			t.Errorf("%s: best %+v, want %s (lowest validation loss, not best test accuracy)", m.Method, m.Best, w.best)
		}
	}

	// By hand from the group statistics: the lowest mean selection.
	for _, m := range s.Methods {
		var hand string
		bestMean := math.Inf(1)
		for _, g := range s.Groups {
			if g.Method == m.Method && g.Selection.N > 0 && g.Selection.Mean < bestMean {
				hand, bestMean = g.Group, g.Selection.Mean
			}
		}
		got := ""
		if m.Representative != nil {
			got = m.Representative.Group
			checkStats(t, m.Representative.Selection, groupByName(s, got).Selection, 0)
		}
		if got != hand {
			t.Errorf("%s: representative %q, by hand %q", m.Method, got, hand)
		}
	}
	// The overall best is the best of the methods' bests.
	if s.Best == nil || s.Best.ID != reps[2].ID {
		t.Errorf("overall best %+v, want %s", s.Best, reps[2].ID)
	}
	// The overall choices are among the methods' choices, on any run.
	for _, sum := range []*Summary{s, mustAnalyze(t, mustLoad(t, writeBase(t)), Options{Resamples: 100})} {
		inBest, inRep := false, false
		for _, m := range sum.Methods {
			inBest = inBest || (m.Best != nil && sum.Best != nil && m.Best.ID == sum.Best.ID)
			inRep = inRep || (m.Representative != nil && sum.BestGroup != nil && m.Representative.Group == sum.BestGroup.Group)
		}
		if !inBest || !inRep {
			t.Errorf("overall best %s / best group %s are not among the methods' choices %+v", sum.Best.ID, sum.BestGroup.Group, sum.Methods)
		}
	}
	// The comparisons and the spread test use the representatives.
	if s.Spread == nil || !slices.Equal(s.Spread.Groups, []string{reps[3].Group, reps[6].Group}) {
		t.Errorf("spread groups %+v, want the representatives", s.Spread)
	}
	if len(s.Comparisons) != 1 || s.Comparisons[0].A != reps[3].Group || s.Comparisons[0].B != reps[6].Group {
		t.Errorf("comparisons %+v, want representatives %s vs %s", s.Comparisons, reps[3].Group, reps[6].Group)
	}

	// In summary.json.
	var buf bytes.Buffer
	if err := WriteJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Methods []struct {
			Method         string   `json:"method"`
			ChosenBy       string   `json:"chosen_by"`
			Groups         []string `json:"groups"`
			Representative *struct {
				Group string `json:"group"`
			} `json:"representative"`
			Best *struct {
				ID    string  `json:"id"`
				Value float64 `json:"value"`
			} `json:"best"`
		} `json:"methods"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Methods) != 3 || doc.Methods[0].Representative.Group != reps[3].Group || doc.Methods[0].Best.ID != reps[2].ID ||
		doc.Methods[0].Best.Value != 0.20 || doc.Methods[0].ChosenBy != "val_loss" || len(doc.Methods[0].Groups) != 2 ||
		doc.Methods[2].Representative != nil || doc.Methods[2].Best != nil || doc.Methods[2].Groups == nil {
		t.Errorf("summary.json methods: %s", buf.String()[strings.Index(buf.String(), `"methods"`):][:400])
	}
}

// TestGoldilocksByValidation checks that a ladder's Goldilocks τ is the τ
// of lowest mean validation loss when the test accuracy prefers another
// τ, and that it is the group the method's representative would be.
func TestGoldilocksByValidation(t *testing.T) {
	cfg := synthConfig{Seed: 13, Rows: 10, Groups: []synthGroup{
		{Method: "lol", Tau: "1e-05", Seeds: 4, AccMean: 0.95, AccSD: 0.005},
		{Method: "lol", Tau: "0.0001", Seeds: 4, AccMean: 0.80, AccSD: 0.005},
		{Method: "lol", Tau: "0.001", Seeds: 4, AccMean: 0.70, AccSD: 0.005},
	}}
	reps := synthRun(cfg)
	// Validation loss: lowest at τ = 1e-3, where the test accuracy is worst.
	for i := range reps {
		base := map[string]float64{"1e-05": 0.5, "0.0001": 0.4, "0.001": 0.2}[reps[i].Settings["tau"]]
		reps[i].Best.ValLoss = base + 0.001*float64(i%4)
		reps[i].Final.ValAcc = reps[i].Final.TestAcc // the old metric (final.val_acc) would follow test
	}
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Resamples: 300, Seed: 2})
	if len(s.Ladders) != 1 || s.Ladders[0].Goldilocks == nil {
		t.Fatalf("ladders %+v", s.Ladders)
	}
	l := s.Ladders[0]
	g := l.Goldilocks
	if g.Tau != 1e-3 || g.ChosenBy != "val_loss" || g.Lo != 1e-3 || g.Hi != 1e-3 || g.PBest != 1 {
		t.Errorf("Goldilocks %+v, want τ = 1e-3 chosen by val_loss with certainty", g)
	}
	if math.Abs(g.Value-0.2015) > 1e-12 {
		t.Errorf("Goldilocks value %v, want the mean validation loss 0.2015", g.Value)
	}
	for _, p := range l.Points {
		checkStats(t, p.Metric, groupByName(s, p.Group).Selection, 0)
	}
	if rep := s.Methods[0].Representative; rep == nil || rep.Group != g.Group {
		t.Errorf("Goldilocks group %s, method representative %+v: one policy should give one group", g.Group, rep)
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Goldilocks τ = 0.001 (lowest mean best.val_loss") {
		t.Errorf("summary.md does not say which metric chose the Goldilocks τ:\n%s", buf.String())
	}
}

// writeBase writes baseConfig into a temporary directory.
func writeBase(t *testing.T) string {
	dir := t.TempDir()
	writeRun(t, dir, synthRun(baseConfig()), nil, nil)
	return dir
}

// groupByName returns the named group of s, or an empty one.
func groupByName(s *Summary, name string) GroupSummary {
	for _, g := range s.Groups {
		if g.Group == name {
			return g
		}
	}
	return GroupSummary{}
}
