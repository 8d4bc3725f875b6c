package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/train"
)

// attempt is one worker's run of one replica.
type attempt struct {
	w     *Worker
	m     jetstream.Msg
	task  *protocol.Task
	key   string
	state protocol.ReplicaState
	rev   uint64
	log   hclog.Logger

	rep  *train.Replica
	rows [][]float64
	seq  int64
	// prevRow is the step of the last trajectory row emitted (-1: none),
	// after the step of the row before rows[0].
	prevRow, after int64
	lastBeat       time.Time
	lastCkpt       time.Time
	lastProg       time.Time
	ckptStep       int64
	// tail is the slot's token for publishing a result (see finish).
	tail chan struct{}
	// hb keeps the delivery alive through blocking calls; ackWait is the
	// consumer's (set by run when zero).
	hb      *keeper
	ackWait time.Duration
	// stopping shortens the retries of the checkpoint on shutdown.
	stopping bool
	// renewed is when the attempt last wrote its record (its lease, see
	// lease.go), renewTry when it last tried; unsure says that a write's
	// outcome is unknown (its reply was lost), so that the next write
	// first reads the record from the leader (settle).
	renewed, renewTry time.Time
	unsure            bool
}

// progressInterval thins progress events in time: at most one per second
// per attempt (and the last one), whatever Task.ProgressEvery says, since
// every event is a JetStream write.
const progressInterval = time.Second

// chunkTime is the wall-clock time a chunk of steps aims at.
const chunkTime = 200 * time.Millisecond

// errStale means the attempt was superseded: drop everything.
var errStale = errors.New("worker: attempt superseded")

// opctx returns the context of one NATS operation: opTimeout, well below
// the ack wait.
func (a *attempt) opctx() (context.Context, context.CancelFunc) {
	return a.w.bound(context.Background(), a.opTimeout())
}

// run runs the attempt to its end. Heartbeats go on until the task is
// acknowledged, handed back or dropped, through every blocking call.
func (a *attempt) run(ctx context.Context) {
	if a.ackWait <= 0 {
		a.ackWait = a.w.ackWait()
	}
	a.hb = newKeeper(a.m, a.heartbeat(), a.ackWait)
	if a.renewed.IsZero() {
		a.renewed = time.Now() // the claim wrote the record
	}
	a.w.live.Store(a.key, a)
	if !a.chain(ctx) {
		a.hb.stop()
		a.w.live.CompareAndDelete(a.key, a)
	}
}

