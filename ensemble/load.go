package ensemble

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/heatbath/heatbath/rundir"
)

// ensembleAcc sums, per test point and class, the averaged probabilities of
// a group's chains.
type ensembleAcc struct {
	classes int
	labels  []int
	sum     []float64 // sum[i*classes+k]
	chains  int
	from    string // the file that fixed labels, for error messages
}

// loader holds the state of one LoadRun.
type loader struct {
	dir    string
	run    *Run
	curves map[string]*CurveAccumulator
	ens    map[string]*ensembleAcc
	// coord is the coordinator's summary.json by replica id (nil without
	// one): it knows the replicas that were cancelled, and the failures of
	// run directories written before failure.json.
	coord map[string]*rundir.SummaryReplica
	// row is reused across trajectory rows.
	row []float64
	// single: dir is one replica's directory (LoadReplicaDir), not a run
	// directory.
	single bool
}

// LoadRun reads the run directory dir (docs/formats.md) through package
// rundir: sweep.json, the coordinator's summary.json when there is one,
// and for every replica sweep.json lists its result.json or failure.json,
// replica.json, and for a done replica its trajectory.csv and
// predictions.json. Trajectories and predictions of done replicas are
// streamed and reduced as described in the package documentation; those
// of other replicas are not read.
//
// Only a missing or malformed sweep.json is an error. A replica whose
// files are unreadable, truncated or malformed is skipped: it gets
// StatusUnreadable, its file and the reason, and a line in Run.Warnings;
// it contributes nothing to any statistic, and the rest is analysed. A run
// directory that was interrupted loads with the replicas it has (the
// others are incomplete). Missing optional files of a done replica and
// replica directories not listed in sweep.json are also reported in
// Run.Warnings.
func LoadRun(dir string) (*Run, error) {
	l := &loader{
		dir:    dir,
		run:    &Run{Dir: dir},
		curves: make(map[string]*CurveAccumulator),
		ens:    make(map[string]*ensembleAcc),
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	return l.run, nil
}

func (l *loader) warn(format string, args ...any) {
	l.run.Warnings = append(l.run.Warnings, fmt.Sprintf(format, args...))
}

func (l *loader) load() error {
	sw, err := rundir.ReadSweep(l.dir)
	if err != nil {
		return fmt.Errorf("ensemble: %w", err)
	}
	if err := sw.Validate(); err != nil {
		return fmt.Errorf("ensemble: %s: %w", filepath.Join(l.dir, rundir.FileSweep), err)
	}
	run := l.run
	run.ID, run.Name, run.SpecHash = sw.ID, sw.Name, sw.SpecHash
	run.Created = rawText(sw.Created)
	l.readCoordinatorSummary(sw.ID)

	listed := make(map[string]bool, len(sw.Replicas))
	for _, e := range sw.Replicas {
		listed[e.ID] = true
	}
	entries := slices.Clone(sw.Replicas)
	sort.Slice(entries, func(i, j int) bool { return entries[i].ID < entries[j].ID })
	if err := l.loadEntries(entries); err != nil {
		return err
	}
	l.cutSteps()

	ents, err := os.ReadDir(filepath.Join(l.dir, rundir.DirReplicas))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.warn("%s: %v; replica directories not listed in sweep.json were not looked for", rundir.DirReplicas, pathless(err))
	}
	for _, de := range ents {
		if de.IsDir() && !listed[de.Name()] {
			l.warn("%s/%s is not listed in sweep.json; ignored", rundir.DirReplicas, de.Name())
		}
	}
	return nil
}

