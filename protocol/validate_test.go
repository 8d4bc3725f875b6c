package protocol

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// invalidCase is a valid message made invalid by one change, and a part of
// the error message that names the field and its value.
type invalidCase struct {
	name string
	msg  Message
	want string
}

func taskCase(name, want string, f func(*Task)) invalidCase {
	m := validTask()
	f(m)
	return invalidCase{"task/" + name, m, "protocol: task: " + want}
}

func progressCase(name, want string, f func(*Progress)) invalidCase {
	m := validProgress()
	f(m)
	return invalidCase{"progress/" + name, m, "protocol: progress: " + want}
}

func trajCase(name, want string, f func(*TrajChunk)) invalidCase {
	m := validTrajChunk()
	f(m)
	return invalidCase{"traj/" + name, m, "protocol: traj chunk: " + want}
}

func resultCase(name, want string, f func(*Result)) invalidCase {
	m := validResult()
	f(m)
	return invalidCase{"result/" + name, m, "protocol: result: " + want}
}

func failureCase(name, want string, f func(*Failure)) invalidCase {
	m := validFailure()
	f(m)
	return invalidCase{"failure/" + name, m, "protocol: failure: " + want}
}

func stateCase(name, want string, f func(*ReplicaState)) invalidCase {
	m := validReplicaState()
	f(m)
	return invalidCase{"state/" + name, m, "protocol: replica state: " + want}
}

func sweepCase(name, want string, f func(*SweepRecord)) invalidCase {
	m := validSweepRecord()
	f(m)
	return invalidCase{"sweep/" + name, m, "protocol: sweep record: " + want}
}