// chain runs the chain; it returns true when the result is being published
// (finish), which then stops the heartbeats.
func (a *attempt) chain(ctx context.Context) bool {
	t := *a.task
	// Data files stored with the sweep are read from the local cache
	// (worker/data.go); t is a copy, the task keeps the spec's path.
	data, err := a.w.localData(ctx, t.Config.Data)
	if errors.Is(err, errDataMissing) || errors.Is(err, errDataCorrupt) {
		a.fail(protocol.CodeInvalidConfig, err.Error())
		return false
	} else if err != nil {
		a.transient(err)
		return false
	}
	t.Config.Data = data
	rep, err := train.Build(t.Config)
	if err != nil {
		a.fail(protocol.CodeInvalidConfig, err.Error())
		return false
	}
	rep.Config.Data.Path, rep.Config.Data.TestPath = a.task.Config.Data.Path, a.task.Config.Data.TestPath
	rep.ID = t.Replica // into the parameter files' metadata
	a.rep = rep
	if a.state.Checkpoint != "" {
		if err := a.restore(); errors.Is(err, train.ErrNumerics) {
			// The checkpoint was computed by kernels of another numerics
			// version. Starting again from step 0 here would leave the
			// rows already collected from the old kernels in front of
			// this worker's in trajectory.csv: hand the task back instead,
			// so that a worker of the checkpoint's version (a fleet in the
			// middle of an upgrade) can continue it. It counts as an error
			// of the replica, which fails after a few such attempts with
			// the message naming both versions.
			a.transient(fmt.Errorf("worker %s cannot continue %s: %w", a.w.cfg.Name, t.Replica, err))
			return false
		} else if err != nil {
			a.log.Warn("cannot restore the checkpoint; starting from step 0", "error", err)
			if rep, err = train.Build(t.Config); err != nil {
				a.fail(protocol.CodeInvalidConfig, err.Error())
				return false
			}
			rep.ID = t.Replica
			a.rep = rep
		} else {
			a.log.Info("resumed from checkpoint", "step", a.rep.Chain.Steps())
		}
	}
	a.ckptStep = a.rep.Chain.Steps()
	a.lastBeat, a.lastCkpt, a.lastProg = time.Now(), time.Now(), time.Now()
	progEvery := t.ProgressEvery
	if progEvery <= 0 {
		progEvery = a.rep.Config.EvalEvery
	}
	// The chain runs in chunks sized to last about chunkTime, whatever a
	// step costs, so that heartbeats, cancellation and shutdown are seen
	// in time; checkpoints land exactly every CheckpointEvery steps.
	chunk := int64(64)
	lastProgStep := a.rep.Chain.Steps()
	chunkRows := t.TrajChunkRows
	if chunkRows <= 0 {
		chunkRows = protocol.DefaultTrajChunk
	}
	// The row before the next one: none for a fresh chain; after a
	// restore, the last evaluation the checkpoint holds.
	a.prevRow = -1
	if a.rep.Evals() > 0 {
		a.prevRow = a.rep.Last().Step
	}
	// The milestones of successive halving (t.PublishAt): the rows are
	// published as soon as the chain has evaluated at or past one, so that
	// the coordinator decides there. pub indexes the next one.
	pub := 0
	for pub < len(t.PublishAt) && a.prevRow >= t.PublishAt[pub] {
		pub++
	}
	collect := func(row []float64) error {
		if len(a.rows) == 0 {
			a.after = a.prevRow
		}
		a.rows = append(a.rows, append([]float64(nil), row...))
		a.prevRow = int64(row[0])
		return nil
	}
	for !a.rep.Done() {
		if ctx.Err() != nil {
			a.preempt()
			return false
		}
		if _, ok := a.w.cancelled.Load(t.Sweep); ok {
			a.log.Info("sweep cancelled; abandoning the replica")
			_ = a.m.TermWithReason("sweep cancelled")
			return false
		}
		if _, ok := a.w.pruned.Load(a.key); ok {
			// The coordinator recorded the replica pruned (successive
			// halving); the rows it judged are published already.
			a.log.Info("replica pruned; abandoning it", "step", a.rep.Chain.Steps())
			_ = a.m.TermWithReason("replica pruned")
			return false
		}
		next := a.rep.Chain.Steps() + chunk
		if t.CheckpointEvery > 0 {
			next = min(next, a.ckptStep+t.CheckpointEvery)
		}
		if pub < len(t.PublishAt) {
			// Stop at the first evaluation at or past the milestone.
			at := t.PublishAt[pub]
			if ev := a.rep.Config.EvalEvery; ev > 0 {
				at = (at + ev - 1) / ev * ev
			}
			next = min(next, max(at, a.rep.Chain.Steps()+1))
		}
		t0 := time.Now()
		if err := a.rep.RunUntil(next, collect); err != nil {
			a.fail(protocol.CodeInternal, err.Error())
			return false
		}
		switch el := time.Since(t0); {
		case el < chunkTime/4 && chunk < 1<<30:
			chunk *= 2
		case el > chunkTime && chunk > 1:
			chunk /= 2
		}
		a.hb.beatIfDue()
		n := a.rep.Chain.Steps()
		milestone := false
		for pub < len(t.PublishAt) && a.prevRow >= t.PublishAt[pub] {
			pub++
			milestone = true
		}
		if len(a.rows) >= chunkRows || milestone && len(a.rows) > 0 {
			if err := a.flushRows(); err != nil {
				if !errors.Is(err, errUnavailable) {
					a.transient(err)
					return false
				}
				// The rows stay buffered and go with the next flush.
				a.log.Warn("events stream unavailable; keeping the trajectory rows for later", "rows", len(a.rows), "error", err)
			}
		}
		if n-lastProgStep >= progEvery && time.Since(a.lastProg) >= progressInterval && !a.rep.Done() {
			a.progress()
			a.lastProg, lastProgStep = time.Now(), n
		}
		a.hb.beatIfDue()
		if err := a.renewIfDue(); err != nil {
			a.log.Warn("attempt superseded; dropping it", "error", err)
			return false
		}
		due := (t.CheckpointEvery > 0 && n-a.ckptStep >= t.CheckpointEvery) ||
			(t.CheckpointSeconds > 0 && time.Since(a.lastCkpt).Seconds() >= t.CheckpointSeconds)
		if due && !a.rep.Done() {
			if err := a.checkpoint(protocol.StateRunning); err != nil {
				if errors.Is(err, errStale) {
					a.log.Warn("attempt superseded; dropping it")
					return false
				}
				if !errors.Is(err, errUnavailable) && !leaderless(err) {
					a.transient(err)
					return false
				}
				// A periodic checkpoint is an insurance, not a duty: the
				// chain goes on and the next one is due in one period.
				a.log.Warn("checkpoint skipped: the cluster is unavailable", "step", n, "error", err)
				a.ckptStep, a.lastCkpt = n, time.Now()
			}
		}
	}
	return a.finish()
}

