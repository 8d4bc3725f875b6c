package rundir

import (
	"math"
	"strconv"
)

// Predictions is predictions.json: the test-set class probabilities of
// the final sample and of the average over the last K evaluations.
type Predictions struct {
	Classes  int     `json:"classes"`
	Labels   []int   `json:"labels"`
	K        int     `json:"k"`
	Final    []Probs `json:"final"`
	Averaged []Probs `json:"averaged"`
}

// Grid is grid.json: for two-dimensional data, P(class 1) on a regular
// grid (Final[j][i] at (X[i], Y[j])) and the training points (x, y, label).
type Grid struct {
	X        []float64   `json:"x"`
	Y        []float64   `json:"y"`
	Final    []Probs     `json:"final"`
	Averaged []Probs     `json:"averaged"`
	Points   [][]float64 `json:"points"`
}

// Probs are probabilities, written to JSON with 6 significant digits: far
// below any statistical resolution of the report, and a third of the size
// of full precision.
type Probs []float64

// MarshalJSON writes each value with 6 significant digits.
func (p Probs) MarshalJSON() ([]byte, error) { return appendFloats(nil, p, 6), nil }

// appendFloats appends a JSON array of xs with prec significant digits
// (-1: shortest exact), NaN and Inf as null.
func appendFloats(b []byte, xs []float64, prec int) []byte {
	b = append(b, '[')
	for i, v := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
			continue
		}
		if prec == 6 {
			b = appendSig6(b, v)
		} else {
			b = strconv.AppendFloat(b, v, 'g', prec, 64)
		}
	}
	return append(b, ']')
}

// appendSig6 appends v with 6 significant digits, as
// strconv.AppendFloat(b, v, 'g', 6, 64) does, but with integer arithmetic
// for the common case of a probability in [1e-4, 1) (about 10× faster;
// grids and predictions hold ~10⁴ of them per replica). It may differ from
// strconv in the last digit only where v·10^k lies within an ulp of a
// rounding tie. Other values go to strconv.
func appendSig6(b []byte, v float64) []byte {
	if !(v >= 1e-4 && v < 1) {
		return strconv.AppendFloat(b, v, 'g', 6, 64)
	}
	// zeros is the number of zeros after the point before the first
	// significant digit.
	zeros, scale := 0, 1e6
	for t := v; t < 0.1; t *= 10 {
		zeros++
		scale *= 10
	}
	n := int64(math.RoundToEven(v * scale))
	if n >= 1000000 { // rounded up to the next power of ten
		if zeros == 0 {
			return append(b, '1')
		}
		zeros--
		n /= 10
	}
	var digits [6]byte
	for i := 5; i >= 0; i-- {
		digits[i] = byte('0' + n%10)
		n /= 10
	}
	end := 6
	for end > 1 && digits[end-1] == '0' {
		end--
	}
	b = append(b, '0', '.')
	for ; zeros > 0; zeros-- {
		b = append(b, '0')
	}
	return append(b, digits[:end]...)
}

func appendRows(b []byte, rows []Probs, prec int) []byte {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloats(b, r, prec)
	}
	return append(b, ']')
}

// AppendJSON appends predictions.json's bytes to b, as json.Marshal
// would write p but without reflection: these files are written for every
// replica.
func (p *Predictions) AppendJSON(b []byte) []byte {
	b = append(b, `{"classes":`...)
	b = strconv.AppendInt(b, int64(p.Classes), 10)
	b = append(b, `,"labels":[`...)
	for i, y := range p.Labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(y), 10)
	}
	b = append(b, `],"k":`...)
	b = strconv.AppendInt(b, int64(p.K), 10)
	b = append(b, `,"final":`...)
	b = appendRows(b, p.Final, 6)
	b = append(b, `,"averaged":`...)
	b = appendRows(b, p.Averaged, 6)
	return append(b, '}')
}

// AppendJSON appends grid.json's bytes to b, as json.Marshal would write
// g but without reflection.
func (g *Grid) AppendJSON(b []byte) []byte {
	b = append(b, `{"x":`...)
	b = appendFloats(b, g.X, -1)
	b = append(b, `,"y":`...)
	b = appendFloats(b, g.Y, -1)
	b = append(b, `,"final":`...)
	b = appendRows(b, g.Final, 6)
	b = append(b, `,"averaged":`...)
	b = appendRows(b, g.Averaged, 6)
	b = append(b, `,"points":[`...)
	for i, pt := range g.Points {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloats(b, pt, -1)
	}
	return append(b, "]}"...)
}
