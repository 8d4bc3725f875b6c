package protocol

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// State is the state of a replica in its KV record.
type State string

// The replica states. See CanTransition for the state machine.
const (
	// StatePending: the task is queued (or about to be) and no attempt runs.
	StatePending State = "pending"
	// StateRunning: a worker runs an attempt.
	StateRunning State = "running"
	// StatePreempted: the worker stopped the attempt on request (shutdown,
	// preemption) after a checkpoint; the task will be redelivered.
	StatePreempted State = "preempted"
	// StateDone: a Result was recorded (status done or diverged).
	StateDone State = "done"
	// StateFailed: the replica cannot make progress: a deterministic error,
	// or deliveries exhausted. Resume makes it pending again.
	StateFailed State = "failed"
	// StateCancelled: the sweep or replica was cancelled. Resume makes it
	// pending again.
	StateCancelled State = "cancelled"
	// StatePruned: successive halving stopped the replica at a milestone
	// (PruneDecision); its partial trajectory is kept. Final: resume does
	// not run it again.
	StatePruned State = "pruned"
)

// transitions lists, for every state, the states it may move to.
var transitions = map[State][]State{
	StatePending:   {StateRunning, StateFailed, StateCancelled, StatePruned},
	StateRunning:   {StateRunning, StatePreempted, StateDone, StateFailed, StateCancelled, StatePruned},
	StatePreempted: {StateRunning, StateFailed, StateCancelled, StatePruned},
	StateDone:      {},
	StateFailed:    {StatePending},
	StateCancelled: {StatePending},
	StatePruned:    {},
}

// Valid reports whether s is one of the defined states.
func (s State) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Terminal reports whether no worker will move a replica in state s any
// further: done, failed, cancelled and pruned. Only a resume leaves failed
// or cancelled (back to pending); done and pruned are final.
func (s State) Terminal() bool {
	return s == StateDone || s == StateFailed || s == StateCancelled || s == StatePruned
}

// CanTransition reports whether a replica may move from state from to state
// to. The state machine:
//
//	pending   → running     a worker starts attempt 1 (or the next attempt after a resume)
//	pending   → failed      the task can never start (undecodable, deliveries exhausted)
//	pending   → cancelled   cancel
//	running   → running     progress of the same attempt, or a new attempt taking over
//	                        after the previous worker died (redelivery)
//	running   → preempted   the worker checkpointed and gave the task back
//	running   → done        a Result was recorded
//	running   → failed      a deterministic error, or deliveries exhausted
//	running   → cancelled   cancel
//	preempted → running     a worker resumes from the checkpoint in a new attempt
//	preempted → failed      deliveries exhausted
//	preempted → cancelled   cancel
//	pending, running, preempted → pruned
//	                        successive halving stopped it at a milestone
//	failed    → pending     resume
//	cancelled → pending     resume
//
// done and pruned have no way out, and every pair not listed is refused, including an
// unknown state on either side.
func CanTransition(from, to State) bool {
	return slices.Contains(transitions[from], to)
}

// CheckTransition checks a compare-and-set update of a replica record from
// the stored record from to the proposed record to. Beyond CanTransition it
// enforces the attempt fence that keeps a superseded worker (a zombie) from
// overwriting a newer attempt:
//
//   - Entering running starts a new attempt: to.Attempt = from.Attempt+1.
//     The exception is running → running by the same worker with the same
//     attempt, which records progress.
//   - Every other transition keeps the attempt: to.Attempt = from.Attempt.
//
// An update whose attempt is older than the stored one, or that claims the
// stored attempt of another worker, is an *Error of code CodeStale: the
// writer has been superseded and must drop its work. Any other violation is
// CodeInvalid. CheckTransition does not call Validate on either record.
func CheckTransition(from, to ReplicaState) error {
	const what = "replica transition"
	if !CanTransition(from.State, to.State) {
		return invalidf(what, "%s → %s is not allowed", quote(string(from.State)), quote(string(to.State)))
	}
	stale := func(format string, args ...any) error {
		return &Error{Code: CodeStale, Message: invalidf(what, format, args...).Error()}
	}
	if to.Attempt < from.Attempt {
		return stale("attempt %d is older than the stored attempt %d", to.Attempt, from.Attempt)
	}
	if to.State == StateRunning {
		if from.State == StateRunning && to.Attempt == from.Attempt {
			if to.Worker != from.Worker {
				return stale("attempt %d belongs to worker %s, not %s", from.Attempt, quote(from.Worker), quote(to.Worker))
			}
			return checkCounts(from, to)
		}
		if to.Attempt != from.Attempt+1 {
			return invalidf(what, "a new attempt must be %d, got %d", from.Attempt+1, to.Attempt)
		}
		return checkCounts(from, to)
	}
	if to.Attempt != from.Attempt {
		return invalidf(what, "%s → %s must keep attempt %d, got %d", from.State, to.State, from.Attempt, to.Attempt)
	}
	return checkCounts(from, to)
}

