package ensemble

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// BurnIn is the fraction of each loss trace discarded before the
// convergence diagnostics.
const BurnIn = 0.5

// maxAllPairs is the largest number of groups of a single method for which
// the default comparisons are all pairs.
const maxAllPairs = 12

// groupData gathers the replicas of one group, sorted by ID.
type groupData struct {
	name     string
	method   string
	settings map[string]string
	all      []*Replica
	done     []*Replica
	counts   StatusCounts
	run      *Group // nil if the run has no such Group
}

// analysis carries what the steps of Analyze share.
type analysis struct {
	run      *Run
	opts     Options
	sum      *Summary
	groups   []*groupData
	byName   map[string]*groupData
	chosenBy string
	// reps are the methods' representative groups, in method order
	// (selectMethods).
	reps []*groupData
}

// Analyze computes the Summary of a loaded run. It depends only on the
// contents of run and on opts (not on the order of run.Replicas): replicas
// are processed in ID order and every bootstrap is seeded from opts.Seed.
//
// It returns an error for invalid options (a negative number of resamples,
// a threshold outside [0, 1], a pair naming an unknown group). It panics if
// run is nil.
func Analyze(run *Run, opts Options) (*Summary, error) {
	if run == nil {
		panic("ensemble: nil run")
	}
	opts = opts.withDefaults()
	if opts.Resamples < 1 {
		return nil, fmt.Errorf("ensemble: Options.Resamples = %d, want ≥ 1", opts.Resamples)
	}
	for _, t := range opts.Thresholds {
		if !(t >= 0 && t <= 1) {
			return nil, fmt.Errorf("ensemble: Options.Thresholds: %v outside [0, 1]", t)
		}
	}
	if opts.Select != "" && !slices.Contains(SelectMetrics, opts.Select) {
		return nil, fmt.Errorf("ensemble: Options.Select %q is unknown (want %s)", opts.Select, strings.Join(SelectMetrics, ", "))
	}
	a := &analysis{run: run, opts: opts}
	a.sum = &Summary{
		Version: SummaryVersion,
		Run:     RunInfo{Dir: run.Dir, ID: run.ID, Name: run.Name, SpecHash: run.SpecHash, Created: run.Created},
		Options: opts,
		BurnIn:  BurnIn,
	}
	a.sum.Warnings = append(a.sum.Warnings, run.Warnings...)
	a.sum.Problems = problemsOf(run)
	a.collect()
	for _, p := range opts.Pairs {
		for _, name := range p {
			if a.byName[name] == nil {
				return nil, fmt.Errorf("ensemble: Options.Pairs: unknown group %q", name)
			}
		}
	}
	if err := a.chooseMetric(); err != nil {
		return nil, err
	}
	a.groupSummaries()
	a.best()
	a.selectMethods()
	a.comparisons()
	a.ladders()
	a.convergence()
	a.equipartition()
	a.modelAveraging()
	a.replicas()
	if opts.Curves {
		for _, g := range a.groups {
			if g.run != nil && g.run.Curves != nil {
				a.sum.Curves = append(a.sum.Curves, g.run.Curves)
			}
		}
	}
	return a.sum, nil
}

func (a *analysis) warn(format string, args ...any) {
	a.sum.Warnings = append(a.sum.Warnings, fmt.Sprintf(format, args...))
}

// collect groups the replicas by group, each sorted by ID.
func (a *analysis) collect() {
	reps := slices.Clone(a.run.Replicas)
	sort.SliceStable(reps, func(i, j int) bool { return reps[i].ID < reps[j].ID })
	a.byName = make(map[string]*groupData)
	get := func(name string) *groupData {
		g := a.byName[name]
		if g == nil {
			g = &groupData{name: name, run: a.run.Group(name)}
			if g.run != nil {
				g.method, g.settings = g.run.Method, g.run.Settings
			}
			a.byName[name] = g
			a.groups = append(a.groups, g)
		}
		return g
	}
	for _, g := range a.run.Groups {
		get(g.Name)
	}
	for _, r := range reps {
		g := get(r.Group)
		if g.settings == nil {
			g.method, g.settings = r.Settings["method"], withoutSeed(r.Settings)
		}
		g.all = append(g.all, r)
		g.counts.Add(r.Status)
		a.sum.Status.Add(r.Status)
		if r.Status == StatusDone {
			g.done = append(g.done, r)
		}
	}
	sort.Slice(a.groups, func(i, j int) bool { return a.groups[i].name < a.groups[j].name })
}