// LoadReplicaDir reads one replica's directory, such as the --out of
// heatbath train (replica.json, result.json, trajectory.csv,
// predictions.json), as a Run of that one replica in one group, so that
// Analyze and the charts work on it as on a sweep. A missing or malformed
// replica.json is an error; the other files are read as LoadRun reads
// them.
func LoadReplicaDir(dir string) (*Run, error) {
	info, err := rundir.ReadReplicaInfo(dir)
	if err != nil {
		return nil, fmt.Errorf("ensemble: %w", err)
	}
	if info.ID == "" {
		return nil, fmt.Errorf("ensemble: %s: no replica id", filepath.Join(dir, rundir.FileReplica))
	}
	l := &loader{
		dir:    dir,
		run:    &Run{Dir: dir, ID: info.ID, Name: info.ID},
		curves: make(map[string]*CurveAccumulator),
		ens:    make(map[string]*ensembleAcc),
		single: true,
	}
	e := rundir.SweepEntry{ID: info.ID, Index: info.Index, Group: info.Group, Settings: info.Settings, Seed: info.Seed}
	if err := l.loadEntries([]rundir.SweepEntry{e}); err != nil {
		return nil, err
	}
	return l.run, nil
}

// loadEntries loads the replicas of entries (in ID order) into the run,
// with their groups, curves and ensembles.
func (l *loader) loadEntries(entries []rundir.SweepEntry) error {
	run := l.run
	groups := make(map[string]*Group)
	for _, e := range entries {
		if _, ok := groups[e.Group]; !ok {
			g := &Group{Name: e.Group, Method: e.Settings["method"], Settings: withoutSeed(e.Settings)}
			groups[e.Group] = g
			run.Groups = append(run.Groups, g)
			l.curves[e.Group] = NewCurveAccumulator(e.Group)
		}
		r, err := l.loadReplica(e)
		if err != nil {
			return err
		}
		run.Replicas = append(run.Replicas, r)
	}
	sort.Slice(run.Groups, func(i, j int) bool { return run.Groups[i].Name < run.Groups[j].Name })
	for _, g := range run.Groups {
		g.Curves = l.curves[g.Name].Curves()
		if acc := l.ens[g.Name]; acc != nil {
			s := acc.score()
			g.Ensemble = &s
			g.EnsembleChains = acc.chains
		}
	}
	return nil
}

// readCoordinatorSummary reads the run directory's summary.json, if any,
// into l.coord. A damaged one, or one of another sweep, is a warning.
func (l *loader) readCoordinatorSummary(sweep string) {
	s, err := rundir.ReadSummary(l.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		file, reason := rundir.Damage(err)
		l.warn("%s: %s; failed and cancelled replicas are known from their failure.json only", l.rel(file), reason)
		return
	case s.Sweep != "" && s.Sweep != sweep:
		l.warn("%s is of sweep %s, not %s; ignored", rundir.FileSummary, s.Sweep, sweep)
		return
	}
	l.coord = make(map[string]*rundir.SummaryReplica, len(s.Replicas))
	for i := range s.Replicas {
		l.coord[s.Replicas[i].ID] = &s.Replicas[i]
	}
}

// withoutSeed returns a copy of settings without "seed".
func withoutSeed(settings map[string]string) map[string]string {
	out := make(map[string]string, len(settings))
	for k, v := range settings {
		if k != "seed" {
			out[k] = v
		}
	}
	return out
}

// rawText returns a JSON string's value, or the raw JSON of anything else.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// rel returns path relative to the run directory, as a slash path (path
// itself when it is not below it).
func (l *loader) rel(path string) string {
	if path == "" {
		return ""
	}
	if r, err := filepath.Rel(l.dir, path); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(r)
	}
	return path
}

// pathless returns the error of a *fs.PathError without its path (the
// caller names the file).
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// skip marks r unreadable because of err (an error of a rundir reader, or
// a *rundir.FileError built here), clears what was read of it, and warns.
func (l *loader) skip(r *Replica, err error) *Replica {
	file, reason := rundir.Damage(err)
	r.Status, r.File, r.Error = StatusUnreadable, l.rel(file), reason
	r.ErrorCode, r.DivergedAt, r.Steps, r.BestBy = "", 0, 0, ""
	r.Final, r.Best = nanMetrics(), nanMetrics()
	r.Thermostats, r.Trace, r.Predictions, r.ParamsPath, r.SmallThreshold = nil, nil, nil, "", 0
	if r.File != "" {
		l.warn("replica %s skipped: %s: %s", r.ID, r.File, reason)
	} else {
		l.warn("replica %s skipped: %s", r.ID, reason)
	}
	return r
}

