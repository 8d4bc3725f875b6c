package coordinator

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// This file holds the collector's decisions: collectState takes what the
// collector learns (an event from the stream, a replica record from the KV
// watch, the outcome of an effect it asked for, the passing of time) and
// returns the actions to perform (append these rows, write these files,
// ack, nak, replay a replica, write the summary). It does no I/O and
// imports no NATS: collect.go's loop performs the actions and reports
// their outcomes back. Every method is called from the loop's goroutine.

// action is an effect collectState asks the loop to perform. Ack, nak and
// term apply to the message whose handling returned them.
type action interface{ isAction() }

// logMsg: log a line.
type logMsg struct {
	level hclog.Level
	msg   string
	args  []any
}

// ack: acknowledge the message.
type ack struct{}

// nak: have the message redelivered after delay.
type nak struct{ delay time.Duration }

// term: drop the message for good (it can never be handled).
type term struct{}

// appendRows: append rows to the replica's trajectory.csv, whose last row
// is at step last (−1: the file is empty; write the header of columns
// first). On failure the loop reports the file's true last step through
// appendFailed.
type appendRows struct {
	replica string
	columns []string
	last    int64
	rows    [][]float64
}

// readRecord: read the replica's record from the bucket (the watched one
// is behind the result) and report it through recordRead. Runs beside the
// loop.
type readRecord struct{ res *protocol.Result }

// resultSource says where the files of a writeResult come from.
type resultSource int

const (
	fromEvent  resultSource = iota // a result event of the durable consumer
	fromReplay                     // a result event replayed from the stream
	fromStore                      // the object store (reconcile)
)

// writeResult: fetch objects from the object store, add them to files and
// write them all into the replica's directory, result.json last, then
// report through resultWritten with result.json's bytes. Runs beside the
// loop.
type writeResult struct {
	replica string
	attempt int
	files   map[string][]byte
	objects []protocol.ObjectRef
	source  resultSource
}

// writeFailure: write the replica's failure.json, then report through
// failureWritten.
type writeFailure struct {
	replica string
	failure rundir.Failure
}

// removeFailure: remove the replica's failure.json (it has a result now).
type removeFailure struct{ replica string }

// writeTable: rewrite replicas.csv with rows, then report through
// tableWritten.
type writeTable struct{ rows []rundir.SummaryReplica }

// queryDrained: ask whether the durable consumer has nothing left to
// deliver or awaiting an ack, and report through drained.
type queryDrained struct{}

// replay: read the replica's events from the stream in order, feeding each
// to replayEvent, then report through replayEnd.
type replay struct{ replica string }

// reconcile: look up the replica's result files in the object store and
// report through reconciled.
type reconcile struct{ replica string }

// finish: write replicas.csv, summary.json and, for a sweep with a prune
// section, prune.json, and end the collection.
type finish struct {
	summary *rundir.Summary
	prune   *rundir.PruneLog
}

func (logMsg) isAction()        {}
func (ack) isAction()           {}
func (nak) isAction()           {}
func (term) isAction()          {}
func (appendRows) isAction()    {}
func (readRecord) isAction()    {}
func (writeResult) isAction()   {}
func (writeFailure) isAction()  {}
func (removeFailure) isAction() {}
func (writeTable) isAction()    {}
func (queryDrained) isAction()  {}
func (replay) isAction()        {}
func (reconcile) isAction()     {}
func (finish) isAction()        {}

func logf(level hclog.Level, msg string, args ...any) logMsg {
	return logMsg{level: level, msg: msg, args: args}
}

// Timing of the collector's decisions.
const (
	// gapDelay is how long a trajectory chunk that arrived ahead of an
	// earlier one, or a result ahead of its record, waits before it is
	// delivered again.
	gapDelay = 200 * time.Millisecond
	// retryDelay is how long a failed write, read or replay waits before
	// it is tried again.
	retryDelay = time.Second
	// resultGrace is how long after a replica finished its rows and
	// result events may still be on their way before the collector
	// rebuilds it from the stream (unless the consumer is drained).
	resultGrace = 3 * time.Second
	// tableInterval is the least time between two rewrites of
	// replicas.csv while the sweep runs.
	tableInterval = 2 * time.Second
)

