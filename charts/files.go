package charts

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// This file reads the replica files of docs/formats.md that package
// ensemble does not keep: params.bin, grid.json, interp.csv and the ξ
// columns of trajectory.csv. Every error names the file.

// paramsMagic opens params.bin and init_params.bin.
const paramsMagic = "HBPARAM1"

// maxParams bounds the count read from a params.bin header (2³²
// values, 32 GiB), so a corrupt header cannot ask for absurd memory.
const maxParams = 1 << 32

// DecodeParams decodes a parameter vector in the params.bin format: the 8
// bytes "HBPARAM1", a little-endian uint64 count n, then n little-endian
// float64 values.
func DecodeParams(r io.Reader) ([]float64, error) {
	var head [16]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("truncated header")
		}
		return nil, err
	}
	if string(head[:8]) != paramsMagic {
		return nil, fmt.Errorf("bad magic %q, want %q", head[:8], paramsMagic)
	}
	n := binary.LittleEndian.Uint64(head[8:])
	if n > maxParams {
		return nil, fmt.Errorf("count %d too large", n)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	out := make([]float64, 0, min(n, 1<<20))
	var b [8]byte
	for i := uint64(0); i < n; i++ {
		if _, err := io.ReadFull(br, b[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("truncated: %d of %d values", i, n)
			}
			return nil, err
		}
		out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(b[:])))
	}
	if _, err := br.ReadByte(); err == nil {
		return nil, fmt.Errorf("trailing bytes after %d values", n)
	}
	return out, nil
}

// ReadParams reads a params.bin (or init_params.bin) file.
func ReadParams(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	defer f.Close()
	theta, err := DecodeParams(f)
	if err != nil {
		return nil, fmt.Errorf("charts: %s: %w", path, err)
	}
	return theta, nil
}

// Grid is the content of grid.json: the classifier of a 2-D data set on a
// regular grid, and the training points.
type Grid struct {
	// X and Y are the grid coordinates (nx and ny values, increasing).
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
	// Final[j][i] and Averaged[j][i] are P(class 1) at (X[i], Y[j]) for the
	// final sample and for the average over the last K evaluations.
	Final    [][]float64 `json:"final"`
	Averaged [][]float64 `json:"averaged"`
	// Points are the training points as (x, y, label).
	Points [][]float64 `json:"points"`
}

// ReadGrid reads and checks a grid.json file: at least two increasing
// coordinates per axis, ny rows of nx probabilities in [0, 1] (or NaN) in
// both fields, points of three numbers.
func ReadGrid(path string) (*Grid, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	defer f.Close()
	var g Grid
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("charts: %s: %w", path, err)
	}
	if err := g.check(); err != nil {
		return nil, fmt.Errorf("charts: %s: %w", path, err)
	}
	return &g, nil
}

