package train

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/heatbath/heatbath/sampler"
)

// ResultVersion is the version of the result.json schema.
const ResultVersion = 1

// GroupResult is the final diagnostic of one group.
type GroupResult struct {
	GroupInfo
	N        int                `json:"n"`
	Tau      float64            `json:"tau"`
	TKin     *float64           `json:"tkin"`
	TKinMean *float64           `json:"tkin_mean"`
	Xi       map[string]float64 `json:"xi,omitempty"`
}

// LayerResult is the final weight diagnostic of one layer.
type LayerResult struct {
	Name       string  `json:"name"`
	WeightNorm float64 `json:"weight_norm"`
	FracSmall  float64 `json:"frac_small"`
}

// Result is the content of result.json (docs/formats.md).
type Result struct {
	Version        int           `json:"version"`
	Status         string        `json:"status"`
	Error          string        `json:"error,omitempty"`
	DivergedAt     int64         `json:"diverged_at,omitempty"`
	Steps          int64         `json:"steps"`
	Final          JSONMetrics   `json:"final"`
	Best           JSONMetrics   `json:"best"`
	BestBy         string        `json:"best_by"`
	Groups         []GroupResult `json:"groups"`
	Layers         []LayerResult `json:"layers"`
	SmallThreshold float64       `json:"small_threshold"`
	ElapsedSeconds float64       `json:"elapsed_seconds,omitempty"`
	StepsPerSecond float64       `json:"steps_per_second,omitempty"`
}

// JSONMetrics is Metrics with NaN written as null.
type JSONMetrics struct {
	Step      int64    `json:"step"`
	TrainLoss *float64 `json:"train_loss"`
	TrainAcc  *float64 `json:"train_acc"`
	ValLoss   *float64 `json:"val_loss"`
	ValAcc    *float64 `json:"val_acc"`
	TestLoss  *float64 `json:"test_loss"`
	TestAcc   *float64 `json:"test_acc"`
}

func finitePtr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func jsonMetrics(m Metrics) JSONMetrics {
	return JSONMetrics{Step: m.Step, TrainLoss: finitePtr(m.TrainLoss), TrainAcc: finitePtr(m.TrainAcc),
		ValLoss: finitePtr(m.ValLoss), ValAcc: finitePtr(m.ValAcc), TestLoss: finitePtr(m.TestLoss), TestAcc: finitePtr(m.TestAcc)}
}

// Result returns the result of the chain so far.
func (r *Replica) Result() Result {
	res := Result{Version: ResultVersion, Status: "done", Steps: r.Chain.Steps(), Final: jsonMetrics(r.last),
		Best: jsonMetrics(r.best), BestBy: "train_loss", SmallThreshold: SmallThreshold}
	if r.Val.Len() > 0 {
		res.BestBy = "val_loss"
	}
	var de *sampler.DivergenceError
	if errors.As(r.Chain.Err(), &de) {
		res.Status, res.Error, res.DivergedAt = "diverged", de.Error(), de.Step
	} else if !r.done {
		res.Status = "running"
	}
	for i, g := range r.Groups {
		d := r.Chain.Diag(i)
		gr := GroupResult{GroupInfo: g, N: d.N, Tau: d.Tau, TKin: finitePtr(d.TKin), TKinMean: finitePtr(d.TKinMean)}
		if len(d.Xi) > 0 {
			gr.Xi = map[string]float64{}
			set := r.Chain.Settings()
			for k, t := range set.Groups[i].Tensors {
				gr.Xi[t.Name] = d.Xi[k]
			}
		}
		res.Groups = append(res.Groups, gr)
	}
	norms, small := r.weightStats()
	for l := range norms {
		res.Layers = append(res.Layers, LayerResult{Name: fmt.Sprintf("layer%d", l), WeightNorm: norms[l], FracSmall: small[l]})
	}
	return res
}

// Predictions is the content of predictions.json.
type Predictions struct {
	Classes  int     `json:"classes"`
	Labels   []int   `json:"labels"`
	K        int     `json:"k"`
	Final    []Probs `json:"final"`
	Averaged []Probs `json:"averaged"`
}

// Grid is the content of grid.json.
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

