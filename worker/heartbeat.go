package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
)

// defaultAckWait is the ack wait assumed when the pool's consumer does not
// say (the coordinator's default).
const defaultAckWait = 30 * time.Second

// retryBudget bounds how long an attempt retries one operation that fails
// because a stream has no leader. A leader election takes seconds; a
// cluster unavailable for longer makes the attempt hand its task back.
var retryBudget = 2 * time.Minute

// shutdownBudget replaces retryBudget for the checkpoint of a worker that
// is stopping (preempt): a shutdown must end within a container's grace
// period, and a checkpoint the cluster cannot take now is only lost work.
var shutdownBudget = 5 * time.Second

// maxBackoff caps the pause between two tries of an operation.
const maxBackoff = 2 * time.Second

// errUnavailable marks an operation that kept failing because a stream had
// no leader for the whole retryBudget: the cluster, not the replica, is at
// fault.
var errUnavailable = errors.New("cluster unavailable")

// ackWait returns the ack wait of the pool's consumer, which bounds how
// long a delivery lives without an ack or an in-progress.
func (w *Worker) ackWait() time.Duration {
	if w.cons != nil {
		if info := w.cons.CachedInfo(); info != nil && info.Config.AckWait > 0 {
			return info.Config.AckWait
		}
	}
	return defaultAckWait
}

// keeper keeps a delivery alive: it sends in-progress acks every interval
// while the attempt is inside a blocking call (hold), and on request from
// the chain's loop between chunks (beatIfDue), and it tracks when the
// delivery expires: ackWait after the last in-progress sent (or after the
// delivery was received).
//
// Outside a hold, only the chain's loop beats, so that a chain that stops
// making progress stops heartbeats and its task is redelivered.
type keeper struct {
	m       jetstream.Msg
	every   time.Duration
	ackWait time.Duration
	now     func() time.Time

	mu   sync.Mutex
	last time.Time // the delivery's ack-wait timer was last restarted
	held int
	dead bool // stop was called

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

// newKeeper starts a keeper for delivery m, received now; every is the
// heartbeat interval, capped at a third of ackWait.
func newKeeper(m jetstream.Msg, every, ackWait time.Duration) *keeper {
	if every <= 0 || every > ackWait/3 {
		every = ackWait / 3
	}
	k := &keeper{m: m, every: max(every, time.Millisecond), ackWait: ackWait, now: time.Now,
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	k.last = k.now()
	go k.loop()
	return k
}

func (k *keeper) loop() {
	defer close(k.done)
	t := time.NewTicker(k.every)
	defer t.Stop()
	for {
		select {
		case <-k.quit:
			return
		case <-k.wake:
		case <-t.C:
		}
		k.mu.Lock()
		due := k.held > 0 && k.now().Sub(k.last) >= k.every
		k.mu.Unlock()
		if due {
			k.beat()
		}
	}
}

// beat sends an in-progress ack; when it is sent, the delivery lives
// ackWait from now.
func (k *keeper) beat() {
	t := k.now()
	if err := k.m.InProgress(); err != nil {
		return
	}
	k.mu.Lock()
	if t.After(k.last) {
		k.last = t
	}
	k.mu.Unlock()
}

// beatIfDue beats when the interval has passed since the last beat.
func (k *keeper) beatIfDue() {
	k.mu.Lock()
	due := k.now().Sub(k.last) >= k.every
	k.mu.Unlock()
	if due {
		k.beat()
	}
}

// hold keeps heartbeats going until the returned release is called; holds
// nest.
func (k *keeper) hold() (release func()) {
	k.mu.Lock()
	k.held++
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			k.mu.Lock()
			k.held--
			k.mu.Unlock()
		})
	}
}

// expired reports whether the delivery may have expired: the server has
// then redelivered the task (or will), and an ack, nak or term of this
// copy is meaningless at best, and a nak costs one more delivery. The
// margin covers the time between the server's delivery and its receipt
// here.
func (k *keeper) expired() bool {
	margin := max(k.ackWait/10, 10*time.Millisecond)
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.now().Sub(k.last) >= k.ackWait-margin
}

// stop ends the heartbeats; it is idempotent.
func (k *keeper) stop() {
	k.mu.Lock()
	dead := k.dead
	k.dead = true
	k.mu.Unlock()
	if !dead {
		close(k.quit)
		<-k.done
	}
}

// leaderless reports whether err is what a JetStream operation returns
// while the stream (or bucket) it addresses has no leader, or while the
// server cannot reach it (records.Unavailable). Such an operation may
// succeed if tried again after the election.
func leaderless(err error) bool { return records.Unavailable(err) }

// opTimeout is the deadline of one NATS operation inside an attempt: a
// quarter of the ack wait, at most 10 s.
func (a *attempt) opTimeout() time.Duration { return opTimeoutFor(a.ackWait) }

// opTimeoutFor is opTimeout for an ack wait of ackWait.
func opTimeoutFor(ackWait time.Duration) time.Duration {
	return min(ackWait/4, 10*time.Second)
}

// retry runs op, each try under its own opTimeout deadline, with
// heartbeats held, until it succeeds, fails for a reason other than a
// missing stream leader, ctx ends, or retryBudget (shutdownBudget once the
// worker is stopping) has passed (then the error wraps errUnavailable).
// op must be safe to repeat (publishes carry a message id, object puts
// overwrite by name).
func (a *attempt) retry(ctx context.Context, what string, op func(context.Context) error) error {
	release := a.hb.hold()
	defer release()
	budget := retryBudget
	if a.stopping {
		budget = shutdownBudget
	}
	start := time.Now()
	backoff := 50 * time.Millisecond
	for try := 1; ; try++ {
		octx, cancel := a.w.bound(ctx, a.opTimeout())
		err := op(octx)
		cancel()
		if err == nil {
			return nil
		}
		if derr := a.w.deniedOp(what); derr != nil {
			return derr
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if !leaderless(err) {
			return fmt.Errorf("%s: %w", what, err)
		}
		if time.Since(start)+backoff > budget {
			return fmt.Errorf("%s: %w after %d tries in %v: %w", what, errUnavailable, try, budget, err)
		}
		if a.log != nil {
			a.log.Debug("stream unavailable; trying again", "op", what, "try", try, "error", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// setRecord writes next over the attempt's record by compare-and-set,
// retried through a leader election of the bucket (retry). A write whose
// reply was lost (a timeout) may have been applied, and its retry then
// conflicts with the attempt's own write: setRecord recognises that by
// reading the record from the bucket's leader, and returns the revision.
func (a *attempt) setRecord(next protocol.ReplicaState) (uint64, error) {
	var nrev uint64
	tries := 0
	err := a.retry(context.Background(), "update the replica record", func(ctx context.Context) (err error) {
		tries++
		if err := a.settle(ctx); err != nil {
			return err
		}
		nrev, err = a.w.recs.CompareAndSet(ctx, a.task.Sweep, a.task.Replica, &a.state, a.rev, next)
		return err
	})
	if err != nil && tries > 1 && superseded(err) {
		ctx, cancel := a.opctx()
		defer cancel()
		cur, rev, rerr := a.w.recs.GetLeader(ctx, a.task.Sweep, a.task.Replica)
		if rerr == nil && rev > a.rev && sameAttempt(*cur, next) {
			a.renewed = time.Now()
			return rev, nil
		}
	}
	if err == nil {
		a.renewed = time.Now() // the write renewed the lease
	}
	return nrev, err
}
