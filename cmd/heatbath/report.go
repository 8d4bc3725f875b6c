package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "analyse a run directory: statistics, charts and report.html under RUN_DIR/report",
		ArgsUsage: "RUN_DIR",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("report: want one run directory, got %d arguments", c.NArg())
			}
			dir := c.Args().First()
			if _, err := os.Stat(filepath.Join(dir, rundir.FileSweep)); err != nil {
				return fmt.Errorf("report: %s is not a run directory (no sweep.json)", dir)
			}
			// report/ is written by one writer at a time; while a sweep
			// runs into dir, its live view is the way to look at it.
			log := newLogger(c)
			lock, err := claimRunDir(dir, "", false, log)
			if err != nil {
				return err
			}
			defer releaseRunDir(lock, log)
			return writeReport(dir, os.Stdout)
		},
	}
}

// writeReport analyses the run directory and writes RUN_DIR/report:
// summary.json, summary.md, the charts and report.html; the key table goes
// to w.
func writeReport(dir string, w io.Writer) error {
	run, err := ensemble.LoadRun(dir)
	if err != nil {
		return err
	}
	sum, err := ensemble.Analyze(run, ensemble.Options{Curves: true})
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
