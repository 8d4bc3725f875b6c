package charts

import (
	"math"
	"sort"
	"strings"

	"github.com/heatbath/heatbath/ensemble"
)

// MaxSeriesPoints bounds the points drawn per line: longer series are
// thinned to this many evenly spaced points (always keeping the first and
// the last).
const MaxSeriesPoints = 400

// MaxLines is the largest number of groups drawn as one line each; with
// more, charts draw each method's representative group (see the package
// documentation).
const MaxLines = 8

// MaxChainsRead bounds the number of replicas of a group whose files
// (grid.json, params.safetensors, interp.csv) are read for one chart: the first
// MaxChainsRead done replicas in ID order.
const MaxChainsRead = 64

// Series is one line of a chart, with an optional band around it.
type Series struct {
	// Label is the legend text.
	Label string
	// Method picks the colour; Group is the group the line describes.
	Method string
	Group  string
	// Column names the source: a column of trajectory.csv or interp.csv
	// ("test_acc", "tkin:hidden", "xi:layer0.weight", "test_loss", ...).
	Column string
	// Replica is the replica the line was read from; empty for a
	// statistic over replicas.
	Replica string
	// X and Y are the points. A NaN Y leaves a gap.
	X, Y []float64
	// Lo and Hi bound the band around Y, nil for no band. NaN leaves a gap
	// in the band (a point with fewer than two replicas).
	Lo, Hi []float64
	// N is the number of replicas behind each point, nil for one replica.
	N []int
}

// Thin returns the indices of at most limit evenly spaced points among n,
// always including the first and the last. It returns all indices when
// n ≤ limit or limit < 2.
func Thin(n, limit int) []int {
	if n <= limit || limit < 2 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := make([]int, 0, limit)
	for k := 0; k < limit; k++ {
		i := int(math.Round(float64(k) * float64(n-1) / float64(limit-1)))
		if len(idx) == 0 || i != idx[len(idx)-1] {
			idx = append(idx, i)
		}
	}
	return idx
}

// pick returns x at the indices idx; nil for nil x.
func pick[T any](x []T, idx []int) []T {
	if x == nil {
		return nil
	}
	out := make([]T, len(idx))
	for k, i := range idx {
		out[k] = x[i]
	}
	return out
}

// Methods returns the methods of the summary (Summary.Methods and the
// groups' methods), sorted.
func Methods(sum *ensemble.Summary) []string {
	seen := map[string]bool{}
	var out []string
	add := func(m string) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	for _, m := range sum.Methods {
		add(m.Method)
	}
	for _, g := range sum.Groups {
		add(g.Method)
	}
	sort.Strings(out)
	return out
}

// Representatives returns, per method in name order, the method's
// representative group as ensemble.Analyze chose it
// (Summary.Methods[i].Representative: lowest mean best.<chosen_by>).
// Methods without one are left out. Charts never choose a group
// themselves.
func Representatives(sum *ensemble.Summary) []string {
	var out []string
	for _, m := range sortedMethods(sum) {
		if m.Representative != nil {
			out = append(out, m.Representative.Group)
		}
	}
	return out
}

// sortedMethods returns the summary's method selections by method name.
func sortedMethods(sum *ensemble.Summary) []ensemble.MethodSelection {
	out := append([]ensemble.MethodSelection(nil), sum.Methods...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Method < out[j].Method })
	return out
}