// class is how far a replica's collection has come.
type class uint8

const (
	classUnknown    class = iota // no record seen yet
	classRunning                 // record not terminal
	classIncomplete              // terminal, but rows, result files or failure.json missing
	classComplete                // terminal and everything on disk
	numClasses
)

// outcome is what the summary and the table keep of a result.json.
type outcome struct {
	status      string
	steps       int64
	divergedAt  int64
	final, best rundir.Metrics
}

func outcomeOf(r *rundir.Result) *outcome {
	return &outcome{status: r.Status, steps: r.Steps, divergedAt: r.DivergedAt, final: r.Final, best: r.Best}
}

// collectState is the collector's knowledge of one sweep: each replica's
// record, the last trajectory step on disk, the result written, the
// failure.json written. See the file comment.
type collectState struct {
	sweep *Sweep
	ids   []string // sweep order
	byID  map[string]*Replica

	records  map[string]*protocol.ReplicaState
	lastStep map[string]int64 // last row of trajectory.csv, −1 for none
	outcome  map[string]*outcome
	// wrote is the attempt whose result files this collector wrote (a
	// later result event of that attempt is a duplicate).
	wrote map[string]int
	// failEvent is the latest failure event of each replica; failWritten
	// the content of the failure.json written, failOnDisk whether one may
	// be on disk.
	failEvent   map[string]*protocol.Failure
	failWritten map[string]rundir.Failure
	failOnDisk  map[string]bool

	class      map[string]class
	count      [numClasses]int
	incomplete map[string]bool
	// inflight counts the readRecord and writeResult actions not yet
	// reported back; busy those of writeResult by replica.
	inflight int
	busy     map[string]int
	retryAt  map[string]time.Time
	// replaying holds the result of the record's attempt found by the
	// replay in progress.
	replaying map[string]*protocol.Result

	tableDirty bool
	tableAt    time.Time
	finished   bool

	// prune is successive halving (collectprune.go); nil when the sweep
	// has no prune section.
	prune *pruneCollect
}

// newCollectState returns the state of a collection of s that has seen
// nothing: every trajectory empty, no record known.
func newCollectState(s *Sweep) *collectState {
	st := &collectState{sweep: s, byID: map[string]*Replica{},
		records: map[string]*protocol.ReplicaState{}, lastStep: map[string]int64{}, outcome: map[string]*outcome{},
		wrote: map[string]int{}, failEvent: map[string]*protocol.Failure{}, failWritten: map[string]rundir.Failure{},
		failOnDisk: map[string]bool{}, class: map[string]class{}, incomplete: map[string]bool{},
		busy: map[string]int{}, retryAt: map[string]time.Time{}, replaying: map[string]*protocol.Result{},
		tableDirty: true}
	for i := range s.Replicas {
		r := &s.Replicas[i]
		st.ids = append(st.ids, r.ID)
		st.byID[r.ID] = r
		st.lastStep[r.ID] = -1
	}
	st.count[classUnknown] = len(st.ids)
	return st
}

// sweepFile returns the run directory's sweep.json.
func (s *collectState) sweepFile() *rundir.Sweep {
	created, _ := json.Marshal(s.sweep.Created)
	f := &rundir.Sweep{Version: rundir.SweepVersion, ID: s.sweep.ID, Name: s.sweep.Name, SpecHash: s.sweep.SpecHash, Created: created,
		Replicas: make([]rundir.SweepEntry, 0, len(s.ids))}
	for _, id := range s.ids {
		r := s.byID[id]
		f.Replicas = append(f.Replicas, rundir.SweepEntry{ID: r.ID, Index: r.Index, Group: r.Group, Settings: r.Settings, Seed: r.Seed})
	}
	return f
}