func invalidCases() []invalidCase {
	long := strings.Repeat("x", 129)
	return []invalidCase{
		taskCase("sweep empty", `sweep "" is not a valid token`, func(m *Task) { m.Sweep = "" }),
		taskCase("sweep dot", `sweep "s.1" is not a valid token`, func(m *Task) { m.Sweep = "s.1" }),
		taskCase("sweep long", `sweep "xxxx`, func(m *Task) { m.Sweep = long }),
		taskCase("replica space", `replica "a b" is not a valid token`, func(m *Task) { m.Replica = "a b" }),
		taskCase("replica wildcard", `replica ">" is not a valid token`, func(m *Task) { m.Replica = ">" }),
		taskCase("index", `index -1 is negative`, func(m *Task) { m.Index = -1 }),
		taskCase("group empty", `group is empty`, func(m *Task) { m.Group = "" }),
		taskCase("group long", `group is 1025 bytes long, more than 1024`, func(m *Task) { m.Group = strings.Repeat("g", 1025) }),
		taskCase("group utf8", `group "a\xff" is not valid UTF-8`, func(m *Task) { m.Group = "a\xff" }),
		taskCase("steps", `config.steps 0 is less than 1`, func(m *Task) { m.Config.Steps = 0 }),
		taskCase("eval_every", `config.eval_every -5 is negative`, func(m *Task) { m.Config.EvalEvery = -5 }),
		taskCase("batch", `config.batch -1 is negative`, func(m *Task) { m.Config.Batch = -1 }),
		taskCase("batch_fraction", `config.batch_fraction -0.5 is negative`, func(m *Task) { m.Config.BatchFraction = -0.5 }),
		taskCase("h NaN", `config.method.h is NaN; only finite numbers can be sent`, func(m *Task) { m.Config.Method.H = math.NaN() }),
		taskCase("tau Inf", `config.method.hidden.tau is +Inf`, func(m *Task) { m.Config.Method.Hidden.Tau = ptr(math.Inf(1)) }),
		taskCase("schedule value", `config.method.groups[1].schedule.values[2] is -Inf`, func(m *Task) {
			m.Config.Method.Groups = []GroupConfig{{}, {Schedule: ScheduleConfig{Kind: "piecewise", Steps: []int64{0, 1, 2}, Values: []float64{1, 2, math.Inf(-1)}}}}
		}),
		taskCase("noise", `config.data.noise is NaN`, func(m *Task) { m.Config.Data.Noise = math.NaN() }),
		taskCase("checkpoint_every", `checkpoint_every -1 is negative`, func(m *Task) { m.CheckpointEvery = -1 }),
		taskCase("checkpoint_seconds negative", `checkpoint_seconds -1 is not a finite number >= 0`, func(m *Task) { m.CheckpointSeconds = -1 }),
		taskCase("checkpoint_seconds NaN", `checkpoint_seconds NaN is not a finite number >= 0`, func(m *Task) { m.CheckpointSeconds = math.NaN() }),
		taskCase("checkpoint_seconds Inf", `checkpoint_seconds +Inf is not a finite number >= 0`, func(m *Task) { m.CheckpointSeconds = math.Inf(1) }),
		taskCase("progress_every", `progress_every -2 is negative`, func(m *Task) { m.ProgressEvery = -2 }),
		taskCase("traj_chunk", `traj_chunk -3 is negative`, func(m *Task) { m.TrajChunkRows = -3 }),
		taskCase("spec_hash empty", `spec_hash "" is not a valid token`, func(m *Task) { m.SpecHash = "" }),
		taskCase("spec_hash colon", `spec_hash "sha256:ab" is not a valid token`, func(m *Task) { m.SpecHash = "sha256:ab" }),

		progressCase("sweep", `sweep "" is not a valid token`, func(m *Progress) { m.Sweep = "" }),
		progressCase("replica", `replica "r/1" is not a valid token`, func(m *Progress) { m.Replica = "r/1" }),
		progressCase("attempt", `attempt 0 is less than 1`, func(m *Progress) { m.Attempt = 0 }),
		progressCase("worker", `worker "" is not a valid token`, func(m *Progress) { m.Worker = "" }),
		progressCase("steps", `steps 0 is less than 1`, func(m *Progress) { m.Steps, m.Step = 0, 0 }),
		progressCase("step negative", `step -1 is negative`, func(m *Progress) { m.Step = -1 }),
		progressCase("step beyond", `step 80001 is more than steps 80000`, func(m *Progress) { m.Step = 80001 }),
		progressCase("metric NaN", `metric "val_loss" is NaN; leave out metrics without a finite value`, func(m *Progress) { m.Metrics["val_loss"] = math.NaN() }),
		progressCase("metric Inf", `metric "train_loss" is +Inf`, func(m *Progress) { m.Metrics["train_loss"] = math.Inf(1) }),
		progressCase("metric name empty", `metric name is empty`, func(m *Progress) { m.Metrics[""] = 1 }),
		progressCase("metric name long", `metric name is 257 bytes long, more than 256`, func(m *Progress) { m.Metrics[strings.Repeat("m", 257)] = 1 }),
		progressCase("metrics many", `metrics has 257 entries, more than 256`, func(m *Progress) {
			for i := range 257 - len(m.Metrics) {
				m.Metrics["m"+itoa(i)] = 1
			}
		}),

		trajCase("sweep", `sweep "*" is not a valid token`, func(m *TrajChunk) { m.Sweep = "*" }),
		trajCase("replica", `replica "" is not a valid token`, func(m *TrajChunk) { m.Replica = "" }),
		trajCase("attempt", `attempt -1 is less than 1`, func(m *TrajChunk) { m.Attempt = -1 }),
		trajCase("after", `after -2 is less than -1`, func(m *TrajChunk) { m.After = -2 }),
		trajCase("seq", `seq -1 is negative`, func(m *TrajChunk) { m.Seq = -1 }),
		trajCase("no columns", `columns is empty`, func(m *TrajChunk) { m.Columns = nil }),
		trajCase("column empty", `column 2 is empty`, func(m *TrajChunk) { m.Columns[2] = "" }),
		trajCase("column utf8", `column 1 "\xfe" is not valid UTF-8`, func(m *TrajChunk) { m.Columns[1] = "\xfe" }),
		trajCase("column duplicate", `column 3 "step" is a duplicate`, func(m *TrajChunk) { m.Columns[3] = "step" }),
		trajCase("no rows", `rows is empty`, func(m *TrajChunk) { m.Rows = [][]float64{} }),
		trajCase("short row", `row 1 has 3 values, want 4 (one per column)`, func(m *TrajChunk) { m.Rows[1] = m.Rows[1][:3] }),
		trajCase("long row", `row 0 has 5 values, want 4 (one per column)`, func(m *TrajChunk) { m.Rows[0] = append(m.Rows[0], 1) }),
		trajCase("nil row", `row 2 has 0 values, want 4 (one per column)`, func(m *TrajChunk) { m.Rows[2] = nil }),

		resultCase("sweep", `sweep "s 1" is not a valid token`, func(m *Result) { m.Sweep = "s 1" }),
		resultCase("replica", `replica "" is not a valid token`, func(m *Result) { m.Replica = "" }),
		resultCase("attempt", `attempt 0 is less than 1`, func(m *Result) { m.Attempt = 0 }),
		resultCase("worker", `worker "w.1" is not a valid token`, func(m *Result) { m.Worker = "w.1" }),
		resultCase("status empty", `status "" is not "done" or "diverged"`, func(m *Result) { m.Status = "" }),
		resultCase("status failed", `status "failed" is not "done" or "diverged"`, func(m *Result) { m.Status = "failed" }),
		resultCase("summary null", `summary is not a JSON object`, func(m *Result) { m.Summary = json.RawMessage(`null`) }),
		resultCase("summary array", `summary is not a JSON object`, func(m *Result) { m.Summary = json.RawMessage(`[1]`) }),
		resultCase("summary broken", `summary is not a JSON object`, func(m *Result) { m.Summary = json.RawMessage(`{"a":`) }),
		resultCase("artifact name", `artifact 1 name "a//b" is not a valid object name`, func(m *Result) { m.Artifacts[1].Name = "a//b" }),
		resultCase("artifact name dotdot", `artifact 0 name "s/../x" is not a valid object name`, func(m *Result) { m.Artifacts[0].Name = "s/../x" }),
		resultCase("artifact name empty", `artifact 0 name "" is not a valid object name`, func(m *Result) { m.Artifacts[0].Name = "" }),
		resultCase("artifact file", `artifact 0 file "../params.bin" is not a valid file name`, func(m *Result) { m.Artifacts[0].File = "../params.bin" }),
		resultCase("artifact file hidden", `artifact 0 file ".env" is not a valid file name`, func(m *Result) { m.Artifacts[0].File = ".env" }),
		resultCase("artifact digest", `artifact 1 digest "" is not a digest`, func(m *Result) { m.Artifacts[1].Digest = "" }),
		resultCase("artifact digest space", `artifact 1 digest "SHA-256= x" is not a digest`, func(m *Result) { m.Artifacts[1].Digest = "SHA-256= x" }),
		resultCase("artifact size", `artifact 0 size -1 is negative`, func(m *Result) { m.Artifacts[0].Size = -1 }),
		resultCase("artifact duplicate name", `artifact 1 name "s-01/r0003-1a2b3c4d/files/params.bin" is a duplicate`, func(m *Result) { m.Artifacts[1].Name = m.Artifacts[0].Name }),
		resultCase("artifact duplicate file", `artifact 1 file "params.bin" is a duplicate`, func(m *Result) { m.Artifacts[1].File = m.Artifacts[0].File }),

		failureCase("sweep", `sweep "" is not a valid token`, func(m *Failure) { m.Sweep = "" }),
		failureCase("replica", `replica "é" is not a valid token`, func(m *Failure) { m.Replica = "é" }),
		failureCase("attempt", `attempt 0 is less than 1`, func(m *Failure) { m.Attempt = 0 }),
		failureCase("worker", `worker "" is not a valid token`, func(m *Failure) { m.Worker = "" }),
		failureCase("code", `code 99 is not defined`, func(m *Failure) { m.Code = 99 }),
		failureCase("message empty", `message is empty`, func(m *Failure) { m.Message = "" }),
		failureCase("message long", `message is 65537 bytes long, more than 65536`, func(m *Failure) { m.Message = strings.Repeat("e", 65537) }),
		failureCase("step", `step -1 is negative`, func(m *Failure) { m.Step = -1 }),

		stateCase("state empty", `state "" is not a replica state`, func(m *ReplicaState) { m.State = "" }),
		stateCase("state unknown", `state "paused" is not a replica state`, func(m *ReplicaState) { m.State = "paused" }),
		stateCase("attempt negative", `attempt -1 is negative`, func(m *ReplicaState) { m.State, m.Attempt = StatePending, -1 }),
		stateCase("running attempt 0", `attempt 0 is less than 1 in state running`, func(m *ReplicaState) { m.Attempt = 0 }),
		stateCase("done attempt 0", `attempt 0 is less than 1 in state done`, func(m *ReplicaState) { m.State, m.Attempt = StateDone, 0 }),
		stateCase("preempted attempt 0", `attempt 0 is less than 1 in state preempted`, func(m *ReplicaState) { m.State, m.Attempt = StatePreempted, 0 }),
		stateCase("running without worker", `worker "" is not a valid token`, func(m *ReplicaState) { m.Worker = "" }),
		stateCase("bad worker", `worker "w 1" is not a valid token`, func(m *ReplicaState) { m.State, m.Worker = StateDone, "w 1" }),
		stateCase("step negative", `step -1 is negative`, func(m *ReplicaState) { m.Step = -1 }),
		stateCase("steps negative", `steps -1 is negative`, func(m *ReplicaState) { m.Steps = -1 }),
		stateCase("step beyond", `step 5 is more than steps 0`, func(m *ReplicaState) { m.Step, m.Steps = 5, 0 }),
		stateCase("checkpoint", `checkpoint "/ckpt" is not a valid object name`, func(m *ReplicaState) { m.Checkpoint = "/ckpt" }),
		stateCase("error_code", `error_code 42 is not defined`, func(m *ReplicaState) { m.ErrorCode = 42 }),
		stateCase("failed without error", `error is empty`, func(m *ReplicaState) { m.State, m.ErrorCode = StateFailed, CodeDiverged }),
		stateCase("error utf8", `error "\xff" is not valid UTF-8`, func(m *ReplicaState) { m.Error = "\xff" }),
		stateCase("updated zero", `updated is not set`, func(m *ReplicaState) { m.Updated = time.Time{} }),
		stateCase("updated year", `updated 10000-01-01T00:59:00Z is outside the years 1 to 9999`, func(m *ReplicaState) {
			m.Updated = time.Date(9999, 12, 31, 23, 59, 0, 0, time.FixedZone("", -3600))
		}),

		sweepCase("id", `id "" is not a valid token`, func(m *SweepRecord) { m.ID = "" }),
		sweepCase("name long", `name is 257 bytes long, more than 256`, func(m *SweepRecord) { m.Name = strings.Repeat("n", 257) }),
		sweepCase("spec empty", `spec is empty`, func(m *SweepRecord) { m.Spec = "" }),
		sweepCase("spec utf8", `spec "a: \xff" is not valid UTF-8`, func(m *SweepRecord) { m.Spec = "a: \xff" }),
		sweepCase("spec_hash", `spec_hash "a+b" is not a valid token`, func(m *SweepRecord) { m.SpecHash = "a+b" }),
		sweepCase("replicas", `replicas 0 is less than 1`, func(m *SweepRecord) { m.Replicas = 0 }),
		sweepCase("created", `created is not set`, func(m *SweepRecord) { m.Created = time.Time{} }),
		sweepCase("status", `status "paused" is not a sweep status`, func(m *SweepRecord) { m.Status = "paused" }),
	}
}

