package coordinator

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

// pruneSweep returns a sweep of n replicas of 1000 steps in two groups
// (even and odd indexes) of two methods.
func pruneSweep(n int) *Sweep {
	s := testSweep(n)
	for i := range s.Replicas {
		r := &s.Replicas[i]
		r.Config.Steps = 1000
		r.Group = fmt.Sprintf("g%d", i%2)
		r.Config.Method.Name = []string{"adam", "adlala"}[i%2]
	}
	return s
}

func newPrune(t *testing.T, r pruneRule, n int) *pruneState {
	t.Helper()
	p, err := newPruneState(r, pruneSweep(n))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var halve = pruneRule{Metric: "val_loss", At: []float64{0.1, 0.3}, Keep: 0.5, Among: "all"}

// prunedBy feeds each replica's value at step 100 (milestone 0) in order
// and returns which were pruned.
func prunedBy(p *pruneState, values ...float64) []bool {
	out := make([]bool, len(values))
	for i, v := range values {
		for _, d := range p.observe(fmt.Sprintf("r%d", i), 100, v) {
			out[i] = out[i] || d.Prune
		}
	}
	return out
}

// TestPruneDecidesOnArrival: a replica is compared with those that reached
// the milestone before it, itself included; the best ceil(keep·n) go on.
// The first to arrive is never pruned, and the outcome depends on the
// order of arrival (ASHA never waits for stragglers).
func TestPruneDecidesOnArrival(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rule   pruneRule
		values []float64
		want   []bool
	}{
		{"worsening arrivals", halve, []float64{1, 2, 3, 4}, []bool{false, true, true, true}},
		{"improving arrivals", halve, []float64{4, 3, 2, 1}, []bool{false, false, false, false}},
		{"mixed", halve, []float64{2, 1, 3, 0.5, 4}, []bool{false, false, true, false, true}},
		{"ties share the better rank", halve, []float64{1, 1, 1}, []bool{false, false, false}},
		{"NaN ranks last", halve, []float64{math.NaN(), 1, 2, math.NaN()}, []bool{false, false, false, true}},
		{"higher is better", pruneRule{Metric: "val_acc", HigherBetter: true, At: []float64{0.1}, Keep: 0.5, Among: "all"},
			[]float64{0.5, 0.9, 0.4}, []bool{false, false, true}},
		{"keep a quarter", pruneRule{Metric: "val_loss", At: []float64{0.1}, Keep: 0.25, Among: "all"},
			[]float64{1, 0.5, 0.7, 0.6, 2}, []bool{false, false, true, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := prunedBy(newPrune(t, tc.rule, len(tc.values)), tc.values...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pruned %v; want %v", got, tc.want)
			}
		})
	}
}

// TestPruneCohorts: with among group (or method), replicas are compared
// only within their cohort: the leader of the worse cohort is not pruned,
// as it is when all replicas are compared.
func TestPruneCohorts(t *testing.T) {
	for _, among := range []string{"group", "method"} {
		r := halve
		r.Among = among
		// r0, r2 in one cohort, r1, r3 in the other.
		got := prunedBy(newPrune(t, r, 4), 1, 5, 2, 6)
		if want := []bool{false, false, true, true}; !reflect.DeepEqual(got, want) {
			t.Errorf("among %s: pruned %v; want %v", among, got, want)
		}
	}
	if got, want := prunedBy(newPrune(t, halve, 4), 1, 5, 2, 6), []bool{false, true, false, true}; !reflect.DeepEqual(got, want) {
		t.Errorf("among all: pruned %v; want %v", got, want)
	}
}

