package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/rundir"
)

// TestReportSkipsDamagedReplicas builds a run directory of five short
// `heatbath train` chains, truncates one's result.json and another's
// trajectory.csv, replaces a third by a failure (failure.json only), and
// runs `heatbath report`: it must succeed on the two intact replicas,
// count the failed one as failed (not incomplete) with its code and
// message, and name both damaged files with the reason in
// report/summary.json "warnings", summary.md and report.html.
func TestReportSkipsDamagedReplicas(t *testing.T) {
	dir := t.TempDir()
	sw := &rundir.Sweep{Version: rundir.SweepVersion, ID: "sweep-damage", Name: "damage", Created: json.RawMessage(`"2026-01-01T00:00:00Z"`)}
	var ids []string
	for seed := 1; seed <= 5; seed++ {
		tmp := filepath.Join(dir, "train-"+strconv.Itoa(seed))
		if err := runCLI(t, "train", "-q", "--steps", "300", "--eval-every", "100", "--hidden", "8", "--train-size", "100",
			"--test-size", "100", "--batch", "10", "--seed", strconv.Itoa(seed), "--out", tmp); err != nil {
			t.Fatal(err)
		}
		info, err := rundir.ReadReplicaInfo(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, rundir.DirReplicas), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, rundir.ReplicaDir(dir, info.ID)); err != nil {
			t.Fatal(err)
		}
		sw.Replicas = append(sw.Replicas, rundir.SweepEntry{ID: info.ID, Index: seed - 1, Group: info.Group, Settings: info.Settings, Seed: info.Seed})
		ids = append(ids, info.ID)
	}
	if err := rundir.WriteSweep(dir, sw); err != nil {
		t.Fatal(err)
	}
	cut := func(id, file string, keep func(n int) int) string {
		path := filepath.Join(rundir.ReplicaDir(dir, id), file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b[:keep(len(b))], 0o644); err != nil {
			t.Fatal(err)
		}
		return rundir.DirReplicas + "/" + id + "/" + file
	}
	badResult := cut(ids[1], rundir.FileResult, func(n int) int { return n / 2 })
	badTraj := cut(ids[2], rundir.FileTrajectory, func(n int) int { return n - 3 })
	failed := rundir.ReplicaDir(dir, ids[3])
	if err := os.Remove(filepath.Join(failed, rundir.FileResult)); err != nil {
		t.Fatal(err)
	}
	if err := rundir.WriteFailure(failed, &rundir.Failure{Replica: ids[3], Code: "invalid_config",
		Message: "data: open /no/such.csv: no such file or directory", Attempts: 1, Worker: "w0"}); err != nil {
		t.Fatal(err)
	}

	if err := runCLI(t, "report", dir); err != nil {
		t.Fatalf("report: %v, want the intact replicas reported", err)
	}
	var sum struct {
		Status   map[string]int `json:"status"`
		Warnings []string       `json:"warnings"`
		Problems []struct {
			ID, Status, Code, Message, File string
		} `json:"problems"`
	}
	b, err := os.ReadFile(filepath.Join(dir, rundir.DirReport, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if s := sum.Status; s["total"] != 5 || s["done"] != 2 || s["failed"] != 1 || s["unreadable"] != 2 || s["incomplete"] != 0 {
		t.Errorf("status %v, want 5 = 2 done + 1 failed + 2 unreadable", s)
	}
	warned := strings.Join(sum.Warnings, "\n")
	for _, want := range []string{badResult + ": truncated", badTraj + ":5: truncated"} { // the header and rows of steps 0 to 200 are intact, the row of step 300 is cut
		if !strings.Contains(warned, want) {
			t.Errorf("summary.json warnings %q lack %q", sum.Warnings, want)
		}
	}
	found := false
	for _, p := range sum.Problems {
		found = found || (p.ID == ids[3] && p.Status == "failed" && p.Code == "invalid_config" && strings.Contains(p.Message, "/no/such.csv"))
	}
	if !found {
		t.Errorf("problems %+v lack the failed replica with its code and message", sum.Problems)
	}
	for _, f := range []string{"summary.md", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, rundir.DirReport, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{badResult, badTraj, ids[3], "invalid_config"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", f, want)
			}
		}
	}
}