func TestValidateErrors(t *testing.T) {
	for _, tt := range invalidCases() {
		t.Run(tt.name, func(t *testing.T) {
			e := checkCode(t, tt.msg.Validate(), CodeInvalid)
			if !strings.HasPrefix(e.Message, tt.want) {
				t.Errorf("error\n %q\ndoes not start with\n %q", e.Message, tt.want)
			}
			if _, err := Encode(tt.msg); err == nil || err.Error() != e.Message {
				t.Errorf("Encode error %v, want the Validate error", err)
			}
			// Every decoder validates: the same message on the wire is
			// rejected with the same error, where JSON can carry it.
			tt.msg.setVersion()
			b, err := json.Marshal(tt.msg)
			if err != nil || strings.Contains(tt.want, `\x`) {
				return // NaN and undefined codes have no JSON form; invalid UTF-8 becomes U+FFFD
			}
			got, err := decodeAny(tt.msg, b)
			if got != nil {
				t.Fatalf("decoded an invalid message: %s", b)
			}
			if d := checkCode(t, err, CodeInvalid); d.Message != e.Message {
				t.Errorf("decode error %q, want %q", d.Message, e.Message)
			}
		})
	}
}

func TestValidMessagesValidate(t *testing.T) {
	for name, m := range validMessages() {
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Limits are inclusive.
	m := validTask()
	m.Sweep, m.Group, m.Index = strings.Repeat("s", 128), strings.Repeat("g", 1024), 0
	m.CheckpointEvery, m.CheckpointSeconds, m.ProgressEvery, m.TrajChunkRows = 0, 0, 0, 0
	if err := m.Validate(); err != nil {
		t.Errorf("task at the limits: %v", err)
	}
	f := validFailure()
	f.Code, f.Message = CodeUnknown, strings.Repeat("e", 65536)
	if err := f.Validate(); err != nil {
		t.Errorf("failure at the limits: %v", err)
	}
	s := validReplicaState()
	*s = ReplicaState{State: StatePending, Updated: s.Updated}
	if err := s.Validate(); err != nil {
		t.Errorf("fresh pending state: %v", err)
	}
	s.State, s.ErrorCode, s.Error = StateFailed, CodeMaxDeliver, "delivered 5 times"
	if err := s.Validate(); err != nil {
		t.Errorf("failed before running: %v", err)
	}
	r := validResult()
	r.Status, r.Artifacts = ResultDiverged, nil
	if err := r.Validate(); err != nil {
		t.Errorf("diverged result without artifacts: %v", err)
	}
	p := validProgress()
	p.Metrics, p.Step = nil, p.Steps
	if err := p.Validate(); err != nil {
		t.Errorf("progress without metrics: %v", err)
	}
}
