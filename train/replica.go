package train

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"

	"github.com/heatbath/heatbath/dataset"
	"github.com/heatbath/heatbath/nn"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/sampler"
)

// Stream numbers that split one seed into independent PCG streams.
const (
	streamInit    = 0x696e6974 // network initialization
	streamNoise   = 0x6e6f6973 // integrator noise
	streamBatches = 0x62617463 // minibatch order
	streamData    = 0x64617461 // data generation (DataSeed)
	streamSplit   = 0x73706c74 // train/validation/test split (DataSeed)
)

// AverageLast is K, the number of final evaluations whose predictions are
// averaged for model averaging (the posterior predictive of one chain).
const AverageLast = 10

// MaxTrainEval caps the training points used for the train metrics of each
// evaluation, so that large data sets (MNIST) keep evaluation cheap. The
// first points of the split are used: the split is a seeded shuffle
// (DataSeed), so they are a fixed random subsample, the same at every
// evaluation and in every replica of the data. (The loss along a line
// uses its own subsample: InterpPoints.)
//
// 2,000 was chosen by measurement (issue 12): on MNIST 784-100-10 with
// 10,000 training points and 1,000 test points, an evaluation row took
// 38 ms with 5,000 training points and takes 21 ms with 2,000 (16 rows
// in a 3,000-step run: 0.6 s, ~9% of it, down to 0.34 s); the train loss
// on disjoint blocks of 2,000 points lay within 6% of the full split's at
// steps 1,000 and 3,000 (12% with blocks of 1,000, 2.5% of 5,000), the
// size of the sampling noise of the 1,000-point test loss.
const MaxTrainEval = 2000

// GridSize is the resolution of the decision-boundary grid for 2-D data.
const GridSize = 60

// Metrics are the losses and accuracies of one evaluation. Validation
// fields are NaN when the split is empty.
type Metrics struct {
	Step      int64   `json:"step"`
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	ValLoss   float64 `json:"val_loss"`
	ValAcc    float64 `json:"val_acc"`
	TestLoss  float64 `json:"test_loss"`
	TestAcc   float64 `json:"test_acc"`
}

// Replica is one built chain: its data, network, sampler and the running
// records of its evaluations.
type Replica struct {
	Config protocol.ReplicaConfig
	// ID is the replica id written into the metadata of the parameter
	// files; Build leaves it empty, a caller that knows the id (a worker,
	// `heatbath train` of a sweep's replica) sets it.
	ID string

	Train, Val, Test *dataset.Set
	Model            *nn.MLP
	Chain            *sampler.Chain
	Batcher          *dataset.Batcher
	Groups           []GroupInfo
	Init             []float64
	BatchSize        int

	columns []string
	row     []float64
	trainX  []float64 // the training points used for evaluation
	trainY  []int
	gradWS  *nn.Workspace
	evalWS  *nn.Workspace
	grid    []float64 // GridSize² points, row-major, when Dim == 2
	gridX   []float64
	gridY   []float64

	evals    int // evaluations done
	numEvals int // evaluations planned
	predAcc  []float64
	gridAcc  []float64
	predN    int
	predBuf  []float64
	gridBuf  []float64
	last     Metrics
	best     Metrics
	hasBest  bool
	done     bool
	// bestTheta holds the parameters of the evaluation r.best describes
	// (Init until the first evaluation): preallocated, so that keeping
	// it allocates nothing in the step loop.
	bestTheta []float64

	plan *sampler.Plan // step-size schedule and cycle (plan.go); nil: none
	ex   *exchangeSet  // the chains of an exchange set (exchange.go); nil: one chain
}

// Build resolves cfg, generates or loads the data, initializes the network
// from cfg.Seed and builds the chain. Errors name the field.
func Build(cfg protocol.ReplicaConfig) (*Replica, error) {
	cfg.Model.Hidden = append([]int(nil), cfg.Model.Hidden...)
	if err := Resolve(&cfg); err != nil {
		return nil, err
	}
	if cfg.Numerics != 0 && cfg.Numerics != nn.NumericsVersion {
		return nil, &NumericsError{What: "the config", Version: cfg.Numerics}
	}
	cfg.Numerics = nn.NumericsVersion
	if cfg.Exchange != nil {
		return buildExchange(cfg)
	}
	return buildOn(cfg, nil)
}

