package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/internal/pyclient"
	"github.com/heatbath/heatbath/rundir"
)

// exportRun runs a small sweep in-process into a new run directory: adam
// at two learning rates, two seeds each, and one sgd chain that diverges.
func exportRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	spec := filepath.Join(dir, "export.yaml")
	if err := os.WriteFile(spec, []byte(`
name: export
data: {kind: spiral, train: 100, validation: 40, test: 100}
model: {hidden: [8]}
steps: 400
eval_every: 100
batch: 10
seeds: 2
methods:
  - name: adam
    lr: [0.003, 0.03]
  - name: sgd
    lr: 1e300
`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if err := runCLI(t, "run", spec, "--out", run, "-q", "--no-report", "--workers", "2"); err != nil {
		t.Fatal(err)
	}
	return run
}

// exportCLI runs heatbath export in-process and returns main's exit status
// and message.
func exportCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return exitStatus(context.Background(), runCLI(t, append([]string{"export"}, args...)...))
}

// TestExportBest: the default export is the done replica of lowest
// best.val_loss; model.json describes its network, data, identity and
// selection; the parameter files are the replica's own, and PyTorch loads
// them with the module model.json names.
func TestExportBest(t *testing.T) {
	run := exportRun(t)
	sw, err := rundir.ReadSweep(run)
	if err != nil {
		t.Fatal(err)
	}
	// The best replica, chosen here from result.json alone.
	var bestID string
	bestVal := math.Inf(1)
	for _, e := range sw.Replicas {
		res, err := rundir.ReadResult(rundir.ReplicaDir(run, e.ID))
		if err != nil {
			t.Fatal(err)
		}
		if v := rundir.Value(res.Best.ValLoss); res.Status == rundir.StatusDone && v < bestVal {
			bestID, bestVal = e.ID, v
		}
	}
	to := filepath.Join(t.TempDir(), "model")
	if code, msg := exportCLI(t, run, "--to", to); code != exitOK {
		t.Fatalf("export: exit %d %s", code, msg)
	}
	m, err := rundir.ReadModel(to)
	if err != nil {
		t.Fatal(err)
	}
	if m.Replica != bestID || m.Selection.By != rundir.SelectBest || m.Selection.Metric != "val_loss" || rundir.Value(m.Selection.Value) != bestVal {
		t.Errorf("chose %s by %+v (value %g), want %s by val_loss %g", m.Replica, m.Selection, rundir.Value(m.Selection.Value), bestID, bestVal)
	}
	entry := sw.Replicas[slices.IndexFunc(sw.Replicas, func(e rundir.SweepEntry) bool { return e.ID == bestID })]
	res, _ := rundir.ReadResult(rundir.ReplicaDir(run, bestID))
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", m.Version, rundir.ModelVersion},
		{"widths", m.Widths, []int{2, 8, 1}},
		{"activation", m.Activation, "relu"},
		{"output", m.Output, rundir.OutputSigmoid},
		{"pytorch", m.PyTorch, "Sequential(Linear(2, 8), ReLU(), Linear(8, 1))"},
		{"input_scaling", m.InputScaling, rundir.ScalingNone},
		{"classes", m.Classes, 2},
		{"labels", m.Labels, []int{0, 1}},
		{"data", m.Data.Kind + " " + fmt.Sprint(m.Data.Train, m.Data.Validation, m.Data.Test), "spiral 100 40 100"},
		{"config.data", m.Config.Data, m.Data},
		{"sweep", m.Sweep + " " + m.SweepName, sw.ID + " export"},
		{"group", m.Group, entry.Group},
		{"settings", m.Settings, entry.Settings},
		{"seed", m.Seed, entry.Seed},
		{"config.seed", m.Config.Seed, entry.Seed},
		{"status", m.Status + fmt.Sprint(m.Steps), "done400"},
		{"files", len(m.Files), 2},
		{"final file", m.Files[0], rundir.ModelFile{File: rundir.FileParams, Parameters: rundir.ParamsFinal, Step: 400, Metrics: res.Final}},
		{"best file", m.Files[1], rundir.ModelFile{File: rundir.FileBestParams, Parameters: rundir.ParamsBest, Step: res.Best.Step, Metrics: res.Best}},
	}
	for _, c := range checks {
		if jsonOf(c.got) != jsonOf(c.want) {
			t.Errorf("model.json %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// The parameter files are the replica's, byte for byte, and decode.
	for _, name := range []string{rundir.FileParams, rundir.FileBestParams} {
		got, err := os.ReadFile(filepath.Join(to, name))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(rundir.ReplicaDir(run, bestID), name))
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the replica's", name)
		}
		if meta, theta, err := rundir.DecodeParams(got); err != nil || len(theta) != 2*8+8+8+1 || meta.Replica != bestID {
			t.Errorf("%s: decode: %v, %d parameters, replica %q", name, err, len(theta), meta.Replica)
		}
	}
	// --best says the same as the default.
	to2 := filepath.Join(t.TempDir(), "model")
	if code, msg := exportCLI(t, run, "--best", "--to", to2); code != exitOK {
		t.Fatalf("export --best: exit %d %s", code, msg)
	}
	if m2, err := rundir.ReadModel(to2); err != nil || jsonOf(m2) != jsonOf(m) {
		t.Errorf("export --best differs from the default: %s (%v)", jsonOf(m2), err)
	}
	modelCheck(t, to, filepath.Join(rundir.ReplicaDir(run, bestID), rundir.FileGrid))
}

