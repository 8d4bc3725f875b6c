package ensemble

import (
	"math"
	"sort"
)

// Curves are the learning curves of one group: for each step at which some
// done replica was evaluated, the mean over replicas (seeds) of every
// trajectory column kept, with its 95% band.
type Curves struct {
	// Group is the group name.
	Group string `json:"group"`
	// Steps are the evaluation steps, increasing.
	Steps []int64 `json:"steps"`
	// Series holds one entry per column, in this order when present:
	// train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, then
	// tau:<g>, tkin:<g>, tkin_mean:<g> for each thermostat group g in name
	// order.
	Series []Series `json:"series"`
}

// Series is one column of Curves across replicas. All slices are indexed
// like Curves.Steps.
//
// At step i with N[i] = n replicas holding a value:
//
//	Mean[i] = x̄ = (1/n) Σ x_r
//	SD[i]   = s = sqrt(Σ (x_r − x̄)² / (n−1))          (NaN if n < 2)
//	Lo, Hi  = x̄ ∓ t_{0.975, n−1} · s/√n                (NaN if n < 2)
//
// so [Lo, Hi] is the 95% Student-t confidence band of the mean over seeds.
// A spread band over seeds is Mean ± 1.96·SD.
type Series struct {
	Name string    `json:"name"`
	N    []int     `json:"n"`
	Mean []float64 `json:"mean"`
	SD   []float64 `json:"sd"`
	Lo   []float64 `json:"lo"`
	Hi   []float64 `json:"hi"`
}

// Column returns the series with the given name, or nil.
func (c *Curves) Column(name string) *Series {
	for i := range c.Series {
		if c.Series[i].Name == name {
			return &c.Series[i]
		}
	}
	return nil
}

// welford accumulates count, mean and the sum of squared deviations of a
// stream (Welford 1962):
//
//	n ← n+1;  δ = x − m;  m ← m + δ/n;  M2 ← M2 + δ·(x − m)
type welford struct {
	n  int
	m  float64
	m2 float64
}

func (w *welford) add(x float64) {
	w.n++
	d := x - w.m
	w.m += d / float64(w.n)
	w.m2 += d * (x - w.m)
}

// CurveAccumulator builds Curves by streaming: each Add updates a running
// count, mean and sum of squared deviations per (series, step), so memory is
// O(series × distinct steps) whatever the number of replicas.
//
// The zero value is not usable; call NewCurveAccumulator. A CurveAccumulator
// is not safe for concurrent use.
type CurveAccumulator struct {
	group string
	steps []int64
	names []string
	index map[string]int
	cells [][]welford // cells[series][step]
}

// NewCurveAccumulator returns an empty accumulator for the named group.
func NewCurveAccumulator(group string) *CurveAccumulator {
	return &CurveAccumulator{group: group, index: make(map[string]int)}
}

// stepIndex returns the index of step in a.steps, inserting it if needed.
// Replicas of one group share their evaluation steps, so the lookup is
// almost always the hint (the row index).
func (a *CurveAccumulator) stepIndex(step int64, row int) int {
	if row < len(a.steps) && a.steps[row] == step {
		return row
	}
	i := sort.Search(len(a.steps), func(i int) bool { return a.steps[i] >= step })
	if i < len(a.steps) && a.steps[i] == step {
		return i
	}
	a.steps = append(a.steps, 0)
	copy(a.steps[i+1:], a.steps[i:])
	a.steps[i] = step
	for s := range a.cells {
		c := append(a.cells[s], welford{})
		copy(c[i+1:], c[i:])
		c[i] = welford{}
		a.cells[s] = c
	}
	return i
}

// SeriesIndex returns the index of the named series, creating it if needed.
// Pass the index to AddAt to avoid a map lookup per value.
func (a *CurveAccumulator) SeriesIndex(name string) int {
	if i, ok := a.index[name]; ok {
		return i
	}
	i := len(a.names)
	a.names = append(a.names, name)
	a.index[name] = i
	a.cells = append(a.cells, make([]welford, len(a.steps)))
	return i
}

