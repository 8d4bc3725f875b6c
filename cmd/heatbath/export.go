package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/internal/suggest"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "copy one replica's parameters (safetensors, PyTorch layout) and a model.json to a folder",
		ArgsUsage: "RUN_DIR --to DIR",
		Description: "Writes params.safetensors (the final parameters), best_params.safetensors (those of the best\n" +
			"validation evaluation, when the replica has them) and model.json (architecture, PyTorch module, input\n" +
			"scaling, class labels, data set, the replica's settings and seed, how it was chosen) to --to.\n" +
			"By default the replica is the run's best, the report's choice: the done replica of lowest validation\n" +
			"loss at its best evaluation (training loss for runs without a validation split; --select chooses on\n" +
			"another metric, as report does); --replica picks another by id or index. RUN_DIR may also be the folder of one chain of heatbath train.\n" +
			"Run directories written before the safetensors files (params.bin) are converted.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "folder to write (created if needed; a new or empty one, or an earlier export)"},
			&cli.StringFlag{Name: "replica", Aliases: []string{"r"}, Usage: "replica id (e.g. r0003-1a2b3c4d) or its index in sweep.json"},
			&cli.BoolFlag{Name: "best", Usage: "the run's best replica, as the report chooses it (the default)"},
			selectFlag(),
		},
		Action: exportAction,
	}
}

func exportAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("export: want one run directory, got %d arguments", c.NArg())
	}
	to := c.String("to")
	if to == "" {
		return usageErrorf("export: --to is missing: the folder to write the model to")
	}
	if c.IsSet("replica") && c.Bool("best") {
		return usageErrorf("export: --replica %s and --best choose the replica twice; give one of them", c.String("replica"))
	}
	if c.IsSet("replica") && c.String("replica") == "" {
		return usageErrorf("export: --replica is empty: give a replica id or index")
	}
	sel, err := parseSelect("export", c.String("select"))
	if err != nil {
		return err
	}
	if c.IsSet("replica") && sel != "" {
		return usageErrorf("export: --replica %s and --select %s choose the replica twice; give one of them", c.String("replica"), sel)
	}
	if err := checkExportDir(to); err != nil {
		return err
	}
	m, params, err := exportModel(c.Args().First(), c.String("replica"), sel)
	if err != nil {
		return err
	}
	if err := rundir.WriteModel(to, m, params); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	printExport(os.Stdout, m, to)
	return nil
}

// checkExportDir refuses a --to that is not a folder, or a folder that
// holds something other than an earlier export (files, but no model.json):
// an export overwrites and removes the parameter files it names.
func checkExportDir(to string) error {
	st, err := os.Stat(to)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("export: --to %s: %w", to, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("export: --to %s is a file, not a folder", to)
	}
	ents, err := os.ReadDir(to)
	if err != nil {
		return fmt.Errorf("export: --to %s: %w", to, errors.Unwrap(err))
	}
	if len(ents) == 0 {
		return nil
	}
	if ok, err := rundir.Exists(filepath.Join(to, rundir.FileModel)); err != nil || !ok {
		return fmt.Errorf("export: --to %s is not empty and holds no %s of an earlier export; choose a new or empty folder", to, rundir.FileModel)
	}
	return nil
}

