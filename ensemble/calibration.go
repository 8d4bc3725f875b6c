package ensemble

import (
	"math"
)

// ECEBins is the number of equal-width confidence bins of the expected
// calibration error.
const ECEBins = 15

// NLLFloor is the probability below which the negative log-likelihood
// clips: a point contributes at most −log(NLLFloor) ≈ 27.6.
const NLLFloor = 1e-12

// Score measures class-probability predictions on labelled points.
type Score struct {
	// N is the number of points.
	N int `json:"n"`
	// Accuracy is the fraction of points whose most probable class (the
	// first one on ties) is the label.
	Accuracy float64 `json:"accuracy"`
	// NLL is the mean negative log-likelihood −(1/N) Σ log max(p_{i,y_i},
	// NLLFloor).
	NLL float64 `json:"nll"`
	// ECE is the expected calibration error over ECEBins bins of the
	// confidence (see ECE).
	ECE float64 `json:"ece"`
	// Reliability holds the non-empty bins of the ECE (for reliability
	// diagrams); nil for averaged scores.
	Reliability []ReliabilityBin `json:"reliability,omitempty"`
}

// ReliabilityBin is one confidence bin (Lo, Hi] of a reliability diagram.
type ReliabilityBin struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	N  int     `json:"n"`
	// Confidence is the mean maximum probability of the bin's points,
	// Accuracy the fraction of them predicted correctly.
	Confidence float64 `json:"confidence"`
	Accuracy   float64 `json:"accuracy"`
}

// scorer accumulates a Score point by point.
type scorer struct {
	bins    int
	n       int
	correct int
	nll     float64
	binN    []int
	binConf []float64
	binOK   []int
}

func newScorer(bins int) *scorer {
	if bins < 1 {
		panic("ensemble: ECE needs at least one bin")
	}
	return &scorer{bins: bins, binN: make([]int, bins), binConf: make([]float64, bins), binOK: make([]int, bins)}
}

// add scores one point with class probabilities p and label y.
func (s *scorer) add(p []float64, y int) {
	if y < 0 || y >= len(p) {
		panic("ensemble: label out of range")
	}
	arg := 0
	for c := 1; c < len(p); c++ {
		if p[c] > p[arg] {
			arg = c
		}
	}
	conf := p[arg]
	ok := arg == y
	s.n++
	if ok {
		s.correct++
	}
	s.nll -= math.Log(math.Max(p[y], NLLFloor))
	b := binOf(conf, s.bins)
	s.binN[b]++
	s.binConf[b] += conf
	if ok {
		s.binOK[b]++
	}
}

// binOf returns the bin (lo, hi] of width 1/bins holding conf: bin b covers
// (b/bins, (b+1)/bins], bin 0 also holds 0 and the last also anything above 1.
func binOf(conf float64, bins int) int {
	b := int(math.Ceil(conf*float64(bins))) - 1
	if b < 0 || math.IsNaN(conf) {
		b = 0
	}
	if b >= bins {
		b = bins - 1
	}
	return b
}

func (s *scorer) score() Score {
	if s.n == 0 {
		return Score{Accuracy: math.NaN(), NLL: math.NaN(), ECE: math.NaN()}
	}
	n := float64(s.n)
	out := Score{N: s.n, Accuracy: float64(s.correct) / n, NLL: s.nll / n}
	for b := 0; b < s.bins; b++ {
		if s.binN[b] == 0 {
			continue
		}
		bn := float64(s.binN[b])
		conf := s.binConf[b] / bn
		acc := float64(s.binOK[b]) / bn
		out.ECE += bn / n * math.Abs(acc-conf)
		out.Reliability = append(out.Reliability, ReliabilityBin{
			Lo: float64(b) / float64(s.bins), Hi: float64(b+1) / float64(s.bins),
			N: s.binN[b], Confidence: conf, Accuracy: acc,
		})
	}
	return out
}

// ScorePredictions scores class probabilities probs (one row per point)
// against labels: accuracy, mean negative log-likelihood and expected
// calibration error with ECEBins bins. It panics if the lengths differ or a
// label is outside its row.
func ScorePredictions(probs [][]float64, labels []int) Score {
	if len(probs) != len(labels) {
		panic("ensemble: slice length mismatch")
	}
	s := newScorer(ECEBins)
	for i, p := range probs {
		s.add(p, labels[i])
	}
	return s.score()
}

// ECE returns the expected calibration error of probs against labels with
// bins equal-width bins of the confidence c_i = max_k p_ik (Guo et al. 2017):
//
//	ECE = Σ_b (n_b/N) · |acc_b − conf_b|
//
// where bin b holds the points with c_i in (b/B, (b+1)/B], acc_b is the
// fraction of them whose arg-max class is the label and conf_b their mean
// confidence. It returns NaN for no points and panics on a length mismatch,
// a label outside its row or bins < 1.
func ECE(probs [][]float64, labels []int, bins int) float64 {
	if len(probs) != len(labels) {
		panic("ensemble: slice length mismatch")
	}
	s := newScorer(bins)
	for i, p := range probs {
		s.add(p, labels[i])
	}
	return s.score().ECE
}

// meanScores returns the mean over scores of N, Accuracy, NLL and ECE (no
// reliability bins), or nil for none.
func meanScores(scores []Score) *Score {
	if len(scores) == 0 {
		return nil
	}
	var out Score
	for _, s := range scores {
		out.N += s.N
		out.Accuracy += s.Accuracy
		out.NLL += s.NLL
		out.ECE += s.ECE
	}
	k := float64(len(scores))
	out.N /= len(scores)
	out.Accuracy /= k
	out.NLL /= k
	out.ECE /= k
	return &out
}
