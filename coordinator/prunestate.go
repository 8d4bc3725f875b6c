package coordinator

import (
	"fmt"
	"math"
	"sort"
)

// Asynchronous successive halving (issue 13, part 2): the decisions, as
// pure state in the style of collectState. collectprune.go wires it into
// the collector: it feeds the rows, stores the decisions and stops the
// replicas.
//
// The rule: a replica reaches milestone m at the first evaluation row at
// or after step ceil(At[m]·Steps). Its metric there is compared with the
// values that the replicas of its cohort (same group, same method, or the
// whole sweep) recorded when they reached m before it, itself included:
// with n values, the best ceil(Keep·n) go on and a replica ranked below
// them is pruned. The decision is taken on arrival and never revisited,
// as in ASHA: no replica waits for stragglers, the first to arrive is
// never pruned, and the outcome depends on the order of arrival. So a
// pruned sweep is reproducible from its decision log (pruneDecision, which
// holds every input of a decision), not from its seeds: load replays a
// log, after which the state decides as if it had never stopped, neither
// repeating nor forgetting a decision.

// pruneRule is a sweep's successive-halving rule.
type pruneRule struct {
	// Metric names the trajectory column compared (e.g. val_loss).
	Metric string
	// HigherBetter is true for metrics where more is better (accuracies).
	HigherBetter bool
	// At holds the milestones as fractions of a replica's steps,
	// increasing, each in (0, 1).
	At []float64
	// Keep is the fraction of the replicas at a milestone that go on, in
	// (0, 1).
	Keep float64
	// Among is the cohort a replica is compared with: "group", "method"
	// or "all".
	Among string
}

// check returns an error naming the first field that is out of range.
func (r pruneRule) check() error {
	if r.Metric == "" {
		return fmt.Errorf("prune: metric is empty")
	}
	if len(r.At) == 0 {
		return fmt.Errorf("prune: at has no milestone")
	}
	for i, a := range r.At {
		if !(a > 0 && a < 1) || i > 0 && a <= r.At[i-1] {
			return fmt.Errorf("prune: at[%d] = %v; want increasing fractions in (0, 1)", i, a)
		}
	}
	if !(r.Keep > 0 && r.Keep < 1) {
		return fmt.Errorf("prune: keep = %v; want a fraction in (0, 1)", r.Keep)
	}
	switch r.Among {
	case "group", "method", "all":
	default:
		return fmt.Errorf("prune: among = %q; want group, method or all", r.Among)
	}
	return nil
}

// pruneDecision is one decision with its inputs: replica Replica reached
// milestone Milestone at step Step with metric Value, as the Reached-th
// replica of its cohort Cohort; its value ranked Rank among the Reached
// values (1 = best; ties share the better rank), Kept of them go on, and
// Prune says whether this one stops.
type pruneDecision struct {
	Replica   string
	Cohort    string
	Milestone int
	Step      int64
	Value     float64
	Reached   int
	Rank      int
	Kept      int
	Prune     bool
}

// pruneReplica is what the state knows of one replica.
type pruneReplica struct {
	cohort string
	steps  int64
	next   int // the next milestone to decide
	pruned bool
}

// pruneState decides which replicas of a sweep stop at each milestone.
type pruneState struct {
	rule     pruneRule
	replicas map[string]*pruneReplica
	// values holds, per cohort and milestone, the values recorded in
	// order of arrival.
	values map[string][][]float64
	log    []pruneDecision
}

// newPruneState returns the state of a sweep with rule r. Each replica is
// one of s's, in the cohort r.Among names.
func newPruneState(r pruneRule, s *Sweep) (*pruneState, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	p := &pruneState{rule: r, replicas: map[string]*pruneReplica{}, values: map[string][][]float64{}}
	for _, rep := range s.Replicas {
		cohort := "all"
		switch r.Among {
		case "group":
			cohort = "group=" + rep.Group
		case "method":
			cohort = "method=" + rep.Config.Method.Name
		}
		p.replicas[rep.ID] = &pruneReplica{cohort: cohort, steps: rep.Config.Steps}
		if p.values[cohort] == nil {
			p.values[cohort] = make([][]float64, len(r.At))
		}
	}
	return p, nil
}

// milestoneStep is the step of milestone m for a replica of steps steps
// (as protocol.PruneConfig.MilestoneSteps, which tells the worker where to
// publish its rows).
func (p *pruneState) milestoneStep(steps int64, m int) int64 {
	return int64(math.Ceil(p.rule.At[m] * float64(steps)))
}

// better reports whether value a ranks before b. A NaN (a diverged
// chain's loss) ranks after every number.
func (p *pruneState) better(a, b float64) bool {
	switch {
	case math.IsNaN(a):
		return false
	case math.IsNaN(b):
		return true
	case p.rule.HigherBetter:
		return a > b
	default:
		return a < b
	}
}

// observe takes a replica's metric at an evaluation step and returns the
// decisions it completes: one for each milestone that step reaches and
// that was not decided yet, in order, stopping at a decision to prune. A
// pruned replica, an unknown one, or a step that reaches no new milestone
// gives none.
func (p *pruneState) observe(replica string, step int64, value float64) []pruneDecision {
	r := p.replicas[replica]
	if r == nil || r.pruned {
		return nil
	}
	var out []pruneDecision
	for r.next < len(p.rule.At) && step >= p.milestoneStep(r.steps, r.next) {
		m := r.next
		vals := append(p.values[r.cohort][m], value)
		p.values[r.cohort][m] = vals
		rank := 1
		for _, v := range vals {
			if p.better(v, value) {
				rank++
			}
		}
		kept := int(math.Ceil(p.rule.Keep * float64(len(vals))))
		d := pruneDecision{Replica: replica, Cohort: r.cohort, Milestone: m, Step: step, Value: value,
			Reached: len(vals), Rank: rank, Kept: kept, Prune: rank > kept}
		p.apply(d)
		out = append(out, d)
		if d.Prune {
			break
		}
	}
	return out
}

// apply records a decision's effect on its replica and in the log.
func (p *pruneState) apply(d pruneDecision) {
	r := p.replicas[d.Replica]
	r.next = d.Milestone + 1
	r.pruned = d.Prune
	p.log = append(p.log, d)
}

// load replays a decision log (a restarted coordinator's, read back from
// the sweep's records) in its order. Decisions of unknown replicas, and
// ones a replica's state already holds, are skipped, so loading a log
// twice changes nothing.
func (p *pruneState) load(log []pruneDecision) {
	for _, d := range log {
		r := p.replicas[d.Replica]
		if r == nil || r.pruned || d.Milestone != r.next || d.Milestone >= len(p.rule.At) {
			continue
		}
		p.values[r.cohort][d.Milestone] = append(p.values[r.cohort][d.Milestone], d.Value)
		p.apply(d)
	}
}

// pruned returns the ids of the pruned replicas, sorted.
func (p *pruneState) pruned() []string {
	var ids []string
	for id, r := range p.replicas {
		if r.pruned {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}