// loadDisk records what the run directory already holds for replica id
// (before any event): the last trajectory step (−1 for none), its
// result.json (nil for none) and whether it has a failure.json.
func (s *collectState) loadDisk(id string, last int64, res *rundir.Result, failure bool) {
	if s.byID[id] == nil {
		return
	}
	s.lastStep[id] = last
	if res != nil {
		s.outcome[id] = outcomeOf(res)
	}
	s.failOnDisk[id] = failure
	s.reclassify(id)
}

// event handles a message of the sweep's events consumer; delivered is
// its delivery count (0 when unknown).
func (s *collectState) event(subject string, data []byte, delivered uint64) []action {
	_, replica, kind, err := protocol.ParseEventSubject(subject)
	if err != nil {
		return []action{logf(hclog.Warn, "event with a malformed subject dropped", "subject", subject, "error", err), term{}}
	}
	if s.byID[replica] == nil {
		return []action{logf(hclog.Warn, "event for an unknown replica dropped", "subject", subject), term{}}
	}
	switch kind {
	case protocol.EventTraj:
		return s.chunk(replica, data, delivered)
	case protocol.EventProgress:
		return s.progress(replica, data)
	case protocol.EventResult:
		return s.result(replica, data)
	case protocol.EventFailure:
		return s.failure(replica, data)
	}
	return []action{ack{}}
}

// chunk handles a trajectory chunk: its rows newer than the file's last
// are appended; rows the file has (a resumed attempt resends the rows
// after its checkpoint, identical) are skipped. A chunk whose preceding
// row (After) is not in the file yet is taken again later: chunks come in
// order except when one is redelivered (a failed write, or a coordinator
// that stopped with chunks in hand), and appending the later one first
// would leave a hole.
func (s *collectState) chunk(replica string, data []byte, delivered uint64) []action {
	ch, err := protocol.DecodeTrajChunk(data)
	if err == nil && ch.Replica != replica {
		err = fmt.Errorf("chunk of replica %s on the subject of %s", ch.Replica, replica)
	}
	if err != nil {
		return []action{logf(hclog.Warn, "malformed trajectory chunk dropped", "replica", replica, "error", err), ack{}}
	}
	app, gap := s.newRows(replica, ch)
	if gap {
		level := hclog.Debug
		if delivered > 0 && delivered%50 == 0 {
			level = hclog.Warn // ~10 s without the rows before it
		}
		return []action{logf(level, "trajectory chunk ahead of the file; taking it later",
			"replica", replica, "after", ch.After, "have", s.lastStep[replica]), nak{gapDelay}}
	}
	if app == nil {
		return []action{ack{}}
	}
	// The rows are appended before a decision they complete is stored,
	// so that a restarted collector finds them on disk (collectprune.go).
	acts := append([]action{*app}, s.pruneRows(replica, ch.Columns, app.rows)...)
	return append(acts, ack{})
}

// newRows returns the append of ch's rows that are newer than the file's
// last row (nil when there are none), or gap when ch starts after rows the
// file lacks. The file's last step moves on at once; if the append fails,
// appendFailed sets it to what the file holds.
func (s *collectState) newRows(replica string, ch *protocol.TrajChunk) (app *appendRows, gap bool) {
	last := s.lastStep[replica]
	if ch.After > last {
		return nil, true
	}
	var rows [][]float64
	next := last
	for _, row := range ch.Rows {
		if len(row) == 0 {
			continue
		}
		if step := int64(row[0]); step > next {
			rows = append(rows, row)
			next = step
		}
	}
	if len(rows) == 0 {
		return nil, false
	}
	s.lastStep[replica] = next
	s.reclassify(replica)
	return &appendRows{replica: replica, columns: ch.Columns, last: last, rows: rows}, false
}

// appendFailed reports that an appendRows failed; last is the step of the
// file's last complete row now (after repairing a torn line).
func (s *collectState) appendFailed(replica string, last int64, err error) []action {
	s.lastStep[replica] = last
	s.reclassify(replica)
	return []action{logf(hclog.Error, "cannot write trajectory; will retry", "replica", replica, "error", err), nak{retryDelay}}
}