// hasValidation reports whether a replica's best evaluation was chosen on a
// validation split.
func hasValidation(r *Replica) bool {
	if r.BestBy != "" {
		return r.BestBy == "val_loss"
	}
	return r.Best.ValLoss > 0
}

// chooseMetric sets the selection metric of the whole run: Options.Select
// if given, else the validation loss when every done replica has a
// validation split, else the training loss. A validation metric asked for
// when some done replica has no validation split is an error.
func (a *analysis) chooseMetric() error {
	withVal, done := 0, 0
	for _, g := range a.groups {
		for _, r := range g.done {
			done++
			if hasValidation(r) {
				withVal++
			}
		}
	}
	switch {
	case a.opts.Select == SelectTrainLoss:
		a.chosenBy = SelectTrainLoss
	case a.opts.Select != "":
		if withVal < done {
			return &NoValidationError{Select: a.opts.Select, Missing: done - withVal, Done: done}
		}
		a.chosenBy = a.opts.Select
	case done == 0 || withVal == done:
		a.chosenBy = SelectValLoss
	default:
		a.chosenBy = SelectTrainLoss
		if withVal > 0 {
			a.warn("%d of %d done replicas have no validation split: every selection uses best.train_loss", done-withVal, done)
		}
	}
	a.sum.ChosenBy = a.chosenBy
	return nil
}

// selection is the selection metric of a replica, as reported.
func (a *analysis) selection(r *Replica) float64 {
	switch a.chosenBy {
	case SelectValLoss:
		return r.Best.ValLoss
	case SelectValAcc:
		return r.Best.ValAcc
	}
	return r.Best.TrainLoss
}

// rank turns a value of the selection metric into one where lower is
// better: the value itself for losses, its negative for accuracies.
func (a *analysis) rank(v float64) float64 {
	if Extreme(a.chosenBy) == "highest" {
		return -v
	}
	return v
}

// key is the selection metric of a replica, lower is better.
func (a *analysis) key(r *Replica) float64 { return a.rank(a.selection(r)) }

