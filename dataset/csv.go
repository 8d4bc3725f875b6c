package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// CSVError is a bad cell in a CSV data set.
type CSVError struct {
	// Line is the 1-based line of the cell in the input.
	Line int
	// Column is the 1-based field number of the cell in its record.
	Column int
	// Value is the cell's text.
	Value string
	// Err says what is wrong with it.
	Err error
}

// Error implements error.
func (e *CSVError) Error() string {
	return fmt.Sprintf("dataset: CSV line %d, column %d: %q: %v", e.Line, e.Column, e.Value, e.Err)
}

// Unwrap returns e.Err.
func (e *CSVError) Unwrap() error { return e.Err }

// Errors a CSVError wraps.
var (
	// ErrNotNumber is a feature cell that is not a finite number.
	ErrNotNumber = errors.New("not a finite number")
	// ErrBadLabel is a label cell that is not an integer ≥ 0.
	ErrBadLabel = errors.New("label is not an integer ≥ 0")
)

// ReadCSV reads a data set from comma-separated values: every record holds
// Dim ≥ 1 numeric feature columns and, last, the integer class label ≥ 0
// (written "3" or "3.0"; at most 2³¹−1). Classes is the largest label + 1.
//
// Quoting follows RFC 4180 (encoding/csv); spaces around a cell are ignored,
// lines starting with '#' are comments, and every record must have the same
// number of fields. The first record is a header, and skipped, when none of
// its cells parses as a number; a first record with some numeric cells is
// data, and its bad cells are errors.
//
// A bad cell gives a *CSVError naming its line and column and wrapping
// ErrNotNumber or ErrBadLabel; a ragged record gives encoding/csv's
// *csv.ParseError, which names the line. A file without data rows, or with
// fewer than two columns, is an error too.
func ReadCSV(r io.Reader) (*Set, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	s := &Set{}
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("dataset: CSV: %w", err)
		}
		if first {
			first = false
			if len(rec) < 2 {
				line, _ := cr.FieldPos(0)
				return nil, fmt.Errorf("dataset: CSV line %d: %d column(s), want ≥ 2 (features, then the label)", line, len(rec))
			}
			s.Dim = len(rec) - 1
			if isHeader(rec) {
				continue
			}
		}
		for j, cell := range rec[:s.Dim] {
			v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, cellError(cr, j, cell, ErrNotNumber)
			}
			s.X = append(s.X, v)
		}
		cell := rec[s.Dim]
		v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
		if err != nil || !(v >= 0) || v != math.Trunc(v) || v > math.MaxInt32 {
			return nil, cellError(cr, s.Dim, cell, ErrBadLabel)
		}
		s.Y = append(s.Y, int(v))
		s.Classes = max(s.Classes, int(v)+1)
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("dataset: CSV: no data rows")
	}
	return s, nil
}

// LoadCSV opens the file at path and reads it with ReadCSV.
func LoadCSV(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: CSV: %w", err)
	}
	defer f.Close()
	s, err := ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return s, nil
}

// isHeader reports whether no cell of rec parses as a number.
func isHeader(rec []string) bool {
	for _, cell := range rec {
		if _, err := strconv.ParseFloat(strings.TrimSpace(cell), 64); err == nil {
			return false
		}
	}
	return true
}

// cellError locates field j of the current record of cr.
func cellError(cr *csv.Reader, j int, cell string, err error) *CSVError {
	line, _ := cr.FieldPos(j)
	return &CSVError{Line: line, Column: j + 1, Value: cell, Err: err}
}