// buildOn builds the replica of a resolved cfg (no exchange). With data
// nil it loads the data set; else it shares data's splits, which are read
// only (the chains of an exchange set, whose configs differ only in the
// seed and so in nothing that generates, reads or splits the data).
func buildOn(cfg protocol.ReplicaConfig, data *Replica) (*Replica, error) {
	r := &Replica{Config: cfg}
	if data != nil {
		r.Train, r.Val, r.Test = data.Train, data.Val, data.Test
	} else if err := r.loadData(); err != nil {
		return nil, err
	}
	bs, err := dataset.BatchSize(r.Train.Len(), cfg.Batch, fractionIfNoBatch(&cfg))
	if err != nil {
		return nil, fmt.Errorf("batch: %w (the training split has %d points)", err, r.Train.Len())
	}
	r.BatchSize = bs
	act, _ := nn.ParseActivation(cfg.Model.Activation)
	r.Model, err = nn.New(nn.Config{Inputs: r.Train.Dim, Hidden: cfg.Model.Hidden, Classes: r.Train.Classes, Activation: act})
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	set, groups, err := Settings(&cfg.Method, cfg.Steps, r.Model.Tensors(), r.Model.NumLayers())
	if err != nil {
		return nil, err
	}
	r.Groups = groups
	r.Init = make([]float64, r.Model.NumParams())
	r.Model.Init(r.Init, rand.NewPCG(cfg.Seed, streamInit))
	r.bestTheta = append([]float64(nil), r.Init...)
	mode, _ := dataset.ParseSampling(cfg.Sampling)
	r.Batcher, err = dataset.NewBatcher(r.Train.Len(), bs, mode, cfg.Seed, streamBatches)
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	r.gradWS = r.Model.NewWorkspace(bs)
	r.evalWS = r.Model.NewWorkspace(256)
	X, Y := r.Train.X, r.Train.Y
	prob := sampler.Problem{Grad: func(grad, theta []float64) float64 {
		return r.Model.LossGrad(r.gradWS, theta, grad, X, Y, r.Batcher.Next())
	}}
	r.Chain, err = sampler.New(set, r.Init, prob, cfg.Seed, streamNoise)
	if err != nil {
		return nil, fmt.Errorf("method: %w", err)
	}
	if r.plan, err = buildPlan(&cfg, r.Chain); err != nil {
		return nil, err
	}
	nt := min(r.Train.Len(), MaxTrainEval)
	r.trainX, r.trainY = r.Train.X[:nt*r.Train.Dim], r.Train.Y[:nt]
	r.numEvals = int(cfg.Steps/cfg.EvalEvery) + 1
	if cfg.Steps%cfg.EvalEvery != 0 {
		r.numEvals++
	}
	classes := r.Train.Classes
	r.predAcc = make([]float64, r.Test.Len()*classes)
	r.predBuf = make([]float64, r.Test.Len()*classes)
	if r.Train.Dim == 2 {
		r.makeGrid()
		r.gridAcc = make([]float64, GridSize*GridSize)
		r.gridBuf = make([]float64, GridSize*GridSize*classes)
	}
	r.columns = r.makeColumns()
	r.row = make([]float64, len(r.columns))
	return r, nil
}