func values(rs []*Replica, f func(*Replica) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func finalTestAcc(r *Replica) float64 { return r.Final.TestAcc }

func (a *analysis) groupSummaries() {
	for _, g := range a.groups {
		gs := GroupSummary{
			Group: g.name, Method: g.method, Settings: g.settings, Status: g.counts,
			FinalTestAcc:  Describe(values(g.done, finalTestAcc)),
			FinalTestLoss: Describe(values(g.done, func(r *Replica) float64 { return r.Final.TestLoss })),
			BestTestAcc:   Describe(values(g.done, func(r *Replica) float64 { return r.Best.TestAcc })),
			BestTestLoss:  Describe(values(g.done, func(r *Replica) float64 { return r.Best.TestLoss })),
			Selection:     Describe(values(g.done, a.selection)),
		}
		for _, thr := range a.opts.Thresholds {
			gs.Reach = append(gs.Reach, reach(g.done, thr))
		}
		a.sum.Groups = append(a.sum.Groups, gs)
	}
}

// reach describes the first step at which the test accuracy reached thr.
func reach(done []*Replica, thr float64) Reach {
	rc := Reach{Threshold: thr}
	var steps []float64
	for _, r := range done {
		if r.Trace == nil {
			continue
		}
		rc.N++
		if s, ok := r.Trace.FirstReach(thr); ok {
			rc.Reached++
			steps = append(steps, float64(s))
		} else {
			rc.Never++
		}
	}
	rc.Steps = Describe(steps)
	rc.MedianAll = math.NaN()
	if rc.N > 0 {
		all := slices.Clone(steps)
		slices.Sort(all)
		for range rc.Never {
			all = append(all, math.Inf(1))
		}
		if m := Quantile(0.5, all); !math.IsInf(m, 0) && !math.IsNaN(m) {
			rc.MedianAll = m
		}
	}
	return rc
}

// bestReplica returns the replica of rs with the lowest finite selection
// metric (the first in ID order on ties), or nil.
func (a *analysis) bestReplica(rs []*Replica) *Replica {
	var best *Replica
	for _, r := range rs {
		v := a.selection(r)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if best == nil || a.rank(v) < a.key(best) {
			best = r
		}
	}
	return best
}

// bestGroup returns the group of gs with the lowest mean selection metric
// (the first by name on ties), or nil.
func (a *analysis) bestGroup(gs []*groupData) *groupData {
	var best *groupData
	bestMean := math.Inf(1)
	for _, g := range gs {
		if len(g.done) == 0 {
			continue
		}
		m := Describe(values(g.done, a.key)).Mean
		if m < bestMean {
			best, bestMean = g, m
		}
	}
	return best
}

// bestReplicaOf describes r as a chosen replica.
func (a *analysis) bestReplicaOf(r *Replica) *BestReplica {
	b := &BestReplica{
		ID: r.ID, Group: r.Group, Method: r.Settings["method"], Settings: r.Settings, Seed: r.Seed,
		ChosenBy: a.chosenBy, Value: a.selection(r), AtBest: r.Best, Final: r.Final, ParamsPath: r.ParamsPath,
	}
	if g := a.byName[r.Group]; g != nil && g.method != "" {
		b.Method = g.method
	}
	if r.Predictions != nil {
		s := r.Predictions.Final
		b.Predictions = &s
	}
	return b
}

// bestGroupOf describes g as a chosen group.
func (a *analysis) bestGroupOf(g *groupData) *BestGroup {
	return &BestGroup{
		Group: g.name, Method: g.method, Settings: g.settings, ChosenBy: a.chosenBy,
		Selection:    Describe(values(g.done, a.selection)),
		FinalTestAcc: Describe(values(g.done, finalTestAcc)),
	}
}

// best chooses the best replica and the best group of the whole run.
func (a *analysis) best() {
	var done []*Replica
	for _, g := range a.groups {
		done = append(done, g.done...)
	}
	sort.Slice(done, func(i, j int) bool { return done[i].ID < done[j].ID })
	if r := a.bestReplica(done); r != nil {
		a.sum.Best = a.bestReplicaOf(r)
	}
	if g := a.bestGroup(a.groups); g != nil {
		a.sum.BestGroup = a.bestGroupOf(g)
	}
}

// selectMethods chooses, per method in name order, the representative
// group (lowest mean selection metric) and the best replica (lowest
// selection metric), fills Summary.Methods and remembers the
// representatives for the comparisons and the spread test. Every method
// of the run's groups is listed, with nil choices when it has no done
// replica.
func (a *analysis) selectMethods() {
	byMethod := make(map[string][]*groupData)
	var methods []string
	for _, g := range a.groups {
		if _, ok := byMethod[g.method]; !ok {
			methods = append(methods, g.method)
			byMethod[g.method] = nil
		}
		if len(g.done) > 0 {
			byMethod[g.method] = append(byMethod[g.method], g)
		}
	}
	sort.Strings(methods)
	for _, m := range methods {
		gs := byMethod[m] // in name order, as a.groups
		ms := MethodSelection{Method: m, ChosenBy: a.chosenBy, Groups: []string{}}
		var done []*Replica
		for _, g := range gs {
			ms.Groups = append(ms.Groups, g.name)
			done = append(done, g.done...)
		}
		if g := a.bestGroup(gs); g != nil {
			ms.Representative = a.bestGroupOf(g)
			a.reps = append(a.reps, g)
		}
		sort.Slice(done, func(i, j int) bool { return done[i].ID < done[j].ID })
		if r := a.bestReplica(done); r != nil {
			ms.Best = a.bestReplicaOf(r)
		}
		a.sum.Methods = append(a.sum.Methods, ms)
	}
}

// seedFor derives a bootstrap seed from Options.Seed and a label, so that
// each comparison or ladder has its own stream, stable when others are
// added.
func (a *analysis) seedFor(label string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(label))
	return a.opts.Seed ^ h.Sum64()
}

