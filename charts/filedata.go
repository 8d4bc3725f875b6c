package charts

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
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
// replicas). Replicas without grid.json (data that is not 2-D) are skipped;
// a malformed grid.json, or grids of different coordinates within a
// group, is an error naming the file.
func DecisionBoundaryData(run *ensemble.Run, sum *ensemble.Summary) ([]Boundary, error) {
	reps := map[string]string{}
	for _, g := range Representatives(sum) {
		reps[groupMethod(run, g)] = g
	}
	var out []Boundary
	for _, r := range BestReplicas(run, sum) {
		m := methodOf(run, r)
		path := replicaFile(r.Dir, "grid.json")
		ok, err := exists(path)
		if err != nil {
			return nil, err
		}
		if ok {
			g, err := ReadGrid(path)
			if err != nil {
				return nil, err
			}
			out = append(out, Boundary{Kind: BoundaryBest, Method: m, Group: r.Group, Replica: r.ID, Chains: 1,
				X: g.X, Y: g.Y, Z: g.Final, Points: g.Points})
		}
		group, ok := reps[m]
		if !ok {
			continue
		}
		b, err := averageBoundary(run, m, group)
		if err != nil {
			return nil, err
		}
		if b != nil {
			out = append(out, *b)
		}
	}
	return out, nil
}

// averageBoundary averages grid.json "averaged" over the first
// MaxChainsRead done replicas of group that have a grid.json.
func averageBoundary(run *ensemble.Run, method, group string) (*Boundary, error) {
	var b *Boundary
	var first string
	for _, r := range doneReplicas(run, group, 0) {
		if b != nil && b.Chains == MaxChainsRead {
			break
		}
		path := replicaFile(r.Dir, "grid.json")
		ok, err := exists(path)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		g, err := ReadGrid(path)
		if err != nil {
			return nil, err
		}
		if b == nil {
			first = path
			b = &Boundary{Kind: BoundaryAverage, Method: method, Group: group, Replica: r.ID,
				X: g.X, Y: g.Y, Points: g.Points, Z: make([][]float64, len(g.Y))}
			for j := range b.Z {
				b.Z[j] = make([]float64, len(g.X))
			}
		} else if !equalFloats(g.X, b.X) || !equalFloats(g.Y, b.Y) {
			return nil, fmt.Errorf("charts: %s: grid coordinates differ from %s", path, first)
		}
		for j, row := range g.Averaged {
			for i, p := range row {
				b.Z[j][i] += p
			}
		}
		b.Chains++
	}
	if b == nil {
		return nil, nil
	}
	for _, row := range b.Z {
		for i := range row {
			row[i] /= float64(b.Chains)
		}
	}
	return b, nil
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
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
// and biases of every layer, from params.bin) of a method's representative
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
	// Threshold is result.json's small_threshold (0 when unknown) and
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
// groups, the histogram of parameter magnitudes pooled over the params.bin
// of the group's first MaxChainsRead done replicas. All histograms share
// the same edges (MagnitudeEdges of the largest magnitude). Replicas
// without params.bin are skipped; a malformed one is an error naming the
// file.
func WeightHistData(run *ensemble.Run, sum *ensemble.Summary) ([]Histogram, error) {
	type pooled struct {
		h      Histogram
		thetas [][]float64
	}
	var ps []*pooled
	top := 0.0
	for _, group := range Representatives(sum) {
		p := &pooled{h: Histogram{Method: groupMethod(run, group), Group: group}}
		for _, r := range doneReplicas(run, group, 0) {
			if len(p.thetas) == MaxChainsRead {
				break
			}
			params, err := rundir.ReadParams(r.Dir, rundir.FileParams) // params.bin in older run directories
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			theta := params.Theta
			if len(p.thetas) == 0 {
				if p.h.Threshold, err = readSmallThreshold(r.Dir); err != nil {
					return nil, err
				}
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
	return out, nil
}

// InterpData returns, per method of the summary's representative groups,
// the loss along the line from the initial to the final parameters
// (interp.csv), as the mean over the group's first MaxChainsRead done
// replicas with interp.csv and its 95% Student-t interval
// (ensemble.MeanCI95) at each α: two Series per group, Column
// "test_loss" then "train_loss". Non-finite losses at an α are left out of
// its mean. Replicas whose α differ from the first one read are an error
// naming the file.
func InterpData(run *ensemble.Run, sum *ensemble.Summary) ([]Series, error) {
	var out []Series
	for _, group := range Representatives(sum) {
		var alphas []float64
		var train, test [][]float64 // [α][replica]
		var first string
		var n int
		for _, r := range doneReplicas(run, group, 0) {
			if n == MaxChainsRead {
				break
			}
			path := replicaFile(r.Dir, "interp.csv")
			if ok, err := exists(path); err != nil {
				return nil, err
			} else if !ok {
				continue
			}
			pts, err := ReadInterp(path)
			if err != nil {
				return nil, err
			}
			if alphas == nil {
				first = path
				alphas = make([]float64, len(pts))
				for i, p := range pts {
					alphas[i] = p.Alpha
				}
				train, test = make([][]float64, len(pts)), make([][]float64, len(pts))
			} else if len(pts) != len(alphas) {
				return nil, fmt.Errorf("charts: %s: %d values of alpha, %s has %d", path, len(pts), first, len(alphas))
			}
			for i, p := range pts {
				if p.Alpha != alphas[i] {
					return nil, fmt.Errorf("charts: %s: alpha %v at row %d differs from %v in %s", path, p.Alpha, i+2, alphas[i], first)
				}
				if isFinite(p.Train) {
					train[i] = append(train[i], p.Train)
				}
				if isFinite(p.Test) {
					test[i] = append(test[i], p.Test)
				}
			}
			n++
		}
		if n == 0 {
			continue
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
	return out, nil
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
// none. A missing trajectory.csv is skipped; a malformed one is an error
// naming the file.
func XiData(run *ensemble.Run, sum *ensemble.Summary) ([]Series, error) {
	var out []Series
	for _, r := range BestReplicas(run, sum) {
		path := replicaFile(r.Dir, "trajectory.csv")
		if ok, err := exists(path); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		cols, err := ReadColumns(path, "xi:")
		if err != nil {
			return nil, err
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
	return out, nil
}