// progress handles a progress event: the collector has no use for it
// (live progress is Coordinator.Feed's), beyond checking that it decodes.
func (s *collectState) progress(replica string, data []byte) []action {
	if _, err := protocol.DecodeProgress(data); err != nil {
		return []action{logf(hclog.Warn, "malformed progress event dropped", "replica", replica, "error", err), ack{}}
	}
	return []action{ack{}}
}

// result handles a result event. Its files are written only if its
// attempt is the record's current one (the attempt fence): a result of an
// older attempt comes from a superseded worker (a zombie) and is dropped.
func (s *collectState) result(replica string, data []byte) []action {
	res, err := protocol.DecodeResult(data)
	if err == nil && res.Replica != replica {
		err = fmt.Errorf("result of replica %s on the subject of %s", res.Replica, replica)
	}
	if err != nil {
		return []action{logf(hclog.Warn, "malformed result dropped", "replica", replica, "error", err), ack{}}
	}
	return s.fence(res, s.records[replica], false)
}

// fence decides on a result given the replica's record st (nil: unknown);
// read says st was just read from the bucket rather than watched.
func (s *collectState) fence(res *protocol.Result, st *protocol.ReplicaState, read bool) []action {
	id := res.Replica
	switch {
	case st == nil || st.Attempt < res.Attempt:
		if !read {
			// The watched record is usually current; when it lags behind
			// the result, ask the bucket.
			s.inflight++
			return []action{readRecord{res: res}}
		}
		// A worker records its attempt before it runs, so the record
		// read is behind (a lagging replica of a clustered bucket): take
		// the result again shortly.
		return []action{logf(hclog.Debug, "result ahead of its record; taking it later", "replica", id,
			"attempt", res.Attempt, "record", st.Attempt), nak{gapDelay}}
	case s.prunedResult(id):
		return []action{logf(hclog.Info, "result of a pruned replica not collected (its chain finished as it was pruned)",
			"replica", id, "attempt", res.Attempt), ack{}}
	case st.Attempt > res.Attempt:
		return []action{logf(hclog.Warn, "stale result ignored", "replica", id, "attempt", res.Attempt,
			"current", st.Attempt, "worker", res.Worker), ack{}}
	case s.wrote[id] == res.Attempt:
		return []action{logf(hclog.Debug, "duplicate result skipped", "replica", id, "attempt", res.Attempt), ack{}}
	}
	acts, ok := s.collect(res, fromEvent)
	if !ok {
		acts = append(acts, ack{})
	}
	return acts
}

// recordRead reports the record read for res's fence (err: the read
// failed).
func (s *collectState) recordRead(res *protocol.Result, st *protocol.ReplicaState, err error) []action {
	s.inflight--
	if err != nil {
		return []action{logf(hclog.Warn, "cannot read the replica's record; will retry", "replica", res.Replica, "error", err), nak{retryDelay}}
	}
	return s.fence(res, st, true)
}

// collect returns the writeResult of res's files, or ok false and a log
// line when res lists no result.json (it can never be written).
func (s *collectState) collect(res *protocol.Result, source resultSource) (acts []action, ok bool) {
	id := res.Replica
	files := make(map[string][]byte, len(res.Files)+1)
	has := false
	for i := range res.Files {
		files[res.Files[i].File] = res.Files[i].Data
		has = has || res.Files[i].File == rundir.FileResult
	}
	for i := range res.Artifacts {
		has = has || res.Artifacts[i].File == rundir.FileResult
	}
	if !has {
		return []action{logf(hclog.Error, "result without result.json dropped", "replica", id, "attempt", res.Attempt, "worker", res.Worker)}, false
	}
	return []action{s.writeAction(id, res.Attempt, files, res.Artifacts, source)}, true
}

// writeAction returns the writeResult of files and objects (adding
// replica.json) and counts it in flight.
func (s *collectState) writeAction(id string, attempt int, files map[string][]byte, objects []protocol.ObjectRef, source resultSource) writeResult {
	if files == nil {
		files = map[string][]byte{}
	}
	if info, err := rundir.EncodeReplicaInfo(s.byID[id]); err == nil {
		files[rundir.FileReplica] = info
	}
	s.inflight++
	s.busy[id]++
	return writeResult{replica: id, attempt: attempt, files: files, objects: slices.Clone(objects), source: source}
}

