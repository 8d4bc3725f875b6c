package charts

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

// This file computes the chart data that comes from replica files rather
// than from ensemble's statistics.

// BoundaryKind says which classifier a Boundary shows.
type BoundaryKind string

// Boundary kinds.
const (
	// BoundaryBest is the final sample of a method's best replica
	// (grid.json "final").
	BoundaryBest BoundaryKind = "best replica"
	// BoundaryAverage is the model average of a method's representative
	// group: the mean over its chains of each chain's average over its
	// last K evaluations (grid.json "averaged").
	BoundaryAverage BoundaryKind = "model average"
)

// Boundary is a classifier of a 2-D data set on a grid: a heat map of
// P(class 1) with the 0.5 contour and the training points.
type Boundary struct {
	Kind   BoundaryKind
	Method string
	Group  string
	// Replica is the best replica (BoundaryBest) or the first averaged
	// chain (BoundaryAverage).
	Replica string
	// Chains is the number of chains averaged (1 for BoundaryBest).
	Chains int
	// X, Y and Z are the grid: Z[j][i] = P(class 1) at (X[i], Y[j]).
	X, Y []float64
	Z    [][]float64
	// Points are the training points (x, y, label) of the first grid read.
	Points [][]float64
}

// DecisionBoundaryData returns, per method in name order, the decision
// boundary of the method's best replica (BestReplicas; grid.json "final")
// and the model average of its representative group (Representatives; the
// mean of grid.json "averaged" over the group's first MaxChainsRead done
// replicas with a readable grid.json). Replicas without grid.json (data
// that is not 2-D) are passed over; a damaged grid.json (rundir.ReadGrid),
// or one of other coordinates than most of the group's, leaves its
// replica out with a warning naming the file.
func DecisionBoundaryData(run *ensemble.Run, sum *ensemble.Summary) ([]Boundary, []string) {
	reps := map[string]string{}
	for _, g := range Representatives(sum) {
		reps[groupMethod(run, g)] = g
	}
	var out []Boundary
	var w warnings
	for _, r := range BestReplicas(run, sum) {
		m := methodOf(run, r)
		g, err := rundir.ReadGrid(r.Dir)
		switch {
		case err == nil:
			out = append(out, Boundary{Kind: BoundaryBest, Method: m, Group: r.Group, Replica: r.ID, Chains: 1,
				X: g.X, Y: g.Y, Z: probRows(g.Final), Points: g.Points})
		case !absent(err):
			w.add(skipped(run, "decision boundaries", r, err))
		}
		group, ok := reps[m]
		if !ok {
			continue
		}
		if b := averageBoundary(run, m, group, &w); b != nil {
			out = append(out, *b)
		}
	}
	return out, w.list
}

// probRows returns grid rows as [][]float64 (sharing their values).
func probRows(ps []rundir.Probs) [][]float64 {
	out := make([][]float64, len(ps))
	for j, p := range ps {
		out[j] = p
	}
	return out
}

// averageBoundary averages grid.json "averaged" over the first
// MaxChainsRead done replicas of group that have a readable grid.json;
// grids whose coordinates differ from those most of them share are left
// out. Damaged and left-out grids are warned about in w.
func averageBoundary(run *ensemble.Run, method, group string, w *warnings) *Boundary {
	type read struct {
		r *ensemble.Replica
		g *rundir.Grid
	}
	var got []read
	for _, r := range doneReplicas(run, group, 0) {
		if len(got) == MaxChainsRead {
			break
		}
		g, err := rundir.ReadGrid(r.Dir)
		if absent(err) {
			continue
		}
		if err != nil {
			w.add(skipped(run, "decision boundaries", r, err))
			continue
		}
		got = append(got, read{r, g})
	}
	if len(got) == 0 {
		return nil
	}
	same := func(i, j int) bool {
		return slices.Equal(got[i].g.X, got[j].g.X) && slices.Equal(got[i].g.Y, got[j].g.Y)
	}
	ref := majority(len(got), same)
	g0 := got[ref].g
	b := &Boundary{Kind: BoundaryAverage, Method: method, Group: group, Replica: got[ref].r.ID,
		X: g0.X, Y: g0.Y, Points: g0.Points, Z: make([][]float64, len(g0.Y))}
	for j := range b.Z {
		b.Z[j] = make([]float64, len(g0.X))
	}
	for k, x := range got {
		if !same(k, ref) {
			w.add(skipped(run, "decision boundaries", x.r, &rundir.FileError{Path: filepath.Join(x.r.Dir, rundir.FileGrid),
				Err: fmt.Errorf("grid coordinates differ from those of replica %s (and most of the group)", b.Replica)}))
			continue
		}
		for j, row := range x.g.Averaged {
			for i, p := range row {
				b.Z[j][i] += p
			}
		}
		b.Chains++
	}
	for _, row := range b.Z {
		for i := range row {
			row[i] /= float64(b.Chains)
		}
	}
	return b
}

