// Package worker runs replicas for a Heatbath coordinator over NATS
// JetStream: it pulls tasks from the work-queue stream, fences each attempt
// with a compare-and-set on the replica's KV record, runs the chain
// (package train) with periodic checkpoints in the object store and
// heartbeats, streams thinned progress and trajectory chunks to the events
// stream, and finishes with the replica's files and a result.
//
// A replica redelivered after a worker died resumes from its last
// checkpoint and, because a chain's whole state is in the checkpoint, ends
// bit-identical to an uninterrupted run. On shutdown (context cancelled) a
// worker stops pulling, checkpoints its running replicas, marks them
// preempted and hands the tasks back.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
)

// Config configures a worker. The zero value of each field means its
// documented default.
type Config struct {
	// Name identifies the worker in replica records (a token); default
	// "<host>-<pid>-<random>".
	Name string
	// Pool is the worker pool whose tasks it pulls; default "cpu".
	Pool string
	// Slots is the number of chains run at once; default runtime.NumCPU().
	Slots int
	// FetchWait bounds one pull request; default 2s.
	FetchWait time.Duration
	// Heartbeat is the interval of InProgress acks while a chain runs;
	// default 5s, which suits the coordinator's default AckWait of 30s (keep
	// it well below the AckWait of the pool's consumer).
	Heartbeat time.Duration
	// Logger receives the worker's logs; default a null logger.
	Logger hclog.Logger
}

// Worker pulls and runs replicas.
type Worker struct {
	cfg  Config
	nc   *nats.Conn
	js   jetstream.JetStream
	log  hclog.Logger
	recs *records.Store
	obs  jetstream.ObjectStore
	cons jetstream.Consumer

	// denied is cancelled, with the server's error as its cause, at the
	// first permission violation the server reports (denied.go).
	denied context.Context
	deny   context.CancelCauseFunc

	cancelled sync.Map // sweep id → struct{}
	// pruned holds the replicas that successive halving stopped
	// (protocol.PruneSubject), by replica key.
	pruned sync.Map // replica key → struct{}
	// live holds the attempts this worker runs (replica key → *attempt),
	// until their task is acknowledged, handed back or dropped.
	live sync.Map
	// finishing counts the replicas whose result is being published
	// (attempt.finish); Run waits for them before it returns.
	finishing sync.WaitGroup
}

// New returns a worker on the connection nc.
func New(nc *nats.Conn, cfg Config) (*Worker, error) {
	if cfg.Pool == "" {
		cfg.Pool = "cpu"
	}
	if !protocol.ValidToken(cfg.Pool) {
		return nil, fmt.Errorf("worker: pool %q is not a valid token", cfg.Pool)
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		host = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '-'
		}, host)
		var b [3]byte
		_, _ = rand.Read(b[:])
		cfg.Name = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if !protocol.ValidToken(cfg.Name) {
		return nil, fmt.Errorf("worker: name %q is not a valid token", cfg.Name)
	}
	if cfg.Slots <= 0 {
		cfg.Slots = runtime.NumCPU()
	}
	if cfg.FetchWait <= 0 {
		cfg.FetchWait = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("worker: jetstream: %w", err)
	}
	w := &Worker{cfg: cfg, nc: nc, js: js, log: cfg.Logger.Named("worker").With("worker", cfg.Name)}
	w.watchDenials()
	return w, nil
}

// Name returns the worker's name.
func (w *Worker) Name() string { return w.cfg.Name }

