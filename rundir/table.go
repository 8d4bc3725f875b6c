package rundir

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
)

// replicas.csv is the flat table of a sweep for pandas: one header line,
// then one row per replica of sweep.json in sweep order, every row with as
// many cells as the header, quoted by RFC 4180 (encoding/csv) where a cell
// holds a comma, a quote or a line break. `pd.read_csv(path)` reads it with
// no options. The columns, in order:
//
//	id, index, group          the replica's identity (sweep.json)
//	<setting>...              one column per setting key used by any replica, sorted;
//	                          empty where a replica lacks the key. A key equal to a
//	                          fixed column's name is prefixed "setting_" (the "seed"
//	                          setting becomes setting_seed)
//	seed                      the replica's seed
//	status                    done, diverged, failed, cancelled; for an unfinished
//	                          replica its state (pending, running, preempted), empty
//	                          before the coordinator knows it
//	error_code                why it failed (invalid_config, max_deliver, diverged, ...)
//	attempts                  attempts started
//	steps                     steps completed
//	diverged_at               the step at which a diverged chain stopped, else empty
//	final_train_loss, final_train_acc, final_val_loss, final_val_acc,
//	final_test_loss, final_test_acc
//	                          the metrics of the last evaluation
//	best_step, best_train_loss, ..., best_test_acc
//	                          the evaluation with the best validation metric
//
// A metric that is unknown (an unfinished or failed replica, an empty
// split, NaN) is an empty cell, which pandas reads as NaN. Numbers are
// written with Go's shortest round-trip formatting.

// tableMetrics are the metric columns after "final_" and "best_".
var tableMetrics = []string{"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"}

// tableFixed are the fixed columns other than the metrics, in order; the
// settings go between "group" and "seed".
var (
	tableHead = []string{"id", "index", "group"}
	tableTail = []string{"seed", "status", "error_code", "attempts", "steps", "diverged_at"}
)

// TableSettingColumns returns, for the settings keys of rows, the column
// each becomes in replicas.csv: keys sorted, each named as itself unless
// that name is taken by a fixed column (or by an earlier key's column), in
// which case "setting_" is prefixed until it is free.
func TableSettingColumns(rows []SummaryReplica) (keys, columns []string) {
	seen := map[string]bool{}
	for i := range rows {
		for k := range rows[i].Settings {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	taken := map[string]bool{}
	for _, c := range tableHead {
		taken[c] = true
	}
	for _, c := range tableTail {
		taken[c] = true
	}
	for _, p := range []string{"final_", "best_"} {
		for _, m := range tableMetrics {
			taken[p+m] = true
		}
	}
	taken["best_step"] = true
	for _, k := range keys {
		c := k
		for taken[c] {
			c = "setting_" + c
		}
		taken[c] = true
		columns = append(columns, c)
	}
	return keys, columns
}

// TableColumns returns the header of replicas.csv for rows.
func TableColumns(rows []SummaryReplica) []string {
	_, settings := TableSettingColumns(rows)
	cols := slices.Concat(tableHead, settings, tableTail)
	for _, m := range tableMetrics {
		cols = append(cols, "final_"+m)
	}
	cols = append(cols, "best_step")
	for _, m := range tableMetrics {
		cols = append(cols, "best_"+m)
	}
	return cols
}

// EncodeTable returns replicas.csv's bytes: the header of TableColumns,
// then one line per row, in the order given (the coordinator gives sweep
// order).
func EncodeTable(rows []SummaryReplica) ([]byte, error) {
	keys, _ := TableSettingColumns(rows)
	cols := TableColumns(rows)
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(cols); err != nil {
		return nil, fmt.Errorf("rundir: encode %s: %w", FileTable, err)
	}
	rec := make([]string, 0, len(cols))
	for i := range rows {
		r := &rows[i]
		rec = append(rec[:0], r.ID, strconv.Itoa(r.Index), r.Group)
		for _, k := range keys {
			rec = append(rec, r.Settings[k])
		}
		rec = append(rec, strconv.FormatUint(r.Seed, 10), r.Status, r.ErrorCode,
			strconv.Itoa(r.Attempts), strconv.FormatInt(r.Steps, 10), "")
		if r.DivergedAt > 0 {
			rec[len(rec)-1] = strconv.FormatInt(r.DivergedAt, 10)
		}
		rec = appendMetrics(rec, r.Final, false)
		rec = appendMetrics(rec, r.Best, true)
		if err := w.Write(rec); err != nil {
			return nil, fmt.Errorf("rundir: encode %s: replica %s: %w", FileTable, r.ID, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("rundir: encode %s: %w", FileTable, err)
	}
	return b.Bytes(), nil
}

// appendMetrics appends the cells of m (empty ones for nil), with its step
// first when withStep.
func appendMetrics(rec []string, m *Metrics, withStep bool) []string {
	if m == nil {
		n := len(tableMetrics)
		if withStep {
			n++
		}
		for range n {
			rec = append(rec, "")
		}
		return rec
	}
	if withStep {
		rec = append(rec, strconv.FormatInt(m.Step, 10))
	}
	for _, v := range []*float64{m.TrainLoss, m.TrainAcc, m.ValLoss, m.ValAcc, m.TestLoss, m.TestAcc} {
		rec = append(rec, tableFloat(v))
	}
	return rec
}

// tableFloat formats a metric cell: empty for nil, NaN and the infinities.
func tableFloat(p *float64) string {
	if p == nil || Finite(*p) == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

// WriteTable writes the run directory's replicas.csv atomically
// (WriteFile).
func WriteTable(run string, rows []SummaryReplica) error {
	b, err := EncodeTable(rows)
	if err != nil {
		return err
	}
	return WriteFile(filepath.Join(run, FileTable), b)
}
