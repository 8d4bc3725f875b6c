package dataset

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		x        []float64
		y        []int
		classes  int
	}{
		{"plain", "1,2,0\n3.5,-4e-1,1\n", []float64{1, 2, 3.5, -0.4}, []int{0, 1}, 2},
		{"header", "x1,x2,label\n1,2,0\n3,4,2\n", []float64{1, 2, 3, 4}, []int{0, 2}, 3},
		{"quoted header, comments, spaces, CRLF", "# made by hand\r\n\"x\", \"y\",class\r\n 1 , 2, 1.0\r\n# more\r\n5,6 ,0\r\n",
			[]float64{1, 2, 5, 6}, []int{1, 0}, 2},
		{"one feature", "0.5,3\n", []float64{0.5}, []int{3}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadCSV(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.X, tc.x) || !slices.Equal(s.Y, tc.y) || s.Classes != tc.classes {
				t.Errorf("X, Y, Classes = %v, %v, %d; want %v, %v, %d", s.X, s.Y, s.Classes, tc.x, tc.y, tc.classes)
			}
			if s.Dim != len(tc.x)/len(tc.y) {
				t.Errorf("Dim = %d, want %d", s.Dim, len(tc.x)/len(tc.y))
			}
		})
	}
}

func TestReadCSVCellErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in     string
		line, column int
		value        string
		err          error
	}{
		{"bad feature", "a,b,c\n1,2,0\n3,x4,1\n", 3, 2, "x4", ErrNotNumber},
		{"NaN feature", "1,NaN,0\n", 1, 2, "NaN", ErrNotNumber},
		{"Inf feature", "1,2,0\n\n+Inf,2,0\n", 3, 1, "+Inf", ErrNotNumber},
		{"mixed first line is data", "1,abc,0\n", 1, 2, "abc", ErrNotNumber},
		{"negative label", "1,2,-1\n", 1, 3, "-1", ErrBadLabel},
		{"fractional label", "1,2,0\n1,2,1.5\n", 2, 3, "1.5", ErrBadLabel},
		{"word label", "1,2,yes\n", 1, 3, "yes", ErrBadLabel},
		{"huge label", "1,2,1e12\n", 1, 3, "1e12", ErrBadLabel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in))
			var ce *CSVError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want a *CSVError", err, err)
			}
			if ce.Line != tc.line || ce.Column != tc.column || ce.Value != tc.value || !errors.Is(err, tc.err) {
				t.Errorf("got line %d, column %d, value %q, err %v; want %d, %d, %q, %v",
					ce.Line, ce.Column, ce.Value, ce.Err, tc.line, tc.column, tc.value, tc.err)
			}
			want := "dataset: CSV line " + strconv.Itoa(tc.line) + ", column " + strconv.Itoa(tc.column)
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("message %q does not start %q", err, want)
			}
		})
	}
}

func TestReadCSVOtherErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, msg string
	}{
		{"empty", "", "no data rows"},
		{"header only", "x,y,label\n", "no data rows"},
		{"one column", "1\n2\n", "line 1: 1 column(s)"},
		{"ragged", "1,2,0\n1,2\n", "line 2"},
		{"bad quote", "1,\"2,0\n", "dataset: CSV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "dataset: ") {
				t.Errorf("error = %v, want one containing %q", err, tc.msg)
			}
		})
	}
	_, err := ReadCSV(strings.NewReader("1,2,0\n1,2\n"))
	var pe *csv.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || !errors.Is(err, csv.ErrFieldCount) {
		t.Errorf("ragged: error %v, want a *csv.ParseError on line 2 wrapping ErrFieldCount", err)
	}
}

func TestLoadCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(path, []byte("x,y,label\n1,2,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 || s.Y[0] != 1 {
		t.Errorf("Len, Y = %d, %v", s.Len(), s.Y)
	}
	if err := os.WriteFile(path, []byte("1,2,z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCSV(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error = %v, want one naming %s", err, path)
	}
	if _, err := LoadCSV(filepath.Join(t.TempDir(), "none.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v", err)
	}
}