func (a *analysis) comparisons() {
	reps := a.reps
	var pairs [][2]*groupData
	switch {
	case a.opts.Pairs != nil:
		for _, p := range a.opts.Pairs {
			pairs = append(pairs, [2]*groupData{a.byName[p[0]], a.byName[p[1]]})
		}
	case len(reps) >= 2:
		for i := range reps {
			for j := i + 1; j < len(reps); j++ {
				pairs = append(pairs, [2]*groupData{reps[i], reps[j]})
			}
		}
	default:
		var active []*groupData
		for _, g := range a.groups {
			if len(g.done) > 0 {
				active = append(active, g)
			}
		}
		if len(active) <= maxAllPairs {
			for i := range active {
				for j := i + 1; j < len(active); j++ {
					pairs = append(pairs, [2]*groupData{active[i], active[j]})
				}
			}
		} else if best := a.bestGroup(active); best != nil {
			for _, g := range active {
				if g != best {
					pairs = append(pairs, [2]*groupData{best, g})
				}
			}
		}
	}
	for _, p := range pairs {
		ga, gb := p[0], p[1]
		xa, xb := values(ga.done, finalTestAcc), values(gb.done, finalTestAcc)
		sa, sb := Describe(xa), Describe(xb)
		c := Comparison{
			A: ga.name, B: gb.name, MethodA: ga.method, MethodB: gb.method,
			NA: len(xa), NB: len(xb), MeanA: sa.Mean, MeanB: sb.Mean, SDA: sa.SD, SDB: sb.SD,
			Levene: Levene([][]float64{xa, xb}, CenterMedian),
		}
		c.Diff, c.DiffLo, c.DiffHi = BootstrapDiff(xa, xb, a.opts.Resamples, a.seedFor("compare\x00"+ga.name+"\x00"+gb.name))
		c.G, c.GLo, c.GHi = BootstrapHedgesG(xa, xb, a.opts.Resamples, a.seedFor("hedges\x00"+ga.name+"\x00"+gb.name))
		c.Reach = a.reachComparisons(ga, gb)
		a.sum.Comparisons = append(a.sum.Comparisons, c)
	}
	if len(reps) >= 2 {
		sp := &Spread{}
		var xs [][]float64
		for _, g := range reps {
			x := values(g.done, finalTestAcc)
			d := Describe(x)
			xs = append(xs, x)
			sp.Groups = append(sp.Groups, g.name)
			sp.Methods = append(sp.Methods, g.method)
			sp.N = append(sp.N, d.N)
			sp.SD = append(sp.SD, d.SD)
			sp.IQR = append(sp.IQR, d.IQR)
		}
		sp.Levene = Levene(xs, CenterMedian)
		a.sum.Spread = sp
	}
}