// nanMetrics returns Metrics with every value missing.
func nanMetrics() Metrics {
	nan := math.NaN()
	return Metrics{TrainLoss: nan, TrainAcc: nan, ValLoss: nan, ValAcc: nan, TestLoss: nan, TestAcc: nan}
}

// metricsOf converts result.json's metrics (null for a missing value) to
// Metrics (NaN).
func metricsOf(m rundir.Metrics) Metrics {
	return Metrics{
		Step: m.Step, TrainLoss: rundir.Value(m.TrainLoss), TrainAcc: rundir.Value(m.TrainAcc),
		ValLoss: rundir.Value(m.ValLoss), ValAcc: rundir.Value(m.ValAcc),
		TestLoss: rundir.Value(m.TestLoss), TestAcc: rundir.Value(m.TestAcc),
	}
}

// loadReplica reads one replica. Damage makes it unreadable (skip); the
// only error is a trajectory that changed between its two reads.
func (l *loader) loadReplica(e rundir.SweepEntry) (*Replica, error) {
	rdir := rundir.ReplicaDir(l.dir, e.ID)
	if l.single {
		rdir = l.dir
	}
	r := &Replica{
		ID: e.ID, Index: e.Index, Group: e.Group, Settings: e.Settings, Seed: e.Seed,
		Dir: rdir, Status: StatusIncomplete, Final: nanMetrics(), Best: nanMetrics(),
	}
	res, err := rundir.ReadResult(rdir)
	if errors.Is(err, fs.ErrNotExist) {
		return l.unfinished(r), nil
	}
	if err != nil {
		return l.skip(r, err), nil
	}
	resPath := filepath.Join(rdir, rundir.FileResult)
	if res.Version > rundir.ResultVersion {
		return l.skip(r, &rundir.FileError{Path: resPath, Err: fmt.Errorf("unsupported version %d (this program reads up to %d)", res.Version, rundir.ResultVersion)}), nil
	}
	if err := l.checkIdentity(r); err != nil {
		return l.skip(r, err), nil
	}
	r.Status, r.Error, r.DivergedAt, r.Steps = Status(res.Status), res.Error, res.DivergedAt, res.Steps
	r.Final, r.Best, r.BestBy, r.SmallThreshold = metricsOf(res.Final), metricsOf(res.Best), res.BestBy, res.SmallThreshold
	for _, g := range res.Groups {
		r.Thermostats = append(r.Thermostats, Thermostat{
			Name: g.Name, Integrator: g.Integrator, N: g.N, Tau: g.Tau, TkinMean: rundir.Value(g.TKinMean), TauMean: math.NaN()})
	}
	if r.Status != StatusDone {
		zeroMissingTkin(r)
		return r, nil
	}

	// A done replica: read everything before adding anything to the
	// group, so that a damaged file leaves no trace in the statistics.
	scan, err := l.scanTrajectory(r)
	if err != nil {
		return l.skip(r, err), nil
	}
	pred, err := rundir.ReadPredictions(rdir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		pred = nil
		l.warn("replica %s: done without %s", e.ID, rundir.FilePredictions)
	case err != nil:
		return l.skip(r, err), nil
	default:
		if err := l.checkPredictions(pred, r); err != nil {
			return l.skip(r, err), nil
		}
	}
	if scan != nil {
		if err := l.addCurves(scan, r); err != nil {
			return nil, fmt.Errorf("ensemble: %w (the file changed while it was read twice)", err)
		}
	}
	if pred != nil {
		l.addPredictions(pred, r)
	}
	zeroMissingTkin(r)

	for _, name := range []string{rundir.FileParams, rundir.FileLegacyParams} {
		path := filepath.Join(rdir, name)
		ok, err := rundir.Exists(path)
		if err != nil {
			l.warn("replica %s: %s: %v", e.ID, l.rel(path), pathless(err))
		}
		if ok {
			r.ParamsPath = path
			break
		}
	}
	return r, nil
}

