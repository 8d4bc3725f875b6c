package ensemble

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// TestPrunedReplicasLeaveTheStatistics: replicas that successive halving
// stopped (the coordinator's summary.json says pruned; their trajectories
// are on disk, without result.json) are counted as pruned, not
// incomplete; the final-metric statistics take only the done replicas
// (n = 4 of 6); each pruned replica is listed with the step prune.json
// says it was cut at and the decision as its reason, in summary.md too.
func TestPrunedReplicasLeaveTheStatistics(t *testing.T) {
	cfg := synthConfig{Seed: 9, Rows: 8, Points: 4, Groups: []synthGroup{{
		Method: "sgd", Seeds: 6, AccMean: 0.8, AccSD: 0.02,
		Statuses: []string{"done", "", "done", "", "done", "done"},
	}}}
	reps := synthRun(cfg)
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	why := "pruned at milestone 0 (step 300): val_loss 0.9 ranked 2 of 2, 1 kept"
	coord := &rundir.Summary{Version: rundir.SummaryVersion, Sweep: "sweep-test", Replicas: []rundir.SummaryReplica{
		{ID: reps[1].ID, Status: rundir.StatusPruned, State: rundir.StatusPruned, Error: why, Attempts: 1, Steps: 250},
		{ID: reps[3].ID, Status: rundir.StatusPruned, State: rundir.StatusPruned, Attempts: 1, Steps: 0},
	}}
	if err := rundir.WriteSummary(dir, coord); err != nil {
		t.Fatal(err)
	}
	// Each pruned replica keeps its partial trajectory.
	for _, i := range []int{1, 3} {
		if err := os.WriteFile(filepath.Join(dir, "replicas", reps[i].ID, rundir.FileTrajectory), []byte("step,train_loss\n100,1\n300,0.9\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := rundir.WritePruneLog(dir, &rundir.PruneLog{Version: rundir.PruneVersion,
		Rule: &protocol.PruneConfig{Metric: "val_loss", At: []float64{0.3}, Keep: 0.5, Among: "all"},
		Decisions: []protocol.PruneDecision{
			{Sweep: "sweep-test", Replica: reps[0].ID, Seq: 0, Cohort: "all", Step: 300, Value: 0.5, Reached: 1, Rank: 1, Kept: 1},
			{Sweep: "sweep-test", Replica: reps[1].ID, Seq: 1, Cohort: "all", Step: 300, Value: 0.9, Reached: 2, Rank: 2, Kept: 1, Prune: true},
			{Sweep: "sweep-test", Replica: reps[3].ID, Seq: 2, Cohort: "all", Step: 320, Value: 0.8, Reached: 3, Rank: 3, Kept: 2, Prune: true},
		}}); err != nil {
		t.Fatal(err)
	}
	run := mustLoad(t, dir)
	s := mustAnalyze(t, run, Options{Resamples: 50})
	if want := (StatusCounts{Total: 6, Done: 4, Pruned: 2}); s.Status != want {
		t.Errorf("counts %+v, want %+v", s.Status, want)
	}
	if n := s.Groups[0].FinalTestAcc.N; n != 4 {
		t.Errorf("final test accuracy over %d replicas, want the 4 done", n)
	}
	var cut []ReplicaProblem
	for _, p := range s.Problems {
		if p.Status == StatusPruned {
			cut = append(cut, p)
		}
	}
	if len(cut) != 2 || cut[0].ID != reps[1].ID || cut[0].Steps != 300 || cut[0].Message != why || cut[1].Steps != 320 {
		t.Errorf("pruned replicas listed %+v, want %s cut at 300 (%q) and %s at 320", cut, reps[1].ID, why, reps[3].ID)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| " + reps[1].ID + " | method=sgd | pruned |  | 300 | 1 |  | " + why + " |",
		"2 replicas were pruned: stopped at a milestone by successive halving"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md.String())
		}
	}
}