// resultWritten reports a writeResult: err, or the bytes of the
// result.json written.
func (s *collectState) resultWritten(w writeResult, resultJSON []byte, err error, now time.Time) []action {
	s.inflight--
	s.busy[w.replica]--
	if err != nil {
		if w.source == fromEvent {
			return []action{logf(hclog.Error, "cannot fetch the replica's files; will retry", "replica", w.replica, "error", err), nak{retryDelay}}
		}
		s.retryAt[w.replica] = now.Add(retryDelay)
		return []action{logf(hclog.Error, "cannot write the replica's files; will retry", "replica", w.replica, "error", err)}
	}
	var acts []action
	var r rundir.Result
	if err := json.Unmarshal(resultJSON, &r); err != nil || (r.Status != rundir.StatusDone && r.Status != rundir.StatusDiverged) {
		// The files are the replica's, written; the summary does without
		// the metrics.
		acts = append(acts, logf(hclog.Warn, "result.json unreadable; its metrics are left out", "replica", w.replica, "error", err, "status", r.Status))
		r = rundir.Result{Status: rundir.StatusDone}
		if st := s.records[w.replica]; st != nil && st.ErrorCode == protocol.CodeDiverged {
			r.Status = rundir.StatusDiverged
		}
	}
	s.outcome[w.replica] = outcomeOf(&r)
	s.wrote[w.replica] = w.attempt
	s.tableDirty = true
	s.reclassify(w.replica)
	if s.failOnDisk[w.replica] {
		// A replica that failed, was resumed and finished.
		s.failOnDisk[w.replica] = false
		delete(s.failWritten, w.replica)
		acts = append(acts, removeFailure{replica: w.replica})
	}
	switch w.source {
	case fromEvent:
		acts = append(acts, ack{})
	case fromReplay:
		acts = append(acts, logf(hclog.Info, "rebuilt a replica from its events", "replica", w.replica))
	case fromStore:
		acts = append(acts, logf(hclog.Info, "fetched a result whose event was missed", "replica", w.replica))
	}
	return acts
}

// failure handles a failure event: the replica's record says failed too
// (the worker records it just after), and its failure.json takes the
// event's worker and step.
func (s *collectState) failure(replica string, data []byte) []action {
	f, err := protocol.DecodeFailure(data)
	if err == nil && f.Replica != replica {
		err = fmt.Errorf("failure of replica %s on the subject of %s", f.Replica, replica)
	}
	if err != nil {
		return []action{logf(hclog.Warn, "malformed failure event dropped", "replica", replica, "error", err), ack{}}
	}
	if prev := s.failEvent[replica]; prev == nil || f.Attempt >= prev.Attempt {
		s.failEvent[replica] = f
	}
	acts := []action{logf(hclog.Warn, "replica failed", "replica", replica, "code", f.Code, "reason", f.Message)}
	acts = append(acts, s.failureFile(replica)...)
	s.reclassify(replica)
	return append(acts, ack{})
}

// failed reports whether st is a failure without a result (a diverged
// chain is recorded failed with CodeDiverged, but it has a result).
func failed(st *protocol.ReplicaState) bool {
	return st != nil && st.State == protocol.StateFailed && st.ErrorCode != protocol.CodeDiverged
}

// hasResult reports whether a replica in record st has a result.
func hasResult(st *protocol.ReplicaState) bool {
	return st != nil && (st.State == protocol.StateDone || (st.State == protocol.StateFailed && st.ErrorCode == protocol.CodeDiverged))
}