func (r *Replica) loadData() error {
	d := &r.Config.Data
	genSrc := rand.NewPCG(r.Config.DataSeed, streamData)
	splitSrc := rand.NewPCG(r.Config.DataSeed, streamSplit)
	var all *dataset.Set
	switch d.Kind {
	case "trig", "spiral", "rings":
		n := d.Train + d.Validation + d.Test
		g := generatorParams(d)
		switch d.Kind {
		case "trig":
			all = dataset.Trig(g.trig, n, genSrc)
		case "spiral":
			all = dataset.Spiral(g.spiral, n, genSrc)
		default:
			all = dataset.Rings(g.rings, n, genSrc)
		}
		return r.split(all, d.Train, d.Validation, d.Test, splitSrc)
	case "mnist":
		dir := d.Dir
		if dir == "" {
			var err error
			if dir, err = mnistDir(); err != nil {
				return err
			}
		}
		// The images stay bytes until the split: only the points kept
		// are converted to float64 (10,000 of 60,000 with --train-size
		// 10000), with the same result as splitting the whole sets.
		tri, err := dataset.LoadMNISTImages(dir, true, 0)
		if err != nil {
			return fmt.Errorf("data.dir: %w", err)
		}
		tei, err := dataset.LoadMNISTImages(dir, false, 0)
		if err != nil {
			return fmt.Errorf("data.dir: %w", err)
		}
		if len(d.Digits) > 0 {
			if tri, err = tri.FilterClasses(d.Digits); err != nil {
				return fmt.Errorf("data.digits: %w", err)
			}
			if tei, err = tei.FilterClasses(d.Digits); err != nil {
				return fmt.Errorf("data.digits: %w", err)
			}
		}
		return r.splitParts(tri.Len(), tri.Split, tei.Len(), tei.Split, splitSrc)
	case "csv":
		tr, err := dataset.LoadCSV(d.Path)
		if err != nil {
			return csvError("data.path", d.Path, err)
		}
		if d.TestPath != "" {
			te, err := dataset.LoadCSV(d.TestPath)
			if err != nil {
				return csvError("data.test_path", d.TestPath, err)
			}
			if te.Dim != tr.Dim {
				return fmt.Errorf("data.test_path: %d columns of features, the training file has %d", te.Dim, tr.Dim)
			}
			te.Classes = max(te.Classes, tr.Classes)
			tr.Classes = te.Classes
			return r.splitSeparate(tr, te, splitSrc)
		}
		ntr, nva, nte := d.Train, d.Validation, d.Test
		if ntr == 0 && nte == 0 {
			nte = tr.Len() / 5
			ntr = tr.Len() - nte - nva
		}
		return r.split(tr, ntr, nva, nte, splitSrc)
	}
	return fmt.Errorf("data.kind: %q is unknown", d.Kind)
}

// csvError is the error of loading the CSV file path of the spec field
// field: one line naming the file when it does not exist, else the
// loader's error after the field.
func csvError(field, path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: CSV file %s does not exist", field, path)
	}
	return fmt.Errorf("%s: %w", field, err)
}

func (r *Replica) split(all *dataset.Set, ntr, nva, nte int, src rand.Source) error {
	if ntr+nva+nte > all.Len() {
		return fmt.Errorf("data: train %d + validation %d + test %d points exceed the %d available", ntr, nva, nte, all.Len())
	}
	parts, err := dataset.SplitSet(all, []int{ntr, nva, nte}, src)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	r.Train, r.Val, r.Test = parts[0], parts[1], parts[2]
	return r.checkSplits()
}

// splitSeparate takes validation from the training file and the test split
// from the test file.
func (r *Replica) splitSeparate(tr, te *dataset.Set, src rand.Source) error {
	return r.splitParts(tr.Len(), func(sizes []int, src rand.Source) ([]*dataset.Set, error) {
		return dataset.SplitSet(tr, sizes, src)
	}, te.Len(), func(sizes []int, src rand.Source) ([]*dataset.Set, error) {
		return dataset.SplitSet(te, sizes, src)
	}, src)
}

// splitFunc splits a set of points into parts of the given sizes, as
// dataset.SplitSet.
type splitFunc func(sizes []int, src rand.Source) ([]*dataset.Set, error)

