package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
)

// tuneSpecText is a tuning sweep with every kind of axis tune narrows:
// a learning-rate list, a lr × momentum grid, a group hyperparameter, the
// temperature ladder and crossed schedules, and a tie.
const tuneSpecText = `name: tune-test
data: {kind: spiral, turns: 3, train: 50, validation: 20, test: 20}
steps: 100
eval_every: 50
batch: 10
seeds: 5
methods:
  - name: adam
    lr: [0.001, 0.01, 0.03]
  - name: momentum
    lr: [0.01, 0.05]
    momentum: [0.5, 0.9]
  - name: adlala
    h: [0.1, 0.25]
    hidden: {tau: [1e-5, 1e-4]}
  - name: lol
    h: 0.25
  - name: sgd
    lr: [0.1, 0.05]
temperatures: [1e-5, 1e-4]
schedules:
  - {kind: constant}
  - {kind: linear, from: 1, to: 0, start: 50}
`

// tuneTargets are the groups given the lowest mean validation loss (sgd's
// two groups tie; the first by name, lr=0.05, is the one to choose).
var tuneTargets = map[string]bool{
	"method=adam,lr=0.01":                                     true,
	"method=momentum,lr=0.05,momentum=0.5":                    true,
	"method=adlala,h=0.25,hidden.tau=1e-05,schedule=constant": true,
	"method=lol,schedule=linear(1>0@50-end),tau=0.0001":       true,
	"method=sgd,lr=0.05":                                      true,
	"method=sgd,lr=0.1":                                       true,
}

