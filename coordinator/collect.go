package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// Snapshot is the progress of a sweep, passed to a ProgressFunc.
type Snapshot struct {
	Sweep  string
	Total  int
	Counts map[protocol.State]int
	// Steps holds each replica's latest known step, by replica id, and
	// StepsTotal each replica's step budget.
	Steps      map[string]int64
	StepsTotal map[string]int64
	Groups     map[string]string // replica id → group
	// TestAcc holds each replica's latest test accuracy, where known.
	TestAcc map[string]float64
}

// ProgressFunc receives snapshots while Collect runs (at most a few per
// second) and a final one at the end.
type ProgressFunc func(Snapshot)

type collector struct {
	c        *Coordinator
	sweep    *Sweep
	dir      string
	states   map[string]*protocol.ReplicaState
	lastStep map[string]int64
	have     map[string]bool // result.json written; guarded by mu
	mu       sync.Mutex
	sem      chan struct{}
	wg       sync.WaitGroup
	byID     map[string]*Replica
	// lastEvent holds, by replica, the attempt of the last result or
	// failure event handled (guarded by mu: a result whose files cannot be
	// written is forgotten, since it will be redelivered); wrote is
	// signalled when a result's files are written.
	lastEvent map[string]int
	wrote     chan struct{}
	// cons is the sweep's durable events consumer.
	cons     jetstream.Consumer
	snap     Snapshot
	progress ProgressFunc
}

// Collect gathers the events of a sweep into the run directory dir until
// every replica is finished (done, failed or cancelled) and every result
// is on disk, then writes summary.json. It can be stopped (ctx) and called
// again, also by another coordinator process: events are consumed through
// a durable consumer and written idempotently.
func (c *Coordinator) Collect(ctx context.Context, sweepID, dir string, progress ProgressFunc) (*rundir.Summary, error) {
	s, err := c.Manifest(ctx, sweepID)
	if err != nil {
		return nil, err
	}
	col := &collector{c: c, sweep: s, dir: dir, states: map[string]*protocol.ReplicaState{},
		lastStep: map[string]int64{}, have: map[string]bool{}, byID: map[string]*Replica{}, progress: progress,
		lastEvent: map[string]int{}, wrote: make(chan struct{}, 1),
		sem: make(chan struct{}, resultWorkers)}
	defer col.wg.Wait()
	if err := col.prepare(); err != nil {
		return nil, err
	}
	filter, _ := protocol.EventFilter(sweepID)
	cons, err := c.js.CreateOrUpdateConsumer(ctx, protocol.StreamEvents, jetstream.ConsumerConfig{
		Durable: "collect-" + sweepID, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy, AckWait: time.Minute, MaxAckPending: 10000,
	})
	if err != nil {
		return nil, fmt.Errorf("coordinator: events consumer: %w", err)
	}
	col.cons = cons
	// Poison tasks: the server announces a task that ran out of deliveries.
	name, _ := protocol.WorkerConsumer(c.cfg.Pool)
	adv, err := c.nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+protocol.StreamTasks+"."+name, func(m *nats.Msg) {
		c.maxDeliveries(m.Data)
	})
	if err != nil {
		return nil, fmt.Errorf("coordinator: subscribe to advisories: %w", err)
	}
	defer adv.Unsubscribe()

	// Replica states come from a KV watch: the current values, then every
	// change, with no polling.
	kfilter, _ := protocol.ReplicaKeyFilter(sweepID)
	watch, err := c.kv.Watch(ctx, kfilter)
	if err != nil {
		return nil, fmt.Errorf("coordinator: watch replica states: %w", err)
	}
	defer watch.Stop()

	lastReport := time.Time{}
	waitStates := false
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		got, final := 0, false
		if waitStates {
			// Every replica's last event is in: what remains are state
			// changes (a worker marks a replica done just after it
			// publishes the result) and file writes. Wait for those.
			col.awaitStates(ctx, watch, 300*time.Millisecond)
		} else {
			// Take what is there (at most eventBuffer messages, which
			// bounds the memory they hold: a trajectory chunk is up to
			// ~100 KB); when nothing is, wait for the next one. A batch
			// Fetch would hold the end of a sweep back until it filled or
			// expired.
			batch, err := cons.FetchNoWait(eventBuffer)
			if err == nil {
				for m := range batch.Messages() {
					got++
					if col.handle(ctx, m) {
						final = true
					}
				}
				err = batch.Error()
			}
			if got == 0 && (err == nil || errors.Is(err, jetstream.ErrNoMessages)) {
				var m jetstream.Msg
				if m, err = cons.Next(jetstream.FetchMaxWait(300 * time.Millisecond)); err == nil {
					got++
					final = col.handle(ctx, m)
				}
			}
			switch {
			case err == nil, errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrNoMessages):
			case ctx.Err() != nil:
				return nil, ctx.Err()
			default:
				c.log.Warn("fetching events failed", "error", err)
				time.Sleep(500 * time.Millisecond)
				continue
			}
		}
		col.drainStates(watch)
		if progress != nil && time.Since(lastReport) > 250*time.Millisecond {
			progress(col.snapshot())
			lastReport = time.Now()
		}
		if got == 0 || final {
			if col.finished(ctx) {
				col.wg.Wait()
				sum, err := col.summary()
				if err == nil {
					c.markSweep(ctx, sweepID, protocol.SweepDone)
				}
				if progress != nil {
					progress(col.snapshot())
				}
				return sum, err
			}
			waitStates = col.eventsIn()
		}
	}
}

