package coordinator

import (
	"slices"
	"time"

	"github.com/heatbath/heatbath/protocol"
)

// The live feed of a sweep, as state without NATS: feedState takes the
// replica records (from a KV watch), the sweep record and the progress
// events (from an ordered consumer) with the server's time of each, and
// returns snapshots. feed.go is the loop that feeds it.

// rateWindow is how far back the samples of an attempt reach when its
// steps/s is estimated: long enough to smooth the thinned progress events
// (at most one a second), short enough to follow a change of pace.
const rateWindow = 60 * time.Second

// maxSamples bounds the samples kept per replica.
const maxSamples = 64

// maxCurve bounds the learning-curve points kept per replica: past it, every
// other point is dropped (the first and the latest are kept), so a long
// chain keeps an evenly thinned curve.
const maxCurve = 512

// FeedSnapshot is the live state of a sweep, as `heatbath status --json`
// prints it (the schema is documented in README.md).
type FeedSnapshot struct {
	// Sweep is the sweep id, Name the spec's name.
	Sweep string `json:"sweep"`
	Name  string `json:"name"`
	// Status is the sweep record's status ("" until it is read).
	Status protocol.SweepStatus `json:"status"`
	// Time is when the snapshot was taken.
	Time time.Time `json:"time"`
	// Total is the number of replicas; Counts counts them by the state of
	// their record (every state is present, zero or not).
	Total  int                    `json:"replicas_total"`
	Counts map[protocol.State]int `json:"counts"`
	// Diverged is the number of failed replicas whose chain diverged.
	Diverged int `json:"diverged"`
	// StepsDone is the sum of the replicas' current steps, StepsTotal of
	// their step budgets.
	StepsDone  int64 `json:"steps_done"`
	StepsTotal int64 `json:"steps_total"`
	// StepsPerSecond is the sum of the running replicas' rates.
	StepsPerSecond float64 `json:"steps_per_second"`
	// ETASeconds is the time until the unfinished replicas' remaining
	// steps are done at StepsPerSecond (0 when every replica is finished,
	// nil while no rate is known).
	ETASeconds *float64 `json:"eta_seconds"`
	// Replicas lists every replica in grid order.
	Replicas []FeedReplica `json:"replicas"`
}

// Finished returns the number of replicas in a terminal state.
func (s *FeedSnapshot) Finished() int {
	n := 0
	for st, k := range s.Counts {
		if st.Terminal() {
			n += k
		}
	}
	return n
}