// unfinished sets the status of a replica without result.json: failed or
// cancelled from its failure.json, else failed, cancelled or pruned from
// the coordinator's summary.json, else incomplete.
func (l *loader) unfinished(r *Replica) *Replica {
	f, err := rundir.ReadFailure(r.Dir)
	switch {
	case err == nil:
		if f.Replica != "" && f.Replica != r.ID {
			return l.skip(r, &rundir.FileError{Path: filepath.Join(r.Dir, rundir.FileFailure), Err: fmt.Errorf("replica %q differs from sweep.json %q", f.Replica, r.ID)})
		}
		r.Status = StatusFailed
		if f.Code == rundir.StatusCancelled {
			r.Status = StatusCancelled
		}
		r.ErrorCode, r.Error, r.Attempts, r.Worker, r.Steps = f.Code, f.Message, f.Attempts, f.Worker, f.Step
		return r
	case !errors.Is(err, fs.ErrNotExist):
		return l.skip(r, err)
	}
	c := l.coord[r.ID]
	if c == nil {
		return r
	}
	switch c.Status {
	case rundir.StatusFailed, rundir.StatusCancelled, rundir.StatusPruned:
		r.Status = Status(c.Status)
		r.ErrorCode, r.Error, r.Attempts, r.Steps = c.ErrorCode, c.Error, c.Attempts, c.Steps
	case rundir.StatusDone, rundir.StatusDiverged:
		l.warn("replica %s: %s says %s, but its directory has no %s; counted incomplete", r.ID, rundir.FileSummary, c.Status, rundir.FileResult)
	}
	return r
}

// checkIdentity compares replica.json with sweep.json; a missing
// replica.json is a warning.
func (l *loader) checkIdentity(r *Replica) error {
	id, err := rundir.ReadReplicaInfo(r.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		l.warn("replica %s: %s without %s", r.ID, rundir.FileResult, rundir.FileReplica)
		return nil
	}
	if err != nil {
		return err
	}
	path := filepath.Join(r.Dir, rundir.FileReplica)
	if id.ID != r.ID {
		return &rundir.FileError{Path: path, Err: fmt.Errorf("id %q differs from sweep.json %q", id.ID, r.ID)}
	}
	if id.Group != r.Group {
		return &rundir.FileError{Path: path, Err: fmt.Errorf("group %q differs from sweep.json %q", id.Group, r.Group)}
	}
	return nil
}

// zeroMissingTkin sets to zero (no momenta) the TkinMean that neither
// result.json nor trajectory.csv gave.
func zeroMissingTkin(r *Replica) {
	for i := range r.Thermostats {
		if math.IsNaN(r.Thermostats[i].TkinMean) {
			r.Thermostats[i].TkinMean = 0
		}
	}
}

// column kinds of trajectory.csv that are kept.
const (
	colOther = iota
	colMetric
	colTau
	colTkin
	colTkinMean
)

// maxBuffered bounds the values of the learning-curve columns that
// scanTrajectory keeps of one trajectory (8 MiB), so that they are added
// to the group's curves only once the whole file has been checked. A
// longer trajectory is read a second time instead (addCurves). A
// variable for tests.
var maxBuffered = 1 << 20

// trajScan is what the first pass over a trajectory.csv learned, for
// adding it to the group's learning curves.
type trajScan struct {
	path   string
	header []string
	iStep  int
	// cols are the columns of the learning curves (metrics and thermostat
	// columns).
	cols []int
	// steps and vals (len(cols) values a row) hold those columns' values,
	// unless reread: the file was too long to keep them.
	steps  []int64
	vals   []float64
	reread bool
}