// eventBuffer is the largest batch of events the collector fetches.
const eventBuffer = 32

func (col *collector) prepare() error {
	s := col.sweep
	if err := os.MkdirAll(filepath.Join(col.dir, "replicas"), 0o755); err != nil {
		return err
	}
	if err := rundir.WriteFile(filepath.Join(col.dir, rundir.FileSpec), []byte(s.Spec)); err != nil {
		return err
	}
	created, _ := json.Marshal(s.Created)
	man := rundir.Sweep{Version: rundir.SweepVersion, ID: s.ID, Name: s.Name, SpecHash: s.SpecHash, Created: created}
	col.snap = Snapshot{Sweep: s.ID, Total: len(s.Replicas), Counts: map[protocol.State]int{},
		Steps: map[string]int64{}, StepsTotal: map[string]int64{}, Groups: map[string]string{}, TestAcc: map[string]float64{}}
	for i := range s.Replicas {
		r := &s.Replicas[i]
		col.byID[r.ID] = r
		man.Replicas = append(man.Replicas, rundir.SweepEntry{ID: r.ID, Index: r.Index, Group: r.Group, Settings: r.Settings, Seed: r.Seed})
		col.snap.StepsTotal[r.ID] = r.Config.Steps
		col.snap.Groups[r.ID] = r.Group
		rdir := rundir.ReplicaDir(col.dir, r.ID)
		if _, err := os.Stat(filepath.Join(rdir, rundir.FileResult)); err == nil {
			col.have[r.ID] = true
		}
		last, err := rundir.RepairTrajectory(filepath.Join(rdir, rundir.FileTrajectory))
		if err != nil {
			return err
		}
		col.lastStep[r.ID] = last
	}
	return rundir.WriteSweep(col.dir, &man)
}