// jsonOf returns v as JSON, to compare values that hold pointers.
func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// modelCheck has PyTorch load the export in dir as its model.json says
// (testdata/model_check.py) and reproduce the replica's grid.json, or
// skips when python3 or torch is missing (fails instead under CI=true).
func modelCheck(t *testing.T, dir, grid string) {
	t.Helper()
	python := pyclient.Require(t, "torch")
	out, err := exec.Command(python, filepath.Join("testdata", "model_check.py"), dir, grid).CombinedOutput()
	if err != nil {
		t.Fatalf("model_check.py: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}

// TestExportReplica: --replica picks a replica by id or index, a diverged
// one too; a bad id or index is a one-line error naming it (exit 1), as is
// a replica without parameters; --to must be new, empty, or an earlier
// export, whose stale best parameters go.
func TestExportReplica(t *testing.T) {
	run := exportRun(t)
	sum, err := rundir.ReadSummary(run)
	if err != nil {
		t.Fatal(err)
	}
	var diverged rundir.SummaryReplica
	for _, r := range sum.Replicas {
		if r.Status == rundir.StatusDiverged {
			diverged = r
		}
	}
	if diverged.ID == "" {
		t.Fatalf("no replica diverged: %v", sum.Counts)
	}
	for _, sel := range []string{diverged.ID, fmt.Sprint(diverged.Index)} {
		to := filepath.Join(t.TempDir(), "m")
		if code, msg := exportCLI(t, run, "--replica", sel, "--to", to); code != exitOK {
			t.Fatalf("export --replica %s: exit %d %s", sel, code, msg)
		}
		m, err := rundir.ReadModel(to)
		if err != nil || m.Replica != diverged.ID || m.Status != rundir.StatusDiverged || m.Selection.By != rundir.SelectReplica || m.Selection.Metric != "" {
			t.Errorf("export --replica %s: %+v (%v)", sel, m, err)
		}
	}

	for _, bad := range []string{"r9999-00000000", "99", "r0000"} {
		code, msg := exportCLI(t, run, "--replica", bad, "--to", filepath.Join(t.TempDir(), "m"))
		if code != exitError || !strings.Contains(msg, "--replica "+bad+":") || strings.Contains(msg, "\n") {
			t.Errorf("export --replica %s: exit %d %q, want exit %d and one line naming it", bad, code, msg, exitError)
		}
	}
	if code, msg := exportCLI(t, run, "--replica", "0", "--best", "--to", "x"); code != exitUsage {
		t.Errorf("export --replica --best: exit %d %q, want %d", code, msg, exitUsage)
	}
	if code, msg := exportCLI(t, run); code != exitUsage || !strings.Contains(msg, "--to") {
		t.Errorf("export without --to: exit %d %q, want %d naming --to", code, msg, exitUsage)
	}

	// A folder that holds something else is refused and left alone.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	if code, msg := exportCLI(t, run, "--to", other); code != exitError || !strings.Contains(msg, other) {
		t.Errorf("export into a folder of other files: exit %d %q", code, msg)
	}
	if ents, _ := os.ReadDir(other); len(ents) != 1 {
		t.Errorf("the refused folder holds %d files, want its 1", len(ents))
	}

	// A replica without parameters: the sweep's failed replica, made by
	// turning a done replica's result into a failure.
	var victim string
	for _, r := range sum.Replicas {
		if r.Status == rundir.StatusDone {
			victim = r.ID
		}
	}
	vdir := rundir.ReplicaDir(run, victim)
	os.Remove(filepath.Join(vdir, rundir.FileResult))
	if err := rundir.WriteFailure(vdir, &rundir.Failure{Version: rundir.FailureVersion, Replica: victim, Code: "invalid_config", Message: "data.path: no such file"}); err != nil {
		t.Fatal(err)
	}
	code, msg := exportCLI(t, run, "--replica", victim, "--to", filepath.Join(t.TempDir(), "m"))
	if code != exitError || !strings.Contains(msg, victim) || !strings.Contains(msg, "invalid_config: data.path: no such file") {
		t.Errorf("export of a failed replica: exit %d %q, want its failure named", code, msg)
	}
}

// TestExportLegacyTrainDir: the folder of one chain of heatbath train
// written before the safetensors files (params.bin, no best parameters)
// exports as params.safetensors with the network its config and the
// vector's length imply, into an earlier export whose best parameters it
// removes.
func TestExportLegacyTrainDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "one")
	if err := runCLI(t, "train", "-q", "--steps", "200", "--eval-every", "100", "--hidden", "6,5", "--activation", "tanh",
		"--train-size", "100", "--val-size", "40", "--test-size", "100", "--batch", "10", "--out", dir); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "model")
	if code, msg := exportCLI(t, dir, "--to", to); code != exitOK {
		t.Fatalf("export: exit %d %s", code, msg)
	}
	if ok, _ := rundir.Exists(filepath.Join(to, rundir.FileBestParams)); !ok {
		t.Fatal("the first export has no best parameters")
	}
	orig, err := rundir.ReadParams(dir, rundir.FileParams)
	if err != nil {
		t.Fatal(err)
	}
	// Make the folder an old one.
	for _, f := range []string{rundir.FileParams, rundir.FileBestParams, rundir.FileInitParams} {
		os.Remove(filepath.Join(dir, f))
	}
	if err := os.WriteFile(filepath.Join(dir, rundir.FileLegacyParams), rundir.EncodeLegacyParams(orig.Theta), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, msg := exportCLI(t, dir, "--replica", "r0", "--to", to); code != exitError || !strings.Contains(msg, "--replica r0:") {
		t.Errorf("export --replica r0 of a one-chain folder: exit %d %q", code, msg)
	}
	if code, msg := exportCLI(t, dir, "--to", to); code != exitOK {
		t.Fatalf("export of the old folder: exit %d %s", code, msg)
	}
	m, err := rundir.ReadModel(to)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.Widths) != "[2 6 5 1]" || m.PyTorch != "Sequential(Linear(2, 6), Tanh(), Linear(6, 5), Tanh(), Linear(5, 1))" ||
		len(m.Files) != 1 || m.Files[0].File != rundir.FileParams || m.Sweep != "" || m.Selection.By != rundir.SelectReplica {
		t.Errorf("model.json of the old folder: %+v", m)
	}
	p, err := rundir.ReadParams(to, rundir.FileParams)
	if err != nil || p.Meta == nil || fmt.Sprint(p.Theta) != fmt.Sprint(orig.Theta) || fmt.Sprint(*p.Meta) != fmt.Sprint(*orig.Meta) {
		t.Errorf("converted params: %+v (%v), want %+v", p, err, orig)
	}
	if ok, _ := rundir.Exists(filepath.Join(to, rundir.FileBestParams)); ok {
		t.Error("the earlier export's best_params.safetensors is still there")
	}
	modelCheck(t, to, filepath.Join(dir, rundir.FileGrid))
}