func (a *attempt) heartbeat() time.Duration {
	if a.w.cfg.Heartbeat > 0 {
		return a.w.cfg.Heartbeat
	}
	return 5 * time.Second
}

func (a *attempt) restore() error {
	var b []byte
	err := a.retry(context.Background(), "read checkpoint", func(ctx context.Context) (err error) {
		b, err = a.w.obs.GetBytes(ctx, a.state.Checkpoint)
		return err
	})
	if err != nil {
		return err
	}
	// The checkpoint starts with the spec hash it was written under.
	hash, body, ok := bytes.Cut(b, []byte{'\n'})
	if !ok || string(hash) != a.task.SpecHash {
		return fmt.Errorf("checkpoint was written for spec %q, task has %q", hash, a.task.SpecHash)
	}
	return a.rep.UnmarshalBinary(body)
}

// fenceWait bounds how long fence waits for a lagging replica of the
// bucket to show the attempt's own last write.
var fenceWait = 5 * time.Second

// fence returns errStale when the replica's record has moved on from this
// attempt (another attempt took it over, or the sweep was cancelled): the
// record was written after the attempt's own last write, by someone else.
//
// On a clustered bucket a read may be served by a replica that lags behind
// (KV buckets allow direct gets), and then shows a revision older than the
// attempt's own last write. That is not a takeover: fence reads until the
// revision is at least its own (records.Store.ReadAtLeast), for up to
// fenceWait, and otherwise returns an error matching records.ErrBehind
// (transient: the task is handed back).
func (a *attempt) fence(ctx context.Context) error {
	if err := a.settle(ctx); err != nil {
		return err
	}
	cur, rev, err := a.w.recs.ReadAtLeast(ctx, a.task.Sweep, a.task.Replica, a.rev, fenceWait)
	if err != nil {
		return err
	}
	if rev > a.rev || cur.Attempt != a.state.Attempt || cur.Worker != a.w.cfg.Name {
		return errStale
	}
	return nil
}

// flushRows publishes the buffered trajectory rows as one chunk.
func (a *attempt) flushRows() error {
	if len(a.rows) == 0 {
		return nil
	}
	t := a.task
	first := int64(a.rows[0][0])
	// The chunk id is keyed by its first step, so that a resumed attempt's
	// re-sent rows and a retried publish are recognised as duplicates.
	id := protocol.MsgID(t.Sweep, t.Replica, a.state.Attempt, string(protocol.EventTraj), first)
	chunk := &protocol.TrajChunk{
		Sweep: t.Sweep, Replica: t.Replica, Attempt: a.state.Attempt, Seq: a.seq,
		After: a.after, Columns: a.rep.Columns(), Rows: a.rows,
	}
	if err := a.retry(context.Background(), "publish trajectory chunk", func(ctx context.Context) error {
		return a.w.publish(ctx, t.Sweep, t.Replica, protocol.EventTraj, id, chunk)
	}); err != nil {
		return err
	}
	a.seq++
	a.rows = a.rows[:0]
	return nil
}

