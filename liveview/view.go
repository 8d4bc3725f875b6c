package liveview

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/heatbath/heatbath/charts"
	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/protocol"
)

// maxCurvePoints bounds the points of a group's curve in a View: longer
// curves are thinned evenly (the first and the last point kept), so that
// an update stays small with many groups.
const maxCurvePoints = 120

// Num is a float64 that encodes NaN and the infinities as JSON null.
type Num float64

// MarshalJSON implements json.Marshaler.
func (x Num) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// View is what the page shows of a sweep at one time: a FeedSnapshot with
// its replicas' curves accumulated by group and the temperature ladder.
type View struct {
	Sweep  string               `json:"sweep"`
	Name   string               `json:"name"`
	Status protocol.SweepStatus `json:"status"`
	Time   time.Time            `json:"time"`
	// Total, Counts, Diverged, StepsDone, StepsTotal, StepsPerSecond and
	// ETASeconds are the snapshot's.
	Total          int                    `json:"total"`
	Counts         map[protocol.State]int `json:"counts"`
	Diverged       int                    `json:"diverged"`
	StepsDone      int64                  `json:"steps_done"`
	StepsTotal     int64                  `json:"steps_total"`
	StepsPerSecond Num                    `json:"steps_per_second"`
	ETASeconds     *Num                   `json:"eta_seconds"`
	// Files tells whether replicas' files can be fetched (a run directory
	// is at hand).
	Files bool `json:"files"`
	// Replicas lists every replica in grid order.
	Replicas []ViewReplica `json:"replicas"`
	// Metrics names the metrics of the curves, in the report's order.
	Metrics []string `json:"metrics"`
	// Groups holds each group's curves, in the order of their first
	// replica.
	Groups []ViewGroup `json:"groups"`
	// Ladder is the latest value of LadderMetric by temperature, one line
	// per method with a temperature ladder (empty when the sweep has none).
	LadderMetric string       `json:"ladder_metric,omitempty"`
	Ladder       []LadderLine `json:"ladder,omitempty"`
}

