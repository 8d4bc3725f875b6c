package rundir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// trajectory.csv: comma-separated, one header line, then one row per
// evaluation; the first column is "step". Numbers are written with Go's
// shortest round-trip formatting; NaN and the infinities as empty cells.
// Column names and meanings are in docs/formats.md.

// AppendRow appends one trajectory.csv row (with its newline) to b.
func AppendRow(b []byte, row []float64) []byte {
	for i, v := range row {
		if i > 0 {
			b = append(b, ',')
		}
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	return append(b, '\n')
}

// TrajectoryWriter writes trajectory.csv from the start: the header, then
// rows as they come (heatbath train).
type TrajectoryWriter struct {
	w   *bufio.Writer
	buf []byte
}

// NewTrajectoryWriter writes the header line of the columns to w.
func NewTrajectoryWriter(w io.Writer, columns []string) (*TrajectoryWriter, error) {
	t := &TrajectoryWriter{w: bufio.NewWriter(w)}
	t.w.WriteString(strings.Join(columns, ","))
	t.w.WriteByte('\n')
	return t, t.w.Flush()
}

// Write writes one row; NaN and Inf become empty cells. It does not
// allocate once its buffer has grown to a row's size.
func (t *TrajectoryWriter) Write(row []float64) error {
	t.buf = AppendRow(t.buf[:0], row)
	_, err := t.w.Write(t.buf)
	return err
}

// Flush flushes buffered rows.
func (t *TrajectoryWriter) Flush() error { return t.w.Flush() }

// RepairTrajectory prepares path for appending after a crash: it cuts a
// torn last line (one without its newline) and returns the step of the
// last complete row, −1 when the file is missing or holds no row.
func RepairTrajectory(path string) (last int64, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return 0, &FileError{path, unwrapPath(err)}
	}
	if i := bytes.LastIndexByte(b, '\n'); i+1 != len(b) {
		if err := os.Truncate(path, int64(i+1)); err != nil {
			return 0, &FileError{path, unwrapPath(err)}
		}
		b = b[:i+1]
	}
	b = bytes.TrimRight(b, "\n")
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		return -1, nil // a header at most
	}
	first, _, _ := bytes.Cut(b[i+1:], []byte(","))
	step, err := strconv.ParseInt(string(first), 10, 64)
	if err != nil {
		return 0, &FileError{path, fmt.Errorf("last row: bad step %q", first)}
	}
	return step, nil
}

// AppendTrajectory appends to path the rows whose step is after last (the
// step of the file's last row, −1 for none: then the header of columns is
// written first) and returns the new last step. Rows at or before last
// are skipped: a resumed chain resends the rows after its checkpoint, and
// those are identical. The rows must be in increasing step order. The
// file is not synced (see SyncFile).
func AppendTrajectory(path string, columns []string, last int64, rows [][]float64) (int64, error) {
	var b []byte
	if last < 0 {
		b = append(b, strings.Join(columns, ",")...)
		b = append(b, '\n')
	}
	wrote := false
	for _, row := range rows {
		if len(row) == 0 {
			continue
		}
		step := int64(row[0])
		if step <= last {
			continue
		}
		b = AppendRow(b, row)
		last, wrote = step, true
	}
	if !wrote {
		return last, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, &FileError{path, unwrapPath(err)}
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return 0, &FileError{path, unwrapPath(err)}
	}
	if err := f.Close(); err != nil {
		return 0, &FileError{path, unwrapPath(err)}
	}
	return last, nil
}

// SyncFile fsyncs the file at path (a trajectory that is complete).
func SyncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return &FileError{path, unwrapPath(err)}
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return &FileError{path, unwrapPath(err)}
	}
	return nil
}

// TrajectoryReader streams the rows of a trajectory.csv (or any CSV of
// numbers with one header line, such as interp.csv).
type TrajectoryReader struct {
	r       *bufio.Reader
	name    string
	columns []string
	line    int
}

// NewTrajectoryReader reads the header line of r; name (the file's path)
// is used in errors.
func NewTrajectoryReader(r io.Reader, name string) (*TrajectoryReader, error) {
	t := &TrajectoryReader{r: bufio.NewReaderSize(r, 64<<10), name: name}
	head, err := t.readLine()
	if err == io.EOF {
		return nil, &FileError{name, errors.New("empty file")}
	}
	if err != nil {
		return nil, err
	}
	t.columns = strings.Split(string(head), ",")
	return t, nil
}

// Columns returns the column names of the header.
func (t *TrajectoryReader) Columns() []string { return t.columns }

// Line returns the line number of the row last returned (the header is
// line 1).
func (t *TrajectoryReader) Line() int { return t.line }

// Next parses the next row into dst (grown as needed) and returns it; an
// empty cell is NaN. At the end of the file it returns io.EOF. A last line
// without its newline (a file cut off while written) is an error wrapping
// ErrTruncated; a row with the wrong number of cells or a bad number is an
// error naming the file, line and column.
func (t *TrajectoryReader) Next(dst []float64) ([]float64, error) {
	b, err := t.readLine()
	if err != nil {
		return nil, err
	}
	dst = dst[:0]
	for i := 0; ; i++ {
		cell, rest, more := bytes.Cut(b, []byte(","))
		if i >= len(t.columns) {
			return nil, &FileError{fmt.Sprintf("%s:%d", t.name, t.line), fmt.Errorf("%d cells, want %d", strings.Count(string(b), ",")+i+1, len(t.columns))}
		}
		v := math.NaN()
		if len(cell) > 0 {
			if v, err = strconv.ParseFloat(string(cell), 64); err != nil {
				return nil, &FileError{fmt.Sprintf("%s:%d", t.name, t.line), fmt.Errorf("column %q: bad number %q", t.columns[i], cell)}
			}
		}
		dst = append(dst, v)
		if !more {
			break
		}
		b = rest
	}
	if len(dst) != len(t.columns) {
		return nil, &FileError{fmt.Sprintf("%s:%d", t.name, t.line), fmt.Errorf("%d cells, want %d", len(dst), len(t.columns))}
	}
	return dst, nil
}

// readLine returns the next line without its newline.
func (t *TrajectoryReader) readLine() ([]byte, error) {
	b, err := t.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A very long line: collect it.
		long := append([]byte(nil), b...)
		for err == bufio.ErrBufferFull {
			b, err = t.r.ReadSlice('\n')
			long = append(long, b...)
		}
		b = long
	}
	t.line++
	switch {
	case err == io.EOF && len(b) == 0:
		return nil, io.EOF
	case err == io.EOF:
		return nil, &FileError{fmt.Sprintf("%s:%d", t.name, t.line), fmt.Errorf("%w: last line has no newline", ErrTruncated)}
	case err != nil:
		return nil, &FileError{t.name, unwrapPath(err)}
	}
	return bytes.TrimSuffix(b[:len(b)-1], []byte("\r")), nil
}

// ReadTrajectory reads a whole trajectory file: its columns and rows.
func ReadTrajectory(path string) (columns []string, rows [][]float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &FileError{path, unwrapPath(err)}
	}
	defer f.Close()
	tr, err := NewTrajectoryReader(f, path)
	if err != nil {
		return nil, nil, err
	}
	for {
		row, err := tr.Next(nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, row)
	}
	return tr.Columns(), rows, nil
}
