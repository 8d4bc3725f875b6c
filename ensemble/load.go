package ensemble

import (
	"bufio"
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
	"sort"
	"strconv"
	"strings"

	"github.com/heatbath/heatbath/rundir"
)

// resultFile is result.json.
type resultFile struct {
	Version    int           `json:"version"`
	Status     string        `json:"status"`
	Error      string        `json:"error"`
	DivergedAt int64         `json:"diverged_at"`
	Steps      int64         `json:"steps"`
	Final      Metrics       `json:"final"`
	Best       Metrics       `json:"best"`
	BestBy     string        `json:"best_by"`
	Groups     []resultGroup `json:"groups"`
}

type resultGroup struct {
	Name       string   `json:"name"`
	Integrator string   `json:"integrator"`
	N          int      `json:"n"`
	Tau        float64  `json:"tau"`
	TkinMean   *float64 `json:"tkin_mean"`
}

// predictionsFile is predictions.json.
type predictionsFile struct {
	Classes  int         `json:"classes"`
	Labels   []int       `json:"labels"`
	K        int         `json:"k"`
	Final    [][]float64 `json:"final"`
	Averaged [][]float64 `json:"averaged"`
}

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
	run    *Run
	curves map[string]*CurveAccumulator
	ens    map[string]*ensembleAcc
	// rec is reused across trajectory files.
	rec []string
}

// LoadRun reads the run directory dir (docs/formats.md): sweep.json and, for
// every replica it lists, replicas/<id>/{replica.json, result.json,
// trajectory.csv, predictions.json}. Trajectories and predictions of done
// replicas are streamed and reduced as described in the package
// documentation; those of other replicas are not read.
//
// A malformed file is an error naming the file (and the line for CSV).
// Missing optional files of a done replica and replica directories not
// listed in sweep.json are reported in Run.Warnings.
func LoadRun(dir string) (*Run, error) {
	l := &loader{
		run:    &Run{Dir: dir},
		curves: make(map[string]*CurveAccumulator),
		ens:    make(map[string]*ensembleAcc),
	}
	if err := l.load(dir); err != nil {
		return nil, err
	}
	return l.run, nil
}

func (l *loader) warn(format string, args ...any) {
	l.run.Warnings = append(l.run.Warnings, fmt.Sprintf(format, args...))
}

