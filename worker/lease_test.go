package worker

import (
	"context"
	"testing"
	"time"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
)

func TestLeaseLeft(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ttl := 30 * time.Second
	for _, tc := range []struct {
		name    string
		state   protocol.State
		updated time.Time
		want    time.Duration
	}{
		{"running, written 10 s ago", protocol.StateRunning, now.Add(-10 * time.Second), 20 * time.Second},
		{"running, written just now", protocol.StateRunning, now, ttl},
		{"running, written one ack wait ago", protocol.StateRunning, now.Add(-ttl), 0},
		{"running, written long ago", protocol.StateRunning, now.Add(-time.Hour), 0},
		{"running, no time", protocol.StateRunning, time.Time{}, 0},
		{"running, writer's clock an hour ahead", protocol.StateRunning, now.Add(time.Hour), ttl},
		{"preempted just now", protocol.StatePreempted, now, 0},
		{"pending just now", protocol.StatePending, now, 0},
		{"done just now", protocol.StateDone, now, 0},
	} {
		st := protocol.ReplicaState{State: tc.state, Attempt: 1, Worker: "w", Updated: tc.updated}
		if got := leaseLeft(st, now, ttl); got != tc.want {
			t.Errorf("%s: lease left %v; want %v", tc.name, got, tc.want)
		}
	}
}

// setRecord rewrites the rig's record as given (no transition check).
func (r *electionRig) setRecord(t *testing.T, change func(*protocol.ReplicaState)) {
	t.Helper()
	ctx := context.Background()
	st, rev, err := r.w.recs.Get(ctx, r.a.task.Sweep, r.a.task.Replica)
	if err != nil {
		t.Fatal(err)
	}
	change(st)
	b, _ := protocol.Encode(st)
	if _, err := r.kv.Update(ctx, r.a.key, b, rev); err != nil {
		t.Fatal(err)
	}
}

// TestDeliveryOfALiveReplicaIsHandedBack: a delivery of a replica whose
// record is running and was written less than an ack wait ago (a live
// attempt's lease) is handed back with a delay and leaves the record
// alone; an in-progress ack goes out before anything else. The same
// record with an old time (the holder died) is taken over, counting the
// attempt lost, as is a live lease in the receiving worker's own name
// that it does not run (an earlier process of the same name).
func TestDeliveryOfALiveReplicaIsHandedBack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		holder   string
		age      time.Duration
		takeover bool
	}{
		{"live lease", "other", time.Second, false},
		{"expired lease", "other", time.Hour, true},
		{"live lease of an earlier process of this worker's name", "w", time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newElectionRig(t, 0)
			r.setRecord(t, func(st *protocol.ReplicaState) {
				st.Worker, st.Updated = tc.holder, time.Now().Add(-tc.age)
			})
			data, _ := protocol.Encode(r.a.task)
			msg := &fakeMsg{data: data}
			r.w.handle(context.Background(), msg, make(chan struct{}, 1))
			r.w.finishing.Wait()
			got, _, err := r.w.recs.Get(context.Background(), r.a.task.Sweep, r.a.task.Replica)
			if err != nil {
				t.Fatal(err)
			}
			if tc.takeover {
				if got.State != protocol.StateDone || got.Attempt != 2 || got.Lost != 1 || msg.acks.Load() != 1 {
					t.Errorf("record %+v, %d acks; want done in attempt 2 counting 1 lost, 1 ack", got, msg.acks.Load())
				}
				return
			}
			if n := msg.naks.Load(); n != 1 {
				t.Errorf("%d naks; want the delivery handed back once", n)
			}
			if n := msg.acks.Load() + msg.terms.Load(); n != 0 {
				t.Errorf("%d acks or terms; want none", n)
			}
			if got.State != protocol.StateRunning || got.Attempt != 1 || got.Worker != "other" || got.Lost != 0 {
				t.Errorf("record %+v; want attempt 1 of the other worker untouched", got)
			}
			if n := msg.inProgress.Load(); n != 1 {
				t.Errorf("%d in-progress acks; want 1, sent on receipt", n)
			}
		})
	}
}