// sortedGroups returns the summary's groups sorted by name.
func sortedGroups(sum *ensemble.Summary) []*ensemble.GroupSummary {
	out := make([]*ensemble.GroupSummary, len(sum.Groups))
	for i := range sum.Groups {
		out[i] = &sum.Groups[i]
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// LineGroups returns the groups drawn as lines: every group with done
// replicas, by name, when there are at most MaxLines; else
// Representatives.
func LineGroups(sum *ensemble.Summary) []string {
	var all []string
	for _, g := range sortedGroups(sum) {
		if g.Status.Done > 0 {
			all = append(all, g.Group)
		}
	}
	if len(all) <= MaxLines {
		return all
	}
	return Representatives(sum)
}

// BestReplicas returns, per method in name order, the method's best
// replica as ensemble.Analyze chose it (Summary.Methods[i].Best: lowest
// best.<chosen_by>, never a test metric), looked up in run by id. Methods
// without one, and ids run does not hold, are left out.
func BestReplicas(run *ensemble.Run, sum *ensemble.Summary) []*ensemble.Replica {
	byID := make(map[string]*ensemble.Replica, len(run.Replicas))
	for _, r := range run.Replicas {
		byID[r.ID] = r
	}
	var out []*ensemble.Replica
	for _, m := range sortedMethods(sum) {
		if m.Best == nil {
			continue
		}
		if r := byID[m.Best.ID]; r != nil {
			out = append(out, r)
		}
	}
	return out
}

// methodOf returns the method of a replica: settings["method"], or its
// group's method. It labels a replica; it chooses nothing.
func methodOf(run *ensemble.Run, r *ensemble.Replica) string {
	if m, ok := r.Settings["method"]; ok {
		return m
	}
	if g := run.Group(r.Group); g != nil {
		return g.Method
	}
	return ""
}

// doneReplicas returns the done replicas of a group in ID order, at most
// limit of them (all when limit ≤ 0).
func doneReplicas(run *ensemble.Run, group string, limit int) []*ensemble.Replica {
	var out []*ensemble.Replica
	for _, r := range run.Replicas {
		if r.Group == group && r.Status == ensemble.StatusDone {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// groupMethod returns the method of the named group of run. It labels a
// group; it chooses nothing.
func groupMethod(run *ensemble.Run, group string) string {
	if g := run.Group(group); g != nil {
		return g.Method
	}
	return ""
}

// MetricRange returns the values a trajectory column can take: [0, 1] for
// accuracies (names ending in "_acc"), [0, +∞) for losses ("_loss") and
// temperatures ("tau:", "tkin:", "tkin_mean:"), else (−∞, +∞).
func MetricRange(column string) (lo, hi float64) {
	switch {
	case strings.HasSuffix(column, "_acc"):
		return 0, 1
	case strings.HasSuffix(column, "_loss"),
		strings.HasPrefix(column, "tau:"), strings.HasPrefix(column, "tkin:"), strings.HasPrefix(column, "tkin_mean:"):
		return 0, math.Inf(1)
	}
	return math.Inf(-1), math.Inf(1)
}

// clipBand returns lo and hi clipped to [min, max]: a confidence band of a
// mean over few seeds can reach past the values the metric can take (a
// loss band below 0), which would stretch the axis and squash every curve.
// NaN stays NaN; the inputs are not modified.
func clipBand(lo, hi []float64, min, max float64) ([]float64, []float64) {
	clip := func(x []float64) []float64 {
		if x == nil {
			return nil
		}
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = math.Max(min, math.Min(max, v)) // NaN stays NaN
		}
		return out
	}
	return clip(lo), clip(hi)
}

// LearningCurveData returns, for each of the named groups that has the
// column, the learning curve of that trajectory.csv column ("test_loss",
// "test_acc", ...) from ensemble's per-group curves: X the evaluation step,
// Y the mean over the group's done replicas (seeds), [Lo, Hi] the 95%
// Student-t band of the mean clipped to the column's MetricRange, N the
// number of replicas, thinned to MaxSeriesPoints points.
func LearningCurveData(run *ensemble.Run, groups []string, column string) []Series {
	var out []Series
	for _, name := range groups {
		g := run.Group(name)
		if g == nil || g.Curves == nil {
			continue
		}
		s := g.Curves.Column(column)
		if s == nil || len(g.Curves.Steps) == 0 {
			continue
		}
		idx := Thin(len(g.Curves.Steps), MaxSeriesPoints)
		x := make([]float64, len(idx))
		for k, i := range idx {
			x[k] = float64(g.Curves.Steps[i])
		}
		rlo, rhi := MetricRange(column)
		lo, hi := clipBand(pick(s.Lo, idx), pick(s.Hi, idx), rlo, rhi)
		out = append(out, Series{
			Label: name, Method: g.Method, Group: name, Column: column,
			X: x, Y: pick(s.Mean, idx), Lo: lo, Hi: hi, N: pick(s.N, idx),
		})
	}
	return out
}

// LadderLine is one temperature ladder (ensemble.Ladder) as two lines
// against τ: the final test accuracy and the final test loss, each the mean
// over seeds with its 95% Student-t interval (clipped to the metric's
// MetricRange).
type LadderLine struct {
	// Label is the method, with the fixed settings when the method has
	// several ladders.
	Label  string
	Method string
	Fixed  map[string]string
	// Acc and Loss have X = τ (only τ > 0, for the log axis), Y the mean,
	// [Lo, Hi] the interval, N the done replicas.
	Acc, Loss Series
	// Best is the Goldilocks τ, nil when the ladder has none or it is not
	// positive.
	Best *LadderBest
	// Dropped counts the ladder's points with τ ≤ 0, which a log axis
	// cannot show.
	Dropped int
}

// LadderBest is the best τ of a ladder (ensemble.Goldilocks) as drawn.
type LadderBest struct {
	Tau, Acc, Loss float64
	// Lo and Hi bound the bootstrap interval of the best τ.
	Lo, Hi float64
	// PBest is the bootstrap frequency of Tau as the best.
	PBest    float64
	ChosenBy string
}

// LadderData returns one LadderLine per temperature ladder of the summary.
func LadderData(sum *ensemble.Summary) []LadderLine {
	count := map[string]int{}
	for _, l := range sum.Ladders {
		count[l.Method]++
	}
	var out []LadderLine
	for _, l := range sum.Ladders {
		label := l.Method
		if count[l.Method] > 1 {
			var parts []string
			for k, v := range l.Fixed {
				if k != "method" {
					parts = append(parts, k+"="+v)
				}
			}
			sort.Strings(parts)
			label += " (" + strings.Join(parts, " ") + ")"
		}
		ll := LadderLine{Label: label, Method: l.Method, Fixed: l.Fixed}
		ll.Acc = Series{Label: label, Method: l.Method, Column: "final.test_acc"}
		ll.Loss = Series{Label: label, Method: l.Method, Column: "final.test_loss"}
		for _, p := range l.Points {
			if !(p.Tau > 0) {
				ll.Dropped++
				continue
			}
			add := func(s *Series, st ensemble.Stats) {
				rlo, rhi := MetricRange(s.Column)
				lo, hi := clipBand([]float64{st.CILo}, []float64{st.CIHi}, rlo, rhi)
				s.X = append(s.X, p.Tau)
				s.Y = append(s.Y, st.Mean)
				s.Lo = append(s.Lo, lo[0])
				s.Hi = append(s.Hi, hi[0])
				s.N = append(s.N, st.N)
			}
			add(&ll.Acc, p.TestAcc)
			add(&ll.Loss, p.TestLoss)
		}
		if g := l.Goldilocks; g != nil && g.Tau > 0 {
			b := &LadderBest{Tau: g.Tau, Lo: g.Lo, Hi: g.Hi, PBest: g.PBest, ChosenBy: g.ChosenBy, Acc: g.TestAcc.Mean, Loss: math.NaN()}
			for _, p := range l.Points {
				if p.Tau == g.Tau {
					b.Loss = p.TestLoss.Mean
				}
			}
			ll.Best = b
		}
		out = append(out, ll)
	}
	return out
}

// Box is the distribution of the final test accuracy over the done
// replicas (initializations) of one group, drawn as a Tukey box plot.
type Box struct {
	Group  string
	Method string
	// Values are the final test accuracies of the done replicas, sorted.
	Values []float64
	// Stats is the summary's FinalTestAcc of the group: the box spans
	// [Q1, Q3] with a line at the Median and a diamond at the Mean.
	Stats ensemble.Stats
	// WhiskerLo and WhiskerHi are the most extreme values within
	// 1.5·IQR of the box; values beyond them are Outliers.
	WhiskerLo, WhiskerHi float64
	Outliers             []float64
}

// BoxData returns one Box per group with done replicas, by group name.
// Values come from the run's replicas; the quartiles, median and mean are
// the summary's.
func BoxData(run *ensemble.Run, sum *ensemble.Summary) []Box {
	var out []Box
	for _, g := range sortedGroups(sum) {
		if g.FinalTestAcc.N == 0 {
			continue
		}
		var vals []float64
		for _, r := range doneReplicas(run, g.Group, 0) {
			vals = append(vals, r.Final.TestAcc)
		}
		sort.Float64s(vals)
		b := Box{Group: g.Group, Method: g.Method, Values: vals, Stats: g.FinalTestAcc}
		st := g.FinalTestAcc
		lo, hi := st.Q1-1.5*st.IQR, st.Q3+1.5*st.IQR
		b.WhiskerLo, b.WhiskerHi = st.Q1, st.Q3
		for _, v := range vals {
			if v < lo || v > hi {
				b.Outliers = append(b.Outliers, v)
				continue
			}
			b.WhiskerLo = math.Min(b.WhiskerLo, v)
			b.WhiskerHi = math.Max(b.WhiskerHi, v)
		}
		out = append(out, b)
	}
	return out
}

// ThermoPanel is the equipartition chart of one group: per thermostat
// group g, the kinetic temperature |p|²/N over time (trajectory column
// tkin:<g>, mean over seeds with its 95% band) and the target temperature
// τ(n) (tau:<g>, mean over seeds).
type ThermoPanel struct {
	Method, Group string
	// Names are the thermostat groups, in the order of the curves.
	Names []string
	// Tkin[i] and Tau[i] belong to Names[i].
	Tkin, Tau []Series
}

// EquipartitionData returns a ThermoPanel for each of the named groups
// that has a thermostat group with a kinetic temperature (groups without
// momenta, such as SGD and Adam, have empty tkin cells and are left out).
// The data are ensemble's per-group curves, thinned to MaxSeriesPoints.
func EquipartitionData(run *ensemble.Run, groups []string) []ThermoPanel {
	var out []ThermoPanel
	for _, name := range groups {
		g := run.Group(name)
		if g == nil || g.Curves == nil {
			continue
		}
		p := ThermoPanel{Method: g.Method, Group: name}
		idx := Thin(len(g.Curves.Steps), MaxSeriesPoints)
		x := make([]float64, len(idx))
		for k, i := range idx {
			x[k] = float64(g.Curves.Steps[i])
		}
		for _, s := range g.Curves.Series {
			th, ok := strings.CutPrefix(s.Name, "tkin:")
			if !ok || !anyFinite(s.Mean) {
				continue
			}
			rlo, rhi := MetricRange(s.Name)
			lo, hi := clipBand(pick(s.Lo, idx), pick(s.Hi, idx), rlo, rhi)
			tk := Series{Label: th + ": T_kin", Method: g.Method, Group: name, Column: s.Name,
				X: x, Y: pick(s.Mean, idx), Lo: lo, Hi: hi, N: pick(s.N, idx)}
			tau := Series{Label: th + ": τ", Method: g.Method, Group: name, Column: "tau:" + th, X: x}
			if ts := g.Curves.Column("tau:" + th); ts != nil {
				tau.Y, tau.N = pick(ts.Mean, idx), pick(ts.N, idx)
			} else {
				tau.Y = nanSlice(len(idx))
			}
			p.Names = append(p.Names, th)
			p.Tkin = append(p.Tkin, tk)
			p.Tau = append(p.Tau, tau)
		}
		if len(p.Names) > 0 {
			out = append(out, p)
		}
	}
	return out
}

func anyFinite(x []float64) bool {
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			return true
		}
	}
	return false
}

func nanSlice(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}
