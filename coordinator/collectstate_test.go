package coordinator

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// The collector's decisions, without NATS: each case feeds collectState a
// sequence of inputs (events, records, the outcomes of the effects it asked
// for, ticks) and checks the actions it returns at every step.

const testSteps = 400 // every test replica's step budget; rows every 100 steps

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func testSweep(n int) *Sweep {
	s := &Sweep{ID: "s1", Name: "test", SpecHash: "h1", Created: t0}
	for i := range n {
		s.Replicas = append(s.Replicas, Replica{ID: fmt.Sprintf("r%d", i), Index: i, Group: "method=adam",
			Settings: map[string]string{"method": "adam", "seed": strconv.Itoa(i + 1)}, Seed: uint64(i + 1),
			Config: protocol.ReplicaConfig{Steps: testSteps}})
	}
	return s
}

// harness drives a collectState and plays the loop's part for the effects
// that need no answer from the test: rows are appended to an in-memory
// trajectory (checked for holes and repeats), failure.json and table
// writes succeed. Reads of the bucket and result writes stay pending until
// the test completes them.
type harness struct {
	t        *testing.T
	s        *collectState
	now      time.Time
	bucket   map[string]*protocol.ReplicaState // what a readRecord reads
	pending  []action                          // readRecord and writeResult in flight
	rows     map[string][]int64
	failures map[string]rundir.Failure
	results  map[string][]byte // result.json written, by replica
	tables   []time.Time       // when replicas.csv was written
}

func newHarness(t *testing.T, n int) *harness {
	return &harness{t: t, s: newCollectState(testSweep(n)), now: t0, bucket: map[string]*protocol.ReplicaState{},
		rows: map[string][]int64{}, failures: map[string]rundir.Failure{}, results: map[string][]byte{}}
}

// perform plays the effects of acts that need no answer, feeding their
// outcomes back, and returns acts with the follow-ups.
func (h *harness) perform(acts []action) []action {
	h.t.Helper()
	var out []action
	for _, a := range acts {
		out = append(out, a)
		switch a := a.(type) {
		case appendRows:
			have := h.rows[a.replica]
			last := int64(-1)
			if len(have) > 0 {
				last = have[len(have)-1]
			}
			if a.last != last {
				h.t.Fatalf("append to %s after step %d, but the file ends at %d", a.replica, a.last, last)
			}
			for _, r := range a.rows {
				step := int64(r[0])
				if step != max(last, 0)+100 {
					h.t.Fatalf("append to %s: step %d after %d leaves a hole or repeats a row", a.replica, step, last)
				}
				have, last = append(have, step), step
			}
			h.rows[a.replica] = have
		case writeFailure:
			h.failures[a.replica] = a.failure
			out = append(out, h.perform(h.s.failureWritten(a, nil, h.now))...)
		case removeFailure:
			delete(h.failures, a.replica)
		case writeTable:
			h.tables = append(h.tables, h.now)
			out = append(out, h.perform(h.s.tableWritten(nil))...)
		case readRecord, writeResult:
			h.pending = append(h.pending, a)
		}
	}
	return out
}

// complete finishes the oldest pending readRecord or writeResult, with err
// as its outcome.
func (h *harness) complete(err error) []action {
	h.t.Helper()
	if len(h.pending) == 0 {
		h.t.Fatal("no effect in flight to complete")
	}
	a := h.pending[0]
	h.pending = h.pending[1:]
	switch a := a.(type) {
	case readRecord:
		return h.perform(h.s.recordRead(a.res, h.bucket[a.res.Replica], err))
	case writeResult:
		var res []byte
		if err == nil {
			res = a.files[rundir.FileResult]
			if res == nil && len(a.objects) > 0 {
				res = resultJSON(rundir.StatusDone, 0)
			}
			h.results[a.replica] = res
		}
		return h.perform(h.s.resultWritten(a, res, err, h.now))
	}
	h.t.Fatalf("cannot complete %T", a)
	return nil
}

func (h *harness) event(subject string, data []byte) []action {
	return h.perform(h.s.event(subject, data, 1))
}

func (h *harness) tick(d time.Duration) []action {
	h.now = h.now.Add(d)
	return h.perform(h.s.tick(h.now))
}

// record delivers a record of replica id from the watch (and makes it what
// the bucket holds).
func (h *harness) record(id string, st protocol.ReplicaState) []action {
	h.t.Helper()
	st.Steps = testSteps
	if st.Updated.IsZero() {
		st.Updated = h.now
	}
	h.bucket[id] = &st
	key, _ := protocol.ReplicaKey("s1", id)
	b, err := protocol.Encode(&st)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.perform(h.s.record(key, b))
}