// checkCounts refuses an update that lowers an attempt count (Lost, Errors,
// Preemptions) other than on the way into or out of pending, where the
// counts start afresh.
func checkCounts(from, to ReplicaState) error {
	if from.State == StatePending || to.State == StatePending {
		return nil
	}
	for _, c := range []struct {
		name     string
		from, to int
	}{{"lost", from.Lost, to.Lost}, {"errors", from.Errors, to.Errors}, {"preemptions", from.Preemptions, to.Preemptions}} {
		if c.to < c.from {
			return invalidf("replica transition", "%s → %s lowers %s from %d to %d", from.State, to.State, c.name, c.from, c.to)
		}
	}
	return nil
}

// ReplicaState is a replica's record in BucketReplicas, under
// ReplicaKey(sweep, replica). It is only ever written by compare-and-set on
// the key's revision, and each write should pass CheckTransition against the
// record it replaces.
type ReplicaState struct {
	// V is the protocol version, Version.
	V int `json:"v"`
	// State is the replica's state.
	State State `json:"state"`
	// Attempt counts the attempts started, from 0 (never started). It goes
	// up by one each time the replica enters running in a new attempt and
	// never goes down, not even on resume.
	Attempt int `json:"attempt"`
	// Worker is the worker of the current or last attempt (a valid token);
	// required while running.
	Worker string `json:"worker,omitempty"`
	// Step is the number of steps completed, out of Steps (0 while unknown).
	Step  int64 `json:"step"`
	Steps int64 `json:"steps"`
	// Checkpoint is the object name of the latest checkpoint, usually
	// CheckpointObject(sweep, replica); empty when there is none.
	Checkpoint string `json:"checkpoint,omitempty"`
	// ErrorCode and Error describe why the replica failed (required when
	// State is failed; Error is at most 64 KiB), or why it was preempted or
	// cancelled.
	ErrorCode Code   `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
	// Updated is the time of the write. On the wire it is RFC 3339 with
	// nanoseconds (time.Time's JSON form); decoding converts it to UTC.
	Updated time.Time `json:"updated"`
	// Lost, Errors and Preemptions count how the attempts since the replica
	// last left pending ended (NextAttempt counts them when the next attempt
	// starts; optional on the wire, absent meaning 0):
	//   - Lost: the attempt ended without its worker recording anything
	//     (the worker crashed, was cut off, or its delivery expired and
	//     another attempt took over: running → running).
	//   - Errors: the worker handed the task back after an error of its own
	//     (preempted with an ErrorCode).
	//   - Preemptions: the worker stopped on request after a checkpoint, or
	//     handed the task back because the cluster was unavailable for
	//     longer than it retries (preempted without an ErrorCode).
	//
	// A replica whose Lost+Errors reaches MaxBadAttempts fails; preemptions
	// and leader elections never fail a replica.
	Lost        int `json:"lost,omitempty"`
	Errors      int `json:"errors,omitempty"`
	Preemptions int `json:"preemptions,omitempty"`
}

// MaxBadAttempts is the number of attempts ending in a worker crash or
// timeout (ReplicaState.Lost) or in an error of their own
// (ReplicaState.Errors) after which a replica fails instead of starting
// another attempt.
const MaxBadAttempts = 3

// NextAttempt returns the record that starts a new attempt by worker on a
// replica whose stored record is prev (pending, running or preempted), for
// a chain of steps steps. It counts how the previous attempt ended (see
// ReplicaState.Lost): leaving pending starts the counts afresh (a new
// sweep, or a resume), a running record was lost, a preempted one was
// stopped on request or by an error. When the bad attempts reach
// MaxBadAttempts the returned record is failed (code CodeMaxDeliver,
// attempt unchanged) instead of running. Either result passes
// CheckTransition from prev.
func NextAttempt(prev ReplicaState, worker string, steps int64) ReplicaState {
	next := prev
	switch prev.State {
	case StatePending:
		next.Lost, next.Errors, next.Preemptions = 0, 0, 0
	case StateRunning:
		next.Lost++
	case StatePreempted:
		if prev.ErrorCode != CodeUnknown {
			next.Errors++
		} else {
			next.Preemptions++
		}
	}
	if bad := next.Lost + next.Errors; bad >= MaxBadAttempts {
		next.State, next.ErrorCode = StateFailed, CodeMaxDeliver
		next.Error = fmt.Sprintf("%d attempts ended without finishing: %d lost (worker crash or timeout), %d in an error", bad, next.Lost, next.Errors)
		if prev.Error != "" {
			next.Error += "; last error: " + prev.Error
		}
		next.Error = truncateText(next.Error, maxMessageLen)
		return next
	}
	next.State, next.Attempt, next.Worker, next.Steps = StateRunning, prev.Attempt+1, worker, steps
	next.ErrorCode, next.Error = CodeUnknown, ""
	return next
}

// truncateText cuts s to at most n bytes on a rune boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (*ReplicaState) kind() string  { return "replica state" }
func (m *ReplicaState) setVersion() { m.V = Version }

// Validate implements Message.
func (m *ReplicaState) Validate() error {
	const what = "replica state"
	if !m.State.Valid() {
		return invalidf(what, "state %s is not a replica state", quote(string(m.State)))
	}
	if m.Attempt < 0 {
		return invalidf(what, "attempt %d is negative", m.Attempt)
	}
	if m.Lost < 0 || m.Errors < 0 || m.Preemptions < 0 {
		return invalidf(what, "attempt counts lost %d, errors %d, preemptions %d: one is negative", m.Lost, m.Errors, m.Preemptions)
	}
	switch m.State {
	case StateRunning, StatePreempted, StateDone:
		if m.Attempt < 1 {
			return invalidf(what, "attempt %d is less than 1 in state %s", m.Attempt, m.State)
		}
	}
	if m.Worker != "" || m.State == StateRunning {
		if err := checkTokens(what, "worker", m.Worker); err != nil {
			return err
		}
	}
	if err := checkSteps(what, m.Step, m.Steps, false); err != nil {
		return err
	}
	if m.Checkpoint != "" && !validObjectName(m.Checkpoint) {
		return invalidf(what, "checkpoint %s is not a valid object name", quote(m.Checkpoint))
	}
	if !m.ErrorCode.Valid() {
		return invalidf(what, "error_code %d is not defined", int(m.ErrorCode))
	}
	if err := checkText(what, "error", m.Error, maxMessageLen, m.State == StateFailed); err != nil {
		return err
	}
	return checkTime(what, "updated", m.Updated)
}

// SweepStatus is the status of a sweep in its SweepRecord.
type SweepStatus string

// The sweep statuses.
const (
	SweepRunning   SweepStatus = "running"   // replicas are queued or running
	SweepCancelled SweepStatus = "cancelled" // cancelled; resume sets running again
	SweepDone      SweepStatus = "done"      // every replica is in a terminal state
)

// Valid reports whether s is one of the defined statuses.
func (s SweepStatus) Valid() bool {
	return s == SweepRunning || s == SweepCancelled || s == SweepDone
}

// SweepRecord is a sweep's record in BucketSweeps, under SweepKey(id).
type SweepRecord struct {
	// V is the protocol version, Version.
	V int `json:"v"`
	// ID is the sweep id (a valid token).
	ID string `json:"id"`
	// Name is the spec's name (UTF-8, at most 256 bytes; may be empty).
	Name string `json:"name"`
	// Spec is the canonical spec as YAML text (non-empty).
	Spec string `json:"spec"`
	// SpecHash is the hash of Spec (a valid token).
	SpecHash string `json:"spec_hash"`
	// Replicas is the number of replicas the spec expands to (at least 1).
	Replicas int `json:"replicas"`
	// Created is the submission time; RFC 3339 with nanoseconds on the
	// wire, UTC after decoding.
	Created time.Time `json:"created"`
	// Status is the sweep's status.
	Status SweepStatus `json:"status"`
}

func (*SweepRecord) kind() string  { return "sweep record" }
func (m *SweepRecord) setVersion() { m.V = Version }

// Validate implements Message.
func (m *SweepRecord) Validate() error {
	const what = "sweep record"
	if err := checkTokens(what, "id", m.ID); err != nil {
		return err
	}
	if err := checkText(what, "name", m.Name, maxNameLen, false); err != nil {
		return err
	}
	if err := checkText(what, "spec", m.Spec, MaxMessageSize, true); err != nil {
		return err
	}
	if err := checkTokens(what, "spec_hash", m.SpecHash); err != nil {
		return err
	}
	if m.Replicas < 1 {
		return invalidf(what, "replicas %d is less than 1", m.Replicas)
	}
	if err := checkTime(what, "created", m.Created); err != nil {
		return err
	}
	if !m.Status.Valid() {
		return invalidf(what, "status %s is not a sweep status", quote(string(m.Status)))
	}
	return nil
}
