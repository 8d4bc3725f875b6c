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
}

// progressInterval thins progress events in time: at most one per second
// per attempt (and the last one), whatever Task.ProgressEvery says, since
// every event is a JetStream write.
const progressInterval = time.Second

// chunkTime is the wall-clock time a chunk of steps aims at.
const chunkTime = 200 * time.Millisecond

// errStale means the attempt was superseded: drop everything.
var errStale = errors.New("worker: attempt superseded")

func (a *attempt) opctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

func (a *attempt) run(ctx context.Context) {
	t := a.task
	rep, err := train.Build(t.Config)
	if err != nil {
		a.fail(protocol.CodeInvalidConfig, err.Error())
		return
	}
	rep.ID = t.Replica // into the parameter files' metadata
	a.rep = rep
	if a.state.Checkpoint != "" {
		if err := a.restore(); err != nil {
			a.log.Warn("cannot restore the checkpoint; starting from step 0", "error", err)
			if rep, err = train.Build(t.Config); err != nil {
				a.fail(protocol.CodeInvalidConfig, err.Error())
				return
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
			return
		}
		if _, ok := a.w.cancelled.Load(t.Sweep); ok {
			a.log.Info("sweep cancelled; abandoning the replica")
			_ = a.m.TermWithReason("sweep cancelled")
			return
		}
		next := a.rep.Chain.Steps() + chunk
		if t.CheckpointEvery > 0 {
			next = min(next, a.ckptStep+t.CheckpointEvery)
		}
		t0 := time.Now()
		if err := a.rep.RunUntil(next, collect); err != nil {
			a.fail(protocol.CodeInternal, err.Error())
			return
		}
		switch el := time.Since(t0); {
		case el < chunkTime/4 && chunk < 1<<30:
			chunk *= 2
		case el > chunkTime && chunk > 1:
			chunk /= 2
		}
		n := a.rep.Chain.Steps()
		if len(a.rows) >= chunkRows {
			if err := a.flushRows(); err != nil {
				a.transient(err)
				return
			}
		}
		if n-lastProgStep >= progEvery && time.Since(a.lastProg) >= progressInterval && !a.rep.Done() {
			a.progress()
			a.lastProg, lastProgStep = time.Now(), n
		}
		if time.Since(a.lastBeat) >= a.heartbeat() {
			_ = a.m.InProgress()
			a.lastBeat = time.Now()
		}
		due := (t.CheckpointEvery > 0 && n-a.ckptStep >= t.CheckpointEvery) ||
			(t.CheckpointSeconds > 0 && time.Since(a.lastCkpt).Seconds() >= t.CheckpointSeconds)
		if due && !a.rep.Done() {
			if err := a.checkpoint(protocol.StateRunning); err != nil {
				if errors.Is(err, errStale) {
					a.log.Warn("attempt superseded; dropping it")
					return
				}
				a.transient(err)
				return
			}
		}
	}
	a.finish()
}

func (a *attempt) heartbeat() time.Duration {
	if a.w.cfg.Heartbeat > 0 {
		return a.w.cfg.Heartbeat
	}
	return 5 * time.Second
}

func (a *attempt) restore() error {
	ctx, cancel := a.opctx()
	defer cancel()
	b, err := a.w.obs.GetBytes(ctx, a.state.Checkpoint)
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
	ctx, cancel := a.opctx()
	defer cancel()
	first := int64(a.rows[0][0])
	// The chunk id is keyed by its first step, so that a resumed attempt's
	// re-sent rows and a retried publish are recognised as duplicates.
	id := protocol.MsgID(t.Sweep, t.Replica, a.state.Attempt, string(protocol.EventTraj), first)
	err := a.w.publish(ctx, t.Sweep, t.Replica, protocol.EventTraj, id, &protocol.TrajChunk{
		Sweep: t.Sweep, Replica: t.Replica, Attempt: a.state.Attempt, Seq: a.seq,
		After: a.after, Columns: a.rep.Columns(), Rows: a.rows,
	})
	if err != nil {
		return fmt.Errorf("publish trajectory chunk: %w", err)
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
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
	if err := a.flushRows(); err != nil {
		return err
	}
	t := a.task
	body, err := a.rep.MarshalBinary()
	if err != nil {
		return err
	}
	name, _ := protocol.CheckpointObject(t.Sweep, t.Replica)
	ctx, cancel := a.opctx()
	defer cancel()
	// Fence first: a superseded attempt must not overwrite the newer
	// attempt's checkpoint.
	if err := a.fence(ctx); err != nil {
		return err
	}
	data := append([]byte(t.SpecHash+"\n"), body...)
	if _, err := a.w.obs.PutBytes(ctx, name, data); err != nil {
		return fmt.Errorf("store checkpoint: %w", err)
	}
	next := a.state
	next.State, next.Step, next.Checkpoint = state, a.rep.Chain.Steps(), name
	nrev, err := a.w.recs.CompareAndSet(ctx, a.task.Sweep, a.task.Replica, &a.state, a.rev, next)
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
	if err := a.checkpoint(protocol.StatePreempted); err != nil {
		a.log.Warn("checkpoint on shutdown failed; the replica restarts from its last checkpoint", "error", err)
	} else {
		a.log.Info("checkpointed and handed back", "step", a.state.Step)
	}
	_ = a.m.NakWithDelay(0)
}

// transient hands the task back after a NATS error; it will be retried.
func (a *attempt) transient(err error) {
	a.log.Warn("attempt interrupted by an error; handing the task back", "error", err)
	_ = a.m.NakWithDelay(2 * time.Second)
}

// fail records a deterministic failure: the replica is failed with the
// reason and the task is terminated, never retried.
func (a *attempt) fail(code protocol.Code, reason string) {
	t := a.task
	a.log.Error("replica failed", "code", code, "reason", reason)
	ctx, cancel := a.opctx()
	defer cancel()
	step := int64(0)
	if a.rep != nil {
		step = a.rep.Chain.Steps()
	}
	_ = a.w.publish(ctx, t.Sweep, t.Replica, protocol.EventFailure,
		protocol.MsgID(t.Sweep, t.Replica, a.state.Attempt, string(protocol.EventFailure), 0),
		&protocol.Failure{Sweep: t.Sweep, Replica: t.Replica, Attempt: a.state.Attempt, Worker: a.w.cfg.Name,
			Code: code, Message: truncate(reason, 4096), Step: step})
	next := a.state
	next.State, next.ErrorCode, next.Error, next.Step = protocol.StateFailed, code, truncate(reason, 4096), step
	if _, err := a.w.recs.CompareAndSet(ctx, a.task.Sweep, a.task.Replica, &a.state, a.rev, next); err != nil {
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
// time per slot; Worker.Run waits for it.
func (a *attempt) finish() {
	res := a.rep.Result()
	files, err := a.rep.Artifacts(res)
	if err != nil {
		a.fail(protocol.CodeInternal, err.Error())
		return
	}
	a.tail <- struct{}{}
	a.w.finishing.Add(1)
	go func() {
		defer func() {
			<-a.tail
			a.w.finishing.Done()
		}()
		a.publishResult(res, files)
	}()
}

func (a *attempt) publishResult(res rundir.Result, files map[string][]byte) {
	t := a.task
	if err := a.flushRows(); err != nil {
		a.transient(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := a.fence(ctx); err != nil {
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
		info, err := a.w.obs.PutBytes(ctx, obj, files[name])
		if err != nil {
			a.transient(fmt.Errorf("store %s: %w", name, err))
			return
		}
		refs = append(refs, protocol.ObjectRef{Name: obj, File: name, Digest: info.Digest, Size: int64(info.Size)})
	}
	status := protocol.ResultDone
	if res.Status == "diverged" {
		status = protocol.ResultDiverged
	}
	err := a.w.publish(ctx, t.Sweep, t.Replica, protocol.EventResult,
		protocol.MsgID(t.Sweep, t.Replica, a.state.Attempt, string(protocol.EventResult), 0),
		&protocol.Result{Sweep: t.Sweep, Replica: t.Replica, Attempt: a.state.Attempt, Worker: a.w.cfg.Name,
			Status: status, Artifacts: refs, Files: inline})
	if err != nil {
		a.transient(fmt.Errorf("publish result: %w", err))
		return
	}
	next := a.state
	next.Step = a.rep.Chain.Steps()
	if status == protocol.ResultDiverged {
		next.State, next.ErrorCode, next.Error = protocol.StateFailed, protocol.CodeDiverged, res.Error
	} else {
		next.State = protocol.StateDone
	}
	if _, err := a.w.recs.CompareAndSet(ctx, a.task.Sweep, a.task.Replica, &a.state, a.rev, next); err != nil {
		if superseded(err) {
			a.log.Warn("attempt superseded at the finish; its result is ignored")
			return
		}
		a.transient(err)
		return
	}
	if status == protocol.ResultDiverged {
		_ = a.m.TermWithReason(truncate(res.Error, 1024))
	} else if err := a.m.DoubleAck(ctx); err != nil {
		a.log.Warn("final ack not confirmed; a redelivery will find the replica done", "error", err)
	}
	a.log.Info("replica finished", "status", status, "steps", next.Step)
}