// handle processes one event and reports whether it was a result or a
// failure (after which the sweep may be finished).
func (col *collector) handle(ctx context.Context, m jetstream.Msg) (final bool) {
	log := col.c.log
	_, replica, kind, err := protocol.ParseEventSubject(m.Subject())
	if err != nil {
		log.Warn("event with a malformed subject dropped", "subject", m.Subject(), "error", err)
		_ = m.Term()
		return
	}
	if _, ok := col.byID[replica]; !ok {
		log.Warn("event for an unknown replica dropped", "subject", m.Subject())
		_ = m.Term()
		return
	}
	switch kind {
	case protocol.EventTraj:
		ch, err := protocol.DecodeTrajChunk(m.Data())
		if err != nil {
			log.Warn("malformed trajectory chunk dropped", "replica", replica, "error", err)
			break
		}
		if err := col.appendRows(ch); err != nil {
			if errors.Is(err, errGap) {
				// An earlier chunk is being redelivered: take this one
				// again after it.
				lvl := hclog.Debug
				if md, err := m.Metadata(); err == nil && md.NumDelivered%50 == 0 {
					lvl = hclog.Warn // ~10 s without the rows before it
				}
				log.Log(lvl, "trajectory chunk ahead of the file; taking it later", "replica", replica, "after", ch.After, "have", col.lastStep[replica])
				_ = m.NakWithDelay(gapDelay)
				return
			}
			log.Error("cannot write trajectory; will retry", "replica", replica, "error", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
	case protocol.EventProgress:
		p, err := protocol.DecodeProgress(m.Data())
		if err != nil {
			log.Warn("malformed progress event dropped", "replica", replica, "error", err)
			break
		}
		if p.Step > col.snap.Steps[replica] {
			col.snap.Steps[replica] = p.Step
		}
		if v, ok := p.Metrics["test_acc"]; ok {
			col.snap.TestAcc[replica] = v
		}
	case protocol.EventResult:
		final = true
		res, err := protocol.DecodeResult(m.Data())
		if err != nil {
			log.Warn("malformed result dropped", "replica", replica, "error", err)
			break
		}
		// Fetching the files is I/O bound: it runs beside the event loop,
		// at most resultWorkers at a time, and acks the event when done.
		// The attempt fence: the watched state is usually current; when it
		// lags behind the result, ask the bucket.
		known := col.states[replica]
		col.setLastEvent(replica, res.Attempt)
		col.sem <- struct{}{}
		col.wg.Add(1)
		go func() {
			defer func() { <-col.sem; col.wg.Done() }()
			st := known
			if st == nil || st.Attempt < res.Attempt {
				var err error
				if st, _, err = col.c.state(ctx, col.sweep.ID, replica); err != nil {
					col.setLastEvent(replica, 0)
					_ = m.NakWithDelay(time.Second)
					return
				}
			}
			switch {
			case st.Attempt > res.Attempt:
				log.Warn("stale result ignored", "replica", replica, "attempt", res.Attempt, "current", st.Attempt, "worker", res.Worker)
				_ = m.Ack()
				return
			case st.Attempt < res.Attempt:
				// A worker records its attempt before it runs, so the
				// record read is behind (a lagging replica of a clustered
				// bucket): take the result again shortly.
				col.setLastEvent(replica, 0)
				_ = m.NakWithDelay(gapDelay)
				return
			}
			if err := col.fetchArtifacts(ctx, replica, res.Artifacts, res.Files); err != nil {
				log.Error("cannot fetch the replica's files; will retry", "replica", replica, "error", err)
				col.setLastEvent(replica, 0)
				_ = m.NakWithDelay(time.Second)
				return
			}
			_ = m.Ack()
			select {
			case col.wrote <- struct{}{}:
			default:
			}
		}()
		return final
	case protocol.EventFailure:
		final = true
		f, err := protocol.DecodeFailure(m.Data())
		if err != nil {
			log.Warn("malformed failure event dropped", "replica", replica, "error", err)
			break
		}
		col.setLastEvent(replica, f.Attempt)
		log.Warn("replica failed", "replica", replica, "code", f.Code, "reason", f.Message)
	}
	_ = m.Ack()
	return final
}

// errGap: a trajectory chunk starts after rows the file does not hold yet.
var errGap = errors.New("coordinator: trajectory chunk ahead of the file")

// gapDelay is how long a chunk that arrived ahead of an earlier one waits
// before it is delivered again.
const gapDelay = 200 * time.Millisecond

// appendRows appends the rows of a chunk that are newer than what the
// trajectory file holds; resumed attempts resend rows after their
// checkpoint, and those are identical, so they are skipped. A chunk whose
// preceding row (After) is not yet in the file is refused with errGap:
// chunks come in order except when one is redelivered (a failed write, or
// a coordinator that stopped with chunks in hand), and appending the later
// one first would leave a hole.
func (col *collector) appendRows(ch *protocol.TrajChunk) error {
	last := col.lastStep[ch.Replica]
	if ch.After > last {
		return errGap
	}
	rdir := rundir.ReplicaDir(col.dir, ch.Replica)
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return err
	}
	last, err := rundir.AppendTrajectory(filepath.Join(rdir, rundir.FileTrajectory), ch.Columns, last, ch.Rows)
	if err != nil {
		return err
	}
	col.lastStep[ch.Replica] = last
	return nil
}

// fetchArtifacts writes a replica's files into its directory: the inline
// ones, and those in the object store; result.json last.
func (col *collector) fetchArtifacts(ctx context.Context, replica string, refs []protocol.ObjectRef, inline []protocol.InlineFile) error {
	rdir := rundir.ReplicaDir(col.dir, replica)
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{}
	for i := range inline {
		files[inline[i].File] = inline[i].Data
	}
	for i := range refs {
		b, err := col.c.obs.GetBytes(ctx, refs[i].Name)
		if err != nil {
			return fmt.Errorf("get %s: %w", refs[i].Name, err)
		}
		files[refs[i].File] = b
	}
	if files[rundir.FileResult] == nil {
		return fmt.Errorf("result of %s lists no result.json", replica)
	}
	info, err := rundir.EncodeReplicaInfo(col.byID[replica])
	if err != nil {
		return err
	}
	files[rundir.FileReplica] = info
	if err := rundir.WriteFiles(rdir, files, rundir.FileResult); err != nil {
		return err
	}
	col.mu.Lock()
	col.have[replica] = true
	col.mu.Unlock()
	return nil
}

// setLastEvent records the attempt of a replica's last event (0: none,
// it will be redelivered).
func (col *collector) setLastEvent(replica string, attempt int) {
	col.mu.Lock()
	defer col.mu.Unlock()
	if attempt == 0 {
		delete(col.lastEvent, replica)
		return
	}
	col.lastEvent[replica] = attempt
}

// eventsIn reports whether the collector needs no more events to finish:
// every replica's state is known, and its current attempt's last event
// (result or failure) has been handled, or it has no further event to
// send (terminal without a result, or with its files on disk already),
// and a done replica's trajectory is complete.
// What may remain are state changes (a worker marks a replica done just
// after it publishes the result) and file writes in flight.
func (col *collector) eventsIn() bool {
	col.mu.Lock()
	defer col.mu.Unlock()
	for id := range col.byID {
		st := col.states[id]
		if st == nil {
			return false
		}
		seen := col.lastEvent[id] == st.Attempt
		switch {
		case !st.State.Terminal():
			if !seen {
				return false
			}
		case st.State == protocol.StateDone && col.lastStep[id] < st.Steps:
			return false // trajectory chunks are still to come
		case st.State == protocol.StateDone || (st.State == protocol.StateFailed && st.ErrorCode == protocol.CodeDiverged):
			if !seen && !col.have[id] {
				return false
			}
		}
	}
	return true
}

// awaitStates waits up to max for a replica state change or for a result's
// files to be written, and applies the state change.
func (col *collector) awaitStates(ctx context.Context, w jetstream.KeyWatcher, max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case e, ok := <-w.Updates():
		if ok {
			col.applyState(e)
		}
	case <-col.wrote:
	case <-t.C:
	case <-ctx.Done():
	}
}

