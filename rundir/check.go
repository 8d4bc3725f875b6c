package rundir

import (
	"fmt"
	"math"
	"os"
	"strings"
)

// Index returns the index of the named column of the header, or −1.
func (t *TrajectoryReader) Index(name string) int {
	for i, c := range t.columns {
		if c == name {
			return i
		}
	}
	return -1
}

// Step returns row[i] (a row from Next) as a step: an error naming the
// file and line when it is not a whole number (an empty cell, a fraction).
func (t *TrajectoryReader) Step(row []float64, i int) (int64, error) {
	v := row[i]
	if math.IsNaN(v) || math.IsInf(v, 0) || v != math.Trunc(v) || math.Abs(v) >= 1<<63 {
		return 0, &FileError{fmt.Sprintf("%s:%d", t.name, t.line), fmt.Errorf("column %q: bad step %v", t.columns[i], v)}
	}
	return int64(v), nil
}

// ValidReplicaID reports whether id can name a replica directory: not
// empty, not "." or "..", no path separator.
func ValidReplicaID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, `/\`)
}

// Validate checks a sweep.json for what its readers rely on: a version
// this package reads, and replicas with valid (ValidReplicaID), distinct
// ids and a group.
func (s *Sweep) Validate() error {
	if s.Version > SweepVersion {
		return fmt.Errorf("unsupported version %d (this program reads up to %d)", s.Version, SweepVersion)
	}
	seen := make(map[string]bool, len(s.Replicas))
	for i, e := range s.Replicas {
		switch {
		case !ValidReplicaID(e.ID):
			return fmt.Errorf("replica %d has invalid id %q", i, e.ID)
		case seen[e.ID]:
			return fmt.Errorf("duplicate replica id %q", e.ID)
		case e.Group == "":
			return fmt.Errorf("replica %q has no group", e.ID)
		}
		seen[e.ID] = true
	}
	return nil
}

// TrajectoryFile is an open trajectory.csv (or interp.csv) and its
// reader.
type TrajectoryFile struct {
	*TrajectoryReader
	f *os.File
}

// OpenTrajectory opens the file at path and reads its header
// (NewTrajectoryReader). Errors are *FileError naming the file; a missing
// file wraps fs.ErrNotExist. Close the file when done.
func OpenTrajectory(path string) (*TrajectoryFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{path, unwrapPath(err)}
	}
	tr, err := NewTrajectoryReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &TrajectoryFile{tr, f}, nil
}

// Close closes the file.
func (t *TrajectoryFile) Close() error { return t.f.Close() }