// majority returns the index of the first item of the largest class of
// n > 0 items under same (an equivalence), the earliest class on ties.
func majority(n int, same func(i, j int) bool) int {
	best, bestN := 0, 0
	for i := 0; i < n; i++ {
		c := 0
		for j := 0; j < n; j++ {
			if same(i, j) {
				c++
			}
		}
		if c > bestN {
			best, bestN = i, c
		}
	}
	return best
}

// Magnitude histogram bins: MagnitudeBinsPerDecade bins per decade of |θ|
// from MinMagnitude up.
const (
	// MinMagnitude is the lower edge of the first bin of a weight
	// histogram; that bin also counts every |θ| below it (including 0).
	MinMagnitude = 1e-6
	// MagnitudeBinsPerDecade is the number of bins per factor of ten.
	MagnitudeBinsPerDecade = 4
)

// Histogram is the distribution of the parameter magnitudes |θ_i| (weights
// and biases of every layer, from the final parameters) of a method's representative
// group, pooled over up to MaxChainsRead replicas.
type Histogram struct {
	Method, Group string
	// Replicas are the replicas pooled.
	Replicas []string
	// Edges are the bin edges of |θ|, increasing, len(Counts)+1 of them.
	// Bin i counts Edges[i] ≤ |θ| < Edges[i+1]; the first bin also counts
	// |θ| < Edges[0], the last also |θ| ≥ Edges[len(Edges)-1].
	Edges  []float64
	Counts []int
	// Total is the number of finite values counted; NonFinite the NaN and
	// ±Inf values left out.
	Total, NonFinite int
	// Threshold is result.json's small_threshold of the first replica
	// pooled (0 when unknown) and
	// Small the number of values with |θ| < Threshold.
	Threshold float64
	Small     int
}

// MagnitudeEdges returns the log-spaced bin edges from MinMagnitude to the
// first power of ten at or above largest (at least 10·MinMagnitude), with
// MagnitudeBinsPerDecade bins per decade.
func MagnitudeEdges(largest float64) []float64 {
	top := -6
	if largest > 0 && !math.IsInf(largest, 0) {
		top = int(math.Ceil(math.Log10(largest)))
	}
	lo := int(math.Round(math.Log10(MinMagnitude)))
	if top <= lo {
		top = lo + 1
	}
	n := (top - lo) * MagnitudeBinsPerDecade
	edges := make([]float64, n+1)
	for k := range edges {
		edges[k] = math.Pow(10, float64(lo)+float64(k)/MagnitudeBinsPerDecade)
	}
	return edges
}

// CountMagnitudes adds to counts (len(edges)−1 bins) the number of values
// of theta whose magnitude falls in each bin, as documented on Histogram,
// and returns the number of non-finite values skipped.
func CountMagnitudes(counts []int, edges, theta []float64) (nonFinite int) {
	if len(counts) != len(edges)-1 {
		panic("charts: histogram counts and edges mismatch")
	}
	for _, v := range theta {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			nonFinite++
			continue
		}
		a := math.Abs(v)
		// The first edge > a, minus one, is a's bin.
		i := sort.Search(len(edges), func(i int) bool { return edges[i] > a }) - 1
		i = max(0, min(i, len(counts)-1))
		counts[i]++
	}
	return nonFinite
}

