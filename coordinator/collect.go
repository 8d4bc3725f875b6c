package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
	"github.com/heatbath/heatbath/rundir"
)

// Cadence of the collection loop.
const (
	// eventBuffer is the largest batch of events the collector fetches.
	eventBuffer = 32
	// fetchWait is how long a fetch waits for the next event when none is
	// there.
	fetchWait = 300 * time.Millisecond
	// fetchRetry is the pause after a failed fetch.
	fetchRetry = 500 * time.Millisecond
	// tickInterval paces replicas.csv and the checks for replicas the
	// run directory missed.
	tickInterval = 250 * time.Millisecond
	// watchRetry is the pause before the next try to create the replica
	// records' watch or the events consumer after a failed one (each try
	// is bounded by apiTry).
	watchRetry = 2 * time.Second
	// resultWorkers bounds the results fetched and written at once.
	resultWorkers = 8
)

// Collect gathers the events of a sweep into the run directory dir until
// every replica is finished (done, failed or cancelled) and every result
// is on disk, then writes replicas.csv and summary.json. A replica that
// failed gets failure.json. It can be stopped (ctx) and called again,
// also by another coordinator process: events are consumed through a
// durable consumer and written idempotently.
//
// The decisions are collectState's (collectstate.go); this file is the
// loop that feeds it events, replica records and the passing of time, and
// performs the actions it returns through NATS and package rundir.
func (c *Coordinator) Collect(ctx context.Context, sweepID, dir string) (*rundir.Summary, error) {
	s, err := c.Manifest(ctx, sweepID)
	if err != nil {
		return nil, err
	}
	st := newCollectState(s)
	if err := prepareRunDir(dir, s, st, c.log); err != nil {
		return nil, err
	}
	initial, err := c.startPrune(ctx, st, dir)
	if err != nil {
		return nil, err
	}
	filter, _ := protocol.EventFilter(sweepID)
	durable, _ := protocol.CollectorConsumer(sweepID)
	cons, err := c.eventsConsumer(ctx, jetstream.ConsumerConfig{
		Durable: durable, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy, AckWait: time.Minute, MaxAckPending: 10000,
	})
	if err != nil {
		return nil, fmt.Errorf("coordinator: events consumer: %w", err)
	}
	// Poison tasks: the server announces a task that ran out of
	// deliveries; the replica's record becomes failed, which the watch
	// brings back here.
	name, _ := protocol.WorkerConsumer(c.cfg.Pool)
	advSubj, _ := protocol.MaxDeliveriesAdvisory(protocol.StreamTasks, name)
	adv, err := c.nc.Subscribe(advSubj, func(m *nats.Msg) {
		c.maxDeliveries(m.Data)
	})
	if err != nil {
		return nil, fmt.Errorf("coordinator: subscribe to advisories: %w", err)
	}
	defer adv.Unsubscribe()
	l := &collectLoop{c: c, st: st, sweep: sweepID, dir: dir, cons: cons, log: c.log,
		done: make(chan completion, resultWorkers), initial: initial}
	return l.run(ctx)
}

// eventsConsumer creates or updates the collector's durable consumer on
// the events stream. Each try has a deadline (apiTry): a request whose
// answering node dies is never answered. A try that failed as requests do
// while the cluster elects a leader (records.Unavailable) is repeated
// after watchRetry until ctx ends; other errors are returned at once.
func (c *Coordinator) eventsConsumer(ctx context.Context, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return retryTries(ctx, c, apiTry, watchRetry, func(err error) bool { return !records.Unavailable(err) },
		"cannot create the events consumer; trying again", []any{"consumer", cfg.Durable},
		func(tctx context.Context) (jetstream.Consumer, error) {
			return c.js.CreateOrUpdateConsumer(tctx, protocol.StreamEvents, cfg)
		})
}