// ViewReplica is one replica's row.
type ViewReplica struct {
	ID      string         `json:"id"`
	Group   string         `json:"group"`
	State   protocol.State `json:"state"`
	Attempt int            `json:"attempt"`
	Worker  string         `json:"worker,omitempty"`
	Step    int64          `json:"step"`
	Steps   int64          `json:"steps"`
	ETA     *Num           `json:"eta,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// ViewGroup is a group's learning curves: for each metric, the mean over
// the group's replicas at each step with its 95% band (ensemble.Series).
type ViewGroup struct {
	Name     string       `json:"name"`
	Method   string       `json:"method"`
	Color    string       `json:"color"`
	Replicas int          `json:"replicas"`
	Done     int          `json:"done"`
	Steps    []int64      `json:"steps"`
	Series   []ViewSeries `json:"series"`
}

// ViewSeries is one metric of a group's curves, indexed like its Steps.
type ViewSeries struct {
	Name string `json:"name"`
	N    []int  `json:"n"`
	Mean []Num  `json:"mean"`
	Lo   []Num  `json:"lo"`
	Hi   []Num  `json:"hi"`
}

// LadderLine is a method's ladder: a point per temperature.
type LadderLine struct {
	Method string        `json:"method"`
	Color  string        `json:"color"`
	Points []LadderPoint `json:"points"`
}

// LadderPoint is a group of the ladder: the mean over its replicas of the
// latest value of the ladder's metric, with its 95% band.
type LadderPoint struct {
	Tau   float64 `json:"tau"`
	Group string  `json:"group"`
	N     int     `json:"n"`
	Mean  Num     `json:"mean"`
	Lo    Num     `json:"lo"`
	Hi    Num     `json:"hi"`
}

// groupInfo is what the manifest says of a group.
type groupInfo struct {
	method string
	tau    float64 // NaN without a temperature
}

// Builder turns snapshots into views; it knows the sweep's groups (from its
// manifest) and whether files can be linked.
type Builder struct {
	groups  map[string]groupInfo
	every   map[string]int64 // replica id -> its evaluation grid; 0: none known
	palette charts.Palette
	files   bool
}

// NewBuilder returns the builder of the views of sweep s (its manifest);
// files tells whether the replicas' files will be served.
func NewBuilder(s *coordinator.Sweep, files bool) *Builder {
	b := &Builder{groups: make(map[string]groupInfo), every: make(map[string]int64, len(s.Replicas)), files: files}
	var methods []string
	for _, r := range s.Replicas {
		b.every[r.ID] = evalGrid(r.Config)
		if _, ok := b.groups[r.Group]; ok {
			continue
		}
		gi := groupInfo{method: r.Settings["method"], tau: math.NaN()}
		if t, err := strconv.ParseFloat(r.Settings["tau"], 64); err == nil && t > 0 {
			gi.tau = t
		}
		b.groups[r.Group] = gi
		methods = append(methods, gi.method)
	}
	b.palette = charts.NewPalette(methods)
	return b
}

func (b *Builder) color(method string) string {
	c := b.palette.Color(method)
	return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B)
}

// evalGrid returns the steps between the evaluations of a replica of
// config c (its eval_every; zero means Steps/100, at least 1, as
// protocol.ReplicaConfig says), or 0 when its evaluations are not on that
// grid alone (a cyclical schedule also evaluates its samples).
func evalGrid(c protocol.ReplicaConfig) int64 {
	switch {
	case c.Method.Cycle != nil:
		return 0
	case c.EvalEvery > 0:
		return c.EvalEvery
	default:
		return max(c.Steps/100, 1)
	}
}

// evalStep returns the step of the evaluation that a progress event at
// chain step step carries (its metrics are the latest evaluation's, its
// step the chain's, anywhere after it): the latest multiple of every at or
// below step, or step itself when every is 0 or step is the last, steps.
func evalStep(step, every, steps int64) int64 {
	if every <= 0 || (steps > 0 && step >= steps) {
		return step
	}
	return step - step%every
}

// ladderMetrics are the metrics a ladder is drawn with, the first present.
var ladderMetrics = []string{"val_loss", "test_loss", "train_loss"}

// View returns the view of snapshot s.
func (b *Builder) View(s *coordinator.FeedSnapshot) *View {
	v := &View{Sweep: s.Sweep, Name: s.Name, Status: s.Status, Time: s.Time, Total: s.Total, Counts: s.Counts,
		Diverged: s.Diverged, StepsDone: s.StepsDone, StepsTotal: s.StepsTotal, StepsPerSecond: Num(s.StepsPerSecond),
		ETASeconds: num(s.ETASeconds), Files: b.files, Replicas: make([]ViewReplica, 0, len(s.Replicas))}
	type acc struct {
		a        *ensemble.CurveAccumulator
		latest   map[string][]float64 // metric -> latest value of each replica that has one
		replicas int
		done     int
	}
	accs := map[string]*acc{}
	var order []string
	metrics := map[string]bool{}
	for _, r := range s.Replicas {
		v.Replicas = append(v.Replicas, ViewReplica{ID: r.ID, Group: r.Group, State: r.State, Attempt: r.Attempt,
			Worker: r.Worker, Step: r.Step, Steps: r.Steps, ETA: num(r.ETASeconds), Error: r.Error})
		g := accs[r.Group]
		if g == nil {
			g = &acc{a: ensemble.NewCurveAccumulator(r.Group), latest: map[string][]float64{}}
			accs[r.Group] = g
			order = append(order, r.Group)
		}
		g.replicas++
		if r.State == protocol.StateDone {
			g.done++
		}
		prev := int64(-1)
		for i, p := range r.Curve {
			at := evalStep(p.Step, b.every[r.ID], r.Steps)
			if at == prev {
				continue // the same evaluation, in a later progress event
			}
			prev = at
			row := g.a.Row(at, i)
			for name, x := range p.Metrics {
				g.a.AddAt(g.a.SeriesIndex(name), row, x)
				metrics[name] = true
			}
		}
		if n := len(r.Curve); n > 0 {
			for name, x := range r.Curve[n-1].Metrics {
				g.latest[name] = append(g.latest[name], x)
			}
		}
	}
	for name := range metrics {
		v.Metrics = append(v.Metrics, name)
	}
	v.Metrics = sortMetrics(v.Metrics)
	for _, name := range order {
		g := accs[name]
		c := g.a.Curves()
		gi := b.groups[name]
		// Empty, not null, for a group without evaluations yet: the page
		// reads them as arrays.
		vg := ViewGroup{Name: name, Method: gi.method, Color: b.color(gi.method), Replicas: g.replicas, Done: g.done,
			Steps: []int64{}, Series: []ViewSeries{}}
		idx := thin(len(c.Steps), maxCurvePoints)
		for _, i := range idx {
			vg.Steps = append(vg.Steps, c.Steps[i])
		}
		for _, se := range c.Series {
			vs := ViewSeries{Name: se.Name}
			for _, i := range idx {
				vs.N = append(vs.N, se.N[i])
				vs.Mean = append(vs.Mean, Num(se.Mean[i]))
				vs.Lo = append(vs.Lo, Num(se.Lo[i]))
				vs.Hi = append(vs.Hi, Num(se.Hi[i]))
			}
			vg.Series = append(vg.Series, vs)
		}
		v.Groups = append(v.Groups, vg)
	}
	v.LadderMetric, v.Ladder = b.ladder(order, func(group, metric string) []float64 { return accs[group].latest[metric] }, metrics)
	return v
}

// ladder returns the ladder's metric and lines: for each method with
// groups at two temperatures or more, each group's latest values as a mean
// with its 95% band, by increasing temperature.
func (b *Builder) ladder(groups []string, latest func(group, metric string) []float64, metrics map[string]bool) (string, []LadderLine) {
	metric := ""
	for _, m := range ladderMetrics {
		if metrics[m] {
			metric = m
			break
		}
	}
	if metric == "" {
		return "", nil
	}
	byMethod := map[string][]string{}
	var methods []string
	for _, g := range groups {
		gi := b.groups[g]
		if math.IsNaN(gi.tau) {
			continue
		}
		if byMethod[gi.method] == nil {
			methods = append(methods, gi.method)
		}
		byMethod[gi.method] = append(byMethod[gi.method], g)
	}
	var lines []LadderLine
	for _, m := range methods {
		gs := byMethod[m]
		if len(gs) < 2 {
			continue
		}
		sort.SliceStable(gs, func(i, j int) bool { return b.groups[gs[i]].tau < b.groups[gs[j]].tau })
		line := LadderLine{Method: m, Color: b.color(m)}
		for _, g := range gs {
			// One step, the replicas' latest values: the statistic of the
			// curves (mean and t band over seeds).
			a := ensemble.NewCurveAccumulator(g)
			for _, x := range latest(g, metric) {
				a.Add(metric, 0, x)
			}
			p := LadderPoint{Tau: b.groups[g].tau, Group: g, Mean: Num(math.NaN()), Lo: Num(math.NaN()), Hi: Num(math.NaN())}
			if se := a.Curves().Column(metric); se != nil && len(se.N) == 1 {
				p.N, p.Mean, p.Lo, p.Hi = se.N[0], Num(se.Mean[0]), Num(se.Lo[0]), Num(se.Hi[0])
			}
			line.Points = append(line.Points, p)
		}
		lines = append(lines, line)
	}
	return metric, lines
}

// sortMetrics orders metric names as the report does (ensemble's curves
// order): the known metrics first, then the rest by name.
func sortMetrics(names []string) []string {
	known := []string{"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"}
	var out []string
	for _, k := range known {
		if slices.Contains(names, k) {
			out = append(out, k)
		}
	}
	var rest []string
	for _, n := range names {
		if !slices.Contains(known, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// thin returns up to max indices of 0..n-1, evenly spread, with the first
// and the last.
func thin(n, max int) []int {
	if n <= max {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := make([]int, 0, max)
	for k := range max {
		idx = append(idx, int(math.Round(float64(k)*float64(n-1)/float64(max-1))))
	}
	return idx
}

func num(p *float64) *Num {
	if p == nil {
		return nil
	}
	x := Num(*p)
	return &x
}

// encode returns the view as JSON.
func (v *View) encode() ([]byte, error) {
	return json.Marshal(v)
}