// exportModel chooses the replica of the run directory dir (the one whose
// id or index is replica, else the best by the metric, "" for the
// default) and returns its model.json and parameter files.
func exportModel(dir, replica, metric string) (*rundir.Model, map[string][]byte, error) {
	hasSweep, err := rundir.Exists(filepath.Join(dir, rundir.FileSweep))
	if err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	if !hasSweep {
		// The folder of one chain of heatbath train.
		if ok, _ := rundir.Exists(filepath.Join(dir, rundir.FileReplica)); !ok {
			return nil, nil, fmt.Errorf("export: %s is neither a run directory (no %s) nor the folder of one chain (no %s)", dir, rundir.FileSweep, rundir.FileReplica)
		}
		info, err := rundir.ReadReplicaInfo(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("export: %w", err)
		}
		if replica != "" && replica != info.ID && replica != strconv.Itoa(info.Index) {
			return nil, nil, fmt.Errorf("export: --replica %s: %s holds the one chain %s (index %d)", replica, dir, info.ID, info.Index)
		}
		return replicaModel(dir, info, nil, rundir.ModelSelection{By: rundir.SelectReplica})
	}
	sw, err := rundir.ReadSweep(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	var id string
	sel := rundir.ModelSelection{By: rundir.SelectReplica}
	if replica != "" {
		if id, err = findReplica(sw, dir, replica); err != nil {
			return nil, nil, err
		}
	} else {
		best, err := bestReplica(dir, metric)
		if err != nil {
			return nil, nil, err
		}
		id = best.ID
		sel = rundir.ModelSelection{By: rundir.SelectBest, Metric: best.ChosenBy, Value: rundir.Finite(best.Value)}
	}
	rdir := rundir.ReplicaDir(dir, id)
	if ok, _ := rundir.Exists(filepath.Join(rdir, rundir.FileResult)); !ok {
		return nil, nil, fmt.Errorf("export: replica %s has no parameters to export (%s)", id, whyNoResult(dir, id))
	}
	info, err := rundir.ReadReplicaInfo(rdir)
	if err != nil {
		return nil, nil, fmt.Errorf("export: replica %s: %w", id, err)
	}
	return replicaModel(rdir, info, sw, sel)
}

// whyNoResult says why replica id of the run directory dir has no
// result.json: its failure.json, else its line of summary.json, else that
// it has not finished.
func whyNoResult(dir, id string) string {
	if f, err := rundir.ReadFailure(rundir.ReplicaDir(dir, id)); err == nil {
		return fmt.Sprintf("it failed: %s: %s", f.Code, oneLine(f.Message))
	}
	if sum, err := rundir.ReadSummary(dir); err == nil {
		for _, r := range sum.Replicas {
			if r.ID == id && r.Status != rundir.StatusDone && r.Status != rundir.StatusDiverged {
				what := "it is " + r.Status
				if r.Status == rundir.StatusFailed {
					what = "it failed"
				}
				switch {
				case r.Error == "":
					return what
				case r.ErrorCode == "": // a pruned replica's record has none
					return fmt.Sprintf("%s: %s", what, oneLine(r.Error))
				}
				return fmt.Sprintf("%s: %s: %s", what, r.ErrorCode, oneLine(r.Error))
			}
		}
	}
	return "it has not finished"
}

// findReplica returns the id of the replica of sw whose id or index is s.
func findReplica(sw *rundir.Sweep, dir, s string) (string, error) {
	for _, e := range sw.Replicas {
		if e.ID == s {
			return e.ID, nil
		}
	}
	if i, err := strconv.Atoi(s); err == nil {
		for _, e := range sw.Replicas {
			if e.Index == i {
				return e.ID, nil
			}
		}
	}
	example := ""
	if n := len(sw.Replicas); n > 0 {
		example = fmt.Sprintf(": ids like %s, indices 0..%d", sw.Replicas[0].ID, n-1)
	}
	return "", fmt.Errorf("export: --replica %s: no replica of %s has that id or index (%d replicas%s, listed in %s)",
		s, dir, len(sw.Replicas), example, filepath.Join(dir, rundir.FileSweep))
}

// selectFlag is --select of report and export: the metric that chooses
// the best replica (ensemble.Options.Select).
func selectFlag() cli.Flag {
	return &cli.StringFlag{Name: "select", Usage: "selection metric: " + strings.Join(ensemble.SelectMetrics, ", ") +
		" (default val_loss, or train_loss when some replica has no validation split)"}
}

// parseSelect checks the value of --select for the command verb: "" (the
// default) or one of ensemble.SelectMetrics, else a usage error with the
// closest metric.
func parseSelect(verb, sel string) (string, error) {
	if sel == "" || slices.Contains(ensemble.SelectMetrics, sel) {
		return sel, nil
	}
	return "", usageErrorf("%s: --select %q is not a selection metric%s (want %s)", verb, sel, suggest.Hint(sel, ensemble.SelectMetrics), strings.Join(ensemble.SelectMetrics, ", "))
}

// bestReplica returns the run's best replica by the metric sel ("" for
// the default) as the report chooses it (ensemble.Summary.Best).
func bestReplica(dir, sel string) (*ensemble.BestReplica, error) {
	run, err := ensemble.LoadRun(dir)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	// The choice of the best replica does not depend on the bootstrap
	// resamples, which only the intervals need: one keeps this quick.
	sum, err := ensemble.Analyze(run, ensemble.Options{Resamples: 1, Select: sel})
	var nv *ensemble.NoValidationError
	if errors.As(err, &nv) {
		return nil, fmt.Errorf("export: --select %s: %d of %d done replicas have no validation split (give --select %s)", nv.Select, nv.Missing, nv.Done, ensemble.SelectTrainLoss)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if sum.Best == nil {
		st := sum.Status
		return nil, fmt.Errorf("export: %s has no done replica to choose the best from (%d done, %d diverged, %d failed, %d cancelled, %d incomplete of %d); name one with --replica",
			dir, st.Done, st.Diverged, st.Failed, st.Cancelled, st.Incomplete, st.Total)
	}
	return sum.Best, nil
}

// replicaModel reads the replica directory rdir of info (of the sweep sw,
// nil for the folder of one chain) and returns its model.json, chosen as
// sel, and its parameter files.
func replicaModel(rdir string, info *protocol.ReplicaInfo, sw *rundir.Sweep, sel rundir.ModelSelection) (*rundir.Model, map[string][]byte, error) {
	res, err := rundir.ReadResult(rdir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("export: replica %s has no parameters to export (it has not finished)", info.ID)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("export: replica %s: %w", info.ID, err)
	}
	final, err := readParams(rdir, info, rundir.FileParams, rundir.ParamsFinal, res.Steps)
	if err != nil {
		return nil, nil, err
	}
	m := rundir.NewModel(*final.Meta, info)
	m.Status, m.Steps, m.Selection = res.Status, res.Steps, sel
	if sw != nil {
		m.Sweep, m.SweepName = sw.ID, sw.Name
	}
	files := map[string][]byte{}
	add := func(name string, p *rundir.Params, metrics rundir.Metrics) error {
		b, err := rundir.EncodeParams(*p.Meta, p.Theta)
		if err != nil {
			return fmt.Errorf("export: %s: %w", p.Path, err)
		}
		files[name] = b
		m.Files = append(m.Files, rundir.ModelFile{File: name, Parameters: p.Meta.Parameters, Step: p.Meta.Step, Metrics: metrics})
		return nil
	}
	if err := add(rundir.FileParams, final, res.Final); err != nil {
		return nil, nil, err
	}
	best, err := readParams(rdir, info, rundir.FileBestParams, rundir.ParamsBest, res.Best.Step)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Run directories written before best_params.safetensors existed.
	case err != nil:
		return nil, nil, err
	case fmt.Sprint(best.Meta.Widths) != fmt.Sprint(final.Meta.Widths):
		return nil, nil, fmt.Errorf("export: %s: widths %v, but %s has %v", best.Path, best.Meta.Widths, rundir.FileParams, final.Meta.Widths)
	default:
		if err := add(rundir.FileBestParams, best, res.Best); err != nil {
			return nil, nil, err
		}
	}
	return m, files, nil
}

// readParams reads a parameter file of rdir; the vector of a legacy
// params.bin, which has no metadata, gets the metadata of the replica's
// config (which, taken at step).
func readParams(rdir string, info *protocol.ReplicaInfo, name, which string, step int64) (*rundir.Params, error) {
	p, err := rundir.ReadParams(rdir, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && name == rundir.FileBestParams {
			return nil, err
		}
		return nil, fmt.Errorf("export: replica %s: %w", info.ID, err)
	}
	if p.Meta == nil {
		var pred struct {
			Classes int `json:"classes"`
		}
		// Classes of CSV data are known only from the data; 0 (no
		// predictions.json) means the data set's default.
		if err := rundir.ReadJSON(filepath.Join(rdir, rundir.FilePredictions), &pred); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("export: replica %s: %w", info.ID, err)
		}
		meta, err := rundir.LegacyParamsMeta(info, pred.Classes, len(p.Theta), which, step)
		if err != nil {
			return nil, fmt.Errorf("export: %s: %w", p.Path, err)
		}
		p.Meta = &meta
	}
	return p, nil
}

// printExport says what was exported where.
func printExport(w io.Writer, m *rundir.Model, to string) {
	var files []string
	for _, f := range m.Files {
		files = append(files, fmt.Sprintf("%s (step %d, test acc %s)", f.File, f.Step, fmtMetric(f.Metrics.TestAcc)))
	}
	how := ""
	if m.Selection.By == rundir.SelectBest {
		how = fmt.Sprintf(", the best replica by %s (%s)", m.Selection.Metric, fmtMetric(m.Selection.Value))
	}
	fmt.Fprintf(w, "replica %s (%s, seed %d)%s: %s\n", m.Replica, m.Group, m.Seed, how, m.PyTorch)
	fmt.Fprintf(w, "exported to %s: %s, %s\n", to, strings.Join(files, ", "), rundir.FileModel)
}
