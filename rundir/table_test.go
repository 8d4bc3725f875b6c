package rundir

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/internal/pyclient"
)

// tableSweep returns a synthetic sweep and its rows, with every hard case
// of the table: settings keys that collide with fixed columns ("seed",
// "status", and "setting_seed", which collides with the prefixed "seed"),
// a key only some replicas have, values with commas, quotes and a line
// break, a group with commas, a seed above 2^63, metrics that are NaN or
// unknown, and replicas in every status.
func tableSweep() (*Sweep, []SummaryReplica) {
	f := func(v float64) *float64 { return &v }
	full := &Metrics{Step: 400, TrainLoss: f(0.25), TrainAcc: f(0.9), ValLoss: f(0.3), ValAcc: f(0.875), TestLoss: f(1e-05), TestAcc: f(1)}
	partial := &Metrics{Step: 200, TrainLoss: f(0.5), ValLoss: nil, TestAcc: f(0.5)}
	rows := []SummaryReplica{
		{ID: "r0000-aa", Index: 0, Group: "method=adlala,tau=0.0001", Seed: 1, Status: StatusDone, Attempts: 1, Steps: 400,
			Settings: map[string]string{"method": "adlala", "tau": "0.0001", "seed": "1", "status": "x"}, Final: full, Best: partial},
		{ID: "r0001-bb", Index: 1, Group: "method=adlala,tau=0.001", Seed: 18446744073709551615, Status: StatusDiverged, ErrorCode: "diverged", Attempts: 1, Steps: 120, DivergedAt: 120,
			Settings: map[string]string{"method": "adlala", "tau": "0.001", "seed": "2", "status": "y"}, Final: partial},
		{ID: "r0002-cc", Index: 2, Group: `method=adam,note="a, b"`, Seed: 3, Status: StatusFailed, ErrorCode: "invalid_config", Attempts: 1,
			Settings: map[string]string{"method": "adam", "seed": "3", "note": "a, \"b\"\nc", "setting_seed": "z"}},
		{ID: "r0003-dd", Index: 3, Group: "method=adam", Seed: 4, Status: StatusCancelled, ErrorCode: "cancelled", Attempts: 0,
			Settings: map[string]string{"method": "adam", "seed": "4"}},
		{ID: "r0004-ee", Index: 4, Group: "method=adam", Seed: 5, Status: "running", Attempts: 2, Steps: 50,
			Settings: map[string]string{"method": "adam", "seed": "5"}},
	}
	s := &Sweep{Version: SweepVersion, ID: "t-1", Name: "t", SpecHash: "h", Created: json.RawMessage(`"2025-01-01T00:00:00Z"`)}
	for _, r := range rows {
		s.Replicas = append(s.Replicas, SweepEntry{ID: r.ID, Index: r.Index, Group: r.Group, Settings: r.Settings, Seed: r.Seed})
	}
	return s, rows
}

