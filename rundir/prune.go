package rundir

import (
	"fmt"
	"path/filepath"

	"github.com/heatbath/heatbath/protocol"
)

// FilePrune is the run directory's decision log of successive halving:
// every decision with its inputs, in the order taken (PruneLog).
const FilePrune = "prune.json"

// PruneSummary is summary.json's account of successive halving.
type PruneSummary struct {
	// Ran is false when no coordinator followed the sweep while its
	// replicas ran (submit -d and a later collect): then no replica was
	// stopped and Note says so.
	Ran bool `json:"ran"`
	// Decisions counts the decisions of the log (prune.json); Pruned the
	// replicas whose record ends pruned.
	Decisions int `json:"decisions"`
	Pruned    int `json:"pruned"`
	// Note explains, in a sentence, when pruning did not run.
	Note string `json:"note,omitempty"`
}

// PruneLog is prune.json: the sweep's rule and its decisions.
type PruneLog struct {
	Version   int                      `json:"version"`
	Rule      *protocol.PruneConfig    `json:"rule"`
	Decisions []protocol.PruneDecision `json:"decisions"`
}

// PruneVersion is the schema version of prune.json.
const PruneVersion = 1

// WritePruneLog writes the run directory's prune.json.
func WritePruneLog(run string, l *PruneLog) error {
	return WriteJSON(filepath.Join(run, FilePrune), l)
}

// ReadPruneLog reads the run directory's prune.json (ReadJSON: a
// *FileError, fs.ErrNotExist when there is none) and checks its version.
func ReadPruneLog(run string) (*PruneLog, error) {
	path := filepath.Join(run, FilePrune)
	var l PruneLog
	if err := ReadJSON(path, &l); err != nil {
		return nil, err
	}
	if l.Version != PruneVersion {
		return nil, &FileError{path, fmt.Errorf("version %d, want %d", l.Version, PruneVersion)}
	}
	return &l, nil
}
