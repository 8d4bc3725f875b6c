package worker

import (
	"context"
	"errors"
	"time"

	"github.com/heatbath/heatbath/protocol"
)

// The lease of a running replica.
//
// A replica's record says which attempt runs it (running, attempt n,
// worker w) and when it was last written (Updated, the writer's clock).
// The attempt renews that time while its chain runs (renewIfDue), so a
// record that is running and was written less than the ack wait ago is
// held by a live attempt. A delivery of its task then is not a sign that
// the attempt died: the server redelivers a live task after a consumer
// leader change (see handle), and taking it over would cost an attempt and
// a duplicate result. Such a delivery is handed back with a delay until
// the lease would end (leaseLeft); the live attempt's acks, naks and
// in-progress acks still govern the task, since the server matches them
// by stream sequence. A worker that crashed renews nothing: its lease ends
// at most one ack wait after its last write, and the next delivery takes
// the replica over as before, counting the attempt lost.

// leaseLeft returns how long the lease of the record st still runs at
// now, for a lease of ttl (the ack wait), or 0 when there is none: the
// record is not running, or its time is older than ttl. A time further
// ahead than ttl comes from a writer whose clock is ahead of this one;
// it is capped at ttl, so that a wrong clock delays a takeover by at most
// one lease, never forever.
func leaseLeft(st protocol.ReplicaState, now time.Time, ttl time.Duration) time.Duration {
	if st.State != protocol.StateRunning || st.Updated.IsZero() || ttl <= 0 {
		return 0
	}
	left := st.Updated.Add(ttl).Sub(now)
	if left <= 0 {
		return 0
	}
	return min(left, ttl)
}

// leaseRenewal is the fraction of the ack wait after which an attempt
// rewrites its record to renew its lease: a third, so that two renewals
// may fail (a leader election of the bucket) before the lease ends.
const leaseRenewal = 3

// renewIfDue rewrites the attempt's record, unchanged but for its time,
// when the last write is a third of the ack wait old. It is called from
// the chain's loop between chunks, like the heartbeats it complements, so
// a chain that stops making progress stops renewing. A renewal is one try
// under opTimeout: when it fails the chain goes on and the next chunk
// tries again after a second. It returns errStale when the record shows
// that another attempt took the replica over.
func (a *attempt) renewIfDue() error {
	if time.Since(a.renewed) < a.ackWait/leaseRenewal || time.Since(a.renewTry) < time.Second {
		return nil
	}
	release := a.hb.hold()
	defer release()
	a.renewTry = time.Now()
	ctx, cancel := a.opctx()
	defer cancel()
	if err := a.settle(ctx); err != nil {
		if errors.Is(err, errStale) {
			return err
		}
		a.log.Debug("lease renewal: cannot read the record; trying again", "error", err)
		return nil
	}
	nrev, err := a.w.recs.CompareAndSet(ctx, a.task.Sweep, a.task.Replica, &a.state, a.rev, a.state)
	if err == nil {
		a.rev, a.renewed = nrev, a.renewTry
		return nil
	}
	if superseded(err) {
		return errStale
	}
	// The write may have been applied with its reply lost: the next write
	// first reads the record from the leader (settle).
	a.unsure = true
	a.log.Debug("lease renewal failed; trying again", "error", err)
	return nil
}

// settle, after a record write whose outcome is unknown (unsure), reads
// the record from the bucket's leader: when it is still this attempt's,
// unchanged, its revision is adopted (the lost write was the attempt's
// own renewal); when it is another's, the attempt was superseded
// (errStale). A failed read is returned as is, for retry to judge.
func (a *attempt) settle(ctx context.Context) error {
	if !a.unsure {
		return nil
	}
	cur, rev, err := a.w.recs.GetLeader(ctx, a.task.Sweep, a.task.Replica)
	if err != nil {
		return err
	}
	if rev < a.rev || !sameAttempt(*cur, a.state) {
		return errStale
	}
	a.rev, a.unsure = rev, false
	return nil
}

// sameAttempt reports whether the records a and b say the same about the
// attempt: state, attempt, worker, step, checkpoint and error code (not
// the time).
func sameAttempt(a, b protocol.ReplicaState) bool {
	return a.State == b.State && a.Attempt == b.Attempt && a.Worker == b.Worker && a.Step == b.Step &&
		a.Checkpoint == b.Checkpoint && a.ErrorCode == b.ErrorCode
}