func running(attempt int, worker string) protocol.ReplicaState {
	return protocol.ReplicaState{State: protocol.StateRunning, Attempt: attempt, Worker: worker}
}

func done(attempt int) protocol.ReplicaState {
	return protocol.ReplicaState{State: protocol.StateDone, Attempt: attempt, Worker: "w1", Step: testSteps}
}

func failedState(attempt int, worker string, code protocol.Code, msg string, step int64) protocol.ReplicaState {
	return protocol.ReplicaState{State: protocol.StateFailed, Attempt: attempt, Worker: worker, ErrorCode: code, Error: msg, Step: step}
}

func subject(t *testing.T, id string, kind protocol.EventKind) string {
	s, err := protocol.EventSubject("s1", id, kind)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func encode(t *testing.T, m protocol.Message) []byte {
	t.Helper()
	b, err := protocol.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chunk returns a trajectory chunk of replica id: the row before it at
// step after, then rows at steps.
func (h *harness) chunk(id string, after int64, steps ...int64) (string, []byte) {
	ch := &protocol.TrajChunk{Sweep: "s1", Replica: id, Attempt: 1, After: after, Columns: []string{"step", "train_loss"}}
	for _, s := range steps {
		ch.Rows = append(ch.Rows, []float64{float64(s), 0.5})
	}
	return subject(h.t, id, protocol.EventTraj), encode(h.t, ch)
}

func resultJSON(status string, divergedAt int64) []byte {
	v := 0.25
	r := rundir.Result{Version: rundir.ResultVersion, Status: status, Steps: testSteps, DivergedAt: divergedAt,
		Final: rundir.Metrics{Step: testSteps, TrainLoss: &v}, Best: rundir.Metrics{Step: 200, ValLoss: &v}}
	if divergedAt > 0 {
		r.Steps = divergedAt
	}
	b, _ := json.Marshal(&r)
	return b
}

// result returns a result event of replica id's attempt, its files inline.
func (h *harness) result(id string, attempt int, worker string, resJSON []byte) (string, []byte) {
	status := protocol.ResultDone
	var r rundir.Result
	json.Unmarshal(resJSON, &r)
	if r.Status == rundir.StatusDiverged {
		status = protocol.ResultDiverged
	}
	res := &protocol.Result{Sweep: "s1", Replica: id, Attempt: attempt, Worker: worker, Status: status,
		Files: []protocol.InlineFile{{File: rundir.FileParams, Data: []byte("params")}, {File: rundir.FileResult, Data: resJSON}}}
	return subject(h.t, id, protocol.EventResult), encode(h.t, res)
}

func (h *harness) failure(id string, attempt int, worker string, code protocol.Code, msg string, step int64) (string, []byte) {
	f := &protocol.Failure{Sweep: "s1", Replica: id, Attempt: attempt, Worker: worker, Code: code, Message: msg, Step: step}
	return subject(h.t, id, protocol.EventFailure), encode(h.t, f)
}

// describe names actions for comparison; debug log lines are left out.
func describe(acts []action) []string {
	out := []string{}
	for _, a := range acts {
		var d string
		switch a := a.(type) {
		case logMsg:
			if a.level == hclog.Debug {
				continue
			}
			d = strings.ToLower(a.level.String()) + ": " + a.msg
		case ack:
			d = "ack"
		case nak:
			d = "nak " + a.delay.String()
		case term:
			d = "term"
		case appendRows:
			var steps []string
			for _, r := range a.rows {
				steps = append(steps, strconv.FormatInt(int64(r[0]), 10))
			}
			d = fmt.Sprintf("append %s after %d: %s", a.replica, a.last, strings.Join(steps, " "))
		case readRecord:
			d = fmt.Sprintf("read %s for #%d", a.res.Replica, a.res.Attempt)
		case writeResult:
			d = fmt.Sprintf("write %s #%d from %s", a.replica, a.attempt, [...]string{"event", "replay", "store"}[a.source])
		case writeFailure:
			d = fmt.Sprintf("failure.json %s %s", a.replica, a.failure.Code)
		case removeFailure:
			d = "remove failure.json " + a.replica
		case writeTable:
			d = "table"
		case queryDrained:
			d = "drained?"
		case replay:
			d = "replay " + a.replica
		case reconcile:
			d = "reconcile " + a.replica
		case finish:
			d = "finish"
		default:
			d = fmt.Sprintf("%T", a)
		}
		out = append(out, d)
	}
	return out
}

// want checks the actions of one step.
func want(t *testing.T, step string, acts []action, wants ...string) {
	t.Helper()
	if wants == nil {
		wants = []string{}
	}
	if got := describe(acts); !slices.Equal(got, wants) {
		t.Fatalf("%s:\n got %q\nwant %q", step, got, wants)
	}
}

// finishes checks that the collection is finished now and returns the
// summary.
func (h *harness) finishes() *rundir.Summary {
	h.t.Helper()
	acts := h.s.done()
	want(h.t, "done", acts, "finish")
	return acts[0].(finish).summary
}

func (h *harness) notFinished(why string) {
	h.t.Helper()
	want(h.t, "done ("+why+")", h.s.done())
}

// TestCollectOrdering runs every event-ordering case of the collector.
func TestCollectOrdering(t *testing.T) {
	errDisk := errors.New("disk full")
	// Each case has replicas r0 and r1; r1 is recorded cancelled first
	// unless the case says own (it then records every replica itself), so
	// that r0 alone holds the collection open.
	cases := []struct {
		name string
		own  bool
		run  func(t *testing.T, h *harness)
	}{
		{"chunks in order are appended and acked", false, func(t *testing.T, h *harness) {
			want(t, "first", h.event(h.chunk("r0", -1, 100, 200)), "append r0 after -1: 100 200", "ack")
			want(t, "next", h.event(h.chunk("r0", 200, 300, 400)), "append r0 after 200: 300 400", "ack")
		}},
		{"gap: a chunk ahead of the file is taken again later, not appended", false, func(t *testing.T, h *harness) {
			want(t, "ahead", h.event(h.chunk("r0", 200, 300, 400)), "nak 200ms")
			subj, data := h.chunk("r0", 200, 300, 400)
			want(t, "ahead, 50th delivery", h.perform(h.s.event(subj, data, 50)),
				"warn: trajectory chunk ahead of the file; taking it later", "nak 200ms")
			want(t, "the missing chunk", h.event(h.chunk("r0", -1, 100, 200)), "append r0 after -1: 100 200", "ack")
			want(t, "redelivered", h.event(h.chunk("r0", 200, 300, 400)), "append r0 after 200: 300 400", "ack")
		}},
		{"redelivery: rows already written are skipped", false, func(t *testing.T, h *harness) {
			h.event(h.chunk("r0", -1, 100, 200))
			want(t, "same chunk again", h.event(h.chunk("r0", -1, 100, 200)), "ack")
			// A resumed attempt resends the rows after its checkpoint.
			want(t, "overlapping chunk", h.event(h.chunk("r0", 100, 200, 300)), "append r0 after 200: 300", "ack")
		}},
		{"out-of-order chunks and a result before the last of them", false, func(t *testing.T, h *harness) {
			h.record("r0", running(1, "w1"))
			want(t, "third chunk first", h.event(h.chunk("r0", 300, 400)), "nak 200ms")
			want(t, "first chunk", h.event(h.chunk("r0", -1, 100, 200)), "append r0 after -1: 100 200", "ack")
			want(t, "result", h.event(h.result("r0", 1, "w1", resultJSON("done", 0))), "write r0 #1 from event")
			want(t, "files written", h.complete(nil), "ack")
			want(t, "recorded done", h.record("r0", done(1)))
			h.notFinished("rows 300 and 400 missing")
			want(t, "third chunk again", h.event(h.chunk("r0", 300, 400)), "nak 200ms")
			want(t, "second chunk", h.event(h.chunk("r0", 200, 300)), "append r0 after 200: 300", "ack")
			h.notFinished("row 400 missing")
			want(t, "third chunk again", h.event(h.chunk("r0", 300, 400)), "append r0 after 300: 400", "ack")
			if sum := h.finishes(); sum.Counts["done"] != 1 {
				t.Errorf("counts %v", sum.Counts)
			}
		}},
		{"duplicate result is acked without writing again", false, func(t *testing.T, h *harness) {
			h.record("r0", running(1, "w1"))
			want(t, "result", h.event(h.result("r0", 1, "w1", resultJSON("done", 0))), "write r0 #1 from event")
			want(t, "written", h.complete(nil), "ack")
			want(t, "the same result again", h.event(h.result("r0", 1, "w1", resultJSON("done", 0))), "ack")
		}},
		{"stale result of an older attempt is ignored and acked", false, func(t *testing.T, h *harness) {
			h.record("r0", running(2, "newer"))
			want(t, "zombie's result", h.event(h.result("r0", 1, "zombie", resultJSON("done", 0))),
				"warn: stale result ignored", "ack")
			if len(h.pending) != 0 {
				t.Fatal("a stale result was written")
			}
		}},
		{"result ahead of its record: read the record, nak while it lags", true, func(t *testing.T, h *harness) {
			want(t, "result before any record", h.event(h.result("r0", 1, "w1", resultJSON("done", 0))), "read r0 for #1")
			h.bucket["r0"] = &protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w1"}
			want(t, "record read", h.complete(nil), "write r0 #1 from event")
			want(t, "written", h.complete(nil), "ack")

			h.record("r1", running(1, "w1"))
			want(t, "result of attempt 2", h.event(h.result("r1", 2, "w2", resultJSON("done", 0))), "read r1 for #2")
			h.bucket["r1"] = &protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w1"} // a lagging replica
			want(t, "record read still at attempt 1", h.complete(nil), "nak 200ms")
			want(t, "redelivered", h.event(h.result("r1", 2, "w2", resultJSON("done", 0))), "read r1 for #2")
			want(t, "read fails", h.complete(errDisk), "warn: cannot read the replica's record; will retry", "nak 1s")
			want(t, "redelivered", h.event(h.result("r1", 2, "w2", resultJSON("done", 0))), "read r1 for #2")
			h.bucket["r1"] = &protocol.ReplicaState{State: protocol.StateDone, Attempt: 2, Worker: "w2"}
			want(t, "record read at attempt 2", h.complete(nil), "write r1 #2 from event")
			want(t, "written", h.complete(nil), "ack")
		}},
		{"a result write that fails is taken again and holds the finish back", false, func(t *testing.T, h *harness) {
			h.s.loadDisk("r0", testSteps, nil, false)
			h.record("r0", done(1))
			want(t, "result", h.event(h.result("r0", 1, "w1", resultJSON("done", 0))), "write r0 #1 from event")
			h.notFinished("write in flight")
			want(t, "write fails", h.complete(errDisk), "error: cannot fetch the replica's files; will retry", "nak 1s")
			h.notFinished("no files")
			want(t, "redelivered", h.event(h.result("r0", 1, "w1", resultJSON("done", 0))), "write r0 #1 from event")
			want(t, "written", h.complete(nil), "ack")
			h.finishes()
		}},
		{"finish waits for a write in flight", false, func(t *testing.T, h *harness) {
			// The run directory has the replica (a restarted collector), and
			// the result event comes again: its files are written again.
			h.s.loadDisk("r0", testSteps, &rundir.Result{Status: rundir.StatusDone, Steps: testSteps}, false)
			want(t, "result", h.event(h.result("r0", 1, "w1", resultJSON("done", 0))), "read r0 for #1")
			want(t, "recorded done", h.record("r0", done(1)))
			h.notFinished("record read in flight")
			want(t, "record read", h.complete(nil), "write r0 #1 from event")
			h.notFinished("write in flight")
			want(t, "written", h.complete(nil), "ack")
			h.finishes()
		}},
		{"an append that fails naks the chunk and rewinds to the file", false, func(t *testing.T, h *harness) {
			want(t, "chunk", h.event(h.chunk("r0", -1, 100, 200)), "append r0 after -1: 100 200", "ack")
			h.rows["r0"] = nil // the write did not happen
			want(t, "append failed", h.perform(h.s.appendFailed("r0", -1, errDisk)), "error: cannot write trajectory; will retry", "nak 1s")
			want(t, "next chunk is now ahead", h.event(h.chunk("r0", 200, 300)), "nak 200ms")
			want(t, "redelivered", h.event(h.chunk("r0", -1, 100, 200)), "append r0 after -1: 100 200", "ack")
		}},
		{"failure event, then the record: failure.json with the event's worker", false, func(t *testing.T, h *harness) {
			// A worker that cannot decode a task fails a replica that never
			// started (attempt 0, no worker on record).
			want(t, "failure event", h.event(h.failure("r0", 1, "w9", protocol.CodeMalformed, "bad task", 0)), "warn: replica failed", "ack")
			if len(h.failures) != 0 {
				t.Fatal("failure.json written before the record said failed")
			}
			want(t, "record failed", h.record("r0", failedState(0, "", protocol.CodeMalformed, "bad task", 0)), "failure.json r0 malformed")
			f := h.failures["r0"]
			if f.Worker != "w9" || f.Message != "bad task" || f.Attempts != 0 || !f.Time.Equal(h.now) || f.Version != rundir.FailureVersion {
				t.Errorf("failure.json %+v", f)
			}
			sum := h.finishes()
			if sum.Counts["failed"] != 1 || sum.Replicas[0].ErrorCode != "malformed" || sum.Replicas[0].Final != nil {
				t.Errorf("summary %+v", sum)
			}
		}},
		{"record failed, then its failure event: failure.json written once", false, func(t *testing.T, h *harness) {
			want(t, "record failed", h.record("r0", failedState(1, "w1", protocol.CodeInvalidConfig, "data.path missing", 0)), "failure.json r0 invalid_config")
			want(t, "failure event (same content)", h.event(h.failure("r0", 1, "w1", protocol.CodeInvalidConfig, "data.path missing", 0)),
				"warn: replica failed", "ack")
			want(t, "the event with a later step", h.event(h.failure("r0", 1, "w1", protocol.CodeInvalidConfig, "data.path missing", 30)),
				"warn: replica failed", "failure.json r0 invalid_config", "ack")
			if f := h.failures["r0"]; f.Step != 30 || f.Attempts != 1 || f.Code != "invalid_config" {
				t.Errorf("failure.json %+v", f)
			}
		}},
		{"failure.json that cannot be written is written again later", false, func(t *testing.T, h *harness) {
			st := failedState(1, "w1", protocol.CodeInternal, "boom", 0)
			st.Steps, st.Updated = testSteps, h.now
			h.s.records["r0"] = &st
			acts := h.s.failureFile("r0")
			want(t, "failure.json", acts, "failure.json r0 internal")
			want(t, "write fails", h.s.failureWritten(acts[0].(writeFailure), errDisk, h.now), "error: cannot write failure.json; will retry")
			h.s.reclassify("r0")
			h.notFinished("failure.json missing")
			want(t, "tick within the retry delay", h.tick(500*time.Millisecond), "table")
			want(t, "tick after it", h.tick(time.Second), "failure.json r0 internal")
			h.finishes()
		}},
		{"max deliveries: a failed record without any event gets failure.json", false, func(t *testing.T, h *harness) {
			want(t, "record failed", h.record("r0", failedState(3, "w2", protocol.CodeMaxDeliver, "task delivered 5 times", 300)),
				"failure.json r0 max_deliver")
			if f := h.failures["r0"]; f.Attempts != 3 || f.Worker != "w2" || f.Step != 300 {
				t.Errorf("failure.json %+v", f)
			}
			if r := h.finishes().Replicas[0]; r.Status != "failed" || r.State != "failed" || r.Attempts != 3 || r.ErrorCode != "max_deliver" {
				t.Errorf("summary line %+v", r)
			}
		}},
		{"diverged: recorded failed, but a result and no failure.json", false, func(t *testing.T, h *harness) {
			h.record("r0", running(1, "w1"))
			h.event(h.chunk("r0", -1, 100))
			want(t, "diverged result", h.event(h.result("r0", 1, "w1", resultJSON("diverged", 120))), "write r0 #1 from event")
			want(t, "record failed/diverged", h.record("r0", failedState(1, "w1", protocol.CodeDiverged, "non-finite loss", 120)))
			h.notFinished("files in flight")
			want(t, "written", h.complete(nil), "ack")
			sum := h.finishes()
			if sum.Counts["diverged"] != 1 || sum.Counts["failed"] != 0 || len(h.failures) != 0 {
				t.Errorf("counts %v, failure.json %v", sum.Counts, h.failures)
			}
			if r := sum.Replicas[0]; r.Status != "diverged" || r.State != "failed" || r.DivergedAt != 120 || r.ErrorCode != "diverged" || r.Final == nil {
				t.Errorf("summary line %+v", r)
			}
		}},
		{"done replica whose rows and files are missing: replayed after the grace", false, func(t *testing.T, h *harness) {
			h.s.loadDisk("r0", 200, nil, false)
			want(t, "record done", h.record("r0", done(1)))
			want(t, "tick in the grace", h.tick(250*time.Millisecond), "table", "drained?")
			want(t, "consumer not drained", h.perform(h.s.drained(h.now, consumerState{})))
			want(t, "tick after the grace", h.tick(resultGrace), "drained?")
			want(t, "collector behind its events: nothing rebuilt", h.perform(h.s.drained(h.now, consumerState{})))
			want(t, "caught up, an ack pending elsewhere", h.perform(h.s.drained(h.now, consumerState{CaughtUp: true})), "replay r0")
			s, d := h.chunk("r0", -1, 100, 200)
			want(t, "replayed rows it has", h.perform(h.s.replayEvent("r0", s, d)))
			s, d = h.chunk("r0", 200, 300, 400)
			h.rows["r0"] = []int64{100, 200}
			want(t, "replayed rows it lacks", h.perform(h.s.replayEvent("r0", s, d)), "append r0 after 200: 300 400")
			s, d = h.result("r0", 1, "w1", resultJSON("done", 0))
			want(t, "replayed result", h.perform(h.s.replayEvent("r0", s, d)))
			want(t, "replay end", h.perform(h.s.replayEnd("r0", nil, h.now)), "write r0 #1 from replay")
			want(t, "tick with the write in flight", h.tick(time.Second))
			want(t, "written", h.complete(nil), "info: rebuilt a replica from its events")
			h.finishes()
		}},
		{"done replica missing its files: replayed at once when the consumer is drained", false, func(t *testing.T, h *harness) {
			h.s.loadDisk("r0", testSteps, nil, false)
			h.record("r0", done(1))
			want(t, "tick in the grace", h.tick(250*time.Millisecond), "table", "drained?")
			want(t, "drained", h.perform(h.s.drained(h.now, consumerState{CaughtUp: true, Drained: true})), "replay r0")
		}},
		{"replay without the result of the record's attempt: the object store", false, func(t *testing.T, h *harness) {
			h.s.loadDisk("r0", testSteps, nil, false)
			h.record("r0", done(2))
			want(t, "tick after the grace", h.tick(resultGrace), "table", "drained?")
			want(t, "caught up", h.perform(h.s.drained(h.now, consumerState{CaughtUp: true})), "replay r0")
			s, d := h.result("r0", 1, "w1", resultJSON("done", 0)) // attempt 1's, superseded
			want(t, "older result", h.perform(h.s.replayEvent("r0", s, d)))
			want(t, "replay end", h.perform(h.s.replayEnd("r0", nil, h.now)), "reconcile r0")
			want(t, "not in the store yet", h.perform(h.s.reconciled("r0", nil, errDisk, h.now)))
			want(t, "tick before the retry", h.tick(500*time.Millisecond))
			want(t, "tick after it", h.tick(time.Second), "drained?")
			want(t, "caught up", h.perform(h.s.drained(h.now, consumerState{CaughtUp: true})), "replay r0")
			want(t, "replay end", h.perform(h.s.replayEnd("r0", nil, h.now)), "reconcile r0")
			refs := []protocol.ObjectRef{{Name: "s1/r0/files/result.json", File: rundir.FileResult, Digest: "SHA-256=x", Size: 10}}
			want(t, "found in the store", h.perform(h.s.reconciled("r0", refs, nil, h.now)), "write r0 #2 from store")
			want(t, "written", h.complete(nil), "info: fetched a result whose event was missed")
			h.finishes()
		}},
		{"replay that leaves rows missing is retried, never reconciled", false, func(t *testing.T, h *harness) {
			h.record("r0", done(1))
			want(t, "tick after the grace", h.tick(resultGrace), "table", "drained?")
			want(t, "caught up", h.perform(h.s.drained(h.now, consumerState{CaughtUp: true})), "replay r0")
			want(t, "replay end, no rows", h.perform(h.s.replayEnd("r0", nil, h.now)))
			want(t, "tick before the retry delay", h.tick(500*time.Millisecond))
			want(t, "tick after it", h.tick(500*time.Millisecond), "drained?")
			want(t, "caught up", h.perform(h.s.drained(h.now, consumerState{CaughtUp: true})), "replay r0")
			want(t, "replay failed", h.perform(h.s.replayEnd("r0", errDisk, h.now)))
			want(t, "tick before the retry delay", h.tick(500*time.Millisecond))
			want(t, "tick after it", h.tick(500*time.Millisecond), "drained?")
			want(t, "caught up", h.perform(h.s.drained(h.now, consumerState{CaughtUp: true})), "replay r0")
		}},
		{"terminal states without events", true, func(t *testing.T, h *harness) {
			h.s.loadDisk("r2", testSteps, &rundir.Result{Status: rundir.StatusDone, Steps: testSteps}, false)
			want(t, "cancelled", h.record("r0", protocol.ReplicaState{State: protocol.StateCancelled, ErrorCode: protocol.CodeCancelled, Error: "sweep cancelled"}))
			want(t, "failed", h.record("r1", failedState(5, "w1", protocol.CodeMaxDeliver, "lost", 0)), "failure.json r1 max_deliver")
			h.notFinished("r2 unknown")
			want(t, "done, on disk already", h.record("r2", done(1)))
			sum := h.finishes()
			if want := map[string]int{"done": 1, "diverged": 0, "failed": 1, "cancelled": 1}; !equalCounts(sum.Counts, want) {
				t.Errorf("counts %v, want %v", sum.Counts, want)
			}
		}},
		{"failed, resumed and finished: failure.json is removed", false, func(t *testing.T, h *harness) {
			h.s.loadDisk("r0", testSteps, nil, true)
			h.record("r0", done(2))
			want(t, "result", h.event(h.result("r0", 2, "w1", resultJSON("done", 0))), "write r0 #2 from event")
			want(t, "written", h.complete(nil), "remove failure.json r0", "ack")
		}},
		{"malformed events are dropped, never retried", false, func(t *testing.T, h *harness) {
			want(t, "bad subject", h.event("hb.evt.x", []byte("{}")), "warn: event with a malformed subject dropped", "term")
			want(t, "unknown replica", h.event(subject(t, "r99", protocol.EventTraj), []byte("{}")), "warn: event for an unknown replica dropped", "term")
			want(t, "garbage chunk", h.event(subject(t, "r0", protocol.EventTraj), []byte("garbage")), "warn: malformed trajectory chunk dropped", "ack")
			want(t, "wrong version", h.event(subject(t, "r0", protocol.EventTraj), []byte(`{"v":99}`)), "warn: malformed trajectory chunk dropped", "ack")
			want(t, "garbage result", h.event(subject(t, "r0", protocol.EventResult), []byte("{")), "warn: malformed result dropped", "ack")
			want(t, "garbage failure", h.event(subject(t, "r0", protocol.EventFailure), []byte("{")), "warn: malformed failure event dropped", "ack")
			_, d := h.chunk("r1", -1, 100)
			want(t, "chunk of another replica", h.event(subject(t, "r0", protocol.EventTraj), d), "warn: malformed trajectory chunk dropped", "ack")
			key, _ := protocol.ReplicaKey("s1", "r0")
			want(t, "garbage record", h.s.record(key, []byte("{")), "warn: malformed replica state ignored")
		}},
		{"result without result.json is dropped", false, func(t *testing.T, h *harness) {
			h.record("r0", running(1, "w1"))
			res := &protocol.Result{Sweep: "s1", Replica: "r0", Attempt: 1, Worker: "w1", Status: protocol.ResultDone,
				Files: []protocol.InlineFile{{File: rundir.FileParams, Data: []byte("p")}}}
			want(t, "result", h.event(subject(t, "r0", protocol.EventResult), encode(t, res)), "error: result without result.json dropped", "ack")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, 3)
			if !c.own {
				h.record("r1", protocol.ReplicaState{State: protocol.StateCancelled, ErrorCode: protocol.CodeCancelled, Error: "cancelled"})
				h.record("r2", protocol.ReplicaState{State: protocol.StateCancelled, ErrorCode: protocol.CodeCancelled, Error: "cancelled"})
			}
			c.run(t, h)
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestCollectFinishWaitsForRecords: nothing finishes before every record
// is known, and the finish is returned once.
func TestCollectFinishWaitsForRecords(t *testing.T) {
	h := newHarness(t, 2)
	h.s.loadDisk("r0", testSteps, &rundir.Result{Status: rundir.StatusDone}, false)
	h.s.loadDisk("r1", testSteps, &rundir.Result{Status: rundir.StatusDone}, false)
	h.notFinished("no record")
	want(t, "no tick work before the records", h.tick(10*time.Second))
	h.record("r0", done(1))
	h.notFinished("r1 unknown")
	h.record("r1", done(1))
	h.finishes()
	h.notFinished("finished already")
	want(t, "tick after the finish", h.tick(10*time.Second))
}

// TestSummaryCounts: summary.json counts done, diverged, failed and
// cancelled replicas by their status; the state of a diverged chain is
// failed, its status diverged.
func TestSummaryCounts(t *testing.T) {
	h := newHarness(t, 6)
	ok := &rundir.Result{Status: rundir.StatusDone, Steps: testSteps}
	div := &rundir.Result{Status: rundir.StatusDiverged, Steps: 90, DivergedAt: 90}
	h.s.loadDisk("r0", testSteps, ok, false)
	h.s.loadDisk("r1", testSteps, ok, false)
	h.s.loadDisk("r2", 0, div, false)
	h.record("r0", done(1))
	h.record("r1", done(2))
	h.record("r2", failedState(1, "w1", protocol.CodeDiverged, "loss is NaN", 90))
	h.record("r3", failedState(1, "w1", protocol.CodeInvalidConfig, "no data", 0))
	h.record("r4", failedState(2, "w1", protocol.CodeMaxDeliver, "lost", 0))
	h.record("r5", protocol.ReplicaState{State: protocol.StateCancelled, ErrorCode: protocol.CodeCancelled, Error: "sweep cancelled"})
	sum := h.finishes()
	if want := map[string]int{"done": 2, "diverged": 1, "failed": 2, "cancelled": 1}; !equalCounts(sum.Counts, want) {
		t.Errorf("counts %v, want %v", sum.Counts, want)
	}
	if sum.Failed() != 2 || sum.Diverged() != 1 || sum.Cancelled() != 1 {
		t.Errorf("Failed %d Diverged %d Cancelled %d", sum.Failed(), sum.Diverged(), sum.Cancelled())
	}
	if r := sum.Replicas[2]; r.Status != "diverged" || r.DivergedAt != 90 || r.Steps != 90 {
		t.Errorf("diverged line %+v", r)
	}
	if _, ok := h.failures["r2"]; ok || len(h.failures) != 2 {
		t.Errorf("failure.json written for %v; want r3 and r4 only", h.failures)
	}
	if sum.Version != rundir.SummaryVersion || sum.Sweep != "s1" || len(sum.Replicas) != 6 || sum.Replicas[1].Attempts != 2 {
		t.Errorf("summary %+v", sum)
	}
}

// TestTableThrottle: while 5,000 replicas finish over 100 s (ticks every
// 250 ms), replicas.csv is rewritten at most once per tableInterval, not
// once per replica; with nothing changing it is not rewritten; the finish
// writes it once more.
func TestTableThrottle(t *testing.T) {
	const n = 5000
	h := newHarness(t, n)
	for _, id := range h.s.ids {
		h.record(id, protocol.ReplicaState{State: protocol.StatePending})
	}
	finished := 0
	for step := 0; finished < n; step++ {
		// 12 or 13 replicas per tick: 50 a second.
		for k := 0; k < 13 && finished < n && finished < (step+1)*n/400; k++ {
			h.record(h.s.ids[finished], protocol.ReplicaState{State: protocol.StateCancelled, ErrorCode: protocol.CodeCancelled, Error: "c"})
			finished++
		}
		if step < 400-1 {
			h.tick(tickInterval)
		}
	}
	elapsed := h.now.Sub(t0)
	writes := len(h.tables)
	if max := int(elapsed/tableInterval) + 1; writes > max || writes < max-2 {
		t.Errorf("%d replicas finishing over %v: %d table writes, want about %d (one per %v)", n, elapsed, writes, max, tableInterval)
	}
	for i := 1; i < writes; i++ {
		if d := h.tables[i].Sub(h.tables[i-1]); d < tableInterval {
			t.Errorf("table writes %d and %d only %v apart", i-1, i, d)
		}
	}
	t.Logf("%d replicas over %v: %d table writes", n, elapsed, writes)

	// The finish writes it (finish action) once; nothing else changes it.
	sum := h.finishes()
	if sum.Counts["cancelled"] != n {
		t.Errorf("counts %v", sum.Counts)
	}
	before := len(h.tables)
	for range 40 {
		h.tick(tickInterval)
	}
	if len(h.tables) != before {
		t.Errorf("%d table writes after the finish", len(h.tables)-before)
	}

	// A collection in which nothing changes writes the table once.
	h = newHarness(t, 3)
	for _, id := range h.s.ids {
		h.record(id, running(1, "w1"))
	}
	for range 100 {
		h.tick(tickInterval)
	}
	if len(h.tables) != 1 {
		t.Errorf("%d table writes over 25 s with nothing changing, want 1", len(h.tables))
	}
	h.record("r0", protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w1", Step: 200})
	h.tick(tickInterval)
	if len(h.tables) != 1 {
		t.Error("a record whose step moved rewrote the table")
	}
	h.record("r0", done(1))
	h.tick(tickInterval)
	if len(h.tables) != 2 {
		t.Errorf("a replica that finished did not rewrite the table (%d writes)", len(h.tables))
	}
}

// TestTableRows: the rows the collector writes: settings, status and
// metrics of finished replicas, the record's state and step for the rest.
func TestTableRows(t *testing.T) {
	h := newHarness(t, 3)
	h.s.loadDisk("r0", testSteps, &rundir.Result{Status: rundir.StatusDone, Steps: testSteps, Final: rundir.Metrics{Step: testSteps}}, false)
	h.record("r0", done(1))
	h.record("r1", protocol.ReplicaState{State: protocol.StateRunning, Attempt: 2, Worker: "w1", Step: 100})
	rows := h.s.rows()
	if r := rows[0]; r.Status != "done" || r.Final == nil || r.Final.Step != testSteps || r.Settings["seed"] != "1" {
		t.Errorf("row 0 %+v", r)
	}
	if r := rows[1]; r.Status != "running" || r.Attempts != 2 || r.Steps != 100 || r.Final != nil {
		t.Errorf("row 1 %+v", r)
	}
	if r := rows[2]; r.Status != "" || r.ID != "r2" || r.Index != 2 {
		t.Errorf("row 2 (no record) %+v", r)
	}
	b, err := rundir.EncodeTable(rows)
	if err != nil || strings.Count(string(b), "\n") != 4 {
		t.Errorf("table of 3 rows: %v\n%s", err, b)
	}
	sw := h.s.sweepFile()
	if len(sw.Replicas) != 3 || sw.ID != "s1" || string(sw.Created) != `"2025-01-02T03:04:05Z"` {
		t.Errorf("sweep.json %+v", sw)
	}
}