// prepareRunDir creates the run directory, writes spec.yaml and
// sweep.json, and tells st what each replica directory holds already: the
// last trajectory row (a torn last line, from a crash, is cut), a
// readable result.json, a failure.json.
func prepareRunDir(dir string, s *Sweep, st *collectState, log hclog.Logger) error {
	if err := os.MkdirAll(filepath.Join(dir, rundir.DirReplicas), 0o755); err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	if err := rundir.WriteFile(filepath.Join(dir, rundir.FileSpec), []byte(s.Spec)); err != nil {
		return err
	}
	for _, id := range st.ids {
		rdir := rundir.ReplicaDir(dir, id)
		last, err := rundir.RepairTrajectory(filepath.Join(rdir, rundir.FileTrajectory))
		if err != nil {
			return err
		}
		res, err := rundir.ReadResult(rdir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				log.Warn("unreadable result.json; collecting the replica again", "replica", id, "error", err)
			}
			res = nil
		}
		failure, err := rundir.Exists(filepath.Join(rdir, rundir.FileFailure))
		if err != nil {
			return fmt.Errorf("coordinator: %w", err)
		}
		st.loadDisk(id, last, res, failure)
	}
	return rundir.WriteSweep(dir, st.sweepFile())
}

// collectLoop performs a collection: it owns the collectState and is the
// only goroutine that touches it. Result files are fetched and written on
// up to resultWorkers goroutines, which hand their outcome back through
// done.
type collectLoop struct {
	c     *Coordinator
	st    *collectState
	sweep string
	dir   string
	cons  jetstream.Consumer
	log   hclog.Logger

	// done receives the outcome of each job; running counts the jobs
	// whose outcome has not been taken from done (at most resultWorkers,
	// so that a job never blocks on sending), queue the jobs waiting for
	// a slot.
	done    chan completion
	running int
	queue   []job
	jobs    sync.WaitGroup
	// initial holds the actions to perform before the first input (the
	// prune decisions of a restarted collector: startPrune).
	initial []action
}

// job is an action performed beside the loop: run does the I/O and
// returns the function that reports its outcome to the state.
type job struct {
	msg jetstream.Msg
	run func(ctx context.Context) func(*collectState) []action
}

// completion is a finished job: its message and its report.
type completion struct {
	msg    jetstream.Msg
	report func(*collectState) []action
}

// watch creates the watch of the sweep's replica records, or returns nil
// (logged) when it cannot now. Its creation (a consumer create request)
// is bounded by apiTry: a request whose answering node dies is never
// answered, and the collector would wait for it forever. The watch lives
// as long as the context of its creation, so the bound is a timer, not a
// deadline on that context.
func (l *collectLoop) watch(ctx context.Context, recs *records.Store) jetstream.KeyWatcher {
	type created struct {
		w   jetstream.KeyWatcher
		err error
	}
	wctx, cancel := context.WithCancel(ctx)
	ch := make(chan created, 1)
	go func() {
		w, err := recs.Watch(wctx, l.sweep)
		ch <- created{w, err}
	}()
	t := time.NewTimer(apiTry)
	defer t.Stop()
	var err error
	select {
	case c := <-ch:
		if c.err == nil {
			return &ownWatch{KeyWatcher: c.w, cancel: cancel}
		}
		err = c.err
	case <-t.C:
		err = fmt.Errorf("watch of the replica records not created within %v", apiTry)
	}
	cancel()
	if ctx.Err() == nil {
		l.log.Warn("cannot watch replica states; trying again", "retry", watchRetry, "error", err)
	}
	return nil
}

// ownWatch is a watch with the context it was created under, which Stop
// ends too.
type ownWatch struct {
	jetstream.KeyWatcher
	cancel context.CancelFunc
}

// Stop stops the watch and ends its context.
func (w *ownWatch) Stop() error {
	err := w.KeyWatcher.Stop()
	w.cancel()
	return err
}

