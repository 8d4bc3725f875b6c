package train

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/heatbath/heatbath/nn"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/sampler"
)

func jsonMetrics(m Metrics) rundir.Metrics {
	return rundir.Metrics{Step: m.Step, TrainLoss: rundir.Finite(m.TrainLoss), TrainAcc: rundir.Finite(m.TrainAcc),
		ValLoss: rundir.Finite(m.ValLoss), ValAcc: rundir.Finite(m.ValAcc), TestLoss: rundir.Finite(m.TestLoss), TestAcc: rundir.Finite(m.TestAcc)}
}

// Result returns the result of the chain so far.
func (r *Replica) Result() rundir.Result {
	res := rundir.Result{Version: rundir.ResultVersion, Status: rundir.StatusDone, Steps: r.Chain.Steps(), Final: jsonMetrics(r.last),
		Best: jsonMetrics(r.best), BestBy: "train_loss", SmallThreshold: SmallThreshold, Numerics: nn.NumericsVersion}
	if r.Val.Len() > 0 {
		res.BestBy = "val_loss"
	}
	var de *sampler.DivergenceError
	if errors.As(r.Chain.Err(), &de) {
		res.Status, res.Error, res.DivergedAt = rundir.StatusDiverged, de.Error(), de.Step
	} else if !r.done {
		res.Status = rundir.StatusRunning
	}
	for i, g := range r.Groups {
		d := r.Chain.Diag(i)
		gr := rundir.GroupResult{GroupInfo: g, N: d.N, Tau: d.Tau, TKin: rundir.Finite(d.TKin), TKinMean: rundir.Finite(d.TKinMean)}
		if len(d.Xi) > 0 {
			gr.Xi = map[string]float64{}
			set := r.Chain.Settings()
			for k, t := range set.Groups[i].Tensors {
				if !math.IsInf(d.Xi[k], 0) && !math.IsNaN(d.Xi[k]) { // JSON has no Inf or NaN (a diverged thermostat)
					gr.Xi[t.Name] = d.Xi[k]
				}
			}
		}
		res.Groups = append(res.Groups, gr)
	}
	norms, small := r.weightStats()
	for l := range norms {
		if math.IsInf(norms[l], 0) || math.IsNaN(norms[l]) {
			// Weights that are not finite (a diverged chain), or whose
			// squares overflow: no norm to report, and JSON has no Inf.
			continue
		}
		res.Layers = append(res.Layers, rundir.LayerResult{Name: fmt.Sprintf("layer%d", l), WeightNorm: norms[l], FracSmall: small[l]})
	}
	return res
}

// ParamsMeta returns the metadata of a parameter file of this replica:
// which parameters (rundir.ParamsFinal, ParamsBest, ParamsInit) taken at
// step, with the network's widths, activation, input scaling (MNIST's
// pixels enter as v/255), classes and r.ID.
func (r *Replica) ParamsMeta(which string, step int64) rundir.ParamsMeta {
	cfg := r.Model.Config()
	widths := append([]int{cfg.Inputs}, cfg.Hidden...)
	ts := r.Model.Tensors()
	widths = append(widths, ts[len(ts)-1].Rows) // the output bias: 1 or Classes units
	scaling := rundir.ScalingNone
	if r.Config.Data.Kind == "mnist" {
		scaling = rundir.ScalingPixels // dataset.LoadMNIST maps pixel v to v/255
	}
	return rundir.ParamsMeta{Parameters: which, Step: step, Widths: widths, Activation: cfg.Activation.String(),
		InputScaling: scaling, Classes: cfg.Classes, Replica: r.ID}
}

