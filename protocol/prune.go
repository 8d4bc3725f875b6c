package protocol

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// PruneConfig is a sweep's asynchronous successive halving (ASHA): at each
// milestone (a fraction of a replica's steps) a replica whose metric ranks
// in the worse part of the replicas of its cohort that reached the same
// milestone before it is stopped by the following coordinator, and its
// record ends pruned.
type PruneConfig struct {
	// Metric is the trajectory column compared: val_loss, val_acc or
	// train_loss.
	Metric string `json:"metric"`
	// At holds the milestones, increasing fractions of the steps in (0, 1).
	At []float64 `json:"at"`
	// Keep is the fraction of a milestone's replicas that go on, in (0, 1).
	Keep float64 `json:"keep"`
	// Among is the cohort a replica is ranked in: group, method or all.
	Among string `json:"among"`
}

// PruneMetrics lists the metrics a PruneConfig may compare.
var PruneMetrics = []string{"val_loss", "val_acc", "train_loss"}

// PruneAmong lists the cohorts of PruneConfig.Among.
var PruneAmong = []string{"group", "method", "all"}

// HigherBetter reports whether a larger value of the config's metric is
// better (accuracies).
func (p *PruneConfig) HigherBetter() bool { return strings.HasSuffix(p.Metric, "_acc") }

// MilestoneSteps returns the steps of p's milestones for a replica of
// steps steps: ceil(at·steps) each, without repeats (a short replica may
// round two milestones to one step).
func (p *PruneConfig) MilestoneSteps(steps int64) []int64 {
	var out []int64
	for _, a := range p.At {
		s := int64(math.Ceil(a * float64(steps)))
		if s >= 1 && (len(out) == 0 || s > out[len(out)-1]) {
			out = append(out, s)
		}
	}
	return out
}

// Clone returns a deep copy of p (nil for nil).
func (p *PruneConfig) Clone() *PruneConfig {
	if p == nil {
		return nil
	}
	c := *p
	c.At = append([]float64(nil), p.At...)
	return &c
}

// Check returns an error naming the first field out of range, of the form
// "<field>: <problem>" (field relative to the prune section).
func (p *PruneConfig) Check() error {
	known := false
	for _, m := range PruneMetrics {
		known = known || p.Metric == m
	}
	if !known {
		return fmt.Errorf("metric: %q is not a prune metric (want val_loss, val_acc or train_loss)", p.Metric)
	}
	if len(p.At) == 0 {
		return fmt.Errorf("at: missing: list the milestones as fractions of the steps, e.g. [0.1, 0.3]")
	}
	for i, a := range p.At {
		if !(a > 0 && a < 1) {
			return fmt.Errorf("at[%d]: %v is not a fraction in (0, 1)", i, a)
		}
		if i > 0 && a <= p.At[i-1] {
			return fmt.Errorf("at[%d]: %v does not follow at[%d] = %v: milestones must increase", i, a, i-1, p.At[i-1])
		}
	}
	if !(p.Keep > 0 && p.Keep < 1) || math.IsNaN(p.Keep) {
		return fmt.Errorf("keep: %v is not a fraction in (0, 1)", p.Keep)
	}
	switch p.Among {
	case "group", "method", "all":
	default:
		return fmt.Errorf("among: %q is not a cohort (want group, method or all)", p.Among)
	}
	return nil
}

// PruneDecision is one decision of successive halving with its inputs,
// stored under PruneKey before it is acted on: replica Replica reached
// milestone Milestone at step Step with metric value Value, as the
// Reached-th replica of its cohort Cohort; Value ranked Rank among the
// Reached values (1 = best, ties share the better rank), Kept of them go
// on, and Prune says whether this replica stops. Seq orders the decisions
// of a sweep (0, 1, ...) as they were taken.
type PruneDecision struct {
	V         int     `json:"v"`
	Sweep     string  `json:"sweep"`
	Replica   string  `json:"replica"`
	Seq       int     `json:"seq"`
	Cohort    string  `json:"cohort"`
	Milestone int     `json:"milestone"`
	Step      int64   `json:"step"`
	Value     float64 `json:"value"`
	// NaN is true when Value is not a number (a diverged chain), which
	// JSON cannot carry; Value is then 0.
	NaN     bool `json:"nan,omitempty"`
	Reached int  `json:"reached"`
	Rank    int  `json:"rank"`
	Kept    int  `json:"kept"`
	Prune   bool `json:"prune"`
}

func (*PruneDecision) kind() string  { return "prune decision" }
func (m *PruneDecision) setVersion() { m.V = Version }

// Validate implements Message.
func (m *PruneDecision) Validate() error {
	const what = "prune decision"
	if err := checkTokens(what, "sweep", m.Sweep, "replica", m.Replica); err != nil {
		return err
	}
	if m.Seq < 0 || m.Milestone < 0 || m.Step < 0 {
		return invalidf(what, "seq %d, milestone %d, step %d: one is negative", m.Seq, m.Milestone, m.Step)
	}
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
		return invalidf(what, "value %v is not finite", m.Value)
	}
	if m.Reached < 1 || m.Rank < 1 || m.Rank > m.Reached || m.Kept < 1 || m.Kept > m.Reached {
		return invalidf(what, "rank %d, kept %d of reached %d are inconsistent", m.Rank, m.Kept, m.Reached)
	}
	if m.Prune != (m.Rank > m.Kept) {
		return invalidf(what, "prune %v contradicts rank %d with %d kept", m.Prune, m.Rank, m.Kept)
	}
	return nil
}

// PruneKey returns the key, in BucketReplicas, of the decision of a
// replica at milestone m: "<sweep>.<replica>.prune<m>". ParseReplicaKey
// refuses it, so the readers of replica records skip it; ReplicaKeyFilter
// matches it, so deleting a sweep removes its decisions.
func PruneKey(sweep, replica string, m int) (string, error) {
	if err := checkTokens("prune key", "sweep", sweep, "replica", replica); err != nil {
		return "", err
	}
	if m < 0 {
		return "", invalidf("prune key", "milestone %d is negative", m)
	}
	return sweep + "." + replica + ".prune" + strconv.Itoa(m), nil
}

// PruneKeyFilter returns the KV filter of a sweep's prune decisions,
// "<sweep>.*.*".
func PruneKeyFilter(sweep string) (string, error) {
	if err := checkTokens("prune key filter", "sweep", sweep); err != nil {
		return "", err
	}
	return sweep + ".*.*", nil
}

// DecodePruneDecision decodes and validates a PruneDecision.
func DecodePruneDecision(data []byte) (*PruneDecision, error) { return decode[PruneDecision](data) }
