package ensemble

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/rundir"
)

// damageConfig is a run of one group of three done replicas, so that a
// damaged one leaves two to analyse.
func damageConfig() synthConfig {
	return synthConfig{Seed: 21, Rows: 12, Points: 6, Groups: []synthGroup{
		{Method: "adlala", Tau: "0.0001", Seeds: 3, AccMean: 0.9, AccSD: 0.01, TkinErr: 0.05}}}
}

// cutMidLine returns b cut inside the line that holds byte frac·len(b), so
// that the last line has no newline and the lines before are complete.
func cutMidLine(b []byte, frac float64) []byte {
	i := int(frac * float64(len(b)))
	for i > 0 && (b[i-1] == '\n' || b[i] == '\n') {
		i--
	}
	return b[:i]
}

// curvesJSON returns the learning curves and the model average of every
// group of run, as JSON, for an exact comparison.
func curvesJSON(t *testing.T, run *Run) []byte {
	t.Helper()
	type g struct {
		Curves   *Curves
		Ensemble *Score
		Chains   int
	}
	var gs []g
	for _, x := range run.Groups {
		gs = append(gs, g{x.Curves, x.Ensemble, x.EnsembleChains})
	}
	b, err := json.Marshal(jsonSafe(reflect.ValueOf(gs)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDamagedReplicaSkipped damages one file of the middle replica in each
// way a file can be damaged and checks that LoadRun skips exactly that
// replica, naming the file and the reason in Run.Warnings and in
// Summary.Problems, and that everything else is analysed as if the
// replica had never been written: the learning curves (where a torn
// trajectory would otherwise have added its first rows) and the model
// average are byte-identical to those of a run without it.
func TestDamagedReplicaSkipped(t *testing.T) {
	reps := damageConfig()
	base := synthRun(reps)
	id := base[1].ID

	// The reference: the same run with the middle replica never written.
	without := append([]synthReplica(nil), base...)
	without[1].NoDir = true
	refDir := t.TempDir()
	writeRun(t, refDir, without, nil, nil)
	ref := mustLoad(t, refDir)
	refSum := mustAnalyze(t, ref, Options{Resamples: 50})
	wantCurves := curvesJSON(t, ref)

	edit := func(file string, f func([]byte) []byte) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			path := filepath.Join(dir, "replicas", id, file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, f(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	set := func(file, content string) func(t *testing.T, dir string) {
		return edit(file, func([]byte) []byte { return []byte(content) })
	}
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		// file is the damaged file (relative to the run directory) and
		// reason a part of the reason.
		file, reason string
	}{
		{"result truncated", edit("result.json", func(b []byte) []byte { return b[:len(b)/2] }), "result.json", "truncated"},
		{"result empty", set("result.json", ""), "result.json", "truncated"},
		{"result status", set("result.json", `{"version":1,"status":"exploded"}`), "result.json", `status "exploded"`},
		{"result version", set("result.json", `{"version":7,"status":"done"}`), "result.json", "unsupported version 7"},
		{"replica.json truncated", edit("replica.json", func(b []byte) []byte { return b[:len(b)-3] }), "replica.json", "truncated"},
		{"replica.json group", set("replica.json", `{"id":"`+id+`","group":"other"}`), "replica.json", `group "other" differs from sweep.json`},
		{"trajectory truncated", edit("trajectory.csv", func(b []byte) []byte { return cutMidLine(b, 0.6) }), "trajectory.csv:", "truncated"},
		{"trajectory number", edit("trajectory.csv", func(b []byte) []byte {
			lines := strings.SplitAfter(string(b), "\n")
			lines[5] = strings.Replace(lines[5], ",", ",x", 1)
			return []byte(strings.Join(lines, ""))
		}), "trajectory.csv:6", `bad number "x`},
		{"trajectory cells", edit("trajectory.csv", func(b []byte) []byte { return append(b, "100,1\n"...) }), "trajectory.csv:14", "cells"},
		{"trajectory step", edit("trajectory.csv", func(b []byte) []byte {
			cols := bytes.Count(b[:bytes.IndexByte(b, '\n')], []byte(",")) + 1
			return append(b, strings.Repeat("0.5,", cols-1)+"0.5\n"...)
		}), "trajectory.csv:14", "bad step 0.5"},
		{"trajectory column", set("trajectory.csv", "step,train_loss,test_loss\n0,1,1\n"), "trajectory.csv:1", `missing column "test_acc"`},
		{"trajectory empty", set("trajectory.csv", ""), "trajectory.csv", "empty file"},
		{"predictions truncated", edit("predictions.json", func(b []byte) []byte { return b[:len(b)-10] }), "predictions.json", "truncated"},
		{"predictions rows", set("predictions.json", `{"classes":2,"labels":[0,1],"k":1,"final":[[0.5,0.5],[0.5]],"averaged":[[0.5,0.5],[0.5,0.5]]}`),
			"predictions.json", "rows of 1 and 2 probabilities"},
		{"predictions label", set("predictions.json", `{"classes":2,"labels":[0,2],"k":1,"final":[[0.5,0.5],[0.5,0.5]],"averaged":[[0.5,0.5],[0.5,0.5]]}`),
			"predictions.json", "label 2"},
		{"predictions probability", edit("predictions.json", func(b []byte) []byte { return bytes.Replace(b, []byte("[0."), []byte("[1."), 1) }),
			"predictions.json", "not a probability"},
		{"predictions other points", edit("predictions.json", func(b []byte) []byte {
			// Valid by itself, but not the test points of the group.
			var p rundir.Predictions
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			p.Labels = append([]int(nil), p.Labels...)
			p.Labels[0] = 1 - p.Labels[0]
			return p.AppendJSON(nil)
		}), "predictions.json", "label of point 0 differs from replicas/" + base[0].ID + "/predictions.json"},
		{"result unreadable", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "replicas", id, "result.json")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(path, 0o755); err != nil { // reading a folder fails
				t.Fatal(err)
			}
		}, "result.json", "directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeRun(t, dir, base, nil, nil)
			c.damage(t, dir)
			run, err := LoadRun(dir)
			if err != nil {
				t.Fatalf("LoadRun: %v, want the damaged replica skipped", err)
			}
			var r *Replica
			for _, x := range run.Replicas {
				if x.ID == id {
					r = x
				} else if x.Status != StatusDone {
					t.Errorf("replica %s: status %s, want done", x.ID, x.Status)
				}
			}
			wantFile := "replicas/" + id + "/" + c.file
			if r.Status != StatusUnreadable || !strings.HasPrefix(r.File, wantFile) || !strings.Contains(r.Error, c.reason) {
				t.Errorf("damaged replica: status %s, file %q, error %q; want unreadable, %q…, an error containing %q", r.Status, r.File, r.Error, wantFile, c.reason)
			}
			if r.Trace != nil || r.Predictions != nil || !math.IsNaN(r.Final.TestAcc) {
				t.Errorf("damaged replica keeps data: trace %v, predictions %v, final %+v", r.Trace, r.Predictions, r.Final)
			}
			warned := false
			for _, w := range run.Warnings {
				warned = warned || (strings.Contains(w, "replica "+id+" skipped: "+wantFile) && strings.Contains(w, c.reason))
			}
			if !warned {
				t.Errorf("warnings %q do not name %s and %q", run.Warnings, wantFile, c.reason)
			}
			if got := curvesJSON(t, run); !bytes.Equal(got, wantCurves) {
				t.Errorf("curves or model average differ from the run without the damaged replica:\n%s\nwant\n%s", got, wantCurves)
			}
			s := mustAnalyze(t, run, Options{Resamples: 50})
			want := StatusCounts{Total: 3, Done: 2, Unreadable: 1}
			if s.Status != want {
				t.Errorf("counts %+v, want %+v", s.Status, want)
			}
			checkStats(t, s.Groups[0].FinalTestAcc, refSum.Groups[0].FinalTestAcc, 0)
			if len(s.Problems) != 1 || s.Problems[0].ID != id || s.Problems[0].Status != StatusUnreadable || s.Problems[0].File != r.File {
				t.Errorf("problems %+v, want the damaged replica with its file", s.Problems)
			}
			var md bytes.Buffer
			if err := WriteMarkdown(&md, s); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(md.String(), "| "+id+" | ") || !strings.Contains(md.String(), "| unreadable |") {
				t.Errorf("summary.md does not list the unreadable replica:\n%s", md.String())
			}
		})
	}
}

// TestProblemsListed checks that failed, cancelled and diverged replicas
// are counted as such (not as incomplete) and listed with their error
// code and message, or the step they diverged at, from failure.json,
// result.json and the coordinator's summary.json; and that a coordinator
// summary.json of another sweep is ignored with a warning.
func TestProblemsListed(t *testing.T) {
	cfg := synthConfig{Seed: 5, Rows: 8, Points: 4, Groups: []synthGroup{{
		Method: "sgd", Seeds: 8, AccMean: 0.8, AccSD: 0.02,
		Statuses: []string{"done", "failed", "diverged", "cancelled", "", "", "", "done"},
	}}}
	reps := synthRun(cfg)
	reps[2].DivergedAt, reps[2].Error = 1234, "train_loss is NaN"
	reps[5].NoDir = true
	reps[6].NoDir = true
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	// The failure of replica 1 as the worker records it.
	if err := rundir.WriteFailure(filepath.Join(dir, "replicas", reps[1].ID), &rundir.Failure{Replica: reps[1].ID,
		Code: "invalid_config", Message: "data: open spiral.csv: no such file", Attempts: 1, Worker: "host-7/1"}); err != nil {
		t.Fatal(err)
	}
	// Replicas 4 (a directory without results), 5 and 6 (no directory):
	// the coordinator's summary.json knows that 5 failed and 6 was
	// cancelled; 4 is incomplete.
	coord := &rundir.Summary{Version: rundir.SummaryVersion, Sweep: "sweep-test", Replicas: []rundir.SummaryReplica{
		{ID: reps[5].ID, Status: rundir.StatusFailed, State: rundir.StatusFailed, ErrorCode: "max_deliver", Error: "worker lost 5 times", Attempts: 5},
		{ID: reps[6].ID, Status: rundir.StatusCancelled, State: rundir.StatusCancelled},
		{ID: reps[4].ID, Status: rundir.StatusDone, State: rundir.StatusDone},
	}}
	if err := rundir.WriteSummary(dir, coord); err != nil {
		t.Fatal(err)
	}
	run := mustLoad(t, dir)
	s := mustAnalyze(t, run, Options{Resamples: 50})
	want := StatusCounts{Total: 8, Done: 2, Diverged: 1, Failed: 2, Cancelled: 2, Incomplete: 1}
	if s.Status != want {
		t.Errorf("counts %+v, want %+v", s.Status, want)
	}
	wantProblems := []ReplicaProblem{
		{ID: reps[1].ID, Status: StatusFailed, Code: "invalid_config", Message: "data: open spiral.csv: no such file", Attempts: 1, Worker: "host-7/1"},
		{ID: reps[5].ID, Status: StatusFailed, Code: "max_deliver", Message: "worker lost 5 times", Attempts: 5},
		{ID: reps[3].ID, Status: StatusCancelled, Code: "cancelled", Message: "synthetic cancelled", Attempts: 2, Worker: "w1", Steps: reps[3].Final.Step},
		{ID: reps[6].ID, Status: StatusCancelled},
		{ID: reps[2].ID, Status: StatusDiverged, Message: "train_loss is NaN", DivergedAt: 1234, Steps: reps[2].Final.Step},
	}
	if len(s.Problems) != len(wantProblems) {
		t.Fatalf("problems %+v, want %d", s.Problems, len(wantProblems))
	}
	for i, w := range wantProblems {
		p := s.Problems[i]
		w.Group, w.Seed = p.Group, p.Seed
		if p != w {
			t.Errorf("problem %d = %+v, want %+v", i, p, w)
		}
	}
	if !strings.Contains(strings.Join(run.Warnings, "\n"), reps[4].ID+": summary.json says done, but its directory has no result.json") {
		t.Errorf("warnings %q lack the replica the coordinator calls done", run.Warnings)
	}

	var md, js bytes.Buffer
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| " + reps[1].ID + " | method=sgd | failed | invalid_config |  | 1 | host-7/1 | data: open spiral.csv: no such file |",
		"| " + reps[2].ID + " | method=sgd | diverged |  | diverged at 1234 |  |  | train_loss is NaN |",
		"| " + reps[6].ID + " | method=sgd | cancelled |",
		"| **all** | 8 | 2 | 1 | 2 | 2 | 1 | 0 |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md.String())
		}
	}
	if err := WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Problems []map[string]any `json:"problems"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Problems) != 5 || doc.Problems[0]["code"] != "invalid_config" || doc.Problems[4]["diverged_at"] != 1234.0 {
		t.Errorf("summary.json problems %v", doc.Problems)
	}

	// A summary.json of another sweep is not believed.
	coord.Sweep = "another-sweep"
	if err := rundir.WriteSummary(dir, coord); err != nil {
		t.Fatal(err)
	}
	run = mustLoad(t, dir)
	s = mustAnalyze(t, run, Options{Resamples: 50})
	if want := (StatusCounts{Total: 8, Done: 2, Diverged: 1, Failed: 1, Cancelled: 1, Incomplete: 3}); s.Status != want {
		t.Errorf("with another sweep's summary.json: counts %+v, want %+v", s.Status, want)
	}
	if !strings.Contains(strings.Join(run.Warnings, "\n"), "summary.json is of sweep another-sweep") {
		t.Errorf("warnings %q", run.Warnings)
	}
}

// TestInterruptedRun loads a run directory as an interrupted sweep leaves
// it: a replica that was running (replica.json and a torn trajectory.csv,
// no result.json), one that never started, a temporary file of an atomic
// write that never completed, and no coordinator summary.json. The done
// replicas are analysed, the others are incomplete, nothing is an error.
func TestInterruptedRun(t *testing.T) {
	cfg := damageConfig()
	cfg.Groups[0].Seeds = 4
	reps := synthRun(cfg)
	reps[2].Status = "" // replica.json only
	reps[3].NoDir = true
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	rdir := filepath.Join(dir, "replicas", reps[2].ID)
	if err := os.WriteFile(filepath.Join(rdir, "trajectory.csv"), []byte("step,train_loss,test_loss,test_acc\n0,1,1,0.5\n100,0.9,0."), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rdir, ".result.json.tmp-123"), []byte(`{"version":1,"sta`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := mustLoad(t, dir)
	s := mustAnalyze(t, run, Options{Resamples: 50})
	if want := (StatusCounts{Total: 4, Done: 2, Incomplete: 2}); s.Status != want {
		t.Errorf("counts %+v, want %+v", s.Status, want)
	}
	if s.Groups[0].FinalTestAcc.N != 2 || len(s.Problems) != 0 {
		t.Errorf("final test acc over %d replicas, problems %+v", s.Groups[0].FinalTestAcc.N, s.Problems)
	}
}

// TestLongTrajectoryReread checks that a trajectory too long to keep its
// learning-curve values (maxBuffered), read a second time instead, gives
// the same curves, traces and summary as one kept in memory.
func TestLongTrajectoryReread(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir, synthRun(damageConfig()), nil, nil)
	kept := mustLoad(t, dir)
	defer func(n int) { maxBuffered = n }(maxBuffered)
	maxBuffered = 30 // two rows of the 15 kept columns
	reread := mustLoad(t, dir)
	if a, b := curvesJSON(t, kept), curvesJSON(t, reread); !bytes.Equal(a, b) || len(kept.Groups[0].Curves.Steps) != 12 {
		t.Errorf("curves differ when re-read, or hold %d steps, want 12:\n%s\n%s", len(kept.Groups[0].Curves.Steps), a, b)
	}
	a := summaryJSON(t, mustAnalyze(t, kept, Options{Resamples: 50}), dir)
	b := summaryJSON(t, mustAnalyze(t, reread, Options{Resamples: 50}), dir)
	if !bytes.Equal(a, b) {
		t.Errorf("summaries differ when the trajectories are re-read")
	}
}