func (a *attempt) progress() {
	t := a.task
	last := a.rep.Last()
	metrics := map[string]float64{}
	for k, v := range map[string]float64{"train_loss": last.TrainLoss, "train_acc": last.TrainAcc, "val_loss": last.ValLoss,
		"val_acc": last.ValAcc, "test_loss": last.TestLoss, "test_acc": last.TestAcc} {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			metrics[k] = v
		}
	}
	// Progress is not retried: the next one replaces it. Heartbeats go on
	// while it waits.
	release := a.hb.hold()
	defer release()
	ctx, cancel := a.opctx()
	defer cancel()
	step := max(a.rep.Chain.Steps(), 1)
	id := protocol.MsgID(t.Sweep, t.Replica, a.state.Attempt, string(protocol.EventProgress), step)
	if err := a.w.publish(ctx, t.Sweep, t.Replica, protocol.EventProgress, id, &protocol.Progress{
		Sweep: t.Sweep, Replica: t.Replica, Attempt: a.state.Attempt, Worker: a.w.cfg.Name,
		Step: step, Steps: t.Config.Steps, Metrics: metrics,
	}); err != nil {
		a.log.Debug("progress event lost", "error", err)
	}
}

// checkpoint flushes the trajectory, stores the replica's state and
// records it in the replica's KV record (state running, or preempted).
func (a *attempt) checkpoint(state protocol.State) error {
	release := a.hb.hold()
	defer release()
	if err := a.flushRows(); err != nil {
		return err
	}
	t := a.task
	body, err := a.rep.MarshalBinary()
	if err != nil {
		return err
	}
	name, _ := protocol.CheckpointObject(t.Sweep, t.Replica)
	// Fence first: a superseded attempt must not overwrite the newer
	// attempt's checkpoint.
	// The fence's reads are retried through an election of the bucket.
	if err := a.retry(context.Background(), "fence", a.fence); err != nil {
		return err
	}
	data := append([]byte(t.SpecHash+"\n"), body...)
	if err := a.retry(context.Background(), "store checkpoint", func(ctx context.Context) error {
		_, err := a.w.obs.PutBytes(ctx, name, data)
		return err
	}); err != nil {
		return err
	}
	next := a.state
	next.State, next.Step, next.Checkpoint = state, a.rep.Chain.Steps(), name
	nrev, err := a.setRecord(next)
	if err != nil {
		if superseded(err) {
			return errStale
		}
		return err
	}
	a.state, a.rev = next, nrev
	a.ckptStep, a.lastCkpt = next.Step, time.Now()
	return nil
}

// preempt checkpoints and hands the task back (shutdown).
func (a *attempt) preempt() {
	a.stopping = true
	if err := a.checkpoint(protocol.StatePreempted); err != nil {
		if a.w.deniedErr() != nil {
			// Record the hand-back all the same: it is no fault of the
			// replica's.
			a.transient(err)
			return
		}
		a.log.Warn("checkpoint on shutdown failed; the replica restarts from its last checkpoint", "error", err)
	} else {
		a.log.Info("checkpointed and handed back", "step", a.state.Step)
	}
	a.nak(0)
}

// nak hands the delivery back, unless it may have expired: the server
// then redelivers it anyway, and a nak of an expired copy would only add a
// delivery.
func (a *attempt) nak(delay time.Duration) {
	if a.hb != nil && a.hb.expired() {
		a.log.Warn("delivery expired; not handing it back (the server redelivers it)")
		return
	}
	_ = a.m.NakWithDelay(delay)
}