// run is the loop: it takes one input at a time (an event, a record
// update, a job's outcome, a tick), hands it to the state and performs
// the actions returned, until the state says finish or ctx ends.
func (l *collectLoop) run(ctx context.Context) (*rundir.Summary, error) {
	// The fetcher is not waited for: it may be in a fetch that ends only
	// after fetchWait, and the sweep is finished now. It hands back
	// anything it gets after this returns.
	fctx, stopFetch := context.WithCancel(ctx)
	msgs := make(chan jetstream.Msg)
	go l.fetch(fctx, msgs)
	defer func() {
		stopFetch()
		l.shutdown()
	}()

	// Replica records come from a KV watch: the current values, then
	// every change, with no polling. A watch that cannot be created now
	// is tried again at the next tick after watchRetry.
	recs := l.c.recs()
	var watchAt time.Time
	watch := l.watch(ctx, recs)
	if watch == nil {
		watchAt = time.Now()
	}
	defer func() {
		if watch != nil {
			watch.Stop()
		}
	}()
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	if sum, ok, err := l.perform(ctx, l.initial, nil); ok {
		return sum, err
	}
	for {
		in := msgs
		if len(l.queue) > 0 {
			in = nil // every result worker is busy: hold the events back
		}
		var updates <-chan jetstream.KeyValueEntry
		if watch != nil {
			updates = watch.Updates()
		}
		var msg jetstream.Msg
		var acts []action
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case m := <-in:
			msg, acts = m, l.st.event(m.Subject(), m.Data(), delivered(m))
		case e, ok := <-updates:
			if !ok {
				// Closed under us: watch again at the next tick (the
				// initial values bring back what was missed).
				l.log.Warn("replica state watch ended; watching again")
				watch.Stop()
				watch = nil
				continue
			}
			if e != nil && e.Operation() == jetstream.KeyValuePut { // nil ends the initial values
				acts = l.st.record(e.Key(), e.Value())
			}
		case r := <-l.done:
			l.running--
			l.startQueued(ctx)
			msg, acts = r.msg, r.report(l.st)
		case now := <-ticker.C:
			if watch == nil && now.Sub(watchAt) >= watchRetry {
				if watch = l.watch(ctx, recs); watch == nil {
					watchAt = now
				}
			}
			acts = l.st.tick(now)
		}
		if sum, ok, err := l.perform(ctx, acts, msg); ok {
			return sum, err
		}
		if sum, ok, err := l.perform(ctx, l.st.done(), nil); ok {
			return sum, err
		}
	}
}

// fetch pulls the sweep's events and sends them to out until ctx ends.
// It takes what is there (at most eventBuffer messages, which bounds the
// memory they hold: a trajectory chunk is up to ~100 KB) and, when nothing
// is, waits up to fetchWait for the next one: a batch Fetch would hold
// the end of a sweep back until it filled or expired.
func (l *collectLoop) fetch(ctx context.Context, out chan<- jetstream.Msg) {
	send := func(m jetstream.Msg) bool {
		select {
		case out <- m:
			return true
		case <-ctx.Done():
			_ = m.Nak() // for the next collector, at once rather than after the ack wait
			return false
		}
	}
	for ctx.Err() == nil {
		got := 0
		batch, err := l.cons.FetchNoWait(eventBuffer)
		if err == nil {
			for m := range batch.Messages() {
				got++
				if !send(m) {
					for m := range batch.Messages() {
						_ = m.Nak()
					}
					return
				}
			}
			err = batch.Error()
		}
		if got == 0 && (err == nil || errors.Is(err, jetstream.ErrNoMessages)) {
			var m jetstream.Msg
			if m, err = l.cons.Next(jetstream.FetchMaxWait(fetchWait)); err == nil && !send(m) {
				return
			}
		}
		switch {
		case err == nil, errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrNoMessages):
		case ctx.Err() != nil:
			return
		default:
			l.log.Warn("fetching events failed", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(fetchRetry):
			}
		}
	}
}

// delivered returns m's delivery count, 0 when unknown.
func delivered(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 0
	}
	return md.NumDelivered
}

