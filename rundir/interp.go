package rundir

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// InterpPoint is one row of interp.csv: the training and test losses at
// θ(α) = (1−α)·θ_init + α·θ_final.
type InterpPoint struct {
	Alpha, Train, Test float64
}

// interpHeader is interp.csv's header line.
const interpHeader = "alpha,train_loss,test_loss"

// EncodeInterp returns interp.csv's bytes; non-finite losses are empty
// cells.
func EncodeInterp(pts []InterpPoint) []byte {
	b := append([]byte(interpHeader), '\n')
	for _, p := range pts {
		b = AppendRow(b, []float64{p.Alpha, p.Train, p.Test})
	}
	return b
}

// ReadInterp reads interp.csv; an empty cell is NaN. α must increase.
func ReadInterp(path string) ([]InterpPoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{path, unwrapPath(err)}
	}
	defer f.Close()
	tr, err := NewTrajectoryReader(f, path)
	if err != nil {
		return nil, err
	}
	if h := strings.Join(tr.Columns(), ","); h != interpHeader {
		return nil, &FileError{path + ":1", fmt.Errorf("header %q, want %s", h, interpHeader)}
	}
	var out []InterpPoint
	var row []float64
	for {
		row, err = tr.Next(row)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if math.IsNaN(row[0]) || (len(out) > 0 && row[0] <= out[len(out)-1].Alpha) {
			return nil, &FileError{fmt.Sprintf("%s:%d", path, tr.Line()), fmt.Errorf("alpha %g is not increasing", row[0])}
		}
		out = append(out, InterpPoint{Alpha: row[0], Train: row[1], Test: row[2]})
	}
	if len(out) == 0 {
		return nil, &FileError{path, fmt.Errorf("no rows")}
	}
	return out, nil
}