// splitParts is splitSeparate on sets of ntrAll and nteAll points split by
// splitTr and splitTe (dataset.SplitSet, or dataset.Images.Split, which
// converts only the points kept).
func (r *Replica) splitParts(ntrAll int, splitTr splitFunc, nteAll int, splitTe splitFunc, src rand.Source) error {
	d := &r.Config.Data
	ntr, nva := d.Train, d.Validation
	if ntr == 0 || ntr+nva > ntrAll {
		ntr = ntrAll - nva
	}
	if ntr <= 0 {
		return fmt.Errorf("data.validation: %d leaves no training points of %d", nva, ntrAll)
	}
	parts, err := splitTr([]int{ntr, nva}, src)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	nte := nteAll
	if d.Test > 0 && d.Test < nte {
		nte = d.Test
	}
	tp, err := splitTe([]int{nte}, src)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	r.Train, r.Val, r.Test = parts[0], parts[1], tp[0]
	return r.checkSplits()
}

func (r *Replica) checkSplits() error {
	if r.Train.Len() == 0 {
		return errors.New("data.train: the training split is empty")
	}
	if r.Test.Len() == 0 {
		return errors.New("data.test: the test split is empty")
	}
	return nil
}

func (r *Replica) makeGrid() {
	lo, hi := boundsOf(r.Train, r.Test)
	r.gridX = make([]float64, GridSize)
	r.gridY = make([]float64, GridSize)
	for i := 0; i < GridSize; i++ {
		f := float64(i) / float64(GridSize-1)
		r.gridX[i] = lo[0] + float64(f*(hi[0]-lo[0]))
		r.gridY[i] = lo[1] + float64(f*(hi[1]-lo[1]))
	}
	r.grid = make([]float64, 0, 2*GridSize*GridSize)
	for j := 0; j < GridSize; j++ {
		for i := 0; i < GridSize; i++ {
			r.grid = append(r.grid, r.gridX[i], r.gridY[j])
		}
	}
}

// boundsOf returns the bounding box of the sets, widened by 10% per side.
func boundsOf(sets ...*dataset.Set) (lo, hi []float64) {
	for _, s := range sets {
		if s.Len() == 0 {
			continue
		}
		a, b := s.Bounds()
		if lo == nil {
			lo, hi = a, b
			continue
		}
		for i := range lo {
			lo[i] = math.Min(lo[i], a[i])
			hi[i] = math.Max(hi[i], b[i])
		}
	}
	for i := range lo {
		w := hi[i] - lo[i]
		if w == 0 {
			w = 1
		}
		lo[i] -= float64(0.1 * w)
		hi[i] += float64(0.1 * w)
	}
	return lo, hi
}

// Columns returns the trajectory columns (docs/formats.md).
func (r *Replica) Columns() []string { return r.columns }