// perform performs acts in order for the message msg (nil for none). An
// effect that fails reports to the state, whose actions replace the rest
// (an append that failed naks the chunk instead of acking it). It returns
// ok true when the collection is finished (or failed finishing).
func (l *collectLoop) perform(ctx context.Context, acts []action, msg jetstream.Msg) (sum *rundir.Summary, ok bool, err error) {
	for _, a := range acts {
		switch a := a.(type) {
		case logMsg:
			l.log.Log(a.level, a.msg, a.args...)
		case ack:
			if msg != nil {
				_ = msg.Ack()
			}
		case nak:
			if msg != nil {
				_ = msg.NakWithDelay(a.delay)
			}
		case term:
			if msg != nil {
				_ = msg.Term()
			}
		case appendRows:
			if err := l.appendRows(a); err != nil {
				return l.perform(ctx, l.st.appendFailed(a.replica, l.lastRow(a), err), msg)
			}
		case readRecord:
			l.start(ctx, job{msg: msg, run: func(ctx context.Context) func(*collectState) []action {
				tctx, cancel := context.WithTimeout(ctx, apiTry)
				st, _, err := l.c.recs().Get(tctx, l.sweep, a.res.Replica)
				cancel()
				return func(s *collectState) []action { return s.recordRead(a.res, st, err) }
			}})
		case writeResult:
			l.start(ctx, job{msg: msg, run: func(ctx context.Context) func(*collectState) []action {
				b, err := l.writeResult(ctx, a)
				return func(s *collectState) []action { return s.resultWritten(a, b, err, time.Now()) }
			}})
		case writeFailure:
			err := rundir.WriteFailure(rundir.ReplicaDir(l.dir, a.replica), &a.failure)
			if sum, ok, err := l.perform(ctx, l.st.failureWritten(a, err, time.Now()), nil); ok {
				return sum, ok, err
			}
		case removeFailure:
			if err := os.Remove(filepath.Join(rundir.ReplicaDir(l.dir, a.replica), rundir.FileFailure)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				l.log.Warn("cannot remove the failure.json of a replica that finished", "replica", a.replica, "error", err)
			}
		case writeTable:
			if sum, ok, err := l.perform(ctx, l.st.tableWritten(rundir.WriteTable(l.dir, a.rows)), nil); ok {
				return sum, ok, err
			}
		case queryDrained:
			if sum, ok, err := l.perform(ctx, l.st.drained(time.Now(), l.drained(ctx)), nil); ok {
				return sum, ok, err
			}
		case replay:
			err := l.replay(ctx, a.replica)
			if sum, ok, err := l.perform(ctx, l.st.replayEnd(a.replica, err, time.Now()), nil); ok {
				return sum, ok, err
			}
		case reconcile:
			refs, err := l.reconcile(ctx, a.replica)
			if sum, ok, err := l.perform(ctx, l.st.reconciled(a.replica, refs, err, time.Now()), nil); ok {
				return sum, ok, err
			}
		case storePrune:
			stored, err := l.storePrune(ctx, a.d)
			if sum, ok, err := l.perform(ctx, l.st.pruneStored(a.d, stored, err, time.Now()), nil); ok {
				return sum, ok, err
			}
		case stopPruned:
			wrote, err := l.stopPruned(ctx, a)
			if sum, ok, err := l.perform(ctx, l.st.pruneStopped(a.replica, wrote, err, time.Now()), nil); ok {
				return sum, ok, err
			}
		case finish:
			if a.prune != nil {
				if err := rundir.WritePruneLog(l.dir, a.prune); err != nil {
					return a.summary, true, err
				}
			}
			return l.finish(ctx, a.summary)
		default:
			l.log.Error("collector action not performed (a bug)", "action", fmt.Sprintf("%T", a))
		}
	}
	return nil, false, nil
}

// appendRows appends rows to a replica's trajectory.csv.
func (l *collectLoop) appendRows(a appendRows) error {
	rdir := rundir.ReplicaDir(l.dir, a.replica)
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return err
	}
	_, err := rundir.AppendTrajectory(filepath.Join(rdir, rundir.FileTrajectory), a.columns, a.last, a.rows)
	return err
}

// lastRow returns the last complete row of the trajectory an append
// failed on (cutting a torn line), or the step before the append when it
// cannot be read.
func (l *collectLoop) lastRow(a appendRows) int64 {
	last, err := rundir.RepairTrajectory(filepath.Join(rundir.ReplicaDir(l.dir, a.replica), rundir.FileTrajectory))
	if err != nil {
		return a.last
	}
	return last
}

// start runs j on a goroutine, or queues it when resultWorkers are busy.
func (l *collectLoop) start(ctx context.Context, j job) {
	if l.running >= resultWorkers {
		l.queue = append(l.queue, j)
		return
	}
	l.running++
	l.jobs.Add(1)
	go func() {
		defer l.jobs.Done()
		l.done <- completion{msg: j.msg, report: j.run(ctx)}
	}()
}

// startQueued starts queued jobs while there are free workers.
func (l *collectLoop) startQueued(ctx context.Context) {
	for len(l.queue) > 0 && l.running < resultWorkers {
		j := l.queue[0]
		l.queue = l.queue[1:]
		l.start(ctx, j)
	}
}

// shutdown waits for the running jobs and hands every message still in
// hand back to the stream, for the next collector, at once rather than
// after the ack wait. A message whose files were written is collected
// again, idempotently.
func (l *collectLoop) shutdown() {
	l.jobs.Wait()
	for l.running > 0 {
		r := <-l.done
		l.running--
		if r.msg != nil {
			_ = r.msg.Nak()
		}
	}
	for _, j := range l.queue {
		if j.msg != nil {
			_ = j.msg.Nak()
		}
	}
	l.queue = nil
}

