package coordinator

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// This file wires successive halving (prunestate.go) into the collector.
// The collector feeds each replica's evaluation rows to the prune state as
// they reach the trajectory; a decision is stored in the sweep's records
// (records.Store.CreatePrune, one key per replica and milestone) before
// it is acted on, and only a stored decision to prune is acted on: the
// replica's record becomes pruned and its worker is told to stop
// (protocol.PruneSubject). A restarted collector reads the stored log back
// (startPrune, enablePrune), acts again on its decisions to prune (idempotent), and
// feeds the rows already on disk that reach a milestone not decided yet:
// a decision is neither repeated nor forgotten. A decision taken but not
// stored when the coordinator stopped was never acted on; it is taken
// again from the rows on disk.

// storePrune: store the decision (records.Store.CreatePrune), then report
// through pruneStored.
type storePrune struct{ d protocol.PruneDecision }

// stopPruned: record the replica pruned and tell its worker, then report
// through pruneStopped.
type stopPruned struct{ replica, reason string }

func (storePrune) isAction() {}
func (stopPruned) isAction() {}

// pruneCollect is the collector's successive-halving state.
type pruneCollect struct {
	cfg   *protocol.PruneConfig
	state *pruneState
	seq   int
	// log holds the stored decisions, in order; unstored the decisions
	// taken whose store has not succeeded yet (by key), toStop the
	// replicas of stored decisions to prune not yet recorded pruned.
	log      []protocol.PruneDecision
	unstored map[string]protocol.PruneDecision
	toStop   map[string]string
	retryAt  time.Time
	// stopped holds the replicas this collector recorded pruned: a result
	// of theirs that comes later (the chain finished as it was pruned) is
	// not collected, so that the run directory agrees with the record.
	stopped map[string]bool
	// followed is true once a replica record was seen not finished: a
	// coordinator followed the sweep while it ran.
	followed bool
	noColumn map[string]bool
}

// ruleOf returns the prune state's rule for a sweep's config.
func ruleOf(c *protocol.PruneConfig) pruneRule {
	return pruneRule{Metric: c.Metric, HigherBetter: c.HigherBetter(), At: slices.Clone(c.At), Keep: c.Keep, Among: c.Among}
}

// enablePrune sets up successive halving for the collection when the
// sweep has a prune section, and loads its stored decision log. It
// returns the actions that finish what the log's coordinator began: the
// decisions to prune whose replicas may not be recorded pruned yet.
func (s *collectState) enablePrune(log []protocol.PruneDecision) ([]action, error) {
	cfg := s.sweep.Prune
	if cfg == nil {
		return nil, nil
	}
	ps, err := newPruneState(ruleOf(cfg), s.sweep)
	if err != nil {
		return nil, fmt.Errorf("coordinator: sweep %s: %w", s.sweep.ID, err)
	}
	p := &pruneCollect{cfg: cfg, state: ps, unstored: map[string]protocol.PruneDecision{}, toStop: map[string]string{},
		stopped: map[string]bool{}, noColumn: map[string]bool{}}
	s.prune = p
	log = slices.Clone(log)
	slices.SortStableFunc(log, func(a, b protocol.PruneDecision) int { return a.Seq - b.Seq })
	internal := make([]pruneDecision, 0, len(log))
	for _, d := range log {
		internal = append(internal, fromProto(d))
		p.seq = max(p.seq, d.Seq+1)
	}
	ps.load(internal)
	// Keep of the log what the state took (it skips duplicates).
	for _, d := range log {
		if r := ps.replicas[d.Replica]; r != nil && d.Milestone < r.next {
			p.log = append(p.log, d)
		}
	}
	var acts []action
	for _, d := range p.log {
		if d.Prune {
			acts = append(acts, s.stop(d)...)
		}
	}
	if len(log) > 0 {
		acts = append(acts, logf(hclog.Info, "successive halving resumed from the stored decisions", "decisions", len(p.log),
			"pruned", len(ps.pruned())))
	}
	return acts, nil
}

