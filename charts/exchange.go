package charts

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Exchange is the data of the replica-exchange chart of one method whose
// replicas are exchange sets (rundir.FileExchange).
type Exchange struct {
	Method, Group string
	// Ladder is the temperatures of the representative group's first
	// exchange set read.
	Ladder []float64
	// Acceptance has one point per adjacent pair of rungs: X is the
	// geometric mean of the pair's temperatures √(τ_k·τ_{k+1}), Y the
	// acceptance rate pooled over the group's exchange sets read (accepted
	// over proposed swaps), Lo and Hi its 95% Wilson interval.
	Acceptance Series
	// Sets is the number of exchange sets pooled.
	Sets int
	// RoundTrips is the mean number of round trips per chain over them.
	RoundTrips float64
	// Replica is the exchange set whose paths are drawn: the method's best
	// replica; Paths has one series per chain: X the step, Y the rung
	// (0 = coldest) the chain sat at from that step on, drawn as stairs.
	Replica string
	Paths   []Series
}

// ExchangeData returns, per method in name order whose representative
// group holds exchange sets, the pooled acceptance by pair of at most
// MaxChainsRead of the group's done replicas and the rung paths of the
// method's best replica (exchange_path.csv). Replicas without exchange
// files are passed over; damaged files leave the replica out with a
// warning naming the file.
func ExchangeData(run *ensemble.Run, sum *ensemble.Summary) ([]Exchange, []string) {
	var w warnings
	best := map[string]*ensemble.Replica{}
	for _, r := range BestReplicas(run, sum) {
		best[methodOf(run, r)] = r
	}
	var out []Exchange
	for _, group := range Representatives(sum) {
		method := groupMethod(run, group)
		var x *Exchange
		var acc, prop []int64
		var trips, chains float64
		for _, r := range doneReplicas(run, group, MaxChainsRead) {
			s, err := rundir.ReadExchange(r.Dir)
			if absent(err) {
				continue
			}
			if err == nil && x != nil && len(s.Pairs) != len(prop) {
				err = &rundir.FileError{Path: filepath.Join(r.Dir, rundir.FileExchange),
					Err: fmt.Errorf("%d pairs, other replicas of the group have %d", len(s.Pairs), len(prop))}
			}
			if err != nil {
				w.add(skipped(run, "replica exchange", r, err))
				continue
			}
			if x == nil {
				x = &Exchange{Method: method, Group: group, Ladder: s.Ladder}
				acc, prop = make([]int64, len(s.Pairs)), make([]int64, len(s.Pairs))
			}
			for k, p := range s.Pairs {
				acc[k] += p.Accepted
				prop[k] += p.Proposed
			}
			for _, c := range s.Chains {
				trips += float64(c.RoundTrips)
				chains++
			}
			x.Sets++
		}
		if x == nil {
			continue
		}
		x.Acceptance = Series{Label: method, Method: method, Group: group, Column: "acceptance"}
		for k := range acc {
			tau := math.Sqrt(x.Ladder[k] * x.Ladder[k+1])
			rate, lo, hi := wilson(acc[k], prop[k])
			x.Acceptance.X = append(x.Acceptance.X, tau)
			x.Acceptance.Y = append(x.Acceptance.Y, rate)
			x.Acceptance.Lo = append(x.Acceptance.Lo, lo)
			x.Acceptance.Hi = append(x.Acceptance.Hi, hi)
		}
		if chains > 0 {
			x.RoundTrips = trips / chains
		}
		if r := best[method]; r != nil {
			paths, err := exchangePaths(r)
			switch {
			case err == nil:
				x.Replica, x.Paths = r.ID, paths
			case !absent(err):
				w.add(skipped(run, "replica exchange", r, err))
			}
		}
		out = append(out, *x)
	}
	return out, w.list
}

// wilson returns k/n and its 95% Wilson score interval (NaN for n = 0).
func wilson(k, n int64) (p, lo, hi float64) {
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	const z = 1.959963984540054
	fn := float64(n)
	p = float64(k) / fn
	d := 1 + z*z/fn
	c := (p + z*z/(2*fn)) / d
	h := z * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn)) / d
	return p, max(0, c-h), min(1, c+h)
}