// Row prepares the addition of the values of one evaluation row: it returns
// the step's index for AddAt. row is the row's index within its replica's
// trajectory; it is only a lookup hint.
func (a *CurveAccumulator) Row(step int64, row int) int {
	return a.stepIndex(step, row)
}

// AddAt adds the value x of series s (from SeriesIndex) at step index i
// (from Row). Non-finite values are skipped.
func (a *CurveAccumulator) AddAt(s, i int, x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	a.cells[s][i].add(x)
}

// Add adds the value x of the named series at step. It is the convenient,
// slower form of Row + AddAt.
func (a *CurveAccumulator) Add(name string, step int64, x float64) {
	s := a.SeriesIndex(name)
	i := a.stepIndex(step, len(a.steps))
	a.AddAt(s, i, x)
}

// Curves returns the accumulated curves. Series are ordered as documented
// on Curves.Series.
func (a *CurveAccumulator) Curves() *Curves {
	c := &Curves{Group: a.group, Steps: append([]int64(nil), a.steps...)}
	order := make([]int, len(a.names))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		return seriesLess(a.names[order[i]], a.names[order[j]])
	})
	for _, s := range order {
		c.Series = append(c.Series, a.series(s))
	}
	return c
}

func (a *CurveAccumulator) series(s int) Series {
	n := len(a.steps)
	out := Series{
		Name: a.names[s],
		N:    make([]int, n),
		Mean: make([]float64, n),
		SD:   make([]float64, n),
		Lo:   make([]float64, n),
		Hi:   make([]float64, n),
	}
	// t quantiles by sample size: replicas per step rarely vary.
	tq := make(map[int]float64)
	for i, w := range a.cells[s] {
		out.N[i] = w.n
		if w.n == 0 {
			out.Mean[i], out.SD[i], out.Lo[i], out.Hi[i] = math.NaN(), math.NaN(), math.NaN(), math.NaN()
			continue
		}
		out.Mean[i] = w.m
		sd := math.NaN()
		if w.n > 1 {
			sd = math.Sqrt(w.m2 / float64(w.n-1))
		}
		out.SD[i] = sd
		if w.n < 2 {
			out.Lo[i], out.Hi[i] = math.NaN(), math.NaN()
			continue
		}
		t, ok := tq[w.n]
		if !ok {
			t = tQuantile(0.975, w.n-1)
			tq[w.n] = t
		}
		half := t * sd / math.Sqrt(float64(w.n))
		out.Lo[i], out.Hi[i] = w.m-half, w.m+half
	}
	return out
}

var metricOrder = map[string]int{
	"train_loss": 0, "train_acc": 1, "val_loss": 2, "val_acc": 3, "test_loss": 4, "test_acc": 5,
}

// seriesLess orders the metric columns first (in file order), then the
// thermostat columns by group name and kind (tau, tkin, tkin_mean).
func seriesLess(a, b string) bool {
	ra, oka := metricOrder[a]
	rb, okb := metricOrder[b]
	switch {
	case oka && okb:
		return ra < rb
	case oka:
		return true
	case okb:
		return false
	}
	ka, ga := splitColumn(a)
	kb, gb := splitColumn(b)
	if ga != gb {
		return ga < gb
	}
	return thermoRank(ka) < thermoRank(kb)
}

func thermoRank(kind string) int {
	switch kind {
	case "tau":
		return 0
	case "tkin":
		return 1
	case "tkin_mean":
		return 2
	}
	return 3
}

// splitColumn splits "kind:name" into kind and name.
func splitColumn(col string) (kind, name string) {
	for i := 0; i < len(col); i++ {
		if col[i] == ':' {
			return col[:i], col[i+1:]
		}
	}
	return col, ""
}