// pruneNeedsDisk reports whether replica id's trajectory on disk reaches
// a milestone that is not decided yet (the collector must feed its rows).
func (s *collectState) pruneNeedsDisk(id string) bool {
	if s.prune == nil {
		return false
	}
	r := s.prune.state.replicas[id]
	return r != nil && !r.pruned && r.next < len(s.prune.cfg.At) &&
		s.lastStep[id] >= s.prune.state.milestoneStep(r.steps, r.next)
}

// pruneRows feeds rows of replica id's trajectory (columns names their
// values) to the prune state and returns the stores of the decisions they
// complete.
func (s *collectState) pruneRows(id string, columns []string, rows [][]float64) []action {
	p := s.prune
	if p == nil || len(rows) == 0 {
		return nil
	}
	col := slices.Index(columns, p.cfg.Metric)
	if col < 0 {
		if p.noColumn[id] {
			return nil
		}
		p.noColumn[id] = true
		return []action{logf(hclog.Warn, "replica's trajectory has no column of the prune metric; it is not pruned",
			"replica", id, "metric", p.cfg.Metric)}
	}
	var acts []action
	for _, row := range rows {
		if len(row) <= col {
			continue
		}
		for _, d := range p.state.observe(id, int64(row[0]), row[col]) {
			pd := toProto(s.sweep.ID, p.seq, d)
			p.seq++
			key, _ := protocol.PruneKey(pd.Sweep, pd.Replica, pd.Milestone)
			p.unstored[key] = pd
			acts = append(acts, storePrune{d: pd})
			if d.Prune {
				acts = append(acts, logf(hclog.Info, "replica pruned", "replica", id, "milestone", d.Milestone, "step", d.Step,
					p.cfg.Metric, d.Value, "rank", d.Rank, "of", d.Reached, "kept", d.Kept))
			}
		}
	}
	return acts
}

// pruneStored reports a storePrune: the decision stored under its key
// (the one given, or one stored before it, which counts), or err.
func (s *collectState) pruneStored(d protocol.PruneDecision, stored *protocol.PruneDecision, err error, now time.Time) []action {
	p := s.prune
	if p == nil {
		return nil
	}
	key, _ := protocol.PruneKey(d.Sweep, d.Replica, d.Milestone)
	if err != nil {
		p.retryAt = now.Add(retryDelay)
		return []action{logf(hclog.Warn, "cannot store a prune decision; will retry", "replica", d.Replica, "error", err)}
	}
	delete(p.unstored, key)
	var acts []action
	if stored.Prune != d.Prune || stored.Seq != d.Seq {
		// Another coordinator decided first (two collectors of one
		// sweep): its decision counts, here too.
		acts = append(acts, logf(hclog.Warn, "another decision was stored first for this replica and milestone; it counts",
			"replica", d.Replica, "milestone", d.Milestone, "stored_prune", stored.Prune, "prune", d.Prune))
		if r := p.state.replicas[d.Replica]; r != nil && r.next <= stored.Milestone+1 {
			r.next, r.pruned = stored.Milestone+1, stored.Prune
		}
	}
	p.log = append(p.log, *stored)
	s.tableDirty = true
	if stored.Prune {
		acts = append(acts, s.stop(*stored)...)
	}
	return acts
}

// finishedFirst reports whether replica id's result is collected or being
// collected: its chain finished before a decision to prune it was acted
// on, and it stays done.
func (s *collectState) finishedFirst(id string) bool {
	return s.busy[id] > 0 || s.wrote[id] > 0 || s.outcome[id] != nil || hasResult(s.records[id])
}

// stop returns the stopPruned of a stored decision to prune, or nothing
// when the replica finished first.
func (s *collectState) stop(d protocol.PruneDecision) []action {
	p := s.prune
	if s.finishedFirst(d.Replica) {
		return []action{logf(hclog.Info, "replica finished before its decision to prune was acted on; it stays done",
			"replica", d.Replica, "milestone", d.Milestone)}
	}
	value := fmt.Sprint(d.Value)
	if d.NaN {
		value = "NaN"
	}
	reason := fmt.Sprintf("pruned at milestone %d (step %d): %s %s ranked %d of %d, %d kept", d.Milestone, d.Step,
		p.cfg.Metric, value, d.Rank, d.Reached, d.Kept)
	p.toStop[d.Replica] = reason
	return []action{stopPruned{replica: d.Replica, reason: reason}}
}