// Artifacts returns the files of the replica directory that describe the
// finished chain, by file name (rundir.ResultFiles): result.json,
// params.safetensors (the final parameters), best_params.safetensors (those
// of the best evaluation, res.Best), init_params.safetensors,
// predictions.json, interp.csv and, for 2-D data, grid.json. (replica.json
// and trajectory.csv are written by the caller.)
func (r *Replica) Artifacts(res rundir.Result) (map[string][]byte, error) {
	out := map[string][]byte{}
	var err error
	if out[rundir.FileResult], err = res.Encode(); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		file, which string
		step        int64
		theta       []float64
	}{
		{rundir.FileParams, rundir.ParamsFinal, r.Chain.Steps(), r.Chain.Theta()},
		{rundir.FileBestParams, rundir.ParamsBest, r.best.Step, r.bestTheta},
		{rundir.FileInitParams, rundir.ParamsInit, 0, r.Init},
	} {
		if out[p.file], err = rundir.EncodeParams(r.ParamsMeta(p.which, p.step), p.theta); err != nil {
			return nil, fmt.Errorf("train: %s: %w", p.file, err)
		}
	}

	c := r.Train.Classes
	nt := r.Test.Len()
	final := make([]float64, nt*c)
	r.Model.PredictTo(r.evalWS, final, r.Chain.Theta(), r.Test.X)
	p := rundir.Predictions{Classes: c, Labels: r.Test.Y, K: r.predN}
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
	out[rundir.FilePredictions] = p.AppendJSON(nil)

	if r.grid != nil {
		g := rundir.Grid{X: r.gridX, Y: r.gridY}
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
		out[rundir.FileGrid] = g.AppendJSON(nil)
	}

	var pts []rundir.InterpPoint
	for _, pt := range r.Interpolate(r.Init, r.Chain.Theta()) {
		pts = append(pts, rundir.InterpPoint{Alpha: pt[0], Train: pt[1], Test: pt[2]})
	}
	out[rundir.FileInterp] = rundir.EncodeInterp(pts)
	if r.ex != nil {
		if err := r.exchangeFiles(out); err != nil {
			return nil, fmt.Errorf("train: exchange files: %w", err)
		}
	}
	return out, nil
}

// Interpolate evaluates the loss along θ(α) = (1−α)·a + α·b for
// α = −0.5, −0.45, …, 1.5 (Goodfellow et al. 2015): rows of
// (α, train loss, test loss), each the mean loss over the training and
// test subsamples of at most InterpPoints points (interpSets), so that its
// cost is bounded whatever the size of the data. The losses come from
// nn.LineLosses, which computes the first layer's products once per end
// point (the loss is the same function of θ(α), rounded differently in the
// last bits than an evaluation at θ(α)).
func (r *Replica) Interpolate(a, b []float64) [][3]float64 {
	trs, tes := r.interpSets()
	alphas := make([]float64, 0, 41)
	for i := -10; i <= 30; i++ {
		alphas = append(alphas, float64(float64(i)*0.05))
	}
	tr, te := make([]float64, len(alphas)), make([]float64, len(alphas))
	r.Model.LineLosses(r.evalWS, tr, alphas, a, b, trs.X, trs.Y)
	r.Model.LineLosses(r.evalWS, te, alphas, a, b, tes.X, tes.Y)
	out := make([][3]float64, len(alphas))
	for i, alpha := range alphas {
		out[i] = [3]float64{alpha, tr[i], te[i]}
	}
	return out
}

// WriteArtifacts writes Artifacts into dir (rundir.WriteFiles: each file
// atomic and durable, result.json last).
func (r *Replica) WriteArtifacts(dir string, res rundir.Result) error {
	files, err := r.Artifacts(res)
	if err != nil {
		return err
	}
	return rundir.WriteFiles(dir, files, rundir.FileResult)
}

// checkpointMagic opens a replica checkpoint, followed by the numerics
// version (nn.NumericsVersion, uint32 little-endian) of the binary that
// wrote it. HBREPL03 added the version: a checkpoint of another version,
// or an HBREPL02 one (none recorded), is refused with a *NumericsError, so
// that a resumed chain never mixes two kernels' arithmetic. HBREPL02 added
// the best parameters; HBREPL01 checkpoints (without them) are refused,
// since a replica restored from one could not write
// best_params.safetensors. A worker refused a checkpoint for its numerics
// version hands the task back (a worker of that version may continue it);
// for any other unreadable checkpoint it starts the chain again from
// step 0.
const checkpointMagic = "HBREPL03"

