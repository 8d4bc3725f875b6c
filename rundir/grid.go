package rundir

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
)

// UnmarshalJSON reads an array of numbers, null as NaN (the inverse of
// MarshalJSON). It parses the array itself: grids and predictions hold
// ~10⁴ probabilities per replica, and a decoder through []*float64 would
// allocate one pointer per value.
func (p *Probs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*p = nil
		return nil
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return fmt.Errorf("probabilities: want an array of numbers, got %.20q", b)
	}
	body := bytes.TrimSpace(b[1 : len(b)-1])
	out := (*p)[:0]
	if len(body) == 0 {
		*p = out
		return nil
	}
	for len(body) > 0 {
		cell, rest, _ := bytes.Cut(body, []byte(","))
		cell = bytes.TrimSpace(cell)
		v := math.NaN()
		if string(cell) != "null" {
			var err error
			if v, err = strconv.ParseFloat(string(cell), 64); err != nil {
				return fmt.Errorf("probabilities: %.20q is not a number", cell)
			}
		}
		out = append(out, v)
		body = rest
	}
	*p = out
	return nil
}

// Validate checks a grid.json: at least two finite, increasing coordinates
// per axis; "final" and "averaged" with len(Y) rows of len(X)
// probabilities in [0, 1] (or NaN); points of three numbers (x, y,
// label).
func (g *Grid) Validate() error {
	for _, ax := range []struct {
		name string
		v    []float64
	}{{"x", g.X}, {"y", g.Y}} {
		if len(ax.v) < 2 {
			return fmt.Errorf("%q has %d values, need at least 2", ax.name, len(ax.v))
		}
		for i, v := range ax.v {
			if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v <= ax.v[i-1]) {
				return fmt.Errorf("%q is not finite and increasing at index %d (%v)", ax.name, i, v)
			}
		}
	}
	for _, fl := range []struct {
		name string
		z    []Probs
	}{{"final", g.Final}, {"averaged", g.Averaged}} {
		if len(fl.z) != len(g.Y) {
			return fmt.Errorf("%q has %d rows, want %d (len y)", fl.name, len(fl.z), len(g.Y))
		}
		for j, row := range fl.z {
			if len(row) != len(g.X) {
				return fmt.Errorf("%q row %d has %d values, want %d (len x)", fl.name, j, len(row), len(g.X))
			}
			if i, ok := probabilities(row); !ok {
				return fmt.Errorf("%q[%d][%d] = %v is not a probability", fl.name, j, i, row[i])
			}
		}
	}
	for k, p := range g.Points {
		if len(p) != 3 {
			return fmt.Errorf("point %d has %d values, want 3 (x, y, label)", k, len(p))
		}
	}
	return nil
}

// Validate checks a predictions.json: at least two classes; as many
// "final" and "averaged" rows as labels, each of Classes probabilities in
// [0, 1] (or NaN); labels in [0, Classes); K not negative.
func (p *Predictions) Validate() error {
	if p.Classes < 2 {
		return fmt.Errorf("classes = %d, need at least 2", p.Classes)
	}
	if p.K < 0 {
		return fmt.Errorf("k = %d is negative", p.K)
	}
	n := len(p.Labels)
	if len(p.Final) != n || len(p.Averaged) != n {
		return fmt.Errorf("%d labels, %d final and %d averaged rows", n, len(p.Final), len(p.Averaged))
	}
	for i, y := range p.Labels {
		if y < 0 || y >= p.Classes {
			return fmt.Errorf("label %d of point %d outside [0, %d)", y, i, p.Classes)
		}
		if len(p.Final[i]) != p.Classes || len(p.Averaged[i]) != p.Classes {
			return fmt.Errorf("point %d: rows of %d and %d probabilities, want %d", i, len(p.Final[i]), len(p.Averaged[i]), p.Classes)
		}
		for _, row := range []Probs{p.Final[i], p.Averaged[i]} {
			if k, ok := probabilities(row); !ok {
				return fmt.Errorf("point %d: %v is not a probability (class %d)", i, row[k], k)
			}
		}
	}
	return nil
}

// probabilities reports whether every value of row is in [0, 1] or NaN,
// and else the index of the first that is not.
func probabilities(row Probs) (int, bool) {
	for i, v := range row {
		if !math.IsNaN(v) && !(v >= 0 && v <= 1) {
			return i, false
		}
	}
	return 0, true
}

// ReadGrid reads and validates (Grid.Validate) a replica directory's
// grid.json. Errors are *FileError naming the file; a missing file wraps
// fs.ErrNotExist (data that is not two-dimensional has none), a file cut
// off wraps ErrTruncated.
func ReadGrid(replicaDir string) (*Grid, error) {
	path := filepath.Join(replicaDir, FileGrid)
	var g Grid
	if err := ReadJSON(path, &g); err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, &FileError{path, err}
	}
	return &g, nil
}

// ReadPredictions reads and validates (Predictions.Validate) a replica
// directory's predictions.json. Errors are as ReadGrid's.
func ReadPredictions(replicaDir string) (*Predictions, error) {
	path := filepath.Join(replicaDir, FilePredictions)
	var p Predictions
	if err := ReadJSON(path, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, &FileError{path, err}
	}
	return &p, nil
}

// Damage splits an error of a reader of this package into the file it
// concerns (FileError.Path, with ":line" for CSV; "" when the error names
// no file) and the reason, for a report's list of skipped files.
func Damage(err error) (file, reason string) {
	var fe *FileError
	if errors.As(err, &fe) {
		return fe.Path, fe.Err.Error()
	}
	return "", err.Error()
}