// TestRedeliveryToTheRunningWorkerIsHandedBack: a worker that receives
// the task of a replica it is running hands the copy back and changes
// nothing, even when the record's lease has ended.
func TestRedeliveryToTheRunningWorkerIsHandedBack(t *testing.T) {
	r := newElectionRig(t, 0)
	r.setRecord(t, func(st *protocol.ReplicaState) { st.Updated = time.Now().Add(-time.Hour) })
	r.w.live.Store(r.a.key, r.a)
	data, _ := protocol.Encode(r.a.task)
	msg := &fakeMsg{data: data}
	r.w.handle(context.Background(), msg, make(chan struct{}, 1))
	r.w.finishing.Wait()
	got, _, err := r.w.recs.Get(context.Background(), r.a.task.Sweep, r.a.task.Replica)
	if err != nil {
		t.Fatal(err)
	}
	if n := msg.naks.Load(); n != 1 {
		t.Errorf("%d naks; want 1", n)
	}
	if got.State != protocol.StateRunning || got.Attempt != 1 || got.Lost != 0 {
		t.Errorf("record %+v; want attempt 1 untouched", got)
	}
}

// TestAttemptRenewsItsLease: a running attempt rewrites its record once
// a third of the ack wait has passed since its last write (and not
// before), keeping its own revision; a renewal whose reply was lost is
// recognised as its own by the next write, which renews the lease too; a
// record taken over by another attempt ends the attempt (errStale).
func TestAttemptRenewsItsLease(t *testing.T) {
	ctx := context.Background()
	r := newElectionRig(t, 0)
	r.a.ackWait = 3 * time.Second
	r.a.hb = newKeeper(r.msg, time.Hour, r.a.ackWait)
	defer r.a.hb.stop()
	r.a.renewed = time.Now()
	rev0 := r.a.rev
	if err := r.a.renewIfDue(); err != nil || r.a.rev != rev0 {
		t.Fatalf("renewal before it is due: %v, revision %d -> %d; want nothing written", err, rev0, r.a.rev)
	}
	r.a.renewed = time.Now().Add(-2 * time.Second)
	if err := r.a.renewIfDue(); err != nil {
		t.Fatal(err)
	}
	st, rev, err := r.w.recs.Get(ctx, r.a.task.Sweep, r.a.task.Replica)
	if err != nil {
		t.Fatal(err)
	}
	if rev == rev0 || rev != r.a.rev || time.Since(st.Updated) > time.Second || !sameAttempt(*st, r.a.state) {
		t.Errorf("after the renewal: revision %d (was %d, attempt has %d), record %+v", rev, rev0, r.a.rev, st)
	}

	// A renewal whose reply is lost: the next checkpoint write succeeds.
	r.w.recs = records.New(r.js, &lostReplyKV{KeyValue: r.kv}, nil)
	r.a.renewed, r.a.renewTry = time.Time{}, time.Time{}
	if err := r.a.renewIfDue(); err != nil || !r.a.unsure {
		t.Fatalf("renewal with a lost reply: %v, unsure %v; want no error and the outcome unknown", err, r.a.unsure)
	}
	next := r.a.state
	next.Step = 100
	if _, err := r.a.setRecord(next); err != nil {
		t.Fatalf("write after a renewal with a lost reply: %v", err)
	}
	if time.Since(r.a.renewed) > time.Second {
		t.Errorf("a checkpoint write did not renew the lease: renewed at %v", r.a.renewed)
	}

	// Another attempt takes the replica over: the next renewal says so.
	r2 := newElectionRig(t, 0)
	r2.a.ackWait = 3 * time.Second
	r2.a.hb = newKeeper(r2.msg, time.Hour, r2.a.ackWait)
	defer r2.a.hb.stop()
	r2.setRecord(t, func(st *protocol.ReplicaState) { st.Attempt, st.Worker = 2, "other" })
	if err := r2.a.renewIfDue(); err != errStale {
		t.Errorf("renewal after a takeover: %v; want errStale", err)
	}
}
