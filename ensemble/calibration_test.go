package ensemble

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestScorePredictionsHand(t *testing.T) {
	probs := [][]float64{{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}, {0.3, 0.7}}
	labels := []int{0, 1, 1, 1}
	// Arg-max 0, 1, 0, 1: three of four correct. NLL = −mean(log 0.9, log
	// 0.8, log 0.4, log 0.7). Each point is alone in its bin, so ECE =
	// (|1−0.9| + |1−0.8| + |0−0.6| + |1−0.7|)/4 = 1.2/4.
	s := ScorePredictions(probs, labels)
	wantNLL := -(math.Log(0.9) + math.Log(0.8) + math.Log(0.4) + math.Log(0.7)) / 4
	if s.N != 4 || s.Accuracy != 0.75 || math.Abs(s.NLL-wantNLL) > 1e-12 || math.Abs(s.ECE-0.3) > 1e-12 {
		t.Errorf("score = %+v, want acc 0.75 NLL %v ECE 0.3", s, wantNLL)
	}
	if got := ECE(probs, labels, ECEBins); got != s.ECE {
		t.Errorf("ECE = %v, Score.ECE = %v", got, s.ECE)
	}
	if len(s.Reliability) != 4 {
		t.Errorf("%d reliability bins, want 4", len(s.Reliability))
	}

	// A zero probability on the label is clipped at NLLFloor.
	z := ScorePredictions([][]float64{{1, 0}}, []int{1})
	if math.Abs(z.NLL+math.Log(NLLFloor)) > 1e-9 || z.Accuracy != 0 {
		t.Errorf("clipped NLL = %v, want %v", z.NLL, -math.Log(NLLFloor))
	}
	mustPanic(t, "length", func() { ScorePredictions(probs, labels[:3]) })
	mustPanic(t, "label", func() { ScorePredictions([][]float64{{0.5, 0.5}}, []int{2}) })
}

// calibrated returns n binary predictions whose confidence c ~ U(0.5, 1) is
// right with probability c+shift.
func calibrated(rng *rand.Rand, n int, shift float64) ([][]float64, []int) {
	probs := make([][]float64, n)
	labels := make([]int, n)
	for i := range probs {
		c := 0.5 + 0.5*rng.Float64()
		pred := rng.IntN(2)
		probs[i] = probRow(pred, c)
		labels[i] = pred
		if rng.Float64() >= c+shift {
			labels[i] = 1 - pred
		}
	}
	return probs, labels
}

func TestECECalibrated(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	// Perfect calibration: the ECE is only sampling noise, about
	// sqrt(c(1−c)/n_b) per bin, n_b ≈ 100000/8 → ~0.004 on average.
	probs, labels := calibrated(rng, 100000, 0)
	if e := ECE(probs, labels, ECEBins); !(e < 0.01) {
		t.Errorf("ECE of calibrated predictions = %v, want < 0.01", e)
	}
	// Overconfident by 0.2 in every bin (accuracy c − 0.2): ECE ≈ 0.2.
	probs, labels = calibrated(rng, 100000, -0.2)
	if e := ECE(probs, labels, ECEBins); math.Abs(e-0.2) > 0.01 {
		t.Errorf("ECE of overconfident predictions = %v, want 0.2 ± 0.01", e)
	}
}

func TestCurveAccumulator(t *testing.T) {
	a := NewCurveAccumulator("g")
	// Three replicas; the third has an extra step 50 and misses step 100.
	a.Add("test_acc", 0, 0.5)
	a.Add("test_acc", 100, 0.8)
	a.Add("test_acc", 0, 0.6)
	a.Add("test_acc", 100, 0.9)
	a.Add("test_acc", 0, 0.7)
	a.Add("test_acc", 50, 0.75)
	a.Add("test_acc", 50, math.NaN()) // skipped
	a.Add("test_loss", 100, 0.3)
	c := a.Curves()
	if want := []int64{0, 50, 100}; len(c.Steps) != 3 || c.Steps[0] != want[0] || c.Steps[1] != want[1] || c.Steps[2] != want[2] {
		t.Fatalf("steps %v, want %v", c.Steps, want)
	}
	if c.Series[0].Name != "test_loss" || c.Series[1].Name != "test_acc" {
		t.Errorf("series order %s, %s; want test_loss, test_acc", c.Series[0].Name, c.Series[1].Name)
	}
	acc := c.Column("test_acc")
	want := Describe([]float64{0.5, 0.6, 0.7})
	if acc.N[0] != 3 || math.Abs(acc.Mean[0]-want.Mean) > 1e-15 || math.Abs(acc.SD[0]-want.SD) > 1e-15 ||
		math.Abs(acc.Lo[0]-want.CILo) > 1e-14 || math.Abs(acc.Hi[0]-want.CIHi) > 1e-14 {
		t.Errorf("step 0: n %d mean %v sd %v [%v, %v], want %+v", acc.N[0], acc.Mean[0], acc.SD[0], acc.Lo[0], acc.Hi[0], want)
	}
	if acc.N[1] != 1 || acc.Mean[1] != 0.75 || !math.IsNaN(acc.SD[1]) {
		t.Errorf("step 50: n %d mean %v sd %v", acc.N[1], acc.Mean[1], acc.SD[1])
	}
	loss := c.Column("test_loss")
	if loss.N[0] != 0 || !math.IsNaN(loss.Mean[0]) || loss.Mean[2] != 0.3 {
		t.Errorf("test_loss: %+v", loss)
	}
}