// exchangePaths reads exchange_path.csv of replica r: one stair series per
// chain.
func exchangePaths(r *ensemble.Replica) ([]Series, error) {
	path := filepath.Join(r.Dir, rundir.FileExchangePath)
	cols, rows, err := rundir.ReadTrajectory(path)
	if err != nil {
		return nil, err
	}
	k := len(cols) - 1
	if k < 2 || cols[0] != "step" {
		return nil, &rundir.FileError{Path: path, Err: fmt.Errorf("columns %v, want step, rung0, rung1, …", cols)}
	}
	paths := make([]Series, k)
	for c := range paths {
		paths[c] = Series{Label: fmt.Sprintf("chain %d", c), Replica: r.ID, Column: "rung"}
	}
	for i, row := range rows {
		for rung := 0; rung < k; rung++ {
			c := int(row[1+rung])
			if c < 0 || c >= k || float64(c) != row[1+rung] {
				return nil, &rundir.FileError{Path: path, Err: fmt.Errorf("line %d: rung%d holds %v, not a chain index", i+2, rung, row[1+rung])}
			}
			s := &paths[c]
			if n := len(s.X); n > 0 {
				s.X, s.Y = append(s.X, row[0]), append(s.Y, s.Y[n-1]) // the stair's riser
			}
			s.X, s.Y = append(s.X, row[0]), append(s.Y, float64(rung))
		}
	}
	return paths, nil
}

// DrawExchange draws one row per method: the acceptance rate of each
// adjacent pair of rungs against the pair's temperature (left, 95% Wilson
// band) and the paths of the best replica's chains through the ladder
// (right, rung against step).
func DrawExchange(xs []Exchange, pal Palette) (*Figure, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("charts: replica exchange: no data")
	}
	f := &Figure{Width: 10 * vg.Inch}
	chainsInLegend := 0
	for _, x := range xs {
		pa := newPlot(fmt.Sprintf("%s: swap acceptance by pair (%d sets)", x.Method, x.Sets), "pair temperature √(τ_k·τ_k+1)", "acceptance rate")
		pp := newPlot(fmt.Sprintf("%s: chains through the ladder (%s)", x.Method, x.Replica), "step", "rung (0 = coldest)")
		lo, hi, ok := positiveRange(x.Acceptance.X)
		if !ok {
			return nil, fmt.Errorf("charts: replica exchange %s: no positive temperature", x.Method)
		}
		setLogAxis(&pa.X, lo/1.5, hi*1.5)
		pa.Y.Min, pa.Y.Max = 0, 1
		o := lineOpts{color: pal.Color(x.Method), width: 1.5, band: true, glyphs: true, logX: true}
		thumbs, err := f.addSeries(pa, x.Acceptance, o, "method:"+x.Method, "exchange")
		if err != nil {
			return nil, fmt.Errorf("charts: replica exchange %s: %w", x.Method, err)
		}
		f.Legend = append(f.Legend, LegendEntry{Text: fmt.Sprintf("%s: acceptance, 95%% interval; %.1f round trips per chain", x.Method, x.RoundTrips), Thumbs: thumbs})
		// Chain colours: the series colours without the method's, so that
		// no chain looks like the acceptance line.
		var chainColors []color.NRGBA
		for _, c := range seriesColors {
			if c != pal.Color(x.Method) {
				chainColors = append(chainColors, c)
			}
		}
		for c, s := range x.Paths {
			po := lineOpts{color: chainColors[c%len(chainColors)], width: 1.2}
			th, err := f.addSeries(pp, s, po, fmt.Sprintf("chain:%d", c), "chain")
			if err != nil {
				return nil, fmt.Errorf("charts: replica exchange %s: %w", x.Method, err)
			}
			if c == chainsInLegend {
				chainsInLegend++
				f.Legend = append(f.Legend, LegendEntry{Text: s.Label, Thumbs: th})
			}
		}
		if n := len(x.Ladder); n > 0 {
			pp.Y.Min, pp.Y.Max = -0.3, float64(n)-0.7
		}
		f.Panels = append(f.Panels, []*plot.Plot{pa, pp})
	}
	f.Height = vg.Length(len(xs))*3.2*vg.Inch + f.LegendHeight(f.Width)
	return f, nil
}