// FeedReplica is one replica in a FeedSnapshot.
type FeedReplica struct {
	// ID, Index and Group are the replica's place in the sweep.
	ID    string `json:"id"`
	Index int    `json:"index"`
	Group string `json:"group"`
	// State is its record's state ("" while no record was read).
	State protocol.State `json:"state"`
	// Attempt and Worker are the latest attempt and its worker, from the
	// record or from a progress event of a newer attempt.
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker,omitempty"`
	// Step is the latest known step: the record's or the latest progress
	// event's of the current attempt, whichever is further; Steps the
	// step budget.
	Step  int64 `json:"step"`
	Steps int64 `json:"steps"`
	// StepsPerSecond is the attempt's rate over its last minute of
	// progress (0 while unknown or when not running).
	StepsPerSecond float64 `json:"steps_per_second"`
	// ETASeconds is the time until Steps at that rate (0 when done, nil
	// while unknown).
	ETASeconds *float64 `json:"eta_seconds"`
	// Metrics is the latest evaluation of the current attempt.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Curve is the replica's learning curve as the feed saw it: the
	// evaluations of the progress events received, in increasing step,
	// thinned past maxCurve points. A feed started mid-sweep sees the
	// latest event of each replica and the ones after it only. Not part of
	// the JSON (status --json prints the latest Metrics); the slice and its
	// maps are shared with later snapshots and must not be modified.
	Curve []CurvePoint `json:"-"`
	// ErrorCode and Error are the record's (why it failed, was preempted
	// or cancelled).
	ErrorCode string `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
	// Updated is the server's time of the latest record or progress event.
	Updated time.Time `json:"updated"`
}

// CurvePoint is one evaluation of a replica: its metrics at a step.
type CurvePoint struct {
	Step    int64
	Metrics map[string]float64
}

// sample is a point of an attempt's progress: its step at a time.
type sample struct {
	step int64
	at   time.Time
}

// feedReplica is what the feed knows of a replica.
type feedReplica struct {
	info    Replica
	rec     *protocol.ReplicaState // latest record, nil before the first
	attempt int                    // current attempt: the newest of record and progress
	worker  string
	step    int64
	steps   int64
	metrics map[string]float64
	samples []sample // of the current attempt, increasing in step and time
	// curve holds the evaluations, increasing in step. Snapshots share it:
	// it is only ever appended to; truncation and thinning make a new slice.
	curve   []CurvePoint
	updated time.Time
}

// feedState is the pure part of a sweep's feed.
type feedState struct {
	sweep  string
	name   string
	status protocol.SweepStatus
	ids    []string // grid order
	reps   map[string]*feedReplica
}

// newFeedState returns the feed of the sweep s (its manifest), before any
// record or event.
func newFeedState(s *Sweep) *feedState {
	f := &feedState{sweep: s.ID, name: s.Name, reps: make(map[string]*feedReplica, len(s.Replicas))}
	rs := slices.Clone(s.Replicas)
	slices.SortFunc(rs, func(a, b Replica) int { return a.Index - b.Index })
	for _, r := range rs {
		f.ids = append(f.ids, r.ID)
		f.reps[r.ID] = &feedReplica{info: r, steps: r.Config.Steps}
	}
	return f
}

// sweepRecord takes the sweep's record; it reports whether it was used.
func (f *feedState) sweepRecord(value []byte) bool {
	rec, err := protocol.DecodeSweepRecord(value)
	if err != nil || rec.ID != f.sweep {
		return false
	}
	f.status = rec.Status
	if rec.Name != "" {
		f.name = rec.Name
	}
	return true
}

// record takes a replica record written at time at (the server's time of
// the KV entry); it reports whether the record was used (a key of another
// sweep, of an unknown replica or an undecodable value is not).
func (f *feedState) record(key string, value []byte, at time.Time) bool {
	sweep, id, err := protocol.ParseReplicaKey(key)
	if err != nil || sweep != f.sweep {
		return false
	}
	r := f.reps[id]
	if r == nil {
		return false
	}
	st, err := protocol.DecodeReplicaState(value)
	if err != nil {
		return false
	}
	r.rec = st
	if st.Steps > 0 {
		r.steps = st.Steps
	}
	r.updated = later(r.updated, at)
	switch {
	case st.Attempt > r.attempt:
		// A new attempt: its pace starts from here.
		r.attempt, r.worker, r.step, r.metrics, r.samples = st.Attempt, st.Worker, st.Step, nil, nil
		r.restartCurve(st.Step + 1)
	case st.Attempt == r.attempt:
		if st.Worker != "" {
			r.worker = st.Worker
		}
		r.step = max(r.step, st.Step)
	default:
		// A progress event of a newer attempt came first: the record
		// will follow.
		return true
	}
	if st.State == protocol.StateDone {
		r.step = max(r.step, r.steps)
	}
	if st.State == protocol.StateRunning {
		// The record is a point of the attempt's pace too: written when
		// the attempt started and at each checkpoint.
		r.addSample(sample{st.Step, at})
	}
	return true
}

// progress takes a progress event published on subject and stored at time
// at (the server's time of the message); it reports whether it was used. An
// event of an older attempt than the one known, or not beyond the step
// known (delivered out of order or again), moves nothing.
func (f *feedState) progress(subject string, data []byte, at time.Time) bool {
	sweep, id, kind, err := protocol.ParseEventSubject(subject)
	if err != nil || sweep != f.sweep || kind != protocol.EventProgress {
		return false
	}
	r := f.reps[id]
	if r == nil {
		return false
	}
	p, err := protocol.DecodeProgress(data)
	if err != nil || p.Sweep != sweep || p.Replica != id {
		return false
	}
	switch {
	case p.Attempt < r.attempt:
		return false
	case p.Attempt > r.attempt:
		r.attempt, r.worker, r.step, r.metrics, r.samples = p.Attempt, p.Worker, p.Step, p.Metrics, nil
		r.restartCurve(p.Step)
	default:
		if r.rec != nil && r.rec.Attempt == p.Attempt && r.rec.State.Terminal() {
			return false // the attempt has ended; its record says how
		}
		if p.Step <= r.step && len(r.samples) > 0 {
			return false
		}
		r.step, r.worker, r.metrics = max(r.step, p.Step), p.Worker, p.Metrics
	}
	if p.Steps > 0 {
		r.steps = p.Steps
	}
	r.updated = later(r.updated, at)
	r.addSample(sample{p.Step, at})
	r.addCurve(p.Step, p.Metrics)
	return true
}

// restartCurve prepares the curve for a new attempt that resumes at step:
// the points beyond it belong to the attempt that was lost, and the new
// attempt will evaluate those steps again.
func (r *feedReplica) restartCurve(step int64) {
	n := len(r.curve)
	for n > 0 && r.curve[n-1].Step >= step {
		n--
	}
	if n < len(r.curve) {
		r.curve = slices.Clone(r.curve[:n])
	}
}

// addCurve appends an evaluation beyond the curve's last step, and thins
// the curve past maxCurve points.
func (r *feedReplica) addCurve(step int64, metrics map[string]float64) {
	if len(metrics) == 0 {
		return
	}
	if n := len(r.curve); n > 0 && step <= r.curve[n-1].Step {
		return
	}
	r.curve = append(r.curve, CurvePoint{Step: step, Metrics: metrics})
	if len(r.curve) > maxCurve {
		// Keep the even positions and the latest point, in a new slice:
		// snapshots hold the old one.
		thin := make([]CurvePoint, 0, maxCurve)
		for i := 0; i < len(r.curve)-1; i += 2 {
			thin = append(thin, r.curve[i])
		}
		r.curve = append(thin, r.curve[len(r.curve)-1])
	}
}

// addSample adds a point to the attempt's pace if it is beyond the last in
// both step and time, and drops the points that the window no longer needs.
func (r *feedReplica) addSample(s sample) {
	if n := len(r.samples); n > 0 {
		last := r.samples[n-1]
		if s.step <= last.step || !s.at.After(last.at) {
			return
		}
	}
	r.samples = append(r.samples, s)
	// Keep the points of the last rateWindow, and at least two.
	for len(r.samples) > 2 && (s.at.Sub(r.samples[0].at) > rateWindow || len(r.samples) > maxSamples) {
		r.samples = r.samples[1:]
	}
}

// rate returns the attempt's steps per second over its samples, 0 when
// fewer than two.
func (r *feedReplica) rate() float64 {
	if len(r.samples) < 2 {
		return 0
	}
	first, last := r.samples[0], r.samples[len(r.samples)-1]
	return float64(last.step-first.step) / last.at.Sub(first.at).Seconds()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func seconds(x float64) *float64 { return &x }

// snapshot returns the sweep's state at time now.
func (f *feedState) snapshot(now time.Time) *FeedSnapshot {
	s := &FeedSnapshot{Sweep: f.sweep, Name: f.name, Status: f.status, Time: now, Total: len(f.ids),
		Counts: make(map[protocol.State]int, 6), Replicas: make([]FeedReplica, 0, len(f.ids))}
	for _, st := range []protocol.State{protocol.StatePending, protocol.StateRunning, protocol.StatePreempted,
		protocol.StateDone, protocol.StateFailed, protocol.StateCancelled} {
		s.Counts[st] = 0
	}
	var remaining int64
	for _, id := range f.ids {
		r := f.reps[id]
		fr := FeedReplica{ID: id, Index: r.info.Index, Group: r.info.Group, Attempt: r.attempt, Worker: r.worker,
			Step: min(r.step, r.steps), Steps: r.steps, Metrics: r.metrics, Updated: r.updated,
			Curve: slices.Clip(r.curve)}
		if r.rec != nil {
			fr.State = r.rec.State
			s.Counts[r.rec.State]++
			if r.rec.State == protocol.StateFailed && r.rec.ErrorCode == protocol.CodeDiverged {
				s.Diverged++
			}
			if r.rec.ErrorCode != protocol.CodeUnknown {
				fr.ErrorCode = r.rec.ErrorCode.String()
			}
			fr.Error = r.rec.Error
		}
		switch {
		case fr.State == protocol.StateDone:
			fr.ETASeconds = seconds(0)
		case fr.State == protocol.StateRunning:
			if v := r.rate(); v > 0 {
				fr.StepsPerSecond = v
				fr.ETASeconds = seconds(float64(fr.Steps-fr.Step) / v)
				s.StepsPerSecond += v
			}
		}
		if !fr.State.Terminal() {
			remaining += fr.Steps - fr.Step
		}
		s.StepsDone += fr.Step
		s.StepsTotal += fr.Steps
		s.Replicas = append(s.Replicas, fr)
	}
	switch {
	case remaining == 0 && s.Finished() == s.Total:
		s.ETASeconds = seconds(0)
	case s.StepsPerSecond > 0:
		s.ETASeconds = seconds(float64(remaining) / s.StepsPerSecond)
	}
	return s
}