// pruneStopped reports a stopPruned: wrote says the record became pruned
// (false: it was finished already); err that it could not be written, and
// is tried again.
func (s *collectState) pruneStopped(replica string, wrote bool, err error, now time.Time) []action {
	p := s.prune
	if p == nil {
		return nil
	}
	if err != nil {
		p.retryAt = now.Add(retryDelay)
		return []action{logf(hclog.Warn, "cannot record a replica pruned; will retry", "replica", replica, "error", err)}
	}
	delete(p.toStop, replica)
	if wrote {
		p.stopped[replica] = true
	}
	return nil
}

// prunedResult reports whether a result of replica id must not be
// collected: this collector recorded the replica pruned, or its record
// says so.
func (s *collectState) prunedResult(id string) bool {
	if st := s.records[id]; st != nil && st.State == protocol.StatePruned {
		return true
	}
	return s.prune != nil && s.prune.stopped[id]
}

// pruneRetry returns the stores and stops to try again at time now.
func (s *collectState) pruneRetry(now time.Time) []action {
	p := s.prune
	if p == nil || now.Before(p.retryAt) || len(p.unstored)+len(p.toStop) == 0 {
		return nil
	}
	p.retryAt = now.Add(retryDelay)
	var acts []action
	keys := make([]string, 0, len(p.unstored))
	for k := range p.unstored {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		acts = append(acts, storePrune{d: p.unstored[k]})
	}
	ids := make([]string, 0, len(p.toStop))
	for id := range p.toStop {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if s.finishedFirst(id) {
			delete(p.toStop, id)
			continue
		}
		acts = append(acts, stopPruned{replica: id, reason: p.toStop[id]})
	}
	return acts
}

// pruneBusy reports whether decisions wait to be stored or acted on.
func (s *collectState) pruneBusy() bool {
	return s.prune != nil && len(s.prune.unstored)+len(s.prune.toStop) > 0
}

// pruneSummary returns summary.json's account of pruning (nil without a
// prune section), given the rows.
func (s *collectState) pruneSummary(rows []rundir.SummaryReplica) *rundir.PruneSummary {
	p := s.prune
	if p == nil {
		return nil
	}
	ps := &rundir.PruneSummary{Ran: p.followed, Decisions: len(p.log)}
	for _, r := range rows {
		if r.State == string(protocol.StatePruned) {
			ps.Pruned++
		}
	}
	if ps.Pruned > 0 {
		ps.Ran = true
	}
	if !ps.Ran {
		ps.Note = "pruning did not run: no coordinator followed the sweep while its replicas ran (run, submit without -d, or resume), so every replica ran to the end"
	}
	return ps
}

// pruneLog returns prune.json (nil without a prune section).
func (s *collectState) pruneLog() *rundir.PruneLog {
	if s.prune == nil {
		return nil
	}
	log := slices.Clone(s.prune.log)
	slices.SortStableFunc(log, func(a, b protocol.PruneDecision) int { return a.Seq - b.Seq })
	return &rundir.PruneLog{Version: rundir.PruneVersion, Rule: s.prune.cfg, Decisions: log}
}

// toProto returns the stored form of decision d, number seq of sweep.
func toProto(sweep string, seq int, d pruneDecision) protocol.PruneDecision {
	pd := protocol.PruneDecision{Sweep: sweep, Replica: d.Replica, Seq: seq, Cohort: d.Cohort, Milestone: d.Milestone,
		Step: d.Step, Value: d.Value, Reached: d.Reached, Rank: d.Rank, Kept: d.Kept, Prune: d.Prune}
	if math.IsNaN(d.Value) || math.IsInf(d.Value, 0) {
		pd.Value, pd.NaN = 0, true
	}
	return pd
}

// fromProto returns the state's form of a stored decision.
func fromProto(d protocol.PruneDecision) pruneDecision {
	v := d.Value
	if d.NaN {
		v = math.NaN()
	}
	return pruneDecision{Replica: d.Replica, Cohort: d.Cohort, Milestone: d.Milestone, Step: d.Step, Value: v,
		Reached: d.Reached, Rank: d.Rank, Kept: d.Kept, Prune: d.Prune}
}
