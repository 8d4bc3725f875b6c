package charts

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

// SmallFraction is, for one method's representative group, the fraction of
// parameters (weights and biases of every layer, final parameters) whose
// magnitude is below Threshold, per done replica, with the mean and its
// 95% Student-t interval over the replicas (ensemble.MeanCI95). It is the
// number behind the paper's "SGD and Adam obtain parameterizations which
// have many (close to) zero weights and biases".
type SmallFraction struct {
	Method, Group string
	Threshold     float64
	// Replicas are the replicas counted, in ID order, and Fractions their
	// fractions |θ_i| < Threshold among their finite parameters.
	Replicas  []string
	Fractions []float64
	// Mean, Lo, Hi are the mean of Fractions and its 95% interval (NaN
	// bounds for fewer than two replicas).
	Mean, Lo, Hi float64
}

// SmallFractionDiff is the difference of two methods' mean fractions,
// A − B, with its 95% percentile bootstrap interval (ensemble.BootstrapDiff).
type SmallFractionDiff struct {
	A, B           string // methods
	Diff, Lo, Hi   float64
	NA, NB         int
	GroupA, GroupB string
}

// SmallFractions computes SmallFraction for every method's representative
// group (Representatives), reading the final parameters
// (rundir.ReadParams: params.safetensors, or params.bin) of every done
// replica that has them, and SmallFractionDiff for every pair of methods
// in name order, with resamples bootstrap resamples seeded from seed and
// the pair's methods. A replica without parameters is passed over; a
// damaged parameter file leaves its replica out with a warning naming the
// file. threshold must be finite and positive, resamples at least 1.
func SmallFractions(run *ensemble.Run, sum *ensemble.Summary, threshold float64, resamples int, seed uint64) ([]SmallFraction, []SmallFractionDiff, []string, error) {
	if !(threshold > 0) || math.IsInf(threshold, 0) {
		return nil, nil, nil, fmt.Errorf("charts: SmallFractions: threshold %v must be finite and positive", threshold)
	}
	if resamples < 1 {
		return nil, nil, nil, fmt.Errorf("charts: SmallFractions: resamples %d must be at least 1", resamples)
	}
	var w warnings
	var out []SmallFraction
	for _, group := range Representatives(sum) {
		sf := SmallFraction{Method: groupMethod(run, group), Group: group, Threshold: threshold}
		for _, r := range doneReplicas(run, group, 0) {
			params, err := rundir.ReadParams(r.Dir, rundir.FileParams)
			if absent(err) {
				continue
			}
			if err != nil {
				w.add(skipped(run, "small parameters", r, err))
				continue
			}
			small, finite := 0, 0
			for _, v := range params.Theta {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				finite++
				if math.Abs(v) < threshold {
					small++
				}
			}
			if finite == 0 {
				continue
			}
			sf.Replicas = append(sf.Replicas, r.ID)
			sf.Fractions = append(sf.Fractions, float64(small)/float64(finite))
		}
		if len(sf.Fractions) == 0 {
			continue
		}
		sf.Mean, sf.Lo, sf.Hi = ensemble.MeanCI95(sf.Fractions)
		out = append(out, sf)
	}
	var diffs []SmallFractionDiff
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			a, b := out[i], out[j]
			h := fnv.New64a()
			h.Write([]byte("small|" + a.Method + "|" + b.Method))
			d := SmallFractionDiff{A: a.Method, B: b.Method, GroupA: a.Group, GroupB: b.Group, NA: len(a.Fractions), NB: len(b.Fractions)}
			d.Diff, d.Lo, d.Hi = ensemble.BootstrapDiff(a.Fractions, b.Fractions, resamples, seed^h.Sum64())
			diffs = append(diffs, d)
		}
	}
	return out, diffs, w.list, nil
}

// SmallThresholdReport is the magnitude below which the report counts a
// parameter as (close to) zero in the text of the parameter-magnitude
// chart.
const SmallThresholdReport = 1e-3

// smallFractionsText is the sentence of the parameter-magnitude chart
// giving SmallFractions at SmallThresholdReport per method, and each
// pair's difference; "" when there is nothing to give. Warnings go to
// warns.
func smallFractionsText(run *ensemble.Run, sum *ensemble.Summary, warns *warnings) string {
	fr, diffs, ws, err := SmallFractions(run, sum, SmallThresholdReport, 2000, 1)
	warns.add(ws...)
	if err != nil || len(fr) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" Fraction of parameters with |θ| < 10⁻³ per replica (all done replicas of the representative group), mean [95% t-interval]: ")
	for i, f := range fr {
		if i > 0 {
			b.WriteString("; ")
		}
		// FormatCI: "–" for the undefined interval of one replica.
		fmt.Fprintf(&b, "%s %.3f %s (n = %d)", f.Method, f.Mean, ensemble.FormatCI(f.Lo, f.Hi, 3), len(f.Fractions))
	}
	if len(diffs) > 0 {
		b.WriteString(". Differences with 95% bootstrap intervals: ")
		for i, d := range diffs {
			if i > 0 {
				b.WriteString("; ")
			}
			if d.NA < 2 || d.NB < 2 || math.IsNaN(d.Lo) || math.IsNaN(d.Hi) {
				// A bootstrap of one replica has no spread: no interval.
				fmt.Fprintf(&b, "%s − %s %+.3f –", d.A, d.B, d.Diff)
				continue
			}
			fmt.Fprintf(&b, "%s − %s %+.3f [%+.3f, %+.3f]", d.A, d.B, d.Diff, d.Lo, d.Hi)
		}
	}
	b.WriteString(".")
	return b.String()
}
