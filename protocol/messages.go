package protocol

import (
	"encoding/json"
	"math"
)

// Message is a message or record of the protocol. It is implemented by the
// pointer types *Task, *Progress, *TrajChunk, *Result, *Failure,
// *ReplicaState and *SweepRecord, and by nothing outside this package.
type Message interface {
	// Validate reports the first field that is not acceptable, as an *Error
	// of code CodeInvalid naming the field and its value. It does not look at
	// the version field, which Encode sets and the decoders check.
	Validate() error

	kind() string // the message's name in error messages: "task", ...
	setVersion()  // sets the version field to Version
}

// DefaultTrajChunk is the number of trajectory rows per TrajChunk when
// Task.TrajChunkRows is zero.
const DefaultTrajChunk = 256

// Task is the work item of one replica: the body of a message on
// TaskSubject(pool, sweep, replica) in StreamTasks. A task is the same on
// every delivery; the attempt number comes from the replica's KV record.
type Task struct {
	// V is the protocol version, Version.
	V int `json:"v"`
	// Sweep and Replica identify the replica (valid tokens).
	Sweep   string `json:"sweep"`
	Replica string `json:"replica"`
	// Index is the replica's position in the sweep's expansion, from 0.
	Index int `json:"index"`
	// Group is shared by the replicas of a sweep that differ only in their
	// seed (non-empty UTF-8 text, at most 1024 bytes).
	Group string `json:"group"`
	// Config fully determines the chain. Validate checks only that Steps is
	// positive, that EvalEvery, Batch and BatchFraction are not negative and
	// that every number is finite; the worker rejects a config it cannot run
	// with CodeInvalidConfig.
	Config ReplicaConfig `json:"config"`
	// CheckpointEvery is the number of steps between checkpoints; zero
	// disables step-triggered checkpoints.
	CheckpointEvery int64 `json:"checkpoint_every"`
	// CheckpointSeconds is the wall-clock time between checkpoints; zero
	// disables time-triggered checkpoints. With both zero a preempted
	// replica restarts from step 0.
	CheckpointSeconds float64 `json:"checkpoint_seconds"`
	// ProgressEvery is the number of steps between Progress events; zero
	// means one per evaluation (Config.EvalEvery).
	ProgressEvery int64 `json:"progress_every"`
	// TrajChunkRows is the number of trajectory rows per TrajChunk; zero
	// means DefaultTrajChunk. The last chunk of an attempt may be shorter.
	TrajChunkRows int `json:"traj_chunk"`
	// SpecHash is the hash of the sweep's canonical spec (a valid token). A
	// worker must not resume from a checkpoint written under another hash.
	SpecHash string `json:"spec_hash"`
	// PublishAt lists steps (positive, increasing) at which the worker
	// publishes its buffered trajectory rows at once: the milestones of
	// successive halving (PruneConfig), so that the coordinator can decide
	// there rather than at the next checkpoint or full chunk.
	PublishAt []int64 `json:"publish_at,omitempty"`
}

func (*Task) kind() string  { return "task" }
func (m *Task) setVersion() { m.V = Version }

// Validate implements Message.
func (m *Task) Validate() error {
	const what = "task"
	if err := checkTokens(what, "sweep", m.Sweep, "replica", m.Replica); err != nil {
		return err
	}
	if m.Index < 0 {
		return invalidf(what, "index %d is negative", m.Index)
	}
	if err := checkText(what, "group", m.Group, maxGroupLen, true); err != nil {
		return err
	}
	if err := checkConfig(what, &m.Config); err != nil {
		return err
	}
	switch {
	case m.CheckpointEvery < 0:
		return invalidf(what, "checkpoint_every %d is negative", m.CheckpointEvery)
	case !(m.CheckpointSeconds >= 0) || math.IsInf(m.CheckpointSeconds, 0):
		return invalidf(what, "checkpoint_seconds %v is not a finite number >= 0", m.CheckpointSeconds)
	case m.ProgressEvery < 0:
		return invalidf(what, "progress_every %d is negative", m.ProgressEvery)
	case m.TrajChunkRows < 0:
		return invalidf(what, "traj_chunk %d is negative", m.TrajChunkRows)
	}
	for i, p := range m.PublishAt {
		if p < 1 || i > 0 && p <= m.PublishAt[i-1] {
			return invalidf(what, "publish_at[%d] = %d: want positive, increasing steps", i, p)
		}
	}
	return checkTokens(what, "spec_hash", m.SpecHash)
}