// drainStates applies the replica state changes the watch has delivered
// so far, without blocking.
func (col *collector) drainStates(w jetstream.KeyWatcher) {
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			col.applyState(e)
		default:
			return
		}
	}
}

// applyState applies one update of the replica state watch.
func (col *collector) applyState(e jetstream.KeyValueEntry) {
	if e == nil || e.Operation() != jetstream.KeyValuePut {
		return // the end of the initial values, or a deletion
	}
	_, id, err := protocol.ParseReplicaKey(e.Key())
	if err != nil || col.byID[id] == nil {
		return
	}
	st, err := protocol.DecodeReplicaState(e.Value())
	if err != nil {
		col.c.log.Warn("malformed replica state ignored", "key", e.Key(), "error", err)
		return
	}
	col.states[id] = st
	if st.Step > col.snap.Steps[id] {
		col.snap.Steps[id] = st.Step
	}
	if st.State == protocol.StateDone {
		col.snap.Steps[id] = st.Steps
	}
}

// resultWorkers bounds the result events processed at once.
const resultWorkers = 8

// resultGrace is how long after a replica finished its result event may
// still be on its way before the collector fetches the files directly.
const resultGrace = 3 * time.Second

// finished reports whether every replica is terminal and every finished
// one is on disk; it fetches the files of replicas whose result event was
// missed (they are in the object store).
func (col *collector) finished(ctx context.Context) bool {
	if len(col.states) < len(col.byID) {
		return false
	}
	// drained reports whether the durable consumer has no event left to
	// deliver or awaiting an ack. A worker publishes a replica's rows and
	// result before it records the replica done, so for a done replica
	// whose files are missing, a drained consumer means its events were
	// acknowledged earlier, into another directory (or one that lost
	// them), and waiting for them is pointless.
	var isDrained *bool
	drained := func() bool {
		if isDrained == nil {
			ok := false
			if col.cons != nil {
				if info, err := col.cons.Info(ctx); err == nil {
					ok = info.NumPending == 0 && info.NumAckPending == 0
				}
			}
			isDrained = &ok
		}
		return *isDrained
	}
	for id, st := range col.states {
		if !st.State.Terminal() {
			return false
		}
		hasResult := st.State == protocol.StateDone || (st.State == protocol.StateFailed && st.ErrorCode == protocol.CodeDiverged)
		// A finished chain's last row is at its last step.
		rowsMissing := st.State == protocol.StateDone && col.lastStep[id] < st.Steps
		col.mu.Lock()
		have := col.have[id]
		col.mu.Unlock()
		if !rowsMissing && (!hasResult || have) {
			continue
		}
		// The last chunks and the result event normally follow the state
		// change at once (or come back after a redelivery); when they are
		// overdue, the run directory missed them: rebuild the replica
		// from the events the stream keeps.
		if time.Since(st.Updated) < resultGrace && !drained() {
			return false
		}
		if err := col.replay(ctx, id, st); err != nil {
			col.c.log.Debug("replica not rebuilt from its events", "replica", id, "error", err)
			if rowsMissing {
				return false
			}
			if err := col.reconcile(ctx, id); err != nil {
				col.c.log.Debug("result not yet available", "replica", id, "error", err)
				return false
			}
		}
	}
	return true
}