// writeResult writes a replica's files: those given, and those in the
// object store; result.json last. It returns result.json's bytes.
func (l *collectLoop) writeResult(ctx context.Context, a writeResult) ([]byte, error) {
	files := maps.Clone(a.files)
	for _, ref := range a.objects {
		b, err := l.c.getObject(ctx, ref.Name)
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", ref.Name, err)
		}
		files[ref.File] = b
	}
	res, ok := files[rundir.FileResult]
	if !ok {
		return nil, fmt.Errorf("result of %s lists no result.json", a.replica)
	}
	rdir := rundir.ReplicaDir(l.dir, a.replica)
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, err
	}
	if err := rundir.WriteFiles(rdir, files, rundir.FileResult); err != nil {
		return nil, err
	}
	return res, nil
}

// drained asks the durable consumer whether it has delivered every event
// (caught up) and whether any awaits an ack (drained).
func (l *collectLoop) drained(ctx context.Context) consumerState {
	// Bounded: an info request sent while the consumer elects a leader
	// can go unanswered, and with ctx alone it waited forever.
	ictx, cancel := context.WithTimeout(ctx, apiTry)
	defer cancel()
	info, err := l.cons.Info(ictx)
	if err != nil {
		return consumerState{}
	}
	return consumerState{CaughtUp: info.NumPending == 0, Drained: info.NumPending == 0 && info.NumAckPending == 0}
}

// replay feeds replica id's events to the state in stream order, reading
// them with an ordered consumer (nothing is acknowledged) from the EVENTS
// stream, which keeps them (30 days) after the durable consumer has
// acknowledged them: for a run directory that lost them, or never had
// them (a coordinator collecting a sweep into a new directory).
func (l *collectLoop) replay(ctx context.Context, id string) error {
	filter, _ := protocol.ReplicaEventFilter(l.sweep, id)
	tctx, cancel := context.WithTimeout(ctx, apiTry)
	defer cancel()
	cons, err := l.c.js.OrderedConsumer(tctx, protocol.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return err
	}
	info, err := cons.Info(tctx)
	if err != nil {
		return err
	}
	for pending := info.NumPending; pending > 0; {
		batch, err := cons.Fetch(int(min(pending, eventBuffer)), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			if md, err := m.Metadata(); err == nil {
				pending = md.NumPending
			}
			for _, a := range l.st.replayEvent(id, m.Subject(), m.Data()) {
				app, ok := a.(appendRows)
				if !ok {
					l.log.Error("replay action not performed (a bug)", "action", fmt.Sprintf("%T", a))
					continue
				}
				if err := l.appendRows(app); err != nil {
					l.perform(ctx, l.st.appendFailed(app.replica, l.lastRow(app), err), nil)
					return err
				}
			}
		}
		if err := batch.Error(); err != nil {
			return err
		}
		if got == 0 {
			return fmt.Errorf("replay of %s: %d events pending, none delivered", id, pending)
		}
	}
	return nil
}

// reconcile looks up a finished replica's result files in the object
// store: every file of rundir.ResultFiles, and an exchange set's
// rundir.ExchangeResultFiles before them (result.json stays last), but the
// optional ones may be absent.
func (l *collectLoop) reconcile(ctx context.Context, id string) ([]protocol.ObjectRef, error) {
	var refs []protocol.ObjectRef
	for _, f := range append(rundir.ExchangeResultFiles(), rundir.ResultFiles()...) {
		name, err := protocol.ArtifactObject(l.sweep, id, f)
		if err != nil {
			return nil, err
		}
		tctx, cancel := context.WithTimeout(ctx, apiTry)
		info, err := l.c.obs.GetInfo(tctx, name)
		cancel()
		if err != nil {
			if rundir.OptionalResultFile(f) && errors.Is(err, jetstream.ErrObjectNotFound) {
				continue
			}
			return nil, fmt.Errorf("object %s: %w", name, err)
		}
		refs = append(refs, protocol.ObjectRef{Name: name, File: f, Digest: info.Digest, Size: int64(info.Size)})
	}
	return refs, nil
}

// finish writes replicas.csv and summary.json and marks the sweep done.
func (l *collectLoop) finish(ctx context.Context, sum *rundir.Summary) (*rundir.Summary, bool, error) {
	if err := rundir.WriteTable(l.dir, sum.Replicas); err != nil {
		return sum, true, err
	}
	if err := rundir.WriteSummary(l.dir, sum); err != nil {
		return sum, true, err
	}
	l.c.markSweep(ctx, l.sweep, protocol.SweepDone)
	return sum, true, nil
}

