package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/rundir"
)

// TestExportSelect: export --select chooses the best replica on the given
// metric as report does (val_acc highest, train_loss lowest) and says so
// in model.json; a misspelt metric and --select with --replica are usage
// errors.
func TestExportSelect(t *testing.T) {
	run := exportRun(t)
	sw, err := rundir.ReadSweep(run)
	if err != nil {
		t.Fatal(err)
	}
	// The best values over the done replicas, from result.json alone.
	bestAcc, bestTrain := math.Inf(-1), math.Inf(1)
	acc, train := map[string]float64{}, map[string]float64{}
	for _, e := range sw.Replicas {
		res, err := rundir.ReadResult(rundir.ReplicaDir(run, e.ID))
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != rundir.StatusDone {
			continue
		}
		acc[e.ID], train[e.ID] = rundir.Value(res.Best.ValAcc), rundir.Value(res.Best.TrainLoss)
		bestAcc, bestTrain = max(bestAcc, acc[e.ID]), min(bestTrain, train[e.ID])
	}
	for _, tc := range []struct {
		metric string
		values map[string]float64
		want   float64
	}{{"val_acc", acc, bestAcc}, {"train_loss", train, bestTrain}} {
		to := filepath.Join(t.TempDir(), "model")
		if code, msg := exportCLI(t, run, "--select", tc.metric, "--to", to); code != exitOK {
			t.Fatalf("export --select %s: exit %d %s", tc.metric, code, msg)
		}
		m, err := rundir.ReadModel(to)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := tc.values[m.Replica]; !ok || v != tc.want || m.Selection.By != rundir.SelectBest ||
			m.Selection.Metric != tc.metric || rundir.Value(m.Selection.Value) != tc.want {
			t.Errorf("--select %s chose %s (its %s %g) by %+v (value %g); want a replica of %s %g",
				tc.metric, m.Replica, tc.metric, v, m.Selection, rundir.Value(m.Selection.Value), tc.metric, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{run, "--select", "val_ac", "--to", t.TempDir()}, `export: --select "val_ac" is not a selection metric; did you mean "val_acc"? (want val_loss, val_acc, train_loss)`},
		{[]string{run, "--select", "test_acc", "--to", t.TempDir()}, `export: --select "test_acc" is not a selection metric (want val_loss, val_acc, train_loss)`},
		{[]string{run, "--select", "val_acc", "--replica", "0", "--to", t.TempDir()}, "export: --replica 0 and --select val_acc choose the replica twice"},
	} {
		if code, msg := exportCLI(t, tc.args...); code != exitUsage || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("export %v: exit %d, %q; want exit %d and one line with %q", tc.args, code, msg, exitUsage, tc.want)
		}
	}
}