func (r *Replica) makeColumns() []string {
	cols := []string{"step", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"}
	for _, g := range r.Groups {
		cols = append(cols, "tau:"+g.Name, "tkin:"+g.Name, "tkin_mean:"+g.Name)
	}
	set := r.Chain.Settings()
	for _, g := range set.Groups {
		if g.Kind == sampler.Adaptive {
			for _, t := range g.Tensors {
				cols = append(cols, "xi:"+t.Name)
			}
		}
	}
	for l := 0; l < r.Model.NumLayers(); l++ {
		cols = append(cols, fmt.Sprintf("wnorm:layer%d", l))
	}
	for l := 0; l < r.Model.NumLayers(); l++ {
		cols = append(cols, fmt.Sprintf("small:layer%d", l))
	}
	return cols
}

// SmallThreshold is the magnitude below which a weight counts as near zero.
const SmallThreshold = 0.01

// Done reports whether the chain has finished (all steps, or diverged).
func (r *Replica) Done() bool { return r.done }

// Last returns the metrics of the latest evaluation.
func (r *Replica) Last() Metrics { return r.last }

// Evals returns the number of evaluations (trajectory rows) done so far,
// restored checkpoints included: when it is positive, Last().Step is the
// step of the latest row.
func (r *Replica) Evals() int { return r.evals }

// RowFunc receives each evaluation row, in Columns order. The slice is
// reused: copy it to keep it. An error stops the run and is returned.
type RowFunc func(row []float64) error

// RunUntil advances the chain to step min(until, Steps), evaluating every
// EvalEvery steps (and at step 0 and at the last step), and passes each
// evaluation row to rows (which may be nil). It returns nil when the target
// was reached or the chain diverged (see Err); the step loop allocates
// nothing.
func (r *Replica) RunUntil(until int64, rows RowFunc) error {
	if r.done {
		return nil
	}
	if r.ex != nil {
		return r.runExchange(until, rows)
	}
	steps, every := r.Config.Steps, r.Config.EvalEvery
	until = min(until, steps)
	if r.evals == 0 {
		if err := r.evaluate(rows); err != nil {
			return err
		}
	}
	burnIn := steps / 2
	for r.Chain.Steps() < until {
		if err := r.step(); err != nil {
			r.done = true
			return nil
		}
		n := r.Chain.Steps()
		if n == burnIn {
			// Kinetic-temperature means cover the second half of the run,
			// after the transient from the initial state.
			r.Chain.ResetMeans()
		}
		if n%every == 0 || n == steps || r.collectAfter(n) {
			if err := r.evaluate(rows); err != nil {
				return err
			}
		}
	}
	if r.Chain.Steps() >= steps {
		r.done = true
	}
	return nil
}

// Err returns the divergence that stopped the chain, or nil.
func (r *Replica) Err() error { return r.Chain.Err() }

func (r *Replica) evaluate(rows RowFunc) error {
	theta := r.Chain.Theta()
	m := Metrics{Step: r.Chain.Steps(), ValLoss: math.NaN(), ValAcc: math.NaN()}
	m.TrainLoss, m.TrainAcc = r.Model.Evaluate(r.evalWS, theta, r.trainX, r.trainY)
	if r.Val.Len() > 0 {
		m.ValLoss, m.ValAcc = r.Model.Evaluate(r.evalWS, theta, r.Val.X, r.Val.Y)
	}
	m.TestLoss, m.TestAcc = r.Model.Evaluate(r.evalWS, theta, r.Test.X, r.Test.Y)
	r.last = m
	crit, bestCrit := m.TrainLoss, r.best.TrainLoss
	if r.Val.Len() > 0 {
		crit, bestCrit = m.ValLoss, r.best.ValLoss
	}
	if !math.IsNaN(crit) && (!r.hasBest || crit < bestCrit) {
		r.best, r.hasBest = m, true
		copy(r.bestTheta, theta)
	}
	if r.averageNow() {
		r.Model.PredictTo(r.evalWS, r.predBuf, theta, r.Test.X)
		for i, p := range r.predBuf {
			r.predAcc[i] += p
		}
		if r.grid != nil {
			r.Model.PredictTo(r.evalWS, r.gridBuf, theta, r.grid)
			c := r.Train.Classes
			for i := range r.gridAcc {
				r.gridAcc[i] += r.gridBuf[i*c+1]
			}
		}
		r.predN++
	}
	r.evals++
	if rows == nil {
		return nil
	}
	row := r.row[:0]
	row = append(row, float64(m.Step), m.TrainLoss, m.TrainAcc, m.ValLoss, m.ValAcc, m.TestLoss, m.TestAcc)
	for i := 0; i < r.Chain.NumGroups(); i++ {
		d := r.Chain.Diag(i)
		row = append(row, d.Tau, d.TKin, d.TKinMean)
	}
	for i := 0; i < r.Chain.NumGroups(); i++ {
		row = append(row, r.Chain.Diag(i).Xi...)
	}
	norms, small := r.weightStats()
	row = append(row, norms...)
	row = append(row, small...)
	r.row = row
	return rows(row)
}

// weightStats returns per layer the Euclidean norm of the weights (biases
// excluded) and the fraction of weights with |w| < SmallThreshold.
func (r *Replica) weightStats() (norms, small []float64) {
	theta := r.Chain.Theta()
	for _, t := range r.Model.Tensors() {
		if t.Bias {
			continue
		}
		var ss float64
		var k int
		for _, w := range theta[t.Off : t.Off+t.Len] {
			ss += float64(w * w)
			if math.Abs(w) < SmallThreshold {
				k++
			}
		}
		norms = append(norms, math.Sqrt(ss))
		small = append(small, float64(k)/float64(t.Len))
	}
	return norms, small
}
