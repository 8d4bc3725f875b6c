package coordinator

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/heatbath/heatbath/protocol"
)

// The live feed's state, without NATS: records and progress events go in
// with the server's time of each, snapshots come out.

type feedHarness struct {
	t *testing.T
	f *feedState
}

func newFeedHarness(t *testing.T, n int) *feedHarness {
	return &feedHarness{t: t, f: newFeedState(testSweep(n))}
}

// record feeds replica id's record st, written at t0+at.
func (h *feedHarness) record(id string, st protocol.ReplicaState, at time.Duration) bool {
	h.t.Helper()
	st.Steps = testSteps
	st.Updated = t0.Add(at)
	key, _ := protocol.ReplicaKey("s1", id)
	return h.f.record(key, encode(h.t, &st), t0.Add(at))
}

// progress feeds a progress event of replica id, stored at t0+at.
func (h *feedHarness) progress(id string, attempt int, worker string, step int64, at time.Duration) bool {
	h.t.Helper()
	p := &protocol.Progress{Sweep: "s1", Replica: id, Attempt: attempt, Worker: worker, Step: step, Steps: testSteps,
		Metrics: map[string]float64{"train_loss": float64(step)}}
	return h.f.progress(subject(h.t, id, protocol.EventProgress), encode(h.t, p), t0.Add(at))
}

func (h *feedHarness) snap() *FeedSnapshot { return h.f.snapshot(t0.Add(time.Hour)) }

