package charts

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

// This file holds what the charts need of the replica files beyond
// package ensemble's statistics; every file is read through package
// rundir. A damaged file never stops a report: its replica is left out
// of the chart and named in a warning (see skipped).

// InterpPoint is one point of a 1-D loss interpolation: the losses at
// θ(α) = (1−α)·θ_a + α·θ_b (a row of interp.csv).
type InterpPoint = rundir.InterpPoint

// skipped returns the warning for a replica left out of a chart because
// of err (a rundir reader's error, or a *rundir.FileError built here):
// the chart, the replica, the file relative to the run directory, and
// the reason.
func skipped(run *ensemble.Run, chart string, r *ensemble.Replica, err error) string {
	file, reason := rundir.Damage(err)
	if file == "" {
		return fmt.Sprintf("%s: replica %s left out: %s", chart, r.ID, reason)
	}
	if rel, e := filepath.Rel(run.Dir, file); e == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		file = filepath.ToSlash(rel)
	}
	return fmt.Sprintf("%s: replica %s left out: %s: %s", chart, r.ID, file, reason)
}

// warnings collects the warnings of the chart data, each once.
type warnings struct {
	list []string
	seen map[string]bool
}

// add appends the warnings not seen yet.
func (w *warnings) add(ws ...string) {
	for _, s := range ws {
		if w.seen[s] {
			continue
		}
		if w.seen == nil {
			w.seen = make(map[string]bool)
		}
		w.seen[s] = true
		w.list = append(w.list, s)
	}
}

// absent reports whether err says the file does not exist.
func absent(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// xiColumns holds the step column and the xi:<tensor> columns of a
// trajectory.csv.
type xiColumns struct {
	Steps  []float64
	Names  []string
	Values [][]float64 // Values[k][row] belongs to Names[k]
}

// readXi reads the step column and every xi:<tensor> column of a
// replica's trajectory.csv (rundir.TrajectoryReader).
func readXi(dir string) (*xiColumns, error) {
	path := filepath.Join(dir, rundir.FileTrajectory)
	tr, err := rundir.OpenTrajectory(path)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	iStep := tr.Index("step")
	if iStep < 0 {
		return nil, &rundir.FileError{Path: path + ":1", Err: errors.New(`missing column "step"`)}
	}
	c := &xiColumns{}
	var idx []int
	for i, h := range tr.Columns() {
		if strings.HasPrefix(h, "xi:") {
			idx = append(idx, i)
			c.Names = append(c.Names, h)
		}
	}
	c.Values = make([][]float64, len(idx))
	var row []float64
	for {
		row, err = tr.Next(row)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		step, err := tr.Step(row, iStep)
		if err != nil {
			return nil, err
		}
		c.Steps = append(c.Steps, float64(step))
		for k, i := range idx {
			c.Values[k] = append(c.Values[k], row[i])
		}
	}
	if len(c.Steps) == 0 {
		return nil, &rundir.FileError{Path: path, Err: errors.New("no rows")}
	}
	return c, nil
}