// TestTableColumns: settings sit between group and seed, sorted, and a key
// that is a fixed column's name (or another key's column) is prefixed
// until it is free.
func TestTableColumns(t *testing.T) {
	_, rows := tableSweep()
	keys, cols := TableSettingColumns(rows)
	if want := []string{"method", "note", "seed", "setting_seed", "status", "tau"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	// "seed" takes setting_seed, so the key "setting_seed" goes one further.
	if want := []string{"method", "note", "setting_seed", "setting_setting_seed", "setting_status", "tau"}; !slices.Equal(cols, want) {
		t.Errorf("setting columns %v, want %v", cols, want)
	}
	all := TableColumns(rows)
	want := []string{"id", "index", "group", "method", "note", "setting_seed", "setting_setting_seed", "setting_status", "tau",
		"seed", "status", "error_code", "attempts", "steps", "diverged_at",
		"final_train_loss", "final_train_acc", "final_val_loss", "final_val_acc", "final_test_loss", "final_test_acc",
		"best_step", "best_train_loss", "best_train_acc", "best_val_loss", "best_val_acc", "best_test_loss", "best_test_acc"}
	if !slices.Equal(all, want) {
		t.Errorf("columns\n%v\nwant\n%v", all, want)
	}
}

// TestEncodeTableRoundTrip: an RFC 4180 reader gets back one header and one
// record per row, all of the header's length, with the values written.
func TestEncodeTableRoundTrip(t *testing.T) {
	_, rows := tableSweep()
	b, err := EncodeTable(rows)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll() // fails on a ragged row
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(rows) {
		t.Fatalf("%d records, want %d", len(recs), 1+len(rows))
	}
	head := recs[0]
	col := func(rec []string, name string) string {
		t.Helper()
		i := slices.Index(head, name)
		if i < 0 {
			t.Fatalf("no column %q", name)
		}
		return rec[i]
	}
	checks := []struct {
		row         int
		column, val string
	}{
		{0, "id", "r0000-aa"},
		{0, "group", "method=adlala,tau=0.0001"},
		{0, "tau", "0.0001"},
		{0, "setting_seed", "1"},
		{0, "setting_status", "x"},
		{0, "status", "done"},
		{0, "diverged_at", ""},
		{0, "final_test_loss", "1e-05"},
		{0, "final_test_acc", "1"},
		{0, "best_step", "200"},
		{0, "best_val_loss", ""}, // unknown
		{0, "best_train_acc", ""},
		{1, "seed", "18446744073709551615"},
		{1, "status", "diverged"},
		{1, "error_code", "diverged"},
		{1, "diverged_at", "120"},
		{1, "best_step", ""}, // no best metrics at all
		{2, "note", "a, \"b\"\nc"},
		{2, "group", `method=adam,note="a, b"`},
		{2, "setting_setting_seed", "z"},
		{2, "tau", ""}, // the replica has no tau
		{2, "error_code", "invalid_config"},
		{2, "steps", "0"},
		{2, "final_train_loss", ""},
		{3, "status", "cancelled"},
		{4, "status", "running"},
		{4, "attempts", "2"},
		{4, "steps", "50"},
	}
	for _, c := range checks {
		if got := col(recs[1+c.row], c.column); got != c.val {
			t.Errorf("row %d column %s = %q, want %q", c.row, c.column, got, c.val)
		}
	}
	// No comment lines, a single header: the first line is the header.
	if !strings.HasPrefix(string(b), "id,index,group,") {
		t.Errorf("the file starts %q, want the header", string(b[:min(len(b), 30)]))
	}
}

// TestTableNaN: a NaN or infinite metric (which a *float64 may still hold
// when built by hand) is an empty cell, never "NaN" text.
func TestTableNaN(t *testing.T) {
	nan, inf := 0.0, 0.0
	nan, inf = nan/nan, 1/inf
	rows := []SummaryReplica{{ID: "r0", Status: StatusDone, Final: &Metrics{TrainLoss: &nan, TestLoss: &inf}}}
	b, err := EncodeTable(rows)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(b)), "nan") || strings.Contains(strings.ToLower(string(b)), "inf") {
		t.Errorf("table holds NaN or Inf text:\n%s", b)
	}
}

// TestTablePandas writes replicas.csv and sweep.json for the synthetic
// sweep and reads them with pandas (testdata/pandas_check.py, run by
// /usr/bin/python3): row count, ids, groups, seeds and the settings
// columns match sweep.json, with pd.read_csv and no options. It skips when
// python3 or pandas is missing, unless CI=true, where it fails.
func TestTablePandas(t *testing.T) {
	python := pyclient.Require(t, "pandas")
	dir := t.TempDir()
	s, rows := tableSweep()
	if err := WriteSweep(dir, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(dir, rows); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "pandas_check.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("pandas_check: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))

	// The check can fail: a table with a row missing is refused.
	if err := WriteTable(dir, rows[:len(rows)-1]); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(python, script, dir).CombinedOutput(); err == nil {
		t.Fatalf("pandas_check accepted a table with a row missing:\n%s", out)
	}
}
