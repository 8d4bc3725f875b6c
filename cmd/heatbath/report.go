package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "analyse a run directory or a train directory: statistics, charts and report.html under DIR/report",
		ArgsUsage: "DIR",
		Description: "DIR is a sweep's run directory (run, submit, resume) or the --out of heatbath train (one chain:\n" +
			"its learning curves and charts). Every choice (best replica, representative groups, Goldilocks τ)\n" +
			"uses the --select metric at each replica's best checkpoint, never a test metric.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "thresholds", Value: "0.8,0.9",
				Usage: "test accuracies for \"steps to reach\", comma separated, each in [0, 1]"},
			selectFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("report: want one run or train directory, got %d arguments", c.NArg())
			}
			opts, err := reportOptions(c)
			if err != nil {
				return err
			}
			dir := c.Args().First()
			if _, err := reportKind(dir); err != nil {
				return err
			}
			// report/ is written by one writer at a time; while a sweep
			// runs into dir, its live view is the way to look at it.
			log := newLogger(c)
			lock, err := claimRunDir(dir, "", false, log)
			if err != nil {
				return err
			}
			defer releaseRunDir(lock, log)
			return writeReport(dir, c.App.Writer, opts)
		},
	}
}

// reportOptions reads --thresholds and --select into the analysis options
// (usage errors name the flag and the value).
func reportOptions(c *cli.Context) (ensemble.Options, error) {
	opts := ensemble.Options{Curves: true}
	if c.IsSet("thresholds") {
		opts.Thresholds = []float64{}
		for _, s := range strings.Split(c.String("thresholds"), ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || !(v >= 0 && v <= 1) {
				return opts, usageErrorf("report: --thresholds: %q is not a test accuracy in [0, 1]", s)
			}
			opts.Thresholds = append(opts.Thresholds, v)
		}
	}
	sel, err := parseSelect("report", c.String("select"))
	opts.Select = sel
	return opts, err
}

// Kinds of directory heatbath report reads.
const (
	kindRun   = "run"
	kindTrain = "train"
)

// reportKind tells a run directory (sweep.json) from a train directory
// (replica.json, no sweep.json).
func reportKind(dir string) (string, error) {
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("report: %s does not exist", dir)
		}
		return "", fmt.Errorf("report: %w", err)
	} else if !st.IsDir() {
		return "", fmt.Errorf("report: %s is a file, not a run or train directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, rundir.FileSweep)); err == nil {
		return kindRun, nil
	}
	if _, err := os.Stat(filepath.Join(dir, rundir.FileReplica)); err == nil {
		return kindTrain, nil
	}
	return "", fmt.Errorf("report: %s is not a run directory (no %s) nor a train directory (no %s)", dir, rundir.FileSweep, rundir.FileReplica)
}

// writeReport analyses the run or train directory dir with opts and
// writes DIR/report: summary.json, summary.md, the charts and
// report.html; the key table goes to w.
func writeReport(dir string, w io.Writer, opts ensemble.Options) error {
	kind, err := reportKind(dir)
	if err != nil {
		return err
	}
	var run *ensemble.Run
	if kind == kindTrain {
		run, err = ensemble.LoadReplicaDir(dir)
	} else {
		run, err = ensemble.LoadRun(dir)
	}
	if err != nil {
		return err
	}
	sum, err := ensemble.Analyze(run, opts)
	var nv *ensemble.NoValidationError
	if errors.As(err, &nv) {
		return fmt.Errorf("report: --select %s: %d of %d done replicas have no validation split (train with one, or give --select %s)", nv.Select, nv.Missing, nv.Done, ensemble.SelectTrainLoss)
	}
	if err != nil {
		return err
	}
	out := filepath.Join(dir, "report")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := ensemble.WriteTable(w, sum); err != nil {
		return err
	}
	// Charts, report.html, summary.json and summary.md.
	if err := renderCharts(dir, out, run, sum); err != nil {
		return err
	}
	fmt.Fprintf(w, "report: %s (tables: %s)\n", filepath.Join(out, rundir.FileReportHTML), filepath.Join(out, rundir.FileReportMarkdown))
	return nil
}