// scanTrajectory is the first pass over a done replica's trajectory.csv:
// it checks the whole file and computes what belongs to the replica alone
// (r.Trace, the thermostats' TauMean and TkinMean). It returns nil, nil
// (and a warning) when the file is absent.
func (l *loader) scanTrajectory(r *Replica) (*trajScan, error) {
	path := filepath.Join(r.Dir, rundir.FileTrajectory)
	if ok, err := rundir.Exists(path); err == nil && !ok {
		l.warn("replica %s: done without %s", r.ID, rundir.FileTrajectory)
		return nil, nil
	}
	tr, err := rundir.OpenTrajectory(path)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	header := tr.Columns()
	scan := &trajScan{path: path, header: header, iStep: tr.Index("step")}
	kinds := make([]int, len(header))
	thermo := make([]int, len(header)) // index into r.Thermostats, or −1
	iTrain, iTest, iAcc := tr.Index("train_loss"), tr.Index("test_loss"), tr.Index("test_acc")
	thermoIndex := func(name string) int {
		for i := range r.Thermostats {
			if r.Thermostats[i].Name == name {
				return i
			}
		}
		r.Thermostats = append(r.Thermostats, Thermostat{Name: name, TkinMean: math.NaN(), TauMean: math.NaN()})
		return len(r.Thermostats) - 1
	}
	for i, h := range header {
		thermo[i] = -1
		kind, name := splitColumn(h)
		switch {
		case name == "" && isMetric(h):
			kinds[i] = colMetric
		case name != "" && (kind == "tau" || kind == "tkin" || kind == "tkin_mean"):
			kinds[i] = map[string]int{"tau": colTau, "tkin": colTkin, "tkin_mean": colTkinMean}[kind]
			thermo[i] = thermoIndex(name)
		}
		if kinds[i] != colOther {
			scan.cols = append(scan.cols, i)
		}
	}
	for _, need := range []struct {
		i    int
		name string
	}{{scan.iStep, "step"}, {iTrain, "train_loss"}, {iTest, "test_loss"}, {iAcc, "test_acc"}} {
		if need.i < 0 {
			return nil, &rundir.FileError{Path: path + ":1", Err: fmt.Errorf("missing column %q", need.name)}
		}
	}

	t := &Trace{Stride: 1}
	tauSum := make([]float64, len(r.Thermostats))
	tauN := make([]int, len(r.Thermostats))
	tkinLast := make([]float64, len(r.Thermostats))
	for i := range tkinLast {
		tkinLast[i] = math.NaN()
	}
	n := 0
	for {
		row, err := tr.Next(l.row)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		l.row = row
		step, err := tr.Step(row, scan.iStep)
		if err != nil {
			return nil, err
		}
		if !scan.reread {
			if len(scan.vals)+len(scan.cols) > maxBuffered {
				scan.steps, scan.vals, scan.reread = nil, nil, true
			} else {
				scan.steps = append(scan.steps, step)
				for _, i := range scan.cols {
					scan.vals = append(scan.vals, row[i])
				}
			}
		}
		for i, k := range kinds {
			x := row[i]
			switch {
			case math.IsNaN(x):
			case k == colTau:
				tauSum[thermo[i]] += x
				tauN[thermo[i]]++
			case k == colTkinMean:
				tkinLast[thermo[i]] = x
			}
		}
		if n%t.Stride == 0 {
			t.Steps = append(t.Steps, step)
			t.TrainLoss = append(t.TrainLoss, row[iTrain])
			t.TestLoss = append(t.TestLoss, row[iTest])
			if len(t.Steps) == MaxTracePoints {
				t.thin()
			}
		}
		if acc := row[iAcc]; !math.IsNaN(acc) && (len(t.AccRecord) == 0 || acc > t.AccRecord[len(t.AccRecord)-1].Value) {
			t.AccRecord = append(t.AccRecord, StepValue{Step: step, Value: acc})
		}
		n++
	}
	if n == 0 {
		return nil, &rundir.FileError{Path: path, Err: errors.New("no rows")}
	}
	t.Rows = n
	// Release the spare capacity of the thinned slices.
	t.Steps = slices.Clone(t.Steps)
	t.TrainLoss = slices.Clone(t.TrainLoss)
	t.TestLoss = slices.Clone(t.TestLoss)
	t.AccRecord = slices.Clone(t.AccRecord)
	r.Trace = t
	for i := range r.Thermostats {
		th := &r.Thermostats[i]
		if tauN[i] > 0 {
			th.TauMean = tauSum[i] / float64(tauN[i])
		}
		if math.IsNaN(th.TkinMean) && !math.IsNaN(tkinLast[i]) {
			th.TkinMean = tkinLast[i]
		}
	}
	return scan, nil
}

