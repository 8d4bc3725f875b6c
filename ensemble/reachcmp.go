package ensemble

import "strconv"

// ReachComparison compares how fast groups A and B of a Comparison reach
// one test accuracy: the restricted mean of the first step reaching
// Threshold over each group's done replicas with a trajectory, where a
// replica that never reaches it counts as its last step (Final.Step, the
// length of the run; this censoring favours the group that fails more
// often, so Never must be read with it), and the difference A − B with
// its 95% percentile bootstrap interval.
type ReachComparison struct {
	Threshold float64 `json:"threshold"`
	// NA, NB count the replicas with a trajectory; NeverA, NeverB those
	// that never reached Threshold.
	NA     int `json:"n_a"`
	NB     int `json:"n_b"`
	NeverA int `json:"never_a"`
	NeverB int `json:"never_b"`
	// MeanA, MeanB are the restricted mean steps; Diff = MeanA − MeanB
	// with the interval [DiffLo, DiffHi] (negative: A is faster).
	MeanA  float64 `json:"mean_a"`
	MeanB  float64 `json:"mean_b"`
	Diff   float64 `json:"diff"`
	DiffLo float64 `json:"diff_lo"`
	DiffHi float64 `json:"diff_hi"`
}

// restrictedSteps returns, for the done replicas rs with a trajectory,
// the first step at which the test accuracy reached thr, or the
// replica's last step when it never did, and how many never did.
func restrictedSteps(rs []*Replica, thr float64) (steps []float64, never int) {
	for _, r := range rs {
		if r.Trace == nil {
			continue
		}
		if s, ok := r.Trace.FirstReach(thr); ok {
			steps = append(steps, float64(s))
		} else {
			steps = append(steps, float64(r.Final.Step))
			never++
		}
	}
	return steps, never
}

// reachComparisons compares the steps to reach each Options.Thresholds
// accuracy of groups ga and gb.
func (a *analysis) reachComparisons(ga, gb *groupData) []ReachComparison {
	out := []ReachComparison{}
	for _, thr := range a.opts.Thresholds {
		xa, na := restrictedSteps(ga.done, thr)
		xb, nb := restrictedSteps(gb.done, thr)
		rc := ReachComparison{Threshold: thr, NA: len(xa), NB: len(xb), NeverA: na, NeverB: nb,
			MeanA: Describe(xa).Mean, MeanB: Describe(xb).Mean}
		rc.Diff, rc.DiffLo, rc.DiffHi = BootstrapDiff(xa, xb, a.opts.Resamples,
			a.seedFor("reach\x00"+ga.name+"\x00"+gb.name+"\x00"+strconv.FormatFloat(thr, 'g', -1, 64)))
		out = append(out, rc)
	}
	return out
}