// maxDeliveries handles the advisory of a task that ran out of deliveries:
// the replica fails with CodeMaxDeliver and the task leaves the stream, so
// that resume can retry it.
func (c *Coordinator) maxDeliveries(data []byte) {
	var adv struct {
		StreamSeq uint64 `json:"stream_seq"`
	}
	if err := json.Unmarshal(data, &adv); err != nil || adv.StreamSeq == 0 {
		c.log.Warn("malformed max-deliveries advisory", "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := c.tasks.GetMsg(ctx, adv.StreamSeq)
	if err != nil {
		c.log.Warn("poison task not found", "seq", adv.StreamSeq, "error", err)
		return
	}
	_, sweep, replica, err := protocol.ParseTaskSubject(msg.Subject)
	if err != nil {
		c.log.Warn("poison task with a malformed subject", "subject", msg.Subject)
	} else {
		reason := fmt.Sprintf("task delivered %d times without finishing (worker crashes?)", c.cfg.MaxDeliver)
		if _, err := c.recs().Update(ctx, sweep, replica, func(x *protocol.ReplicaState) bool {
			if x.State.Terminal() {
				return false
			}
			x.State, x.ErrorCode, x.Error = protocol.StateFailed, protocol.CodeMaxDeliver, reason
			return true
		}); err != nil {
			c.log.Warn("cannot mark poison replica failed", "replica", replica, "error", err)
		}
		c.log.Error("poison task: replica failed", "sweep", sweep, "replica", replica, "reason", reason)
	}
	if err := c.tasks.DeleteMsg(ctx, adv.StreamSeq); err != nil {
		c.log.Warn("cannot delete poison task", "seq", adv.StreamSeq, "error", err)
	}
}

// startPrune sets up successive halving for a sweep with a prune section:
// it reads the decisions stored by earlier coordinators, loads them, and
// feeds the trajectory rows already on disk that reach a milestone not
// decided yet. It returns the actions to perform first.
func (c *Coordinator) startPrune(ctx context.Context, st *collectState, dir string) ([]action, error) {
	if st.sweep.Prune == nil {
		return nil, nil
	}
	log, err := retryTries(ctx, c, apiTry, watchRetry, func(error) bool { return false },
		"cannot read the prune decisions; trying again", []any{"sweep", st.sweep.ID},
		func(tctx context.Context) ([]protocol.PruneDecision, error) {
			return c.recs().PruneLog(tctx, st.sweep.ID)
		})
	if err != nil { // only when ctx ended
		return nil, ctx.Err()
	}
	acts, err := st.enablePrune(log)
	if err != nil {
		return nil, err
	}
	for _, id := range st.ids {
		if !st.pruneNeedsDisk(id) {
			continue
		}
		path := filepath.Join(rundir.ReplicaDir(dir, id), rundir.FileTrajectory)
		cols, rows, err := rundir.ReadTrajectory(path)
		if err != nil {
			return nil, fmt.Errorf("coordinator: prune: %w", err)
		}
		acts = append(acts, st.pruneRows(id, cols, rows)...)
	}
	return acts, nil
}

// storePrune stores a prune decision, returning the one that counts (an
// earlier one stored under the same key wins).
func (l *collectLoop) storePrune(ctx context.Context, d protocol.PruneDecision) (*protocol.PruneDecision, error) {
	tctx, cancel := context.WithTimeout(ctx, apiTry)
	defer cancel()
	stored, _, err := l.c.recs().CreatePrune(tctx, &d)
	return stored, err
}

// stopPruned records a replica pruned and tells the worker running it to
// stop (a lost message is harmless: the worker's next write of the record
// finds the attempt superseded). wrote is false when the replica was
// finished already.
func (l *collectLoop) stopPruned(ctx context.Context, a stopPruned) (wrote bool, err error) {
	tctx, cancel := context.WithTimeout(ctx, apiTry)
	defer cancel()
	if wrote, err = l.c.recs().Prune(tctx, l.sweep, a.replica, a.reason); err != nil || !wrote {
		return wrote, err
	}
	subj, _ := protocol.PruneSubject(l.sweep, a.replica) // the ids are valid tokens: the record was written
	if err := l.c.nc.Publish(subj, nil); err != nil {
		l.log.Warn("cannot tell the worker of a pruned replica to stop; it stops at its next record write", "replica", a.replica, "error", err)
	}
	return true, nil
}
