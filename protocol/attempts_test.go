package protocol

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// step applies NextAttempt to prev and checks that the result is a valid
// record and a valid transition from prev.
func step(t *testing.T, prev ReplicaState, worker string) ReplicaState {
	t.Helper()
	next := NextAttempt(prev, worker, 100)
	next.Updated = time.Now()
	if err := CheckTransition(prev, next); err != nil {
		t.Fatalf("NextAttempt(%+v) = %+v: %v", prev, next, err)
	}
	if err := next.Validate(); err != nil {
		t.Fatalf("NextAttempt(%+v) = %+v: %v", prev, next, err)
	}
	return next
}

// TestNextAttemptCountsEndings follows a replica through attempts ended by
// every cause and checks that it fails at the MaxBadAttempts-th bad one,
// and not before.
func TestNextAttemptCountsEndings(t *testing.T) {
	st := ReplicaState{State: StatePending, Steps: 100, Updated: time.Now()}
	st = step(t, st, "w1")
	if st.State != StateRunning || st.Attempt != 1 || st.Worker != "w1" || st.Lost+st.Errors+st.Preemptions != 0 {
		t.Fatalf("first attempt %+v", st)
	}
	// The worker of attempt 1 dies: attempt 2 takes over.
	st = step(t, st, "w2")
	if st.State != StateRunning || st.Attempt != 2 || st.Lost != 1 {
		t.Fatalf("after a lost attempt %+v", st)
	}
	// Attempt 2 is preempted on shutdown (no error code).
	st.State = StatePreempted
	st = step(t, st, "w3")
	if st.State != StateRunning || st.Attempt != 3 || st.Preemptions != 1 || st.Lost != 1 || st.Errors != 0 {
		t.Fatalf("after a preemption %+v", st)
	}
	// Attempt 3 hands the task back after an error of its own.
	st.State, st.ErrorCode, st.Error = StatePreempted, CodeInternal, "store checkpoint: disk on fire"
	st = step(t, st, "w1")
	if st.State != StateRunning || st.Attempt != 4 || st.Errors != 1 || st.ErrorCode != CodeUnknown || st.Error != "" {
		t.Fatalf("after an error %+v", st)
	}
	// Attempt 4 is lost too: the third bad ending fails the replica.
	st = step(t, st, "w2")
	if st.State != StateFailed || st.ErrorCode != CodeMaxDeliver || st.Attempt != 4 || st.Lost != 2 || st.Errors != 1 {
		t.Fatalf("after the third bad attempt %+v", st)
	}
	if !strings.Contains(st.Error, "3 attempts ended without finishing: 2 lost") {
		t.Errorf("failure reason %q", st.Error)
	}
}

// TestNextAttemptPreemptionsNeverFail: any number of attempts handed back
// on request or because the cluster was unavailable leaves the replica
// running.
func TestNextAttemptPreemptionsNeverFail(t *testing.T) {
	st := step(t, ReplicaState{State: StatePending, Steps: 100, Updated: time.Now()}, "w1")
	for i := 0; i < 20; i++ {
		st.State, st.Error = StatePreempted, "cluster unavailable"
		st = step(t, st, "w1")
		if st.State != StateRunning {
			t.Fatalf("after %d preemptions: %+v", i+1, st)
		}
	}
	if st.Preemptions != 20 || st.Attempt != 21 {
		t.Errorf("counts %+v", st)
	}
}

// TestNextAttemptResumeStartsAfresh: a replica failed for its bad attempts
// and resumed (failed → pending) gets MaxBadAttempts new ones.
func TestNextAttemptResumeStartsAfresh(t *testing.T) {
	failed := ReplicaState{State: StateFailed, Attempt: 4, Worker: "w1", Steps: 100, Lost: 2, Errors: 1,
		ErrorCode: CodeMaxDeliver, Error: "x", Updated: time.Now()}
	pending := failed
	pending.State = StatePending
	if err := CheckTransition(failed, pending); err != nil {
		t.Fatal(err)
	}
	st := step(t, pending, "w2")
	if st.State != StateRunning || st.Attempt != 5 || st.Lost != 0 || st.Errors != 0 {
		t.Errorf("first attempt after a resume %+v", st)
	}
}

// TestCheckTransitionKeepsCounts: a write may not lower an attempt count
// except into or out of pending.
func TestCheckTransitionKeepsCounts(t *testing.T) {
	from := ReplicaState{State: StateRunning, Attempt: 3, Worker: "w1", Lost: 1, Errors: 1, Preemptions: 2}
	for _, tc := range []struct {
		name string
		edit func(*ReplicaState)
		want string
	}{
		{"progress lowers lost", func(s *ReplicaState) { s.Lost = 0 }, "lowers lost from 1 to 0"},
		{"done lowers errors", func(s *ReplicaState) { s.State, s.Errors = StateDone, 0 }, "lowers errors from 1 to 0"},
		{"takeover lowers preemptions", func(s *ReplicaState) { s.Attempt, s.Worker, s.Preemptions = 4, "w2", 1 }, "lowers preemptions from 2 to 1"},
	} {
		to := from
		tc.edit(&to)
		e := checkCode(t, CheckTransition(from, to), CodeInvalid)
		if !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: %q does not contain %q", tc.name, e.Message, tc.want)
		}
	}
	failed := from
	failed.State = StateFailed
	pending := failed
	pending.State, pending.Lost, pending.Errors, pending.Preemptions = StatePending, 0, 0, 0
	if err := CheckTransition(failed, pending); err != nil {
		t.Errorf("a resume that clears the counts: %v", err)
	}
}

// TestReplicaStateCountsOnTheWire: the counts are optional, so a record
// without them (written by an older version) decodes with zero counts, and
// a record with zero counts encodes as before.
func TestReplicaStateCountsOnTheWire(t *testing.T) {
	rs := validReplicaState()
	b := mustEncode(t, rs)
	for _, f := range []string{"lost", "errors", "preemptions"} {
		if bytes.Contains(b, []byte(`"`+f+`"`)) {
			t.Errorf("zero %s encoded: %s", f, b)
		}
	}
	old, err := DecodeReplicaState(b)
	if err != nil || old.Lost != 0 || old.Errors != 0 || old.Preemptions != 0 {
		t.Fatalf("decoding a record without counts: %+v, %v", old, err)
	}
	rs.Lost, rs.Errors, rs.Preemptions = 1, 2, 3
	got, err := DecodeReplicaState(mustEncode(t, rs))
	if err != nil || got.Lost != 1 || got.Errors != 2 || got.Preemptions != 3 {
		t.Fatalf("round trip of the counts: %+v, %v", got, err)
	}
	neg := bytes.Replace(mustEncode(t, rs), []byte(`"errors":2`), []byte(`"errors":-2`), 1)
	if _, err := DecodeReplicaState(neg); err == nil || !strings.Contains(err.Error(), "errors -2") {
		t.Errorf("a negative count decoded: %v", err)
	}
}