// addCurves adds the learning-curve columns of a trajectory.csv that
// scanTrajectory checked to the group's curves: from the values it kept,
// or by reading the file again when it was too long to keep them.
func (l *loader) addCurves(scan *trajScan, r *Replica) error {
	acc := l.curves[r.Group]
	series := make([]int, len(scan.cols)) // CurveAccumulator series
	for k, i := range scan.cols {
		series[k] = acc.SeriesIndex(scan.header[i])
	}
	if !scan.reread {
		w := len(scan.cols)
		for n, step := range scan.steps {
			si := acc.Row(step, n)
			for k, s := range series {
				acc.AddAt(s, si, scan.vals[n*w+k])
			}
		}
		return nil
	}
	tr, err := rundir.OpenTrajectory(scan.path)
	if err != nil {
		return err
	}
	defer tr.Close()
	if !slices.Equal(tr.Columns(), scan.header) {
		return &rundir.FileError{Path: scan.path + ":1", Err: errors.New("header differs from the first read")}
	}
	for n := 0; ; n++ {
		row, err := tr.Next(l.row)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		l.row = row
		step, err := tr.Step(row, scan.iStep)
		if err != nil {
			return err
		}
		si := acc.Row(step, n)
		for k, s := range series {
			acc.AddAt(s, si, row[scan.cols[k]])
		}
	}
}

func isMetric(h string) bool {
	_, ok := metricOrder[h]
	return ok
}

// thin keeps every other point and doubles the stride.
func (t *Trace) thin() {
	k := 0
	for i := 0; i < len(t.Steps); i += 2 {
		t.Steps[k], t.TrainLoss[k], t.TestLoss[k] = t.Steps[i], t.TrainLoss[i], t.TestLoss[i]
		k++
	}
	t.Steps, t.TrainLoss, t.TestLoss = t.Steps[:k], t.TrainLoss[:k], t.TestLoss[:k]
	t.Stride *= 2
}

// checkPredictions checks that p (valid by itself) describes the same test
// points as the group's other chains.
func (l *loader) checkPredictions(p *rundir.Predictions, r *Replica) error {
	acc := l.ens[r.Group]
	if acc == nil {
		return nil
	}
	path := filepath.Join(r.Dir, rundir.FilePredictions)
	if acc.classes != p.Classes || len(acc.labels) != len(p.Labels) {
		return &rundir.FileError{Path: path, Err: fmt.Errorf("%d points of %d classes, but %s has %d of %d", len(p.Labels), p.Classes, l.rel(acc.from), len(acc.labels), acc.classes)}
	}
	for i, y := range p.Labels {
		if acc.labels[i] != y {
			return &rundir.FileError{Path: path, Err: fmt.Errorf("label of point %d differs from %s", i, l.rel(acc.from))}
		}
	}
	return nil
}

// addPredictions scores a replica's predictions (checked by
// checkPredictions) and adds its averaged probabilities to the group's
// model average.
func (l *loader) addPredictions(p *rundir.Predictions, r *Replica) {
	fin, avg := newScorer(ECEBins), newScorer(ECEBins)
	for i, y := range p.Labels {
		fin.add(p.Final[i], y)
		avg.add(p.Averaged[i], y)
	}
	r.Predictions = &ReplicaPredictions{K: p.K, Final: fin.score(), Averaged: avg.score()}

	acc := l.ens[r.Group]
	if acc == nil {
		acc = &ensembleAcc{classes: p.Classes, labels: p.Labels, sum: make([]float64, len(p.Labels)*p.Classes),
			from: filepath.Join(r.Dir, rundir.FilePredictions)}
		l.ens[r.Group] = acc
	}
	for i, row := range p.Averaged {
		sum := acc.sum[i*p.Classes : (i+1)*p.Classes]
		for k, x := range row {
			sum[k] += x
		}
	}
	acc.chains++
}

// score scores the mean over chains of the averaged probabilities.
func (a *ensembleAcc) score() Score {
	s := newScorer(ECEBins)
	p := make([]float64, a.classes)
	for i, y := range a.labels {
		for k := range p {
			p[k] = a.sum[i*a.classes+k] / float64(a.chains)
		}
		s.add(p, y)
	}
	return s.score()
}
