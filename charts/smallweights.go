package charts

import (
	"fmt"
	"hash/fnv"
	"math"

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