// transient hands the task back after an error; it will be retried. The
// replica's record says how the attempt ended (preempted, with an error
// code unless the cluster was unavailable), so that the next attempt
// counts it (protocol.NextAttempt); if the record cannot be written, the
// next attempt counts this one as lost.
func (a *attempt) transient(err error) {
	a.log.Warn("attempt interrupted by an error; handing the task back", "error", err)
	next := a.state
	next.State, next.Error = protocol.StatePreempted, truncate(err.Error(), 4096)
	// An outage of the cluster or a permission the worker lacks is not the
	// replica's fault: the hand-back counts as a preemption.
	if !errors.Is(err, errUnavailable) && !leaderless(err) && a.w.deniedErr() == nil {
		next.ErrorCode = protocol.CodeInternal
	}
	// Not bound to a permission violation, unlike a.opctx: the record
	// write is allowed when an event publish was refused.
	ctx, cancel := context.WithTimeout(context.Background(), a.opTimeout())
	defer cancel()
	if nrev, cerr := a.w.recs.CompareAndSet(ctx, a.task.Sweep, a.task.Replica, &a.state, a.rev, next); cerr != nil {
		a.log.Debug("cannot record the hand-back", "error", cerr)
	} else {
		a.state, a.rev = next, nrev
	}
	a.nak(2 * time.Second)
}

// fail records a deterministic failure: the replica is failed with the
// reason and the task is terminated, never retried.
func (a *attempt) fail(code protocol.Code, reason string) {
	t := a.task
	a.log.Error("replica failed", "code", code, "reason", reason)
	if a.hb != nil {
		release := a.hb.hold()
		defer release()
	}
	step := int64(0)
	if a.rep != nil {
		step = a.rep.Chain.Steps()
	}
	if err := a.retry(context.Background(), "publish failure", func(ctx context.Context) error {
		return a.w.publish(ctx, t.Sweep, t.Replica, protocol.EventFailure,
			protocol.MsgID(t.Sweep, t.Replica, a.state.Attempt, string(protocol.EventFailure), 0),
			&protocol.Failure{Sweep: t.Sweep, Replica: t.Replica, Attempt: a.state.Attempt, Worker: a.w.cfg.Name,
				Code: code, Message: truncate(reason, 4096), Step: step})
	}); err != nil {
		a.log.Warn("failure event lost", "error", err)
	}
	next := a.state
	next.State, next.ErrorCode, next.Error, next.Step = protocol.StateFailed, code, truncate(reason, 4096), step
	if _, err := a.setRecord(next); err != nil {
		a.log.Warn("cannot record the failure", "error", err)
	}
	_ = a.m.TermWithReason(truncate(reason, 1024))
}

