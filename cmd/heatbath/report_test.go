package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/rundir"
)

// reportSummary is the part of report/summary.json these tests read.
type reportSummary struct {
	ChosenBy string `json:"chosen_by"`
	Options  struct {
		Thresholds []float64 `json:"thresholds"`
		Select     string    `json:"select"`
	} `json:"options"`
	Best struct {
		ID string `json:"id"`
	} `json:"best"`
	Groups []struct {
		Reach []struct {
			Threshold float64 `json:"threshold"`
		} `json:"reach"`
	} `json:"groups"`
}

func readReportSummary(t *testing.T, dir string) reportSummary {
	t.Helper()
	var s reportSummary
	b, err := os.ReadFile(filepath.Join(dir, "report", rundir.FileReportSummary))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// trainChain runs a short heatbath train chain with a validation split
// into out.
func trainChain(t *testing.T, out string, seed int) {
	t.Helper()
	if err := runCLI(t, "train", "-q", "--steps", "300", "--eval-every", "100", "--hidden", "8", "--train-size", "100",
		"--val-size", "40", "--test-size", "100", "--batch", "10", "--seed", strconv.Itoa(seed), "--out", out); err != nil {
		t.Fatal(err)
	}
}

// TestReportTrainDirectory: heatbath report reads the --out of heatbath
// train as a run of one chain: its charts, report.html and summary, with
// the thresholds and selection metric given.
func TestReportTrainDirectory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "one")
	trainChain(t, out, 1)
	app := newApp()
	var stdout bytes.Buffer
	app.Writer, app.ErrWriter = &stdout, &stdout
	if err := app.RunContext(context.Background(), flagsFirst(app, []string{"heatbath", "report", out, "--thresholds", "0.5, 0.75", "--select", "val_acc"})); err != nil {
		t.Fatal(err)
	}
	info, err := rundir.ReadReplicaInfo(out)
	if err != nil {
		t.Fatal(err)
	}
	s := readReportSummary(t, out)
	if s.ChosenBy != "val_acc" || s.Options.Select != "val_acc" || !slices.Equal(s.Options.Thresholds, []float64{0.5, 0.75}) || s.Best.ID != info.ID {
		t.Errorf("summary.json: chosen by %q, options %+v, best %q; want val_acc, thresholds [0.5 0.75], best %s", s.ChosenBy, s.Options, s.Best.ID, info.ID)
	}
	if len(s.Groups) != 1 || len(s.Groups[0].Reach) != 2 || s.Groups[0].Reach[1].Threshold != 0.75 {
		t.Errorf("summary.json groups %+v, want one group reaching 0.5 and 0.75", s.Groups)
	}
	for _, f := range []string{rundir.FileReportHTML, rundir.FileReportMarkdown, "learning-curves.png", "decision-boundaries.png"} {
		if _, err := os.Stat(filepath.Join(out, "report", f)); err != nil {
			t.Errorf("report/%s: %v", f, err)
		}
	}
	if !strings.Contains(stdout.String(), "best replica (by best.val_acc): "+info.ID) {
		t.Errorf("report printed\n%s", stdout.String())
	}
	md, _ := os.ReadFile(filepath.Join(out, "report", rundir.FileReportMarkdown))
	if !strings.Contains(string(md), "Chosen by the highest best.val_acc") {
		t.Errorf("summary.md does not say how the best replica was chosen:\n%s", md)
	}
}

// TestReportSelectOnARun: --select applies to a run directory's every
// choice; the default is val_loss. Bad --select and --thresholds values
// are usage errors naming the flag; a folder that is neither a run nor a
// train directory is an error saying so.
func TestReportSelectOnARun(t *testing.T) {
	dir := t.TempDir()
	sw := &rundir.Sweep{Version: rundir.SweepVersion, ID: "sweep-select", Name: "select", Created: json.RawMessage(`"2026-01-01T00:00:00Z"`)}
	for seed := 1; seed <= 3; seed++ {
		tmp := filepath.Join(dir, "train-"+strconv.Itoa(seed))
		trainChain(t, tmp, seed)
		info, err := rundir.ReadReplicaInfo(tmp)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, rundir.DirReplicas), 0o755)
		if err := os.Rename(tmp, rundir.ReplicaDir(dir, info.ID)); err != nil {
			t.Fatal(err)
		}
		sw.Replicas = append(sw.Replicas, rundir.SweepEntry{ID: info.ID, Index: seed - 1, Group: info.Group, Settings: info.Settings, Seed: info.Seed})
	}
	if err := rundir.WriteSweep(dir, sw); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []string{"", "train_loss", "val_acc"} {
		args := []string{"report", dir}
		want := sel
		if sel != "" {
			args = append(args, "--select", sel)
		} else {
			want = "val_loss"
		}
		if err := runCLI(t, args...); err != nil {
			t.Fatal(err)
		}
		if s := readReportSummary(t, dir); s.ChosenBy != want || s.Options.Select != sel || !slices.Equal(s.Options.Thresholds, []float64{0.8, 0.9}) {
			t.Errorf("--select %q: chosen by %q, options %+v", sel, s.ChosenBy, s.Options)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", dir, "--select", "test_acc"}, `report: --select "test_acc" is not a selection metric (want val_loss, val_acc, train_loss)`},
		{[]string{"report", dir, "--thresholds", "0.5,1.2"}, `report: --thresholds: "1.2" is not a test accuracy in [0, 1]`},
		{[]string{"report", dir, "--thresholds", "high"}, `report: --thresholds: "high" is not a test accuracy`},
	} {
		r := runArgs(t, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("heatbath %v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
	// A chain without a validation split cannot be chosen on one.
	noVal := filepath.Join(t.TempDir(), "noval")
	if err := runCLI(t, "train", "-q", "--steps", "200", "--eval-every", "100", "--hidden", "8", "--train-size", "100",
		"--test-size", "100", "--batch", "10", "--out", noVal); err != nil {
		t.Fatal(err)
	}
	if r := runArgs(t, "report", noVal, "--select", "val_loss"); r.code != exitError ||
		!strings.Contains(r.stderr, "heatbath: report: --select val_loss: 1 of 1 done replicas have no validation split (train with one, or give --select train_loss)") {
		t.Errorf("--select val_loss without a validation split: exit %d, stderr %q", r.code, r.stderr)
	}
	empty := t.TempDir()
	if r := runArgs(t, "report", empty); r.code != exitError || !strings.Contains(r.stderr, "is not a run directory (no sweep.json) nor a train directory (no replica.json)") {
		t.Errorf("report of an empty folder: exit %d, stderr %q", r.code, r.stderr)
	}
}