func (a *analysis) ladders() {
	type series struct {
		key    string
		method string
		fixed  map[string]string
		pts    []*groupData
		taus   []float64
	}
	byKey := make(map[string]*series)
	var keys []string
	for _, g := range a.groups {
		text, ok := g.settings["tau"]
		if !ok {
			continue
		}
		tau, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(tau) {
			a.warn("group %s: tau %q is not a number; left out of the ladders", g.name, text)
			continue
		}
		fixed := make(map[string]string)
		var parts []string
		for k, v := range g.settings {
			if k != "tau" {
				fixed[k] = v
				parts = append(parts, k+"="+v)
			}
		}
		sort.Strings(parts)
		key := strings.Join(parts, "\x00")
		s := byKey[key]
		if s == nil {
			s = &series{key: key, method: g.method, fixed: fixed}
			byKey[key] = s
			keys = append(keys, key)
		}
		s.pts = append(s.pts, g)
		s.taus = append(s.taus, tau)
	}
	sort.Slice(keys, func(i, j int) bool {
		si, sj := byKey[keys[i]], byKey[keys[j]]
		if si.method != sj.method {
			return si.method < sj.method
		}
		return keys[i] < keys[j]
	})
	for _, key := range keys {
		s := byKey[key]
		idx := make([]int, len(s.pts))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(i, j int) bool { return s.taus[idx[i]] < s.taus[idx[j]] })
		l := Ladder{Method: s.method, Fixed: s.fixed}
		var samples [][]float64
		for _, i := range idx {
			g := s.pts[i]
			m := values(g.done, a.selection)
			samples = append(samples, m)
			l.Points = append(l.Points, LadderPoint{
				Tau: s.taus[i], Group: g.name, Status: g.counts,
				TestAcc:  Describe(values(g.done, finalTestAcc)),
				TestLoss: Describe(values(g.done, func(r *Replica) float64 { return r.Final.TestLoss })),
				Metric:   Describe(m),
			})
		}
		l.Goldilocks = a.goldilocks(&l, samples, a.seedFor("ladder\x00"+key))
		a.sum.Ladders = append(a.sum.Ladders, l)
	}
}

// goldilocks finds the τ of lowest mean selection metric (the points'
// Metric, computed from samples) and bootstraps its argmin over seeds; it
// fills the points' PBest. Points whose mean is not finite (no done
// replica, a non-finite value) are never chosen.
func (a *analysis) goldilocks(l *Ladder, samples [][]float64, seed uint64) *Goldilocks {
	best := -1
	bestMean := math.Inf(1)
	eligible := make([]bool, len(l.Points))
	for j, p := range l.Points {
		m := a.rank(p.Metric.Mean)
		eligible[j] = p.Metric.N > 0 && !math.IsNaN(m) && !math.IsInf(m, 0)
		if eligible[j] && m < bestMean {
			best, bestMean = j, m
		}
	}
	if best < 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0xbb67ae8584caa73b))
	counts := make([]int, len(l.Points))
	total := 0
	for range a.opts.Resamples {
		arg, argMean := -1, math.Inf(1)
		for j, x := range samples {
			if !eligible[j] {
				continue
			}
			if m := a.rank(resampleMean(rng, x)); m < argMean {
				arg, argMean = j, m
			}
		}
		if arg < 0 {
			// Every resampled mean overflowed (values near the largest
			// float64): the resample says nothing.
			continue
		}
		counts[arg]++
		total++
	}
	if total == 0 {
		counts[best], total = 1, 1
	}
	// Lo and Hi: the 2.5% and 97.5% quantiles of the bootstrap argmin in τ
	// order (inverse of its empirical distribution function).
	lo, hi := -1, -1
	cum := 0
	b := float64(total)
	for j, c := range counts {
		l.Points[j].PBest = float64(c) / b
		cum += c
		if lo < 0 && float64(cum) >= 0.025*b {
			lo = j
		}
		if hi < 0 && float64(cum) >= 0.975*b {
			hi = j
		}
	}
	p := l.Points[best]
	return &Goldilocks{
		Tau: p.Tau, Group: p.Group, ChosenBy: a.chosenBy, Value: p.Metric.Mean,
		Lo: l.Points[lo].Tau, Hi: l.Points[hi].Tau, PBest: p.PBest, TestAcc: p.TestAcc,
	}
}