// failureOf returns the failure.json of a replica whose record st is
// failed: the record's code, message, attempts, worker, step and time,
// with the worker and step of its failure event, when one of the same
// attempt and code was seen.
func (s *collectState) failureOf(id string, st *protocol.ReplicaState) rundir.Failure {
	f := rundir.Failure{Version: rundir.FailureVersion, Replica: id, Code: st.ErrorCode.String(), Message: st.Error,
		Attempts: st.Attempt, Worker: st.Worker, Step: st.Step, Time: st.Updated}
	if e := s.failEvent[id]; e != nil && e.Attempt == max(st.Attempt, 1) && e.Code == st.ErrorCode {
		f.Worker = e.Worker
		f.Step = max(f.Step, e.Step)
		if f.Message == "" {
			f.Message = e.Message
		}
	}
	return f
}

// sameFailure reports whether a and b have the same content.
func sameFailure(a, b rundir.Failure) bool {
	t := a.Time.Equal(b.Time)
	a.Time, b.Time = time.Time{}, time.Time{}
	return t && a == b
}

// failureMissing reports whether replica id is failed and its
// failure.json is not (yet) the one its record calls for.
func (s *collectState) failureMissing(id string) bool {
	st := s.records[id]
	if !failed(st) {
		return false
	}
	w, ok := s.failWritten[id]
	return !ok || !sameFailure(w, s.failureOf(id, st))
}

// failureFile returns the writeFailure a failed replica needs, if any.
func (s *collectState) failureFile(id string) []action {
	if !s.failureMissing(id) {
		return nil
	}
	return []action{writeFailure{replica: id, failure: s.failureOf(id, s.records[id])}}
}

// failureWritten reports a writeFailure.
func (s *collectState) failureWritten(w writeFailure, err error, now time.Time) []action {
	if err != nil {
		s.retryAt[w.replica] = now.Add(retryDelay)
		return []action{logf(hclog.Error, "cannot write failure.json; will retry", "replica", w.replica, "error", err)}
	}
	s.failWritten[w.replica] = w.failure
	s.failOnDisk[w.replica] = true
	s.tableDirty = true
	s.reclassify(w.replica)
	return nil
}

// record handles an update of the replica state watch: key and value of
// a put.
func (s *collectState) record(key string, value []byte) []action {
	_, id, err := protocol.ParseReplicaKey(key)
	if err != nil || s.byID[id] == nil {
		return nil
	}
	st, err := protocol.DecodeReplicaState(value)
	if err != nil {
		return []action{logf(hclog.Warn, "malformed replica state ignored", "key", key, "error", err)}
	}
	prev := s.records[id]
	s.records[id] = st
	if s.prune != nil && !st.State.Terminal() {
		s.prune.followed = true
	}
	if prev == nil || prev.State != st.State || prev.Attempt != st.Attempt || prev.ErrorCode != st.ErrorCode {
		s.tableDirty = true
	}
	s.reclassify(id)
	return s.failureFile(id)
}

// rowsMissing reports whether replica id is done but its trajectory does
// not reach its last step yet (a finished chain's last row is there).
func (s *collectState) rowsMissing(id string) bool {
	st := s.records[id]
	return st != nil && st.State == protocol.StateDone && s.lastStep[id] < st.Steps
}

// resultMissing reports whether replica id has a result whose files are
// not on disk yet.
func (s *collectState) resultMissing(id string) bool {
	return hasResult(s.records[id]) && s.outcome[id] == nil
}

// classOf returns replica id's class.
func (s *collectState) classOf(id string) class {
	st := s.records[id]
	switch {
	case st == nil:
		return classUnknown
	case !st.State.Terminal():
		return classRunning
	case s.rowsMissing(id) || s.resultMissing(id) || s.failureMissing(id):
		return classIncomplete
	}
	return classComplete
}

// reclassify updates replica id's class and the counts.
func (s *collectState) reclassify(id string) {
	c := s.classOf(id)
	old := s.class[id]
	if c == old {
		return
	}
	s.count[old]--
	s.count[c]++
	s.class[id] = c
	if c == classIncomplete {
		s.incomplete[id] = true
	} else {
		delete(s.incomplete, id)
	}
}