// bind waits until the coordinator has created the streams, buckets and
// the pool's consumer, then opens them.
func (w *Worker) bind(ctx context.Context) error {
	name, _ := protocol.WorkerConsumer(w.cfg.Pool)
	warned := false
	for {
		var err error
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if w.cons, err = w.js.Consumer(cctx, protocol.StreamTasks, name); err == nil {
			var kv jetstream.KeyValue
			if kv, err = w.js.KeyValue(cctx, protocol.BucketReplicas); err == nil {
				w.recs = records.New(w.js, kv, nil)
				w.obs, err = w.js.ObjectStore(cctx, protocol.BucketArtifacts)
			}
		}
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !warned {
			w.log.Info("waiting for a coordinator to create the task stream", "consumer", name, "error", err)
			warned = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Run pulls and runs tasks until ctx is cancelled, then checkpoints the
// running replicas, hands their tasks back and returns nil. When the
// server refuses one of the worker's operations for lack of permission,
// the worker stops the same way at once and Run returns that error (one
// line naming the subject refused).
func (w *Worker) Run(ctx context.Context) error {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if w.denied != nil {
		defer context.AfterFunc(w.denied, func() { stop(context.Cause(w.denied)) })()
	}
	if err := w.bind(ctx); err != nil {
		if err := w.deniedOp("worker"); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	sub, err := w.nc.Subscribe(protocol.CancelFilter, func(m *nats.Msg) {
		sweep := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
		w.cancelled.Store(sweep, struct{}{})
		w.log.Info("sweep cancelled", "sweep", sweep)
	})
	if err != nil {
		return fmt.Errorf("worker: subscribe to cancellations: %w", err)
	}
	defer sub.Unsubscribe()
	psub, err := w.nc.Subscribe(protocol.PruneFilter, func(m *nats.Msg) {
		sweep, replica, err := protocol.ParsePruneSubject(m.Subject)
		if err != nil {
			return
		}
		key, _ := protocol.ReplicaKey(sweep, replica)
		w.pruned.Store(key, struct{}{})
		w.log.Debug("replica pruned", "sweep", sweep, "replica", replica)
	})
	if err != nil {
		return fmt.Errorf("worker: subscribe to prune decisions: %w", err)
	}
	defer psub.Unsubscribe()
	w.log.Info("worker started", "pool", w.cfg.Pool, "slots", w.cfg.Slots)
	var wg sync.WaitGroup
	for i := 0; i < w.cfg.Slots; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.slot(ctx)
		}()
	}
	wg.Wait()
	w.finishing.Wait()
	if err := w.deniedOp("worker"); err != nil {
		w.log.Error("worker stopped: the server refused an operation for lack of permission", "error", err)
		return err
	}
	w.log.Info("worker stopped")
	return nil
}

func (w *Worker) slot(ctx context.Context) {
	// tail holds a token while the slot's last replica publishes its
	// result, which overlaps the slot's next chain.
	tail := make(chan struct{}, 1)
	for ctx.Err() == nil {
		// The pull is bound to ctx, so that a shutdown does not wait for
		// it to expire.
		fctx, cancel := context.WithTimeout(ctx, w.cfg.FetchWait)
		m, err := w.cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if err != nil {
			if errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				continue
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				w.log.Warn("task consumer gone; binding again", "error", err)
				if err := w.bind(ctx); err != nil {
					return
				}
				continue
			}
			w.log.Warn("pull failed", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		w.handle(ctx, m, tail)
	}
}

// superseded reports whether a write of a replica record failed because
// the attempt has been superseded: the record moved on since the attempt
// read it (records.ErrConflict), or the transition names an attempt that
// is no longer the record's (protocol.CodeStale).
func superseded(err error) bool {
	return errors.Is(err, errStale) || errors.Is(err, records.ErrConflict) || protocol.CodeOf(err) == protocol.CodeStale
}

func (w *Worker) handle(ctx context.Context, m jetstream.Msg, tail chan struct{}) {
	task, err := protocol.DecodeTask(m.Data())
	if err != nil {
		w.poison(ctx, m, err)
		return
	}
	log := w.log.With("sweep", task.Sweep, "replica", task.Replica)
	// Tell the consumer at once that the delivery is being worked on. A
	// replicated consumer's followers record a delivery with the task's
	// publish time, not the time of the delivery (nats-server 2.15
	// consumer.deliverMsg proposes updateDelivered with the stored
	// message's timestamp; only the leader's own pending entry gets the
	// current time), and an in-progress ack replicates the leader's
	// current time. So until the first in-progress ack is replicated, a
	// new consumer leader (the old one's node died) takes a task queued
	// longer than the ack wait for expired, and redelivers it within
	// 0.5-1.5 s of its election while its attempt is alive
	// (testcluster's TestNewConsumerLeaderUsesPublishTime shows it).
	_ = m.InProgress()
	if md, err := m.Metadata(); err == nil {
		log.Debug("task received", "delivered", md.NumDelivered, "stream_seq", md.Sequence.Stream)
	}
	key, _ := protocol.ReplicaKey(task.Sweep, task.Replica)
	if _, ok := w.cancelled.Load(task.Sweep); ok {
		_ = m.TermWithReason("sweep cancelled")
		return
	}
	if _, ok := w.live.Load(key); ok {
		// A redelivery of a task this worker is running (the server lost
		// track of the delivery's time): the live attempt's acks, matched
		// by stream sequence, still govern the task.
		log.Info("task redelivered while this worker runs it; handing the copy back")
		_ = m.NakWithDelay(w.ackWait())
		return
	}
	// The claim's reads and write must end well before the delivery's ack
	// wait (no heartbeat runs yet).
	opctx, cancel := w.bound(context.Background(), opTimeoutFor(w.ackWait()))
	defer cancel()
	st, rev, err := w.recs.Get(opctx, task.Sweep, task.Replica)
	if err != nil {
		if errors.Is(err, records.ErrNotFound) {
			log.Error("task without a replica record; terminating it", "key", key)
			_ = m.TermWithReason("no replica record")
			return
		}
		log.Warn("cannot read replica record; retrying later", "error", err)
		_ = m.NakWithDelay(2 * time.Second)
		return
	}
	if st.State.Terminal() {
		// A plain read may come from a lagging replica of a clustered
		// bucket and show a state that resume has since reset: ask the
		// leader before dropping the task.
		if st, rev, err = w.recs.GetLeader(opctx, task.Sweep, task.Replica); err != nil {
			log.Warn("cannot read replica record; retrying later", "error", err)
			_ = m.NakWithDelay(2 * time.Second)
			return
		}
	}
	if st.State.Terminal() {
		log.Debug("replica already finished; dropping the task", "state", st.State)
		_ = m.Ack()
		return
	}
	// A replica held by a live attempt (its lease, lease.go) is not taken
	// over: the delivery comes back when the lease would have ended. A
	// lease in this worker's name that it does not run (w.live) was left
	// by an earlier process of the same name: taken over at once.
	if left := leaseLeft(*st, time.Now(), w.ackWait()); left > 0 && st.Worker != w.cfg.Name {
		log.Info("replica running in a live attempt; handing the delivery back until its lease ends",
			"attempt", st.Attempt, "holder", st.Worker, "lease_left", left.Round(time.Millisecond))
		_ = m.NakWithDelay(left + time.Second)
		return
	}
	// The new attempt counts how the previous one ended; after
	// protocol.MaxBadAttempts crashes or errors the replica fails instead.
	run := protocol.NextAttempt(*st, w.cfg.Name, task.Config.Steps)
	rev, err = w.recs.CompareAndSet(opctx, task.Sweep, task.Replica, st, rev, run)
	if err != nil {
		log.Warn("cannot claim replica; handing the task back", "error", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	if run.State == protocol.StateFailed {
		w.giveUp(m, task, run)
		return
	}
	a := &attempt{w: w, m: m, task: task, key: key, state: run, rev: rev, log: log.With("attempt", run.Attempt), tail: tail}
	a.run(ctx)
}

// poison handles a task that cannot be decoded: it can never run, so it is
// terminated and, if its subject names a replica, the replica is failed.
func (w *Worker) poison(ctx context.Context, m jetstream.Msg, cause error) {
	_, sweep, replica, err := protocol.ParseTaskSubject(m.Subject())
	w.log.Error("undecodable task; terminating it", "subject", m.Subject(), "error", cause)
	_ = m.TermWithReason(truncate(cause.Error(), 1024))
	if err != nil {
		return
	}
	key, _ := protocol.ReplicaKey(sweep, replica)
	opctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, rev, err := w.recs.Get(opctx, sweep, replica)
	if err != nil || st.State.Terminal() {
		return
	}
	next := *st
	next.State, next.ErrorCode, next.Error = protocol.StateFailed, protocol.CodeMalformed, truncate(cause.Error(), 4096)
	if _, err := w.recs.CompareAndSet(opctx, sweep, replica, st, rev, next); err != nil {
		w.log.Warn("cannot mark the replica failed", "key", key, "error", err)
	}
	w.publish(opctx, sweep, replica, protocol.EventFailure, protocol.MsgID(sweep, replica, st.Attempt, "failure", 0),
		&protocol.Failure{Sweep: sweep, Replica: replica, Attempt: max(st.Attempt, 1), Worker: w.cfg.Name,
			Code: protocol.CodeMalformed, Message: truncate(cause.Error(), 4096)})
}

func (w *Worker) publish(ctx context.Context, sweep, replica string, kind protocol.EventKind, id string, msg protocol.Message) error {
	subj, err := protocol.EventSubject(sweep, replica, kind)
	if err != nil {
		return err
	}
	b, err := protocol.Encode(msg)
	if err != nil {
		return err
	}
	_, err = w.js.Publish(ctx, subj, b, jetstream.WithMsgID(id))
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