// artifactOrder fixes the order in which files are uploaded; result.json
// goes last, so that its presence means every other file is there.
func artifactOrder(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		if n != rundir.FileResult {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return append(names, rundir.FileResult)
}

// finish computes the replica's files, then publishes them: the remaining
// trajectory rows, the files (inline in the result when they are small,
// else in the object store), the result, and the replica's record moved to
// done (a diverged chain is a result too, recorded as failed with the
// divergence as its reason); then it acknowledges the task. Publishing is
// waiting on the server (fsynced writes and round trips, a few ms), so it
// runs on its own goroutine beside the slot's next chain, one replica at a
// time per slot; Worker.Run waits for it. It returns whether the
// publication started (it then stops the heartbeats when it ends).
func (a *attempt) finish() bool {
	res := a.rep.Result()
	files, err := a.rep.Artifacts(res)
	if err != nil {
		a.fail(protocol.CodeInternal, err.Error())
		return false
	}
	// Heartbeats go on while the slot waits for its previous result.
	release := a.hb.hold()
	a.tail <- struct{}{}
	a.w.finishing.Add(1)
	go func() {
		defer func() {
			release()
			a.hb.stop()
			a.w.live.CompareAndDelete(a.key, a)
			<-a.tail
			a.w.finishing.Done()
		}()
		a.publishResult(res, files)
	}()
	return true
}

// publishResult publishes the replica's result and records it. Every step
// is retried through a leader election (retry), with heartbeats held.
func (a *attempt) publishResult(res rundir.Result, files map[string][]byte) {
	t := a.task
	if err := a.flushRows(); err != nil {
		a.transient(err)
		return
	}
	if err := a.retry(context.Background(), "fence", a.fence); err != nil {
		if errors.Is(err, errStale) {
			a.log.Warn("attempt superseded before its result; dropping it")
			return
		}
		a.transient(err)
		return
	}
	var refs []protocol.ObjectRef
	var inline []protocol.InlineFile
	total := 0
	for _, b := range files {
		total += len(b)
	}
	for _, name := range artifactOrder(files) {
		if total <= protocol.MaxInlineFiles {
			inline = append(inline, protocol.InlineFile{File: name, Data: files[name]})
			continue
		}
		obj, _ := protocol.ArtifactObject(t.Sweep, t.Replica, name)
		var info *jetstream.ObjectInfo
		if err := a.retry(context.Background(), "store "+name, func(ctx context.Context) (err error) {
			info, err = a.w.obs.PutBytes(ctx, obj, files[name])
			return err
		}); err != nil {
			a.transient(err)
			return
		}
		refs = append(refs, protocol.ObjectRef{Name: obj, File: name, Digest: info.Digest, Size: int64(info.Size)})
	}
	status := protocol.ResultDone
	if res.Status == "diverged" {
		status = protocol.ResultDiverged
	}
	// The result's message id makes a retried publish a duplicate that the
	// stream drops: one result event per attempt.
	if err := a.retry(context.Background(), "publish result", func(ctx context.Context) error {
		return a.w.publish(ctx, t.Sweep, t.Replica, protocol.EventResult,
			protocol.MsgID(t.Sweep, t.Replica, a.state.Attempt, string(protocol.EventResult), 0),
			&protocol.Result{Sweep: t.Sweep, Replica: t.Replica, Attempt: a.state.Attempt, Worker: a.w.cfg.Name,
				Status: status, Artifacts: refs, Files: inline})
	}); err != nil {
		a.transient(err)
		return
	}
	ctx, cancel := a.opctx()
	defer cancel()
	next := a.state
	next.Step = a.rep.Chain.Steps()
	if status == protocol.ResultDiverged {
		next.State, next.ErrorCode, next.Error = protocol.StateFailed, protocol.CodeDiverged, res.Error
	} else {
		next.State = protocol.StateDone
	}
	if _, err := a.setRecord(next); err != nil {
		if superseded(err) {
			a.log.Warn("attempt superseded at the finish; its result is ignored")
			return
		}
		a.transient(err)
		return
	}
	if a.hb.expired() {
		// The record says done: a redelivery drops the task.
		a.log.Warn("delivery expired before the final ack; a redelivery will find the replica done")
	} else if status == protocol.ResultDiverged {
		_ = a.m.TermWithReason(truncate(res.Error, 1024))
	} else if err := a.m.DoubleAck(ctx); err != nil {
		a.log.Warn("final ack not confirmed; a redelivery will find the replica done", "error", err)
	}
	a.log.Info("replica finished", "status", status, "steps", next.Step)
}

// giveUp ends a replica whose record protocol.NextAttempt failed (too many
// attempts lost or ended in errors; the record is already written): it
// publishes the failure event and terminates the task.
func (w *Worker) giveUp(m jetstream.Msg, task *protocol.Task, st protocol.ReplicaState) {
	w.log.Error("replica failed: too many attempts ended without finishing", "sweep", task.Sweep, "replica", task.Replica,
		"lost", st.Lost, "errors", st.Errors, "reason", st.Error)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.publish(ctx, task.Sweep, task.Replica, protocol.EventFailure,
		protocol.MsgID(task.Sweep, task.Replica, st.Attempt, string(protocol.EventFailure), 0),
		&protocol.Failure{Sweep: task.Sweep, Replica: task.Replica, Attempt: max(st.Attempt, 1), Worker: w.cfg.Name,
			Code: st.ErrorCode, Message: st.Error, Step: st.Step}); err != nil {
		w.log.Warn("failure event lost", "error", err)
	}
	_ = m.TermWithReason(truncate(st.Error, 1024))
}
