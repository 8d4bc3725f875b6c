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

// TestWhyNoResult: the reason export gives for a replica without
// result.json is one line from summary.json: the status, then the error
// code and the error when there are; a pruned replica, whose record has
// no error code, gets no empty code (was "it is pruned: : pruned at ...").
func TestWhyNoResult(t *testing.T) {
	dir := t.TempDir()
	sum := &rundir.Summary{Version: 2, Sweep: "s", Name: "s", Counts: map[string]int{}, Replicas: []rundir.SummaryReplica{
		{ID: "r0", Status: rundir.StatusPruned, State: "pruned", Error: "pruned at milestone 0 (step 200): train_loss 0.68 ranked 5 of 6, 2 kept"},
		{ID: "r1", Status: rundir.StatusCancelled, State: "cancelled", ErrorCode: "cancelled", Error: "sweep cancelled"},
		{ID: "r2", Status: rundir.StatusCancelled, State: "cancelled"},
	}}
	if err := rundir.WriteSummary(dir, sum); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		"r0": "it is pruned: pruned at milestone 0 (step 200): train_loss 0.68 ranked 5 of 6, 2 kept",
		"r1": "it is cancelled: cancelled: sweep cancelled",
		"r2": "it is cancelled",
		"r3": "it has not finished",
	} {
		if got := whyNoResult(dir, id); got != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
}