// MarshalBinary encodes the full state of the replica (chain, minibatch
// order, evaluation records; every chain of an exchange set) so that a
// replica rebuilt from the same config and restored continues bit for bit.
func (r *Replica) MarshalBinary() ([]byte, error) {
	if r.ex != nil {
		return r.marshalExchange()
	}
	return r.marshalChain()
}

func (r *Replica) marshalChain() ([]byte, error) {
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
	w(uint32(nn.NumericsVersion))
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
	w(uint64(len(r.bestTheta)))
	w(r.bestTheta)
	return b.Bytes(), nil
}

// UnmarshalBinary restores a state written by MarshalBinary into a replica
// built from the same config.
func (r *Replica) UnmarshalBinary(data []byte) error {
	if r.ex != nil {
		return r.unmarshalExchange(data)
	}
	return r.unmarshalChain(data)
}

func (r *Replica) unmarshalChain(data []byte) error {
	if !bytes.HasPrefix(data, []byte(checkpointMagic)) {
		switch {
		case bytes.HasPrefix(data, []byte("HBREPL02")):
			return &NumericsError{What: "the checkpoint (format HBREPL02)"}
		case bytes.HasPrefix(data, []byte("HBREPL01")):
			return errors.New("train: checkpoint of format HBREPL01 lacks the best parameters, want HBREPL03")
		}
		return errors.New("train: not a replica checkpoint (bad magic)")
	}
	rest := data[len(checkpointMagic):]
	if len(rest) < 4 {
		return fmt.Errorf("train: truncated checkpoint: %d bytes after the magic, want at least 4", len(rest))
	}
	if v := int(binary.LittleEndian.Uint32(rest)); v != nn.NumericsVersion {
		return &NumericsError{What: "the checkpoint", Version: v}
	}
	cr := newCkptReader(rest[4:])
	read, blob := cr.read, cr.blob
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
	if cr.err == nil && np != uint64(len(r.predAcc)) {
		return errors.New("train: checkpoint is for another test set")
	}
	pred := make([]float64, len(r.predAcc))
	read(pred)
	read(&ng)
	if cr.err == nil && ng != uint64(len(r.gridAcc)) {
		return errors.New("train: checkpoint is for another grid")
	}
	grid := make([]float64, len(r.gridAcc))
	read(grid)
	var nb uint64
	read(&nb)
	if cr.err == nil && nb != uint64(len(r.bestTheta)) {
		return fmt.Errorf("train: checkpoint holds %d best parameters, the network has %d", nb, len(r.bestTheta))
	}
	bestTheta := make([]float64, len(r.bestTheta))
	read(bestTheta)
	if cr.err != nil {
		return fmt.Errorf("train: truncated checkpoint: %w", cr.err)
	}
	if cr.rd.Len() != 0 {
		return fmt.Errorf("train: checkpoint has %d trailing bytes", cr.rd.Len())
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
	copy(r.bestTheta, bestTheta)
	return nil
}

// ckptReader reads a little-endian checkpoint body: fixed-size values and
// uint64-length-prefixed blobs. The first error sticks in err and makes every
// later read a no-op, so a caller checks err once after its reads.
type ckptReader struct {
	rd  *bytes.Reader
	err error
}

func newCkptReader(b []byte) *ckptReader { return &ckptReader{rd: bytes.NewReader(b)} }

// read decodes v with binary.Read unless an earlier read failed.
func (c *ckptReader) read(v any) {
	if c.err == nil {
		c.err = binary.Read(c.rd, binary.LittleEndian, v)
	}
}

// blob reads a uint64 length and that many bytes; a length beyond the
// remaining input is io.ErrUnexpectedEOF.
func (c *ckptReader) blob() []byte {
	var n uint64
	c.read(&n)
	if c.err != nil || n > uint64(c.rd.Len()) {
		if c.err == nil {
			c.err = io.ErrUnexpectedEOF
		}
		return nil
	}
	b := make([]byte, n)
	_, _ = io.ReadFull(c.rd, b)
	return b
}
