package protocol

import (
	"strings"
	"testing"
)

var allStates = []State{StatePending, StateRunning, StatePreempted, StateDone, StateFailed, StateCancelled}

// TestCanTransition checks the whole state machine: every pair of states,
// plus unknown states on either side.
func TestCanTransition(t *testing.T) {
	// allowed[from] lists the states from may move to; every other pair is
	// refused.
	allowed := map[State][]State{
		StatePending:   {StateRunning, StateFailed, StateCancelled},
		StateRunning:   {StateRunning, StatePreempted, StateDone, StateFailed, StateCancelled},
		StatePreempted: {StateRunning, StateFailed, StateCancelled},
		StateDone:      nil,
		StateFailed:    {StatePending},
		StateCancelled: {StatePending},
	}
	for _, from := range allStates {
		for _, to := range allStates {
			want := false
			for _, s := range allowed[from] {
				want = want || s == to
			}
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, s := range allStates {
		for _, bad := range []State{"", "paused", "Running"} {
			if CanTransition(s, bad) || CanTransition(bad, s) {
				t.Errorf("a transition between %q and %q is allowed", s, bad)
			}
		}
	}
}

func TestStateTerminal(t *testing.T) {
	want := map[State]bool{StateDone: true, StateFailed: true, StateCancelled: true}
	for _, s := range allStates {
		if !s.Valid() {
			t.Errorf("%s is not valid", s)
		}
		if got := s.Terminal(); got != want[s] {
			t.Errorf("%s.Terminal() = %v", s, got)
		}
		// A terminal state never leads anywhere but back to pending.
		if s.Terminal() {
			for _, to := range allStates {
				if CanTransition(s, to) && to != StatePending {
					t.Errorf("terminal %s → %s is allowed", s, to)
				}
			}
		}
	}
	if State("paused").Valid() || State("").Valid() {
		t.Error("undefined states are valid")
	}
}

func TestCheckTransition(t *testing.T) {
	st := func(s State, attempt int, worker string) ReplicaState {
		return ReplicaState{State: s, Attempt: attempt, Worker: worker}
	}
	tests := []struct {
		name     string
		from, to ReplicaState
		code     Code // CodeUnknown: allowed
		want     string
	}{
		{"first start", st(StatePending, 0, ""), st(StateRunning, 1, "w1"), CodeUnknown, ""},
		{"start after resume", st(StatePending, 3, "w1"), st(StateRunning, 4, "w2"), CodeUnknown, ""},
		{"progress", st(StateRunning, 2, "w1"), st(StateRunning, 2, "w1"), CodeUnknown, ""},
		{"takeover", st(StateRunning, 2, "w1"), st(StateRunning, 3, "w2"), CodeUnknown, ""},
		{"preempt", st(StateRunning, 2, "w1"), st(StatePreempted, 2, "w1"), CodeUnknown, ""},
		{"resume preempted", st(StatePreempted, 2, "w1"), st(StateRunning, 3, "w2"), CodeUnknown, ""},
		{"done", st(StateRunning, 2, "w1"), st(StateDone, 2, "w1"), CodeUnknown, ""},
		{"failed", st(StateRunning, 1, "w1"), st(StateFailed, 1, "w1"), CodeUnknown, ""},
		{"max deliver before start", st(StatePending, 0, ""), st(StateFailed, 0, ""), CodeUnknown, ""},
		{"cancel", st(StatePreempted, 1, "w1"), st(StateCancelled, 1, "w1"), CodeUnknown, ""},
		{"resume failed", st(StateFailed, 5, "w1"), st(StatePending, 5, "w1"), CodeUnknown, ""},
		{"resume cancelled", st(StateCancelled, 1, ""), st(StatePending, 1, ""), CodeUnknown, ""},

		{"done is final", st(StateDone, 1, "w1"), st(StateRunning, 2, "w2"), CodeInvalid, `"done" → "running" is not allowed`},
		{"pending to done", st(StatePending, 0, ""), st(StateDone, 0, ""), CodeInvalid, `"pending" → "done" is not allowed`},
		{"unknown state", st(StateRunning, 1, "w1"), st("paused", 1, "w1"), CodeInvalid, `"running" → "paused" is not allowed`},
		{"zombie done", st(StateRunning, 3, "w2"), st(StateDone, 2, "w1"), CodeStale, "attempt 2 is older than the stored attempt 3"},
		{"zombie progress", st(StateRunning, 3, "w2"), st(StateRunning, 2, "w1"), CodeStale, "attempt 2 is older than the stored attempt 3"},
		{"zombie preempt", st(StateRunning, 3, "w2"), st(StatePreempted, 2, "w1"), CodeStale, "older than the stored attempt 3"},
		{"attempt theft", st(StateRunning, 3, "w2"), st(StateRunning, 3, "w1"), CodeStale, `attempt 3 belongs to worker "w2", not "w1"`},
		{"start without increment", st(StatePending, 1, ""), st(StateRunning, 1, "w1"), CodeInvalid, "a new attempt must be 2, got 1"},
		{"start skipping", st(StatePreempted, 1, "w1"), st(StateRunning, 3, "w1"), CodeInvalid, "a new attempt must be 2, got 3"},
		{"done with new attempt", st(StateRunning, 1, "w1"), st(StateDone, 2, "w1"), CodeInvalid, "running → done must keep attempt 1, got 2"},
		{"resume with new attempt", st(StateFailed, 1, "w1"), st(StatePending, 2, ""), CodeInvalid, "failed → pending must keep attempt 1, got 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTransition(tt.from, tt.to)
			if tt.code == CodeUnknown {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := checkCode(t, err, tt.code)
			if !strings.HasPrefix(e.Message, "protocol: replica transition: ") || !strings.Contains(e.Message, tt.want) {
				t.Errorf("error %q does not contain %q", e.Message, tt.want)
			}
		})
	}
}

func TestSweepStatus(t *testing.T) {
	for _, s := range []SweepStatus{SweepRunning, SweepCancelled, SweepDone} {
		if !s.Valid() {
			t.Errorf("%s is not valid", s)
		}
	}
	if SweepStatus("paused").Valid() {
		t.Error("paused is valid")
	}
	for _, k := range []EventKind{EventProgress, EventTraj, EventResult, EventFailure} {
		if !k.Valid() {
			t.Errorf("%s is not valid", k)
		}
	}
	if EventKind("done").Valid() || ResultStatus("failed").Valid() {
		t.Error("undefined kinds are valid")
	}
}