// Progress reports how far an attempt has got, with the latest evaluation:
// the body of an EventProgress event. Progress events are thinned and may be
// lost or superseded; nothing depends on receiving every one.
type Progress struct {
	// V is the protocol version, Version.
	V int `json:"v"`
	// Sweep and Replica identify the replica, Attempt the attempt (from 1)
	// and Worker the worker running it (valid tokens).
	Sweep   string `json:"sweep"`
	Replica string `json:"replica"`
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker"`
	// Step is the number of steps completed, out of Steps (at least 1).
	Step  int64 `json:"step"`
	Steps int64 `json:"steps"`
	// Metrics holds the latest evaluation by trajectory column name
	// ("train_loss", "val_acc", ...): at most 256 entries with non-empty
	// names of at most 256 bytes and finite values. A metric without a value
	// (an empty split) is left out.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

func (*Progress) kind() string  { return "progress" }
func (m *Progress) setVersion() { m.V = Version }

// Validate implements Message.
func (m *Progress) Validate() error {
	const what = "progress"
	if err := checkTokens(what, "sweep", m.Sweep, "replica", m.Replica); err != nil {
		return err
	}
	if err := checkAttempt(what, m.Attempt); err != nil {
		return err
	}
	if err := checkTokens(what, "worker", m.Worker); err != nil {
		return err
	}
	if err := checkSteps(what, m.Step, m.Steps, true); err != nil {
		return err
	}
	if len(m.Metrics) > maxMetrics {
		return invalidf(what, "metrics has %d entries, more than %d", len(m.Metrics), maxMetrics)
	}
	for _, name := range sortedKeys(m.Metrics) {
		if err := checkText(what, "metric name", name, maxNameLen, true); err != nil {
			return err
		}
		if x := m.Metrics[name]; math.IsNaN(x) || math.IsInf(x, 0) {
			return invalidf(what, "metric %s is %v; leave out metrics without a finite value", quote(name), x)
		}
	}
	return nil
}

// checkSteps checks a (step, steps) pair: 0 <= step <= steps, and steps >= 1
// when positive is set.
func checkSteps(what string, step, steps int64, positive bool) error {
	switch {
	case positive && steps < 1:
		return invalidf(what, "steps %d is less than 1", steps)
	case steps < 0:
		return invalidf(what, "steps %d is negative", steps)
	case step < 0:
		return invalidf(what, "step %d is negative", step)
	case step > steps:
		return invalidf(what, "step %d is more than steps %d", step, steps)
	}
	return nil
}

// TrajChunk carries consecutive rows of a replica's trajectory (the rows of
// trajectory.csv): the body of an EventTraj event. The chunks of an attempt
// are numbered from 0 by Seq; a new attempt that resumes from a checkpoint
// starts again at 0, and its rows replace those of earlier attempts from the
// checkpoint's step on.
//
// # Missing values
//
// In Rows, NaN means "no value": a metric of an empty split, the kinetic
// temperature of a group without momenta, or a NaN produced by the chain
// (NaN payloads are not kept). On the wire NaN is JSON null, and the
// infinities, which JSON numbers cannot express either, are the strings
// "+Inf" and "-Inf". Every other float64 is a JSON number that decodes to
// the same bits, so a row survives the wire exactly, up to the payload of a
// NaN. A decoder accepts exactly these forms: numbers, null, "+Inf", "-Inf".
type TrajChunk struct {
	// V is the protocol version, Version.
	V int `json:"v"`
	// Sweep and Replica identify the replica and Attempt the attempt.
	Sweep   string `json:"sweep"`
	Replica string `json:"replica"`
	Attempt int    `json:"attempt"`
	// Seq numbers the chunks of an attempt from 0.
	Seq int64 `json:"seq"`
	// After is the step (first column) of the trajectory row that comes
	// just before Rows[0], -1 when Rows[0] is the replica's first row. A
	// collector appends a chunk only when After is the last row it holds,
	// so that chunks redelivered out of order never leave a gap.
	After int64 `json:"after"`
	// Columns names the columns (non-empty, distinct, at most 256 bytes
	// each); the first is usually "step".
	Columns []string `json:"columns"`
	// Rows holds at least one row, each of len(Columns) values.
	Rows [][]float64 `json:"rows"`
}

func (*TrajChunk) kind() string  { return "traj chunk" }
func (m *TrajChunk) setVersion() { m.V = Version }

// Validate implements Message.
func (m *TrajChunk) Validate() error {
	const what = "traj chunk"
	if err := checkTokens(what, "sweep", m.Sweep, "replica", m.Replica); err != nil {
		return err
	}
	if err := checkAttempt(what, m.Attempt); err != nil {
		return err
	}
	if m.Seq < 0 {
		return invalidf(what, "seq %d is negative", m.Seq)
	}
	if m.After < -1 {
		return invalidf(what, "after %d is less than -1", m.After)
	}
	if len(m.Columns) == 0 {
		return invalidf(what, "columns is empty")
	}
	seen := make(map[string]bool, len(m.Columns))
	for i, c := range m.Columns {
		if err := checkText(what, "column "+itoa(i), c, maxNameLen, true); err != nil {
			return err
		}
		if seen[c] {
			return invalidf(what, "column %d %s is a duplicate", i, quote(c))
		}
		seen[c] = true
	}
	if len(m.Rows) == 0 {
		return invalidf(what, "rows is empty")
	}
	for i, r := range m.Rows {
		if len(r) != len(m.Columns) {
			return invalidf(what, "row %d has %d values, want %d (one per column)", i, len(r), len(m.Columns))
		}
	}
	return nil
}

// ResultStatus is how a chain ended.
type ResultStatus string

// The result statuses.
const (
	// ResultDone: the chain ran all its steps.
	ResultDone ResultStatus = "done"
	// ResultDiverged: the chain stopped at a non-finite value. The result
	// and its files are kept, and the replica is recorded as failed with
	// CodeDiverged: a deterministic failure that is never retried.
	ResultDiverged ResultStatus = "diverged"
)

// Valid reports whether s is one of the defined statuses.
func (s ResultStatus) Valid() bool { return s == ResultDone || s == ResultDiverged }

// Result reports a finished chain: the body of an EventResult event. The
// files it lists in Artifacts are already in BucketArtifacts when it is
// published.
//
// # Wire format
//
// A Result without Files is a JSON object, like every other message. A
// Result with Files is a frame: the JSON object, in which each entry of
// "files" has only "file" and "size", then one '\n' byte, then the contents
// of Files concatenated in order, with no separators:
//
//	{"v":2,...,"files":[{"file":"grid.json","size":69632},{"file":"params.safetensors","size":600}]}\n<69632 bytes><600 bytes>
//
// The file contents are raw bytes (not base64), which encoding/json never
// scans: DecodeResult finds the end of the JSON object with a byte scan and
// decodes only that. MaxMessageSize applies to the whole frame. A decoder
// rejects with CodeMalformed a frame whose bytes after the JSON object are
// not exactly '\n' and the sum of the sizes (a negative size, a missing
// '\n', too few or too many bytes), and, when Files is empty, anything but
// white space after the object.
type Result struct {
	// V is the protocol version, Version.
	V int `json:"v"`
	// Sweep and Replica identify the replica, Attempt the attempt (from 1)
	// and Worker the worker that ran it (valid tokens).
	Sweep   string `json:"sweep"`
	Replica string `json:"replica"`
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker"`
	// Status is ResultDone or ResultDiverged.
	Status ResultStatus `json:"status"`
	// Summary is retired: workers before it was retired sent the
	// replica's result.json here, which also travels among the files and
	// which nothing read. It is no longer sent; it is accepted (a JSON
	// object, compacted) so that such results, kept in the events stream
	// and replayed by collectors, still decode under protocol version 2.
	// Remove it with the next version bump.
	//
	// Deprecated: the result.json among Files or Artifacts is the summary.
	Summary json.RawMessage `json:"summary,omitempty"`
	// Artifacts lists the replica's files in the object store, with
	// distinct names and distinct files.
	Artifacts []ObjectRef `json:"artifacts,omitempty"`
	// Files carries small replica files inline (a worker inlines them when
	// they fit in MaxInlineFiles bytes, saving object-store round trips),
	// their names in the JSON object and their contents after it (see Wire
	// format). A file appears at most once, in Artifacts or in Files.
	Files []InlineFile `json:"files,omitempty"`
}

// MaxInlineFiles is the largest total size of Result.Files: well under the
// default 1 MB message payload of a NATS server (the contents travel as raw
// bytes after the JSON object).
const MaxInlineFiles = 512 << 10

// InlineFile is a replica file carried in a Result: its name and size in
// the JSON object, its content after it (see Result).
type InlineFile struct {
	// File is the name it takes in the replica directory.
	File string `json:"file"`
	// Size is the length of Data in bytes. Encode sets it; Validate
	// checks it.
	Size int `json:"size"`
	// Data is its content. It is not part of the JSON object but follows
	// it in the frame; a decoded Data is a slice of the decoder's input
	// (nil for an empty file).
	Data []byte `json:"-"`
}

func (*Result) kind() string  { return "result" }
func (m *Result) setVersion() { m.V = Version }

// Validate implements Message.
func (m *Result) Validate() error {
	const what = "result"
	if err := checkTokens(what, "sweep", m.Sweep, "replica", m.Replica); err != nil {
		return err
	}
	if err := checkAttempt(what, m.Attempt); err != nil {
		return err
	}
	if err := checkTokens(what, "worker", m.Worker); err != nil {
		return err
	}
	if !m.Status.Valid() {
		return invalidf(what, "status %s is not %q or %q", quote(string(m.Status)), ResultDone, ResultDiverged)
	}
	if m.Summary != nil {
		if err := checkObjectJSON(what, "summary", m.Summary); err != nil {
			return err
		}
	}
	names := make(map[string]bool, len(m.Artifacts))
	files := make(map[string]bool, len(m.Artifacts))
	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		if err := a.check(what, i); err != nil {
			return err
		}
		if names[a.Name] {
			return invalidf(what, "artifact %d name %s is a duplicate", i, quote(a.Name))
		}
		if files[a.File] {
			return invalidf(what, "artifact %d file %s is a duplicate", i, quote(a.File))
		}
		names[a.Name], files[a.File] = true, true
	}
	total := 0
	for i := range m.Files {
		f := &m.Files[i]
		if !validFileName(f.File) {
			return invalidf(what, "file %d name %s is not a valid file name", i, quote(f.File))
		}
		if files[f.File] {
			return invalidf(what, "file %d %s is a duplicate", i, quote(f.File))
		}
		if f.Size != len(f.Data) {
			return invalidf(what, "file %d %s size %d, but it holds %d bytes", i, quote(f.File), f.Size, len(f.Data))
		}
		files[f.File] = true
		total += len(f.Data)
	}
	if total > MaxInlineFiles {
		return invalidf(what, "inline files hold %d bytes, more than %d", total, MaxInlineFiles)
	}
	return nil
}