// TestPruneMilestones: a replica reaches a milestone at its first row at
// or after ceil(at·steps); one row may reach two milestones (decided in
// order, stopping at a prune); rows before a milestone, rows of a pruned
// replica and of an unknown one decide nothing; a decision holds its
// inputs.
func TestPruneMilestones(t *testing.T) {
	p := newPrune(t, halve, 3)
	if ds := p.observe("r0", 99, 1); len(ds) != 0 {
		t.Errorf("step 99 before the milestone at 100: %v", ds)
	}
	if ds := p.observe("r0", 350, 1); len(ds) != 2 || ds[0].Milestone != 0 || ds[1].Milestone != 1 || ds[0].Step != 350 {
		t.Errorf("one row past both milestones: %+v", ds)
	}
	if ds := p.observe("r0", 400, 1); len(ds) != 0 {
		t.Errorf("a row past every milestone decided again: %+v", ds)
	}
	ds := p.observe("r1", 400, 2)
	want := pruneDecision{Replica: "r1", Cohort: "all", Milestone: 0, Step: 400, Value: 2, Reached: 2, Rank: 2, Kept: 1, Prune: true}
	if len(ds) != 1 || ds[0] != want {
		t.Errorf("decisions %+v; want only %+v (stopping at the prune)", ds, want)
	}
	if ds := p.observe("r1", 500, 0); len(ds) != 0 {
		t.Errorf("a pruned replica decided again: %+v", ds)
	}
	if ds := p.observe("nope", 500, 0); len(ds) != 0 {
		t.Errorf("an unknown replica: %+v", ds)
	}
	if got := p.pruned(); !reflect.DeepEqual(got, []string{"r1"}) {
		t.Errorf("pruned %v", got)
	}
}

// TestPruneRestartReplaysItsLog: a state that loads the log of the first
// k decisions (a restarted coordinator) then decides the rest exactly as
// the state that never stopped: it neither repeats a decision (a row it
// saw before decides nothing) nor forgets one (a pruned replica stays
// pruned, recorded values still count). Loading the log twice changes
// nothing.
func TestPruneRestartReplaysItsLog(t *testing.T) {
	type row struct {
		id    string
		step  int64
		value float64
	}
	rows := []row{{"r0", 100, 3}, {"r1", 100, 1}, {"r2", 100, 4}, {"r3", 100, 2}, {"r1", 300, 1}, {"r0", 300, 2},
		{"r4", 100, 0.5}, {"r3", 300, 3}, {"r5", 100, 5}, {"r4", 300, 9}}
	whole := newPrune(t, halve, 6)
	var all []pruneDecision
	for _, r := range rows {
		all = append(all, whole.observe(r.id, r.step, r.value)...)
	}
	for k := 0; k <= len(rows); k++ {
		first := newPrune(t, halve, 6)
		for _, r := range rows[:k] {
			first.observe(r.id, r.step, r.value)
		}
		again := newPrune(t, halve, 6)
		again.load(first.log)
		again.load(first.log)
		// The restarted collector sees the rows again from its consumer.
		var got []pruneDecision
		for _, r := range rows {
			got = append(got, again.observe(r.id, r.step, r.value)...)
		}
		if want := all[len(first.log):]; (len(got) != 0 || len(want) != 0) && !reflect.DeepEqual(got, want) {
			t.Errorf("restart after %d rows: decisions %+v; want %+v", k, got, want)
		}
		if !reflect.DeepEqual(again.log, whole.log) || !reflect.DeepEqual(again.pruned(), whole.pruned()) {
			t.Errorf("restart after %d rows: log or pruned set differ from the uninterrupted state", k)
		}
	}
}

// TestPruneRuleChecked: every field out of range is refused, naming it.
func TestPruneRuleChecked(t *testing.T) {
	for _, r := range []pruneRule{
		{At: []float64{0.5}, Keep: 0.5, Among: "all"},
		{Metric: "val_loss", Keep: 0.5, Among: "all"},
		{Metric: "val_loss", At: []float64{0.5, 0.3}, Keep: 0.5, Among: "all"},
		{Metric: "val_loss", At: []float64{1}, Keep: 0.5, Among: "all"},
		{Metric: "val_loss", At: []float64{0.5}, Keep: 1, Among: "all"},
		{Metric: "val_loss", At: []float64{0.5}, Keep: 0.5, Among: "seed"},
	} {
		if _, err := newPruneState(r, pruneSweep(2)); err == nil {
			t.Errorf("rule %+v accepted", r)
		}
	}
}