// tick is called every few hundred milliseconds: it rewrites replicas.csv
// when something changed and the last rewrite is tableInterval old, and,
// once every record is known, looks after the replicas that are finished
// but not on disk: a failure.json whose write failed is written again; a
// replica whose rows or files are overdue (resultGrace after its record
// changed once the consumer has delivered every event, or at once when
// the consumer is drained; see drained) is rebuilt from the stream. A worker publishes a replica's rows and result before it
// records it finished, so overdue means the run directory missed them:
// they were acknowledged into another directory, or into this one before
// it lost them.
func (s *collectState) tick(now time.Time) []action {
	if s.finished {
		return nil
	}
	acts := s.pruneRetry(now)
	if s.count[classUnknown] > 0 {
		return acts
	}
	if s.tableDirty && now.Sub(s.tableAt) >= tableInterval {
		acts = append(acts, writeTable{rows: s.rows()})
		s.tableDirty, s.tableAt = false, now
	}
	ask := false
	for _, id := range s.waiting(now) {
		if s.failureMissing(id) {
			acts = append(acts, s.failureFile(id)...)
			continue
		}
		ask = true
	}
	if ask {
		acts = append(acts, queryDrained{})
	}
	return acts
}

// waiting returns the incomplete replicas, sorted, that have no write in
// flight and no retry pending.
func (s *collectState) waiting(now time.Time) []string {
	var ids []string
	for id := range s.incomplete {
		if s.busy[id] == 0 && !now.Before(s.retryAt[id]) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// consumerState is what the collector's durable consumer reports about
// the events of the sweep (queryDrained).
type consumerState struct {
	// CaughtUp: every event has been delivered at least once (none is
	// waiting in the stream beyond what the collector has seen; some may
	// await an ack or a redelivery).
	CaughtUp bool
	// Drained: caught up, and nothing awaits an ack or a redelivery.
	Drained bool
}

// drained receives the durable consumer's state (queryDrained) and
// rebuilds the waiting replicas from the stream when their rows and files
// will not come as events: at once when the consumer is drained; after
// resultGrace once it is caught up. A collector that is behind (events
// not yet delivered to it) rebuilds nothing: the missing rows and files
// are most likely in that backlog, and rebuilding replicas one at a time
// in the loop would put it further behind (measured: 5,000 short replicas
// on a 3-node cluster collapsed to 12 replicas/s).
func (s *collectState) drained(now time.Time, q consumerState) []action {
	if !q.CaughtUp || s.finished {
		return nil
	}
	var acts []action
	for _, id := range s.waiting(now) {
		if s.failureMissing(id) {
			continue
		}
		if q.Drained || now.Sub(s.records[id].Updated) >= resultGrace {
			acts = append(acts, replay{replica: id})
		}
	}
	return acts
}

// replayEvent handles one event of replica id's replay, in stream order:
// rows are appended as from the consumer (stream order is publication
// order, so no gap can occur; one would be skipped), and the result of the
// record's attempt is kept for replayEnd.
func (s *collectState) replayEvent(id, subject string, data []byte) []action {
	_, replica, kind, err := protocol.ParseEventSubject(subject)
	if err != nil || replica != id {
		return nil
	}
	switch kind {
	case protocol.EventTraj:
		ch, err := protocol.DecodeTrajChunk(data)
		if err != nil || ch.Replica != id {
			return nil
		}
		if app, _ := s.newRows(id, ch); app != nil {
			return append([]action{*app}, s.pruneRows(id, ch.Columns, app.rows)...)
		}
	case protocol.EventResult:
		res, err := protocol.DecodeResult(data)
		if st := s.records[id]; err == nil && st != nil && res.Replica == id && res.Attempt == st.Attempt {
			s.replaying[id] = res
		}
	}
	return nil
}

// replayEnd reports the end of replica id's replay (err: it could not
// read the stream to the end). The result found is written; without one,
// once the rows are complete, the files are looked up in the object store
// (results too large to inline are there).
func (s *collectState) replayEnd(id string, err error, now time.Time) []action {
	res := s.replaying[id]
	delete(s.replaying, id)
	st := s.records[id]
	if st == nil {
		return nil
	}
	switch {
	case err != nil:
	case s.rowsMissing(id):
		err = fmt.Errorf("replay of %s: trajectory ends at step %d, before its last step %d", id, s.lastStep[id], st.Steps)
	case !s.resultMissing(id):
		return nil
	case res == nil:
		err = fmt.Errorf("replay of %s: no result of attempt %d in the stream", id, st.Attempt)
	}
	if err == nil {
		acts, ok := s.collect(res, fromReplay)
		if ok {
			return acts
		}
		err = fmt.Errorf("replay of %s: the result of attempt %d lists no result.json", id, st.Attempt)
	}
	acts := []action{logf(hclog.Debug, "replica not rebuilt from its events", "replica", id, "error", err)}
	if s.rowsMissing(id) || !s.resultMissing(id) {
		s.retryAt[id] = now.Add(retryDelay)
		return acts
	}
	return append(acts, reconcile{replica: id})
}

// reconciled reports a reconcile: the replica's result files in the object
// store, or err.
func (s *collectState) reconciled(id string, refs []protocol.ObjectRef, err error, now time.Time) []action {
	st := s.records[id]
	if err != nil || st == nil {
		s.retryAt[id] = now.Add(retryDelay)
		return []action{logf(hclog.Debug, "result not yet available", "replica", id, "error", err)}
	}
	return []action{s.writeAction(id, st.Attempt, nil, refs, fromStore)}
}

// tableWritten reports a writeTable.
func (s *collectState) tableWritten(err error) []action {
	if err == nil {
		return nil
	}
	s.tableDirty = true
	return []action{logf(hclog.Warn, "cannot write replicas.csv; will retry", "error", err)}
}

// done returns the finish action once, when every replica is finished and
// on disk and no write is in flight.
func (s *collectState) done() []action {
	if s.finished || s.count[classComplete] != len(s.ids) || s.inflight > 0 || s.pruneBusy() {
		return nil
	}
	s.finished = true
	return []action{finish{summary: s.summary(), prune: s.pruneLog()}}
}

// row returns replica id's line of summary.json and replicas.csv.
func (s *collectState) row(id string) rundir.SummaryReplica {
	r := s.byID[id]
	rs := rundir.SummaryReplica{ID: r.ID, Index: r.Index, Group: r.Group, Settings: r.Settings, Seed: r.Seed}
	st := s.records[id]
	if st != nil {
		rs.State, rs.Status, rs.Attempts, rs.Steps, rs.Error = string(st.State), string(st.State), st.Attempt, st.Step, st.Error
		if st.ErrorCode != protocol.CodeUnknown {
			rs.ErrorCode = st.ErrorCode.String()
		}
		if st.State == protocol.StatePruned {
			// How far it ran, as far as the collector knows: its last
			// checkpoint, or its last row.
			rs.Steps = max(rs.Steps, s.lastStep[id])
		}
	}
	if o := s.outcome[id]; o != nil && (st == nil || hasResult(st)) {
		final, best := o.final, o.best
		rs.Status, rs.Steps, rs.DivergedAt, rs.Final, rs.Best = o.status, o.steps, o.divergedAt, &final, &best
	}
	return rs
}

// rows returns every replica's row, in sweep order.
func (s *collectState) rows() []rundir.SummaryReplica {
	rows := make([]rundir.SummaryReplica, 0, len(s.ids))
	for _, id := range s.ids {
		rows = append(rows, s.row(id))
	}
	return rows
}

// summary returns summary.json: every replica's row and the counts by
// status, with done, diverged, failed and cancelled always present.
func (s *collectState) summary() *rundir.Summary {
	sum := &rundir.Summary{Version: rundir.SummaryVersion, Sweep: s.sweep.ID, Name: s.sweep.Name, Replicas: s.rows(),
		Counts: map[string]int{rundir.StatusDone: 0, rundir.StatusDiverged: 0, rundir.StatusFailed: 0, rundir.StatusCancelled: 0}}
	if s.prune != nil {
		sum.Counts[rundir.StatusPruned] = 0
	}
	for _, r := range sum.Replicas {
		sum.Counts[r.Status]++
	}
	sum.Prune = s.pruneSummary(sum.Replicas)
	return sum
}
