package ensemble

import (
	"errors"
	"io/fs"

	"github.com/heatbath/heatbath/rundir"
)

// cutSteps sets the step of each pruned replica to the step its decision
// cut it at (prune.json, written by the coordinator that pruned the
// sweep). A run directory without prune.json keeps the steps of summary.json;
// a damaged one is a warning.
func (l *loader) cutSteps() {
	pl, err := rundir.ReadPruneLog(l.dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			l.warn("%s: %v; pruned replicas show the step of their last record", rundir.FilePrune, err)
		}
		return
	}
	cut := map[string]int64{}
	for _, d := range pl.Decisions {
		if d.Prune {
			cut[d.Replica] = d.Step
		}
	}
	for _, r := range l.run.Replicas {
		if s, ok := cut[r.ID]; ok && r.Status == StatusPruned {
			r.Steps = s
		}
	}
}