func (g *Grid) check() error {
	for _, ax := range []struct {
		name string
		v    []float64
	}{{"x", g.X}, {"y", g.Y}} {
		if len(ax.v) < 2 {
			return fmt.Errorf("%q has %d values, need at least 2", ax.name, len(ax.v))
		}
		for i, v := range ax.v {
			if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v <= ax.v[i-1]) {
				return fmt.Errorf("%q is not finite and increasing at index %d", ax.name, i)
			}
		}
	}
	for _, fl := range []struct {
		name string
		z    [][]float64
	}{{"final", g.Final}, {"averaged", g.Averaged}} {
		if len(fl.z) != len(g.Y) {
			return fmt.Errorf("%q has %d rows, want %d (len y)", fl.name, len(fl.z), len(g.Y))
		}
		for j, row := range fl.z {
			if len(row) != len(g.X) {
				return fmt.Errorf("%q row %d has %d values, want %d (len x)", fl.name, j, len(row), len(g.X))
			}
			for i, p := range row {
				if !math.IsNaN(p) && (p < 0 || p > 1) {
					return fmt.Errorf("%q[%d][%d] = %v is not a probability", fl.name, j, i, p)
				}
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

// InterpPoint is one point of a 1-D loss interpolation: the losses at
// θ(α) = (1−α)·θ_a + α·θ_b.
type InterpPoint struct {
	Alpha, Train, Test float64
}

// ReadInterp reads interp.csv: the header alpha,train_loss,test_loss and
// one row per α. An empty cell (a non-finite loss) is NaN.
func ReadInterp(path string) ([]InterpPoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = 3
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("charts: %s: empty file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("charts: %s: %w", path, err)
	}
	if head[0] != "alpha" || head[1] != "train_loss" || head[2] != "test_loss" {
		return nil, fmt.Errorf("charts: %s:1: header %q, want alpha,train_loss,test_loss", path, strings.Join(head, ","))
	}
	var out []InterpPoint
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("charts: %s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		var v [3]float64
		for i, s := range rec {
			if v[i], err = parseCell(s); err != nil {
				return nil, fmt.Errorf("charts: %s:%d: column %q: bad number %q", path, line, head[i], s)
			}
		}
		if math.IsNaN(v[0]) || (len(out) > 0 && v[0] <= out[len(out)-1].Alpha) {
			return nil, fmt.Errorf("charts: %s:%d: alpha %q is not increasing", path, line, rec[0])
		}
		out = append(out, InterpPoint{Alpha: v[0], Train: v[1], Test: v[2]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("charts: %s: no rows", path)
	}
	return out, nil
}

// parseCell parses a CSV number; an empty cell is NaN.
func parseCell(s string) (float64, error) {
	if s == "" {
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// Columns holds some columns of a trajectory.csv.
type Columns struct {
	// Steps are the evaluation steps, one per row.
	Steps []float64
	// Names are the columns read, in file order; Values[k][row] belongs to
	// Names[k]. Empty cells are NaN.
	Names  []string
	Values [][]float64
}

// ReadColumns reads the step column and every column whose name starts
// with prefix (e.g. "xi:") from a trajectory.csv file.
func ReadColumns(path, prefix string) (*Columns, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("charts: %s: empty file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("charts: %s: %w", path, err)
	}
	head = slices.Clone(head) // the reader reuses the record's backing array
	iStep := -1
	var idx []int
	c := &Columns{}
	for i, h := range head {
		switch {
		case h == "step":
			iStep = i
		case strings.HasPrefix(h, prefix):
			idx = append(idx, i)
			c.Names = append(c.Names, h)
		}
	}
	if iStep < 0 {
		return nil, fmt.Errorf("charts: %s:1: missing column \"step\"", path)
	}
	c.Values = make([][]float64, len(idx))
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("charts: %s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		step, err := strconv.ParseInt(rec[iStep], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("charts: %s:%d: bad step %q", path, line, rec[iStep])
		}
		c.Steps = append(c.Steps, float64(step))
		for k, i := range idx {
			v, err := parseCell(rec[i])
			if err != nil {
				return nil, fmt.Errorf("charts: %s:%d: column %q: bad number %q", path, line, head[i], rec[i])
			}
			c.Values[k] = append(c.Values[k], v)
		}
	}
	if len(c.Steps) == 0 {
		return nil, fmt.Errorf("charts: %s: no rows", path)
	}
	return c, nil
}

// exists reports whether path exists; other errors than "not exist" are
// returned.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("charts: %w", err)
}

// replicaFile returns the path of a file in a replica directory.
func replicaFile(dir, name string) string { return filepath.Join(dir, name) }

// readSmallThreshold reads small_threshold from a replica's result.json;
// it returns 0 when the file or the field is absent.
func readSmallThreshold(dir string) (float64, error) {
	path := replicaFile(dir, "result.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("charts: %w", err)
	}
	var res struct {
		SmallThreshold float64 `json:"small_threshold"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return 0, fmt.Errorf("charts: %s: %w", path, err)
	}
	return res.SmallThreshold, nil
}