func (l *loader) load(dir string) error {
	path := filepath.Join(dir, "sweep.json")
	var sw rundir.Sweep
	if err := readJSON(path, &sw); err != nil {
		return err
	}
	if sw.Version > 1 {
		return fmt.Errorf("ensemble: %s: unsupported version %d", path, sw.Version)
	}
	run := l.run
	run.ID, run.Name, run.SpecHash = sw.ID, sw.Name, sw.SpecHash
	run.Created = rawText(sw.Created)

	listed := make(map[string]bool, len(sw.Replicas))
	for i, e := range sw.Replicas {
		if e.ID == "" || e.ID == "." || e.ID == ".." || strings.ContainsAny(e.ID, `/\`) {
			return fmt.Errorf("ensemble: %s: replica %d has invalid id %q", path, i, e.ID)
		}
		if listed[e.ID] {
			return fmt.Errorf("ensemble: %s: duplicate replica id %q", path, e.ID)
		}
		if e.Group == "" {
			return fmt.Errorf("ensemble: %s: replica %q has no group", path, e.ID)
		}
		listed[e.ID] = true
	}
	entries := append([]rundir.SweepEntry(nil), sw.Replicas...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].ID < entries[j].ID })

	groups := make(map[string]*Group)
	for _, e := range entries {
		if _, ok := groups[e.Group]; !ok {
			g := &Group{Name: e.Group, Method: e.Settings["method"], Settings: withoutSeed(e.Settings)}
			groups[e.Group] = g
			run.Groups = append(run.Groups, g)
			l.curves[e.Group] = NewCurveAccumulator(e.Group)
		}
		r, err := l.loadReplica(dir, e)
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

	ents, err := os.ReadDir(filepath.Join(dir, "replicas"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ensemble: %w", err)
	}
	for _, de := range ents {
		if de.IsDir() && !listed[de.Name()] {
			l.warn("replicas/%s is not listed in sweep.json; ignored", de.Name())
		}
	}
	return nil
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

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("ensemble: %w", err)
}

// readJSON decodes the file at path into v.
func readJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("ensemble: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("ensemble: %s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("ensemble: %s: trailing data after JSON value", path)
	}
	return nil
}

func (l *loader) loadReplica(dir string, e rundir.SweepEntry) (*Replica, error) {
	rdir := filepath.Join(dir, "replicas", e.ID)
	r := &Replica{
		ID: e.ID, Index: e.Index, Group: e.Group, Settings: e.Settings, Seed: e.Seed,
		Dir: rdir, Status: StatusIncomplete,
	}
	resPath := filepath.Join(rdir, "result.json")
	ok, err := exists(resPath)
	if err != nil || !ok {
		return r, err
	}

	idPath := filepath.Join(rdir, "replica.json")
	if ok, err := exists(idPath); err != nil {
		return nil, err
	} else if ok {
		var id rundir.SweepEntry
		if err := readJSON(idPath, &id); err != nil {
			return nil, err
		}
		if id.ID != e.ID {
			return nil, fmt.Errorf("ensemble: %s: id %q differs from sweep.json %q", idPath, id.ID, e.ID)
		}
		if id.Group != e.Group {
			return nil, fmt.Errorf("ensemble: %s: group %q differs from sweep.json %q", idPath, id.Group, e.Group)
		}
	} else {
		l.warn("replica %s: result.json without replica.json", e.ID)
	}

	var res resultFile
	if err := readJSON(resPath, &res); err != nil {
		return nil, err
	}
	if res.Version > 1 {
		return nil, fmt.Errorf("ensemble: %s: unsupported version %d", resPath, res.Version)
	}
	st := Status(res.Status)
	if st == StatusIncomplete || !st.Valid() {
		return nil, fmt.Errorf("ensemble: %s: unknown status %q", resPath, res.Status)
	}
	r.Status, r.Error, r.DivergedAt, r.Steps = st, res.Error, res.DivergedAt, res.Steps
	r.Final, r.Best, r.BestBy = res.Final, res.Best, res.BestBy
	for _, g := range res.Groups {
		th := Thermostat{Name: g.Name, Integrator: g.Integrator, N: g.N, Tau: g.Tau, TauMean: math.NaN()}
		if g.TkinMean != nil {
			th.TkinMean = *g.TkinMean
		} else {
			th.TkinMean = math.NaN()
		}
		r.Thermostats = append(r.Thermostats, th)
	}
	if st != StatusDone {
		zeroMissingTkin(r)
		return r, nil
	}

	trajPath := filepath.Join(rdir, "trajectory.csv")
	if ok, err := exists(trajPath); err != nil {
		return nil, err
	} else if ok {
		if err := l.readTrajectory(trajPath, r); err != nil {
			return nil, err
		}
	} else {
		l.warn("replica %s: done without trajectory.csv", e.ID)
	}
	zeroMissingTkin(r)

	predPath := filepath.Join(rdir, "predictions.json")
	if ok, err := exists(predPath); err != nil {
		return nil, err
	} else if ok {
		if err := l.readPredictions(predPath, r); err != nil {
			return nil, err
		}
	} else {
		l.warn("replica %s: done without predictions.json", e.ID)
	}

	for _, name := range []string{rundir.FileParams, rundir.FileLegacyParams} { // params.bin: run directories of before the safetensors files
		paramsPath := filepath.Join(rdir, name)
		if ok, err := exists(paramsPath); err != nil {
			return nil, err
		} else if ok {
			r.ParamsPath = paramsPath
			break
		}
	}
	return r, nil
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
	colStep
	colMetric
	colTau
	colTkin
	colTkinMean
)

type trajColumn struct {
	kind   int
	series int // CurveAccumulator series, for colMetric, colTau, colTkin, colTkinMean
	thermo int // index into Replica.Thermostats, or -1
}

// readTrajectory streams trajectory.csv into r.Trace, the group's curves and
// the thermostats' TauMean and TkinMean.
func (l *loader) readTrajectory(path string, r *Replica) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("ensemble: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return fmt.Errorf("ensemble: %s: empty file", path)
	}
	if err != nil {
		return fmt.Errorf("ensemble: %s: %w", path, err)
	}
	// ReuseRecord: the next Read overwrites the record, so keep a copy.
	header = slices.Clone(header)
	acc := l.curves[r.Group]
	cols := make([]trajColumn, len(header))
	iStep, iTrain, iTest, iAcc := -1, -1, -1, -1
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
		cols[i] = trajColumn{kind: colOther, thermo: -1}
		kind, name := splitColumn(h)
		switch {
		case h == "step":
			cols[i].kind = colStep
			iStep = i
		case name == "" && isMetric(h):
			cols[i] = trajColumn{kind: colMetric, series: acc.SeriesIndex(h), thermo: -1}
			switch h {
			case "train_loss":
				iTrain = i
			case "test_loss":
				iTest = i
			case "test_acc":
				iAcc = i
			}
		case name != "" && (kind == "tau" || kind == "tkin" || kind == "tkin_mean"):
			k := map[string]int{"tau": colTau, "tkin": colTkin, "tkin_mean": colTkinMean}[kind]
			cols[i] = trajColumn{kind: k, series: acc.SeriesIndex(h), thermo: thermoIndex(name)}
		}
	}
	for _, need := range []struct {
		i    int
		name string
	}{{iStep, "step"}, {iTrain, "train_loss"}, {iTest, "test_loss"}, {iAcc, "test_acc"}} {
		if need.i < 0 {
			return fmt.Errorf("ensemble: %s:1: missing column %q", path, need.name)
		}
	}

	tr := &Trace{Stride: 1}
	tauSum := make([]float64, len(r.Thermostats))
	tauN := make([]int, len(r.Thermostats))
	tkinLast := make([]float64, len(r.Thermostats))
	for i := range tkinLast {
		tkinLast[i] = math.NaN()
	}
	row := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("ensemble: %s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		stepText := rec[iStep]
		step, err := strconv.ParseInt(stepText, 10, 64)
		if err != nil {
			return fmt.Errorf("ensemble: %s:%d: bad step %q", path, line, stepText)
		}
		si := acc.Row(step, row)
		var train, test, tacc float64
		for i, c := range cols {
			if c.kind == colOther || c.kind == colStep {
				continue
			}
			x, err := parseCell(rec[i])
			if err != nil {
				return fmt.Errorf("ensemble: %s:%d: column %q: bad number %q", path, line, header[i], rec[i])
			}
			acc.AddAt(c.series, si, x)
			switch {
			case i == iTrain:
				train = x
			case i == iTest:
				test = x
			case i == iAcc:
				tacc = x
			case c.kind == colTau && !math.IsNaN(x):
				tauSum[c.thermo] += x
				tauN[c.thermo]++
			case c.kind == colTkinMean && !math.IsNaN(x):
				tkinLast[c.thermo] = x
			}
		}
		if row%tr.Stride == 0 {
			tr.Steps = append(tr.Steps, step)
			tr.TrainLoss = append(tr.TrainLoss, train)
			tr.TestLoss = append(tr.TestLoss, test)
			if len(tr.Steps) == MaxTracePoints {
				tr.thin()
			}
		}
		if !math.IsNaN(tacc) && (len(tr.AccRecord) == 0 || tacc > tr.AccRecord[len(tr.AccRecord)-1].Value) {
			tr.AccRecord = append(tr.AccRecord, StepValue{Step: step, Value: tacc})
		}
		row++
	}
	if row == 0 {
		return fmt.Errorf("ensemble: %s: no rows", path)
	}
	tr.Rows = row
	// Release the spare capacity of the thinned slices.
	tr.Steps = append([]int64(nil), tr.Steps...)
	tr.TrainLoss = append([]float64(nil), tr.TrainLoss...)
	tr.TestLoss = append([]float64(nil), tr.TestLoss...)
	tr.AccRecord = append([]StepValue(nil), tr.AccRecord...)
	r.Trace = tr
	for i := range r.Thermostats {
		th := &r.Thermostats[i]
		if tauN[i] > 0 {
			th.TauMean = tauSum[i] / float64(tauN[i])
		}
		if math.IsNaN(th.TkinMean) && !math.IsNaN(tkinLast[i]) {
			th.TkinMean = tkinLast[i]
		}
	}
	return nil
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

// parseCell parses a CSV number; an empty cell is NaN.
func parseCell(s string) (float64, error) {
	if s == "" {
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// readPredictions scores predictions.json and adds its averaged
// probabilities to the group's model average.
func (l *loader) readPredictions(path string, r *Replica) error {
	var p predictionsFile
	if err := readJSON(path, &p); err != nil {
		return err
	}
	n := len(p.Labels)
	if p.Classes < 2 {
		return fmt.Errorf("ensemble: %s: classes = %d, need at least 2", path, p.Classes)
	}
	if len(p.Final) != n || len(p.Averaged) != n {
		return fmt.Errorf("ensemble: %s: %d labels, %d final and %d averaged rows", path, n, len(p.Final), len(p.Averaged))
	}
	for i, y := range p.Labels {
		if y < 0 || y >= p.Classes {
			return fmt.Errorf("ensemble: %s: label %d of point %d outside [0, %d)", path, y, i, p.Classes)
		}
		if len(p.Final[i]) != p.Classes || len(p.Averaged[i]) != p.Classes {
			return fmt.Errorf("ensemble: %s: point %d: rows of %d and %d probabilities, want %d", path, i, len(p.Final[i]), len(p.Averaged[i]), p.Classes)
		}
	}
	fin, avg := newScorer(ECEBins), newScorer(ECEBins)
	for i, y := range p.Labels {
		fin.add(p.Final[i], y)
		avg.add(p.Averaged[i], y)
	}
	r.Predictions = &ReplicaPredictions{K: p.K, Final: fin.score(), Averaged: avg.score()}

	acc := l.ens[r.Group]
	if acc == nil {
		acc = &ensembleAcc{classes: p.Classes, labels: p.Labels, sum: make([]float64, n*p.Classes), from: path}
		l.ens[r.Group] = acc
	} else {
		if acc.classes != p.Classes || len(acc.labels) != n {
			return fmt.Errorf("ensemble: %s: %d points of %d classes, but %s has %d of %d", path, n, p.Classes, acc.from, len(acc.labels), acc.classes)
		}
		for i, y := range p.Labels {
			if acc.labels[i] != y {
				return fmt.Errorf("ensemble: %s: label of point %d differs from %s", path, i, acc.from)
			}
		}
	}
	for i, row := range p.Averaged {
		sum := acc.sum[i*p.Classes : (i+1)*p.Classes]
		for k, x := range row {
			sum[k] += x
		}
	}
	acc.chains++
	return nil
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