// ObjectRef names an object in BucketArtifacts and the file it becomes in
// the replica directory.
type ObjectRef struct {
	// Name is the object's name, usually ArtifactObject(sweep, replica,
	// File): segments separated by "/", each 1 to 128 characters from
	// [A-Za-z0-9._-] not starting with a dot.
	Name string `json:"name"`
	// File is the file name in the replica directory ("params.safetensors"), with
	// the same rule as a Name segment.
	File string `json:"file"`
	// Digest is the object's digest as the object store reports it
	// ("SHA-256=<base64url>"): non-empty printable ASCII without spaces, at
	// most 256 bytes.
	Digest string `json:"digest"`
	// Size is the object's size in bytes.
	Size int64 `json:"size"`
}

func (r *ObjectRef) check(what string, i int) error {
	switch {
	case !validObjectName(r.Name):
		return invalidf(what, "artifact %d name %s is not a valid object name", i, quote(r.Name))
	case !validFileName(r.File):
		return invalidf(what, "artifact %d file %s is not a valid file name", i, quote(r.File))
	case !validDigest(r.Digest):
		return invalidf(what, "artifact %d digest %s is not a digest", i, quote(r.Digest))
	case r.Size < 0:
		return invalidf(what, "artifact %d size %d is negative", i, r.Size)
	}
	return nil
}