func (h *feedHarness) replica(id string) FeedReplica {
	h.t.Helper()
	for _, r := range h.snap().Replicas {
		if r.ID == id {
			return r
		}
	}
	h.t.Fatalf("replica %s not in the snapshot", id)
	return FeedReplica{}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func wantETA(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil || !near(*got, want) {
		t.Errorf("%s: ETA %v, want %v s", what, deref(got), want)
	}
}

func deref(p *float64) any {
	if p == nil {
		return "unknown"
	}
	return *p
}

// TestFeedStepBeforeCheckpoint: the step a snapshot shows comes from the
// progress events, not only from the record (which moves at checkpoints):
// a running replica whose record still says step 0 shows the step of its
// latest progress event, with its worker and metrics.
func TestFeedStepBeforeCheckpoint(t *testing.T) {
	h := newFeedHarness(t, 2)
	h.record("r0", running(1, "w1"), 0)
	h.record("r1", protocol.ReplicaState{State: protocol.StatePending}, 0)
	if !h.progress("r0", 1, "w1", 150, 3*time.Second) {
		t.Fatal("progress event of the running attempt not used")
	}
	r := h.replica("r0")
	if r.Step != 150 || r.State != protocol.StateRunning || r.Worker != "w1" || r.Attempt != 1 || r.Metrics["train_loss"] != 150 {
		t.Errorf("r0: %+v, want running, attempt 1, worker w1, step 150 with its metrics", r)
	}
	s := h.snap()
	if s.StepsDone != 150 || s.StepsTotal != 2*testSteps || s.Counts[protocol.StateRunning] != 1 || s.Counts[protocol.StatePending] != 1 {
		t.Errorf("sweep: %d/%d steps, counts %v; want 150/%d, 1 running, 1 pending", s.StepsDone, s.StepsTotal, s.Counts, 2*testSteps)
	}
	if len(s.Counts) != 6 {
		t.Errorf("counts %v: want every state listed", s.Counts)
	}
}

// TestFeedProgressOutOfOrder: events that arrive late (a lower step), twice,
// or from an attempt older than the record's move neither the step nor the
// rate; an event of a newer attempt than the record's (the record comes
// later) starts that attempt's pace afresh.
func TestFeedProgressOutOfOrder(t *testing.T) {
	h := newFeedHarness(t, 1)
	h.record("r0", running(1, "w1"), 0)
	h.progress("r0", 1, "w1", 100, 1*time.Second)
	h.progress("r0", 1, "w1", 300, 3*time.Second)
	if h.progress("r0", 1, "w1", 200, 2*time.Second) {
		t.Error("a late event (step 200 after 300) was used")
	}
	if h.progress("r0", 1, "w1", 300, 3*time.Second) {
		t.Error("a repeated event was used")
	}
	r := h.replica("r0")
	if r.Step != 300 || !near(r.StepsPerSecond, 100) {
		t.Errorf("after a late and a repeated event: step %d at %v steps/s, want 300 at 100", r.Step, r.StepsPerSecond)
	}
	wantETA(t, "r0", r.ETASeconds, 1)

	// Attempt 2 is announced by its progress before its record.
	if !h.progress("r0", 2, "w2", 120, 10*time.Second) {
		t.Fatal("progress of a newer attempt not used")
	}
	r = h.replica("r0")
	if r.Attempt != 2 || r.Worker != "w2" || r.Step != 120 || r.StepsPerSecond != 0 {
		t.Errorf("new attempt: %+v, want attempt 2 on w2 at step 120 with no rate yet", r)
	}
	if h.progress("r0", 1, "w1", 390, 11*time.Second) {
		t.Error("an event of the superseded attempt 1 was used")
	}
	// Its record (resumed from a checkpoint at step 100, written at 9 s)
	// arrives late: it neither moves the step back nor adds a point.
	st := running(2, "w2")
	st.Step = 100
	h.record("r0", st, 9*time.Second)
	if r = h.replica("r0"); r.Step != 120 || r.StepsPerSecond != 0 {
		t.Errorf("after the late record: step %d at %v steps/s, want 120 and no rate", r.Step, r.StepsPerSecond)
	}
	h.progress("r0", 2, "w2", 220, 12*time.Second)
	if r = h.replica("r0"); r.Step != 220 || !near(r.StepsPerSecond, 50) {
		t.Errorf("attempt 2: step %d at %v steps/s, want 220 at 50 (its own points only)", r.Step, r.StepsPerSecond)
	}
}

// TestFeedRecordTerminal: a record that goes done ends the replica's rate
// and ETA (done: step = steps, ETA 0); a failed one keeps its step and
// error; progress of the ended attempt arriving afterwards changes
// nothing; a sweep whose replicas are all finished has ETA 0.
func TestFeedRecordTerminal(t *testing.T) {
	h := newFeedHarness(t, 2)
	h.record("r0", running(1, "w1"), 0)
	h.record("r1", running(1, "w2"), 0)
	h.progress("r0", 1, "w1", 200, 2*time.Second)
	h.progress("r1", 1, "w2", 50, 2*time.Second)
	fin := done(1)
	fin.Step = 0 // a done record means all steps, whatever step it carries
	h.record("r0", fin, 4*time.Second)
	h.record("r1", failedState(1, "w2", protocol.CodeDiverged, "loss is NaN", 50), 3*time.Second)
	if h.progress("r0", 1, "w1", 300, 3*time.Second) {
		t.Error("progress of an attempt whose record is done was used")
	}
	if h.progress("r1", 1, "w2", 80, 4*time.Second) {
		t.Error("progress of an attempt whose record is failed was used")
	}
	r0, r1 := h.replica("r0"), h.replica("r1")
	if r0.State != protocol.StateDone || r0.Step != testSteps || r0.StepsPerSecond != 0 {
		t.Errorf("done replica: %+v, want done at step %d with no rate", r0, testSteps)
	}
	wantETA(t, "done replica", r0.ETASeconds, 0)
	if r1.State != protocol.StateFailed || r1.Step != 50 || r1.StepsPerSecond != 0 || r1.ETASeconds != nil || r1.ErrorCode != "diverged" || r1.Error != "loss is NaN" {
		t.Errorf("failed replica: %+v, want failed at step 50, no rate or ETA, its error", r1)
	}
	s := h.snap()
	if s.Finished() != 2 || s.Diverged != 1 || s.StepsPerSecond != 0 || s.StepsDone != testSteps+50 {
		t.Errorf("sweep: %d finished, %d diverged, %v steps/s, %d steps done", s.Finished(), s.Diverged, s.StepsPerSecond, s.StepsDone)
	}
	wantETA(t, "finished sweep", s.ETASeconds, 0)
}

// TestFeedETA: a replica's ETA is its remaining steps at its rate, measured
// between points of its attempt (the record's start counts as one); the
// sweep's is the unfinished replicas' remaining steps (pending ones too)
// at the sum of the running replicas' rates; unknown before any rate.
func TestFeedETA(t *testing.T) {
	h := newFeedHarness(t, 3)
	h.record("r0", running(1, "w1"), 0)
	h.record("r1", running(1, "w2"), 0)
	h.record("r2", protocol.ReplicaState{State: protocol.StatePending}, 0)
	if s := h.snap(); s.ETASeconds != nil || s.StepsPerSecond != 0 {
		t.Errorf("no progress yet: ETA %v at %v steps/s, want unknown", deref(s.ETASeconds), s.StepsPerSecond)
	}
	h.progress("r0", 1, "w1", 100, 2*time.Second) // 50 steps/s from the record's start
	h.progress("r1", 1, "w2", 30, 1*time.Second)
	h.progress("r1", 1, "w2", 80, 2*time.Second) // 40 steps/s over its points
	r0, r1 := h.replica("r0"), h.replica("r1")
	if !near(r0.StepsPerSecond, 50) || !near(r1.StepsPerSecond, 40) {
		t.Errorf("rates %v and %v, want 50 and 40", r0.StepsPerSecond, r1.StepsPerSecond)
	}
	wantETA(t, "r0", r0.ETASeconds, float64(testSteps-100)/50)
	wantETA(t, "r1", r1.ETASeconds, float64(testSteps-80)/40)
	s := h.snap()
	if !near(s.StepsPerSecond, 90) {
		t.Errorf("sweep rate %v, want 90", s.StepsPerSecond)
	}
	wantETA(t, "sweep", s.ETASeconds, float64(3*testSteps-100-80)/90)
	if s.Replicas[2].ETASeconds != nil {
		t.Errorf("pending replica has ETA %v, want unknown", *s.Replicas[2].ETASeconds)
	}

	// The rate follows the last minute: after a slow stretch older than
	// the window, only the recent pace counts.
	h.progress("r0", 1, "w1", 110, 100*time.Second)
	h.progress("r0", 1, "w1", 210, 101*time.Second)
	h.progress("r0", 1, "w1", 310, 102*time.Second)
	if r := h.replica("r0"); !near(r.StepsPerSecond, 100) {
		t.Errorf("rate %v after a stall: want the last minute's pace, 100 steps/s", r.StepsPerSecond)
	}
}

// TestFeedIgnoresForeignInput: keys and events of another sweep or of an
// unknown replica, undecodable values and other event kinds are not used.
func TestFeedIgnoresForeignInput(t *testing.T) {
	h := newFeedHarness(t, 1)
	st := running(1, "w1")
	st.Updated = t0
	b := encode(t, &st)
	if h.f.record("s2.r0", b, t0) || h.f.record("s1.r9", b, t0) || h.f.record("s1.r0", []byte("{"), t0) || h.f.record("bad key", b, t0) {
		t.Error("a foreign or undecodable record was used")
	}
	p := encode(t, &protocol.Progress{Sweep: "s1", Replica: "r0", Attempt: 1, Worker: "w1", Step: 5, Steps: testSteps})
	if h.f.progress("hb.evt.s2.r0.progress", p, t0) || h.f.progress(subject(t, "r0", protocol.EventTraj), p, t0) ||
		h.f.progress(subject(t, "r1", protocol.EventProgress), p, t0) || h.f.progress(subject(t, "r0", protocol.EventProgress), []byte("x"), t0) {
		t.Error("a foreign, misdirected or undecodable event was used")
	}
	if r := h.replica("r0"); r.State != "" || r.Step != 0 {
		t.Errorf("replica moved by foreign input: %+v", r)
	}
}

// curveSteps returns the steps of a replica's curve in the snapshot.
func curveSteps(r FeedReplica) []int64 {
	var steps []int64
	for _, p := range r.Curve {
		steps = append(steps, p.Step)
	}
	return steps
}

// TestFeedCurve: the progress events make a replica's learning curve, in
// step order, without repeats or events of an older attempt; a new attempt
// that resumes from a checkpoint drops the points beyond it; a snapshot
// taken earlier keeps its curve when the state moves on; and a long curve
// is thinned to at most maxCurve points, keeping the first and the latest.
func TestFeedCurve(t *testing.T) {
	h := newFeedHarness(t, 1)
	h.record("r0", protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w1"}, 0)
	for i, step := range []int64{100, 200, 200, 150, 300} {
		h.progress("r0", 1, "w1", step, time.Duration(i+1)*time.Second)
	}
	before := h.snap()
	if got := curveSteps(before.Replicas[0]); !slices.Equal(got, []int64{100, 200, 300}) {
		t.Fatalf("curve steps %v, want [100 200 300]", got)
	}
	if v := before.Replicas[0].Curve[1].Metrics["train_loss"]; v != 200 {
		t.Errorf("train_loss at step 200 is %v, want 200", v)
	}
	// Attempt 2 resumes from the checkpoint at step 200: the point at 300
	// was the lost attempt's.
	h.record("r0", protocol.ReplicaState{State: protocol.StateRunning, Attempt: 2, Worker: "w2", Step: 200}, 10*time.Second)
	h.progress("r0", 1, "w1", 400, 11*time.Second) // the old attempt, late
	second := func(step int64, at time.Duration) {
		p := &protocol.Progress{Sweep: "s1", Replica: "r0", Attempt: 2, Worker: "w2", Step: step, Steps: testSteps,
			Metrics: map[string]float64{"train_loss": -float64(step)}}
		h.f.progress(subject(t, "r0", protocol.EventProgress), encode(t, p), t0.Add(at))
	}
	second(250, 12*time.Second)
	second(300, 13*time.Second)
	now := h.replica("r0")
	if got := curveSteps(now); !slices.Equal(got, []int64{100, 200, 250, 300}) {
		t.Errorf("after the new attempt: curve steps %v, want [100 200 250 300]", got)
	} else if now.Curve[3].Metrics["train_loss"] != -300 || now.Curve[1].Metrics["train_loss"] != 200 {
		t.Errorf("after the new attempt: %v; want attempt 1's point at 200 and attempt 2's at 300", now.Curve)
	}
	if got := curveSteps(before.Replicas[0]); !slices.Equal(got, []int64{100, 200, 300}) {
		t.Errorf("the earlier snapshot's curve changed to %v", got)
	}

	// Thinning.
	h = newFeedHarness(t, 1)
	h.record("r0", protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w1"}, 0)
	const n = 3 * maxCurve
	for i := 1; i <= n; i++ {
		p := &protocol.Progress{Sweep: "s1", Replica: "r0", Attempt: 1, Worker: "w1", Step: int64(i), Steps: n,
			Metrics: map[string]float64{"train_loss": float64(i)}}
		h.f.progress(subject(t, "r0", protocol.EventProgress), encode(t, p), t0.Add(time.Duration(i)*time.Second))
	}
	steps := curveSteps(h.replica("r0"))
	if len(steps) > maxCurve || len(steps) < maxCurve/4 || steps[0] != 1 || steps[len(steps)-1] != n {
		t.Errorf("thinned curve: %d points from %v to %v; want at most %d, from 1 to %d", len(steps), steps[0], steps[len(steps)-1], maxCurve, n)
	}
	if !slices.IsSorted(steps) {
		t.Errorf("thinned curve out of order")
	}
}