// replay rebuilds a finished replica's trajectory rows and files from its
// events, which the EVENTS stream keeps (30 days) after the collector's
// durable consumer has acknowledged them: for a run directory that lost
// them, or never had them (a coordinator collecting a sweep into a new
// directory). It reads the replica's events in stream order with an
// ordered consumer (nothing is acknowledged), appends the rows the file
// lacks, and writes the files of the result of the record's attempt.
func (col *collector) replay(ctx context.Context, id string, st *protocol.ReplicaState) error {
	filter, _ := protocol.ReplicaEventFilter(col.sweep.ID, id)
	cons, err := col.c.js.OrderedConsumer(ctx, protocol.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	var result *protocol.Result
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
			_, _, kind, err := protocol.ParseEventSubject(m.Subject())
			if err != nil {
				continue
			}
			switch kind {
			case protocol.EventTraj:
				ch, err := protocol.DecodeTrajChunk(m.Data())
				if err != nil {
					continue
				}
				// Stream order is publication order, so a chunk's
				// preceding rows are in (or in an earlier attempt's
				// chunks); errGap cannot happen but is harmless.
				if err := col.appendRows(ch); err != nil && !errors.Is(err, errGap) {
					return err
				}
			case protocol.EventResult:
				if res, err := protocol.DecodeResult(m.Data()); err == nil && res.Attempt == st.Attempt {
					result = res
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
	if st.State == protocol.StateDone && col.lastStep[id] < st.Steps {
		return fmt.Errorf("replay of %s: trajectory ends at step %d, before its last step %d", id, col.lastStep[id], st.Steps)
	}
	col.mu.Lock()
	have := col.have[id]
	col.mu.Unlock()
	if have {
		return nil
	}
	if result == nil {
		return fmt.Errorf("replay of %s: no result of attempt %d in the stream", id, st.Attempt)
	}
	if err := col.fetchArtifacts(ctx, id, result.Artifacts, result.Files); err != nil {
		return err
	}
	col.c.log.Info("rebuilt a replica from its events", "replica", id)
	return nil
}

// reconcile fetches a finished replica's files straight from the object
// store.
func (col *collector) reconcile(ctx context.Context, id string) error {
	files := []string{"grid.json", "init_params.bin", "interp.csv", "params.bin", "predictions.json", "result.json"}
	var refs []protocol.ObjectRef
	for _, f := range files {
		name, _ := protocol.ArtifactObject(col.sweep.ID, id, f)
		if _, err := col.c.obs.GetInfo(ctx, name); err != nil {
			if f == "grid.json" && errors.Is(err, jetstream.ErrObjectNotFound) {
				continue
			}
			return err
		}
		refs = append(refs, protocol.ObjectRef{Name: name, File: f})
	}
	col.c.log.Info("fetched a result whose event was missed", "replica", id)
	return col.fetchArtifacts(ctx, id, refs, nil)
}

func (col *collector) snapshot() Snapshot {
	s := col.snap
	s.Counts = map[protocol.State]int{}
	for _, st := range col.states {
		s.Counts[st.State]++
	}
	return s
}

func (col *collector) summary() (*rundir.Summary, error) {
	sum := &rundir.Summary{Version: rundir.SummaryVersion, Sweep: col.sweep.ID, Name: col.sweep.Name, Counts: map[string]int{}}
	for _, r := range col.sweep.Replicas {
		st := col.states[r.ID]
		rs := rundir.SummaryReplica{ID: r.ID, Index: r.Index, Group: r.Group, Settings: r.Settings, Seed: r.Seed,
			State: string(st.State), Status: string(st.State), Attempts: st.Attempt, Steps: st.Step, Error: st.Error}
		if st.ErrorCode != protocol.CodeUnknown {
			rs.ErrorCode = st.ErrorCode.String()
		}
		if col.have[r.ID] {
			res, err := rundir.ReadResult(rundir.ReplicaDir(col.dir, r.ID))
			if err != nil {
				return nil, err
			}
			rs.Status, rs.Steps, rs.DivergedAt, rs.Final, rs.Best = res.Status, res.Steps, res.DivergedAt, &res.Final, &res.Best
		}
		sum.Counts[rs.Status]++
		sum.Replicas = append(sum.Replicas, rs)
	}
	return sum, rundir.WriteSummary(col.dir, sum)
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
		if _, err := c.setState(ctx, sweep, replica, func(x *protocol.ReplicaState) bool {
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
