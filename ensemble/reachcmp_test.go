package ensemble

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestReachComparison: the steps to reach a test accuracy, compared by
// pair: A reaches 0.8 at step 200 in every seed; B at step 600 in two
// seeds and never in the third, which counts as its last step (1000).
// Restricted means 200 and 733.3, Δ −533.3 inside an interval within
// [−800, −400], the counts of never, and the table of summary.md.
func TestReachComparison(t *testing.T) {
	var reps []synthReplica
	add := func(method string, seed int, reachAt int64) {
		idx := len(reps)
		var rows [][]float64
		for step := int64(0); step <= 1000; step += 100 {
			acc := 0.6
			if reachAt > 0 && step >= reachAt {
				acc = 0.85
			}
			rows = append(rows, []float64{float64(step), 0.5, acc, 0.5, acc, 0.5, acc})
		}
		settings := map[string]string{"method": method, "seed": fmt.Sprint(seed)}
		m := Metrics{Step: 1000, TrainLoss: 0.5, TrainAcc: 0.8, ValLoss: 0.5, ValAcc: 0.8, TestLoss: 0.5, TestAcc: rows[len(rows)-1][6]}
		reps = append(reps, synthReplica{
			ID: fmt.Sprintf("r%04d-%08x", idx, uint32(idx*2654435761)), Index: idx, Group: "method=" + method,
			Settings: settings, Seed: uint64(seed), Status: "done", BestBy: "val_loss", Final: m, Best: m, Traj: rows,
		})
	}
	for s := 1; s <= 3; s++ {
		add("adam", s, 200)
	}
	add("sgd", 1, 600)
	add("sgd", 2, 600)
	add("sgd", 3, 0)
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	s := mustAnalyze(t, mustLoad(t, dir), Options{Resamples: 1000, Seed: 1, Thresholds: []float64{0.8}})
	if len(s.Comparisons) != 1 || len(s.Comparisons[0].Reach) != 1 {
		t.Fatalf("comparisons %+v, want one with one threshold", s.Comparisons)
	}
	r := s.Comparisons[0].Reach[0]
	if s.Comparisons[0].A != "method=adam" || r.Threshold != 0.8 || r.NA != 3 || r.NB != 3 || r.NeverA != 0 || r.NeverB != 1 {
		t.Errorf("reach %+v of %s vs %s: want 3 replicas each, adam never 0, sgd never 1", r, s.Comparisons[0].A, s.Comparisons[0].B)
	}
	if math.Abs(r.MeanA-200) > 1e-9 || math.Abs(r.MeanB-2200.0/3) > 1e-9 || math.Abs(r.Diff-(200-2200.0/3)) > 1e-9 {
		t.Errorf("means %v and %v, Δ %v; want 200, 733.33, −533.33", r.MeanA, r.MeanB, r.Diff)
	}
	if !(r.DiffLo <= r.Diff && r.Diff <= r.DiffHi && r.DiffLo >= -800 && r.DiffHi <= -400) {
		t.Errorf("interval [%v, %v] for Δ %v, want it around Δ within [−800, −400]", r.DiffLo, r.DiffHi, r.Diff)
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if want := "| method=adam | method=sgd | 0.8 | 200 (0 of 3) | 733 (1 of 3) | -533 |"; !strings.Contains(md.String(), want) {
		t.Errorf("summary.md lacks %q:\n%s", want, md.String())
	}
}