func (a *analysis) convergence() {
	metrics := []struct {
		name  string
		trace func(*Trace) []float64
	}{
		{"train_loss", func(t *Trace) []float64 { return t.TrainLoss }},
		{"test_loss", func(t *Trace) []float64 { return t.TestLoss }},
	}
	for _, g := range a.groups {
		var traces []*Trace
		for _, r := range g.done {
			if r.Trace != nil && len(r.Trace.Steps) > 0 {
				traces = append(traces, r.Trace)
			}
		}
		if len(traces) == 0 {
			continue
		}
		stride, n := traces[0].Stride, len(traces[0].Steps)
		sameStride := true
		for _, t := range traces {
			n = min(n, len(t.Steps))
			if t.Stride != stride {
				sameStride = false
			}
		}
		if !sameStride {
			a.warn("group %s: trajectories of different lengths; convergence diagnostics skipped", g.name)
			continue
		}
		burn := int(float64(n) * BurnIn)
		for _, m := range metrics {
			var chains [][]float64
			dropped := 0
			for _, t := range traces {
				x := m.trace(t)[burn:n]
				if allFinite(x) {
					chains = append(chains, x)
				} else {
					dropped++
				}
			}
			if dropped > 0 {
				a.warn("group %s: %d chains with non-finite %s left out of the diagnostics", g.name, dropped, m.name)
			}
			c := Convergence{Group: g.name, Metric: m.name, Chains: len(chains), Draws: n - burn,
				SplitRHat: math.NaN(), RankRHat: math.NaN(), BulkESS: math.NaN()}
			if len(chains) > 0 {
				c.SplitRHat = SplitRHat(chains)
				c.RankRHat = RankRHat(chains)
				c.BulkESS = ESS(chains)
			}
			a.sum.Convergence = append(a.sum.Convergence, c)
		}
	}
}

func allFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func (a *analysis) equipartition() {
	type acc struct {
		method, name, integrator string
		rel, ratio, relSched     []float64
	}
	byKey := make(map[[2]string]*acc)
	var keys [][2]string
	for _, g := range a.groups {
		for _, r := range g.done {
			for _, th := range r.Thermostats {
				if !(th.Tau > 0) || !(th.TkinMean > 0) || math.IsInf(th.TkinMean, 0) {
					continue
				}
				k := [2]string{g.method, th.Name}
				e := byKey[k]
				if e == nil {
					e = &acc{method: g.method, name: th.Name, integrator: th.Integrator}
					byKey[k] = e
					keys = append(keys, k)
				}
				e.rel = append(e.rel, math.Abs(th.TkinMean-th.Tau)/th.Tau)
				e.ratio = append(e.ratio, th.TkinMean/th.Tau)
				if th.TauMean > 0 {
					e.relSched = append(e.relSched, math.Abs(th.TkinMean-th.TauMean)/th.TauMean)
				}
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		e := byKey[k]
		a.sum.Equipartition = append(a.sum.Equipartition, Equipartition{
			Method: e.method, Name: e.name, Integrator: e.integrator, Replicas: len(e.rel),
			RelErr: Describe(e.rel), Ratio: Describe(e.ratio), RelErrScheduled: Describe(e.relSched),
		})
	}
}

func (a *analysis) modelAveraging() {
	for _, g := range a.groups {
		var fin, avg []Score
		var withPred []*Replica
		for _, r := range g.done {
			if r.Predictions != nil {
				fin = append(fin, r.Predictions.Final)
				avg = append(avg, r.Predictions.Averaged)
				withPred = append(withPred, r)
			}
		}
		if len(withPred) == 0 {
			continue
		}
		ma := ModelAveraging{Group: g.name, ChainFinal: meanScores(fin), ChainAveraged: meanScores(avg)}
		if g.run != nil && g.run.Ensemble != nil {
			e := *g.run.Ensemble
			ma.Ensemble, ma.Chains = &e, g.run.EnsembleChains
		}
		if b := a.bestReplica(g.done); b != nil {
			ma.BestReplica = b.ID
			if b.Predictions != nil {
				s := b.Predictions.Final
				ma.Best = &s
			}
		}
		a.sum.ModelAveraging = append(a.sum.ModelAveraging, ma)
	}
}

func (a *analysis) replicas() {
	for _, g := range a.groups {
		for _, r := range g.all {
			a.sum.Replicas = append(a.sum.Replicas, ReplicaSummary{
				ID: r.ID, Group: r.Group, Seed: r.Seed, Status: r.Status, Error: r.Error,
				Steps: r.Steps, Final: r.Final, Best: r.Best,
			})
		}
	}
	sort.Slice(a.sum.Replicas, func(i, j int) bool { return a.sum.Replicas[i].ID < a.sum.Replicas[j].ID })
}