// WeightHistData returns, per method of the summary's representative
// groups, the histogram of parameter magnitudes pooled over the final
// parameters (rundir.ReadParams: params.safetensors, or params.bin in
// older run directories) of the group's first MaxChainsRead done replicas
// that have them. All histograms share the same edges (MagnitudeEdges of
// the largest magnitude). Replicas without parameters are passed over; a
// damaged parameter file leaves its replica out with a warning naming the
// file.
func WeightHistData(run *ensemble.Run, sum *ensemble.Summary) ([]Histogram, []string) {
	type pooled struct {
		h      Histogram
		thetas [][]float64
	}
	var ps []*pooled
	var w warnings
	top := 0.0
	for _, group := range Representatives(sum) {
		p := &pooled{h: Histogram{Method: groupMethod(run, group), Group: group}}
		for _, r := range doneReplicas(run, group, 0) {
			if len(p.thetas) == MaxChainsRead {
				break
			}
			params, err := rundir.ReadParams(r.Dir, rundir.FileParams)
			if absent(err) {
				continue
			}
			if err != nil {
				w.add(skipped(run, "parameter magnitudes", r, err))
				continue
			}
			theta := params.Theta
			if len(p.thetas) == 0 {
				p.h.Threshold = r.SmallThreshold
			}
			for _, v := range theta {
				if a := math.Abs(v); a > top && !math.IsInf(a, 0) {
					top = a
				}
			}
			p.thetas = append(p.thetas, theta)
			p.h.Replicas = append(p.h.Replicas, r.ID)
		}
		if len(p.thetas) > 0 {
			ps = append(ps, p)
		}
	}
	edges := MagnitudeEdges(top)
	out := make([]Histogram, len(ps))
	for k, p := range ps {
		h := p.h
		h.Edges = edges
		h.Counts = make([]int, len(edges)-1)
		for _, theta := range p.thetas {
			h.NonFinite += CountMagnitudes(h.Counts, edges, theta)
			for _, v := range theta {
				if math.Abs(v) < h.Threshold {
					h.Small++
				}
			}
		}
		for _, c := range h.Counts {
			h.Total += c
		}
		out[k] = h
	}
	return out, w.list
}