// writeTuneRun writes a run directory of tuneSpecText whose replicas have
// best.val_loss 0.2 + 0.01·seed in the target groups and 0.3 + 0.01·seed
// elsewhere, except that seed 1 of every other group has the lowest single
// value (0.1): the choice is by mean, not by the best replica. With
// invertTest the test metrics make every non-target group the best on
// test. status, if not nil, gives a replica's status by group and seed.
func writeTuneRun(t *testing.T, invertTest bool, status func(group string, seed uint64) string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := spec.Parse(filepath.Join(dir, rundir.FileSpec), []byte(tuneSpecText))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rundir.FileSpec), f.Canonical(), 0o644); err != nil {
		t.Fatal(err)
	}
	reps, err := f.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	sw := &rundir.Sweep{Version: 1, ID: f.SweepID(), Name: f.Spec.Name, SpecHash: f.Hash(), Created: json.RawMessage(`"2026-11-30T12:00:00Z"`)}
	for _, r := range reps {
		sw.Replicas = append(sw.Replicas, rundir.SweepEntry{ID: r.ID, Index: r.Index, Group: r.Group, Settings: r.Settings, Seed: r.Seed})
		rdir := filepath.Join(dir, rundir.DirReplicas, r.ID)
		if err := os.MkdirAll(rdir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := rundir.WriteJSON(filepath.Join(rdir, rundir.FileReplica), r.ReplicaInfo); err != nil {
			t.Fatal(err)
		}
		st := "done"
		if status != nil {
			st = status(r.Group, r.Seed)
		}
		if st == "" {
			continue
		}
		val := 0.3 + 0.01*float64(r.Seed)
		if tuneTargets[r.Group] {
			val = 0.2 + 0.01*float64(r.Seed)
		} else if r.Seed == 1 {
			val = 0.1
		}
		test := val
		if invertTest {
			test = 1 - val
		}
		F := rundir.Finite
		m := rundir.Metrics{Step: 100, TrainLoss: F(val), TrainAcc: F(0.8), ValLoss: F(val), ValAcc: F(1 - val), TestLoss: F(test), TestAcc: F(1 - test)}
		res := &rundir.Result{Version: 1, Status: st, Steps: 100, Final: m, Best: m, BestBy: "val_loss", SmallThreshold: 0.01}
		if st == "diverged" {
			res.DivergedAt = 60
		}
		if err := rundir.WriteJSON(filepath.Join(rdir, rundir.FileResult), res); err != nil {
			t.Fatal(err)
		}
	}
	if err := rundir.WriteSweep(dir, sw); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTuneWritesFinalSpec: tune picks each method's setting of lowest mean
// validation loss (not the best single replica; a tie to the first group
// by name), and prints a spec that parses and expands to exactly those
// settings at the fresh seeds asked for, the ladder's τ and the crossed
// schedule becoming the method's own. Inverting every test metric changes
// nothing in the output.
func TestTuneWritesFinalSpec(t *testing.T) {
	dir := writeTuneRun(t, false, nil)
	r := runArgs(t, "tune", dir, "--seeds", "20", "--first-seed", "101")
	if r.code != exitOK {
		t.Fatalf("tune: exit %d, stderr %s", r.code, r.stderr)
	}
	f, err := spec.Parse("final.yaml", []byte(r.stdout))
	if err != nil {
		t.Fatalf("the output does not parse: %v\n%s", err, r.stdout)
	}
	if f.Spec.Name != "tune-test-final" || f.Spec.Temperatures != nil || len(f.Spec.Schedules) != 0 {
		t.Errorf("name %q, temperatures %v, schedules %v; want tune-test-final without ladder or crossed schedules", f.Spec.Name, f.Spec.Temperatures, f.Spec.Schedules)
	}
	reps, err := f.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 5*20 {
		t.Fatalf("%d replicas, want 5 methods × 20 seeds", len(reps))
	}
	seeds := map[string][]uint64{}
	for _, rep := range reps {
		m := rep.Config.Method
		label := rep.Settings["method"]
		seeds[label] = append(seeds[label], rep.Seed)
		var ok bool
		switch label {
		case "adam":
			ok = m.H == 0.01
		case "momentum":
			ok = m.H == 0.05 && fv(m.Params.Momentum) == 0.5
		case "adlala":
			ok = m.H == 0.25 && fv(m.Hidden.Tau) == 1e-5 && m.Params.Tau == nil && m.Schedule.Kind == "constant"
		case "lol":
			ok = m.H == 0.25 && fv(m.Params.Tau) == 1e-4 && m.Schedule.Kind == "linear" && m.Schedule.Start == 50 && m.Schedule.To == 0
		case "sgd":
			ok = m.H == 0.05
		}
		if !ok {
			t.Errorf("replica %s (%s): h %v, params %+v, hidden %+v, schedule %+v: not the chosen setting", rep.ID, rep.Group, m.H, m.Params, m.Hidden, m.Schedule)
		}
	}
	for label, s := range seeds {
		if len(s) != 20 || s[0] != 101 || s[19] != 120 {
			t.Errorf("%s: seeds %v, want 101..120", label, s)
		}
	}
	for _, want := range []string{
		"# methods[0] adam: lr=0.01 (tuning group \"method=adam,lr=0.01\": best.val_loss 0.2300 ± 0.0158 over 5/5 seeds)",
		"# | adam | lr=0.001 | 5/5 | 0.2880 ± 0.1057 |  |",
		"# | sgd | lr=0.05 | 5/5 | 0.2300 ± 0.0158 | **chosen** (lowest mean) |",
		"tuning seeds 1–5", "Fresh seeds: 101–120",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}

	inv := runArgs(t, "tune", writeTuneRun(t, true, nil), "--seeds", "20", "--first-seed", "101")
	if inv.code != exitOK {
		t.Fatalf("tune (test metrics inverted): exit %d, stderr %s", inv.code, inv.stderr)
	}
	// The run directories differ only in their path and test metrics.
	if got := strings.ReplaceAll(inv.stdout, inv.stdout[strings.Index(inv.stdout, "(run directory "):strings.Index(inv.stdout, ").\n")], ""); got != strings.ReplaceAll(r.stdout, r.stdout[strings.Index(r.stdout, "(run directory "):strings.Index(r.stdout, ").\n")], "") {
		t.Errorf("inverting the test metrics changed the output:\n%s\nthen\n%s", r.stdout, inv.stdout)
	}
}

// fv is the value of an optional float, NaN-free: -1 when absent.
func fv(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

// TestTuneSeedsAndErrors: the default first seed follows the tuning seeds,
// a range that reuses a tuning seed is a usage error, a chosen setting with
// diverged seeds is flagged, and a method without a done replica is an
// error naming it.
func TestTuneSeedsAndErrors(t *testing.T) {
	dir := writeTuneRun(t, false, func(group string, seed uint64) string {
		switch {
		case group == "method=adam,lr=0.01" && seed == 5:
			return "diverged"
		case group == "method=adam,lr=0.001" && seed == 5:
			return "" // not finished
		}
		return "done"
	})
	r := runArgs(t, "tune", dir, "--seeds", "3")
	if r.code != exitOK || !strings.Contains(r.stdout, "Fresh seeds: 6–8") {
		t.Fatalf("tune --seeds 3: exit %d, stderr %s, output:\n%s", r.code, r.stderr, r.stdout)
	}
	if want := "adam: the chosen setting lr=0.01 has 1 of 5 tuning replicas not done"; !strings.Contains(r.stderr, want) || !strings.Contains(r.stdout, "# warning: "+want) {
		t.Errorf("no warning %q in stderr %q or the spec", want, r.stderr)
	}
	if want := "1 of 105 tuning replicas have not finished"; !strings.Contains(r.stderr, want) {
		t.Errorf("no warning %q in stderr %q", want, r.stderr)
	}
	if r := runArgs(t, "tune", dir, "--first-seed", "3"); r.code != exitUsage || !strings.Contains(r.stderr, "seed 3 was a tuning seed") {
		t.Errorf("--first-seed 3: exit %d, stderr %q; want a usage error naming seed 3", r.code, r.stderr)
	}
	if r := runArgs(t, "tune", dir, "--select", "test_acc"); r.code != exitUsage || !strings.Contains(r.stderr, `--select "test_acc"`) {
		t.Errorf("--select test_acc: exit %d, stderr %q; want a usage error", r.code, r.stderr)
	}
	none := writeTuneRun(t, false, func(group string, seed uint64) string {
		if strings.HasPrefix(group, "method=lol,") {
			return "diverged"
		}
		return "done"
	})
	if r := runArgs(t, "tune", none); r.code != exitError || !strings.Contains(r.stderr, "method lol (methods[3]) has no done replica") {
		t.Errorf("no done lol replica: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runArgs(t, "tune", t.TempDir()); r.code != exitError || !strings.Contains(r.stderr, "is not a run directory (no spec.yaml)") {
		t.Errorf("empty folder: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestTuneKeep: --keep tau keeps the ladder whole at the other settings of
// the chosen group (lol: both τ at the chosen linear schedule), and leaves
// methods without that axis as they were; --keep of a setting no group
// has is a usage error.
func TestTuneKeep(t *testing.T) {
	dir := writeTuneRun(t, false, nil)
	r := runArgs(t, "tune", dir, "--seeds", "4", "--keep", "tau")
	if r.code != exitOK {
		t.Fatalf("tune --keep tau: exit %d, stderr %s", r.code, r.stderr)
	}
	f, err := spec.Parse("final.yaml", []byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	reps, err := f.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	for _, rep := range reps {
		groups[rep.Group]++
	}
	want := map[string]int{
		"method=adam": 4, "method=momentum": 4, "method=adlala": 4, "method=sgd": 4,
		"method=lol,tau=1e-05": 4, "method=lol,tau=0.0001": 4,
	}
	if len(groups) != len(want) {
		t.Errorf("groups %v, want %v", groups, want)
	}
	for g, n := range want {
		if groups[g] != n {
			t.Errorf("group %s: %d replicas, want %d (groups %v)", g, groups[g], n, groups)
		}
	}
	for _, rep := range reps {
		if rep.Settings["method"] == "lol" && rep.Config.Method.Schedule.Kind != "linear" {
			t.Errorf("lol replica %s: schedule %+v, want the chosen linear one", rep.ID, rep.Config.Method.Schedule)
		}
	}
	if !strings.Contains(r.stdout, "# Kept whole (--keep): tau;") || !strings.Contains(r.stdout, "# methods[3] lol: schedule=linear(1>0@50-end); tau kept whole (tuning group") {
		t.Errorf("the spec does not say what was kept:\n%s", r.stdout)
	}
	if r := runArgs(t, "tune", dir, "--keep", "gamma"); r.code != exitUsage || !strings.Contains(r.stderr, "--keep gamma: no group") {
		t.Errorf("--keep gamma: exit %d, stderr %q; want a usage error", r.code, r.stderr)
	}
}

// TestTuneWithoutValidationSplit: on a tuning run whose replicas have no
// validation split, tune's default --select val_loss is a one-line error
// naming the flag and the metric to give instead (not ensemble's
// Options.Select), and --select train_loss works.
func TestTuneWithoutValidationSplit(t *testing.T) {
	dir := writeTuneRun(t, false, nil)
	files, err := filepath.Glob(filepath.Join(dir, rundir.DirReplicas, "*", rundir.FileResult))
	if err != nil || len(files) == 0 {
		t.Fatalf("result files: %v, %v", files, err)
	}
	for _, f := range files {
		var res rundir.Result
		if err := rundir.ReadJSON(f, &res); err != nil {
			t.Fatal(err)
		}
		res.BestBy, res.Best.ValLoss, res.Best.ValAcc, res.Final.ValLoss, res.Final.ValAcc = "train_loss", nil, nil, nil, nil
		if err := rundir.WriteJSON(f, &res); err != nil {
			t.Fatal(err)
		}
	}
	r := runArgs(t, "tune", dir)
	want := fmt.Sprintf("heatbath: tune: --select val_loss: %d of %d done replicas have no validation split (give --select train_loss)\n", len(files), len(files))
	if r.code != exitError || r.stderr != want {
		t.Errorf("tune without a validation split: exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, exitError, want)
	}
	if r := runArgs(t, "tune", dir, "--select", "train_loss"); r.code != exitOK {
		t.Errorf("tune --select train_loss: exit %d, stderr %q", r.code, r.stderr)
	}
}