func validDigest(s string) bool {
	if len(s) == 0 || len(s) > maxDigestLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Failure reports an attempt that ended without a result: the body of an
// EventFailure event. Workers publish it for errors of their chain; the
// coordinator publishes it for tasks that exhausted their deliveries
// (CodeMaxDeliver), with its own id as Worker.
type Failure struct {
	// V is the protocol version, Version.
	V int `json:"v"`
	// Sweep and Replica identify the replica, Attempt the attempt (from 1)
	// and Worker the reporter (valid tokens).
	Sweep   string `json:"sweep"`
	Replica string `json:"replica"`
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker"`
	// Code classifies the error; Deterministic(Code) tells whether a retry
	// can help.
	Code Code `json:"code"`
	// Message describes the error (non-empty UTF-8, at most 64 KiB).
	Message string `json:"message"`
	// Step is the number of steps completed when the attempt ended.
	Step int64 `json:"step"`
}

func (*Failure) kind() string  { return "failure" }
func (m *Failure) setVersion() { m.V = Version }

// Validate implements Message.
func (m *Failure) Validate() error {
	const what = "failure"
	if err := checkTokens(what, "sweep", m.Sweep, "replica", m.Replica); err != nil {
		return err
	}
	if err := checkAttempt(what, m.Attempt); err != nil {
		return err
	}
	if err := checkTokens(what, "worker", m.Worker); err != nil {
		return err
	}
	if !m.Code.Valid() {
		return invalidf(what, "code %d is not defined", int(m.Code))
	}
	if err := checkText(what, "message", m.Message, maxMessageLen, true); err != nil {
		return err
	}
	if m.Step < 0 {
		return invalidf(what, "step %d is negative", m.Step)
	}
	return nil
}

// Err returns the failure as an *Error of the same code and message.
func (m *Failure) Err() *Error { return &Error{Code: m.Code, Message: m.Message} }