// appendJSON encodes p as json.Marshal would, without reflection: these
// files are written for every replica.
func (p *Predictions) appendJSON(b []byte) []byte {
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

// appendJSON encodes g as json.Marshal would, without reflection.
func (g *Grid) appendJSON(b []byte) []byte {
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

// Artifacts returns the files of the replica directory that describe the
// finished chain, by file name: result.json, params.bin, init_params.bin,
// predictions.json, interp.csv and, for 2-D data, grid.json. (replica.json
// and trajectory.csv are written by the caller.)
func (r *Replica) Artifacts(res Result) (map[string][]byte, error) {
	out := map[string][]byte{}
	var err error
	if out["result.json"], err = json.MarshalIndent(res, "", "  "); err != nil {
		return nil, err
	}
	out["params.bin"] = EncodeParams(r.Chain.Theta())
	out["init_params.bin"] = EncodeParams(r.Init)

	c := r.Train.Classes
	nt := r.Test.Len()
	final := make([]float64, nt*c)
	r.Model.PredictTo(r.evalWS, final, r.Chain.Theta(), r.Test.X)
	p := Predictions{Classes: c, Labels: r.Test.Y, K: r.predN}
	for i := 0; i < nt; i++ {
		p.Final = append(p.Final, final[i*c:(i+1)*c])
		avg := make([]float64, c)
		for k := range avg {
			if r.predN > 0 {
				avg[k] = r.predAcc[i*c+k] / float64(r.predN)
			} else {
				avg[k] = final[i*c+k]
			}
		}
		p.Averaged = append(p.Averaged, avg)
	}
	out["predictions.json"] = p.appendJSON(nil)

	if r.grid != nil {
		g := Grid{X: r.gridX, Y: r.gridY}
		buf := make([]float64, GridSize*GridSize*c)
		r.Model.PredictTo(r.evalWS, buf, r.Chain.Theta(), r.grid)
		for j := 0; j < GridSize; j++ {
			fr, av := make([]float64, GridSize), make([]float64, GridSize)
			for i := 0; i < GridSize; i++ {
				k := j*GridSize + i
				fr[i] = buf[k*c+1]
				av[i] = fr[i]
				if r.predN > 0 {
					av[i] = r.gridAcc[k] / float64(r.predN)
				}
			}
			g.Final = append(g.Final, fr)
			g.Averaged = append(g.Averaged, av)
		}
		for i := 0; i < r.Train.Len(); i++ {
			x := r.Train.Row(i)
			g.Points = append(g.Points, []float64{x[0], x[1], float64(r.Train.Y[i])})
		}
		out["grid.json"] = g.appendJSON(nil)
	}

	var b bytes.Buffer
	b.WriteString("alpha,train_loss,test_loss\n")
	for _, pt := range r.Interpolate(r.Init, r.Chain.Theta()) {
		fmt.Fprintf(&b, "%s,%s,%s\n", fmtCSV(pt[0]), fmtCSV(pt[1]), fmtCSV(pt[2]))
	}
	out["interp.csv"] = b.Bytes()
	return out, nil
}

// Interpolate evaluates the loss along θ(α) = (1−α)·a + α·b for
// α = −0.5, −0.45, …, 1.5 (Goodfellow et al. 2015): rows of
// (α, train loss, test loss).
func (r *Replica) Interpolate(a, b []float64) [][3]float64 {
	theta := make([]float64, len(a))
	var out [][3]float64
	for i := -10; i <= 30; i++ {
		alpha := float64(i) * 0.05
		for j := range theta {
			theta[j] = (1-alpha)*a[j] + alpha*b[j]
		}
		tr, _ := r.Model.Evaluate(r.evalWS, theta, r.trainX, r.trainY)
		te, _ := r.Model.Evaluate(r.evalWS, theta, r.Test.X, r.Test.Y)
		out = append(out, [3]float64{alpha, tr, te})
	}
	return out
}

// WriteArtifacts writes Artifacts into dir.
func (r *Replica) WriteArtifacts(dir string, res Result) error {
	files, err := r.Artifacts(res)
	if err != nil {
		return err
	}
	for name, b := range files {
		if err := WriteFileAtomic(filepath.Join(dir, name), b); err != nil {
			return err
		}
	}
	return nil
}

// WriteFileAtomic writes b to path through a temporary file and a rename,
// so that a reader never sees a half-written file.
func WriteFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

const paramsMagic = "HBPARAM1"

// EncodeParams encodes a parameter vector as params.bin: "HBPARAM1", a
// little-endian uint64 count, then the float64 values.
func EncodeParams(theta []float64) []byte {
	b := make([]byte, 0, 16+8*len(theta))
	b = append(b, paramsMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(theta)))
	for _, v := range theta {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// DecodeParams decodes params.bin.
func DecodeParams(b []byte) ([]float64, error) {
	if len(b) < 16 || string(b[:8]) != paramsMagic {
		return nil, errors.New("train: not a parameter file (bad magic)")
	}
	n := binary.LittleEndian.Uint64(b[8:16])
	if uint64(len(b)-16) != 8*n {
		return nil, fmt.Errorf("train: parameter file holds %d bytes for %d values", len(b)-16, n)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[16+8*i:]))
	}
	return out, nil
}

// TrajectoryWriter writes trajectory.csv rows.
type TrajectoryWriter struct {
	w   *bufio.Writer
	buf []byte
}

// NewTrajectoryWriter writes the header line of the columns to w.
func NewTrajectoryWriter(w io.Writer, columns []string) (*TrajectoryWriter, error) {
	t := &TrajectoryWriter{w: bufio.NewWriter(w)}
	for i, c := range columns {
		if i > 0 {
			t.w.WriteByte(',')
		}
		t.w.WriteString(c)
	}
	t.w.WriteByte('\n')
	return t, t.w.Flush()
}

// Write writes one row; NaN and Inf become empty cells.
func (t *TrajectoryWriter) Write(row []float64) error {
	b := t.buf[:0]
	for i, v := range row {
		if i > 0 {
			b = append(b, ',')
		}
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	b = append(b, '\n')
	t.buf = b
	_, err := t.w.Write(b)
	return err
}

// Flush flushes buffered rows.
func (t *TrajectoryWriter) Flush() error { return t.w.Flush() }

func fmtCSV(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

const checkpointMagic = "HBREPL01"

// MarshalBinary encodes the full state of the replica (chain, minibatch
// order, evaluation records) so that a replica rebuilt from the same
// config and restored continues bit for bit.
func (r *Replica) MarshalBinary() ([]byte, error) {
	cb, err := r.Chain.MarshalBinary()
	if err != nil {
		return nil, err
	}
	bb, err := r.Batcher.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(checkpointMagic)
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	w(uint64(len(cb)))
	b.Write(cb)
	w(uint64(len(bb)))
	b.Write(bb)
	w(int64(r.evals))
	w(int64(r.predN))
	w(r.hasBest)
	w(r.done)
	for _, m := range []Metrics{r.last, r.best} {
		w(m)
	}
	w(uint64(len(r.predAcc)))
	w(r.predAcc)
	w(uint64(len(r.gridAcc)))
	w(r.gridAcc)
	return b.Bytes(), nil
}

// UnmarshalBinary restores a state written by MarshalBinary into a replica
// built from the same config.
func (r *Replica) UnmarshalBinary(data []byte) error {
	if !bytes.HasPrefix(data, []byte(checkpointMagic)) {
		return errors.New("train: not a replica checkpoint (bad magic)")
	}
	rd := bytes.NewReader(data[len(checkpointMagic):])
	var err error
	read := func(v any) {
		if err == nil {
			err = binary.Read(rd, binary.LittleEndian, v)
		}
	}
	blob := func() []byte {
		var n uint64
		read(&n)
		if err != nil || n > uint64(rd.Len()) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil
		}
		b := make([]byte, n)
		_, _ = io.ReadFull(rd, b)
		return b
	}
	cb, bb := blob(), blob()
	var evals, predN int64
	var hasBest, done bool
	var last, best Metrics
	read(&evals)
	read(&predN)
	read(&hasBest)
	read(&done)
	read(&last)
	read(&best)
	var np, ng uint64
	read(&np)
	if err == nil && np != uint64(len(r.predAcc)) {
		return errors.New("train: checkpoint is for another test set")
	}
	pred := make([]float64, len(r.predAcc))
	read(pred)
	read(&ng)
	if err == nil && ng != uint64(len(r.gridAcc)) {
		return errors.New("train: checkpoint is for another grid")
	}
	grid := make([]float64, len(r.gridAcc))
	read(grid)
	if err != nil {
		return fmt.Errorf("train: truncated checkpoint: %w", err)
	}
	if rd.Len() != 0 {
		return fmt.Errorf("train: checkpoint has %d trailing bytes", rd.Len())
	}
	if err := r.Chain.UnmarshalBinary(cb); err != nil {
		return err
	}
	if err := r.Batcher.UnmarshalBinary(bb); err != nil {
		return err
	}
	r.evals, r.predN, r.hasBest, r.done, r.last, r.best = int(evals), int(predN), hasBest, done, last, best
	copy(r.predAcc, pred)
	copy(r.gridAcc, grid)
	return nil
}