// InterpData returns, per method of the summary's representative groups,
// the loss along the line from the initial to the final parameters
// (interp.csv), as the mean over the group's first MaxChainsRead done
// replicas with a readable interp.csv and its 95% Student-t interval
// (ensemble.MeanCI95) at each α: two Series per group, Column
// "test_loss" then "train_loss". Non-finite losses at an α are left out of
// its mean. A damaged interp.csv (rundir.ReadInterp), or one whose α
// differ from those most of the group's files share, leaves its replica
// out with a warning naming the file.
func InterpData(run *ensemble.Run, sum *ensemble.Summary) ([]Series, []string) {
	var out []Series
	var w warnings
	for _, group := range Representatives(sum) {
		type read struct {
			r   *ensemble.Replica
			pts []InterpPoint
		}
		var got []read
		for _, r := range doneReplicas(run, group, 0) {
			if len(got) == MaxChainsRead {
				break
			}
			pts, err := rundir.ReadInterp(filepath.Join(r.Dir, rundir.FileInterp))
			if absent(err) {
				continue
			}
			if err != nil {
				w.add(skipped(run, "loss along a line", r, err))
				continue
			}
			got = append(got, read{r, pts})
		}
		if len(got) == 0 {
			continue
		}
		same := func(i, j int) bool {
			a, b := got[i].pts, got[j].pts
			if len(a) != len(b) {
				return false
			}
			for k := range a {
				if a[k].Alpha != b[k].Alpha {
					return false
				}
			}
			return true
		}
		ref := majority(len(got), same)
		alphas := make([]float64, len(got[ref].pts))
		for i, p := range got[ref].pts {
			alphas[i] = p.Alpha
		}
		train, test := make([][]float64, len(alphas)), make([][]float64, len(alphas)) // [α][replica]
		for k, x := range got {
			if !same(k, ref) {
				w.add(skipped(run, "loss along a line", x.r, &rundir.FileError{Path: filepath.Join(x.r.Dir, rundir.FileInterp),
					Err: fmt.Errorf("%d values of alpha differ from the %d of replica %s (and most of the group)", len(x.pts), len(alphas), got[ref].r.ID)}))
				continue
			}
			for i, p := range x.pts {
				if isFinite(p.Train) {
					train[i] = append(train[i], p.Train)
				}
				if isFinite(p.Test) {
					test[i] = append(test[i], p.Test)
				}
			}
		}
		m := groupMethod(run, group)
		for _, c := range []struct {
			col  string
			vals [][]float64
		}{{"test_loss", test}, {"train_loss", train}} {
			s := Series{Label: group, Method: m, Group: group, Column: c.col, X: alphas,
				Y: make([]float64, len(alphas)), Lo: make([]float64, len(alphas)), Hi: make([]float64, len(alphas)), N: make([]int, len(alphas))}
			for i, v := range c.vals {
				s.Y[i], s.Lo[i], s.Hi[i] = ensemble.MeanCI95(v)
				s.N[i] = len(v)
			}
			out = append(out, s)
		}
	}
	return out, w.list
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// BetweenCurve is a precomputed 1-D interpolation between two solutions,
// θ(α) = (1−α)·θ_a + α·θ_b, typically the best replicas of two methods
// (the command line evaluates the network along the line).
type BetweenCurve struct {
	// Label names the two ends, e.g. "adam → adlala".
	Label string
	// Points are in increasing α.
	Points []InterpPoint
}

// BetweenData returns, per curve, two Series with X = α: Column
// "test_loss" then "train_loss". Method is empty: the lines get their own
// colours.
func BetweenData(curves []BetweenCurve) []Series {
	var out []Series
	for _, c := range curves {
		pts := append([]InterpPoint(nil), c.Points...)
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].Alpha < pts[j].Alpha })
		x := make([]float64, len(pts))
		tr := make([]float64, len(pts))
		te := make([]float64, len(pts))
		for i, p := range pts {
			x[i], tr[i], te[i] = p.Alpha, p.Train, p.Test
		}
		out = append(out,
			Series{Label: c.Label, Group: c.Label, Column: "test_loss", X: x, Y: te},
			Series{Label: c.Label, Group: c.Label, Column: "train_loss", X: x, Y: tr})
	}
	return out
}

// XiData returns the thermostat variables ξ over time of each method's best
// replica (BestReplicas), read from the xi:<tensor> columns of its
// trajectory.csv and thinned to MaxSeriesPoints: one Series per adaptive
// tensor, Column "xi:<tensor>". Methods without adaptive tensors give
// none. A missing trajectory.csv is passed over; a damaged one leaves its
// replica out with a warning naming the file.
func XiData(run *ensemble.Run, sum *ensemble.Summary) ([]Series, []string) {
	var out []Series
	var w warnings
	for _, r := range BestReplicas(run, sum) {
		cols, err := readXi(r.Dir)
		if absent(err) {
			continue
		}
		if err != nil {
			w.add(skipped(run, "adaptive thermostat ξ", r, err))
			continue
		}
		idx := Thin(len(cols.Steps), MaxSeriesPoints)
		m := methodOf(run, r)
		for k, name := range cols.Names {
			if !anyFinite(cols.Values[k]) {
				continue
			}
			out = append(out, Series{Label: m + ": ξ " + strings.TrimPrefix(name, "xi:"), Method: m, Group: r.Group,
				Column: name, Replica: r.ID, X: pick(cols.Steps, idx), Y: pick(cols.Values[k], idx)})
		}
	}
	return out, w.list
}
