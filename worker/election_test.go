package worker

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
)

// fakeMsg is a task delivery that counts what the attempt does with it.
// Methods the attempt must not call are left to the nil embedded Msg
// (they panic).
type fakeMsg struct {
	jetstream.Msg
	data                          []byte
	inProgress, naks, terms, acks atomic.Int64
}

func (m *fakeMsg) Data() []byte { return m.data }

func (m *fakeMsg) InProgress() error                   { m.inProgress.Add(1); return nil }
func (m *fakeMsg) Nak() error                          { m.naks.Add(1); return nil }
func (m *fakeMsg) NakWithDelay(time.Duration) error    { m.naks.Add(1); return nil }
func (m *fakeMsg) Term() error                         { m.terms.Add(1); return nil }
func (m *fakeMsg) TermWithReason(string) error         { m.terms.Add(1); return nil }
func (m *fakeMsg) Ack() error                          { m.acks.Add(1); return nil }
func (m *fakeMsg) DoubleAck(ctx context.Context) error { m.acks.Add(1); return nil }
func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{NumDelivered: 1}, nil
}

// outage makes the first n calls of an operation fail as they do while the
// stream behind it has no leader (err, or with err nil a call blocked
// until its deadline). Each failing call first blocks until the
// attempt sends a heartbeat (or the call's deadline passes, counted in
// beatless): the attempt's heartbeats must go on during a blocking call.
type outage struct {
	msg      *fakeMsg
	err      error
	left     atomic.Int64
	failed   atomic.Int64
	beatless atomic.Int64
}

func newOutage(msg *fakeMsg, n int64, err error) *outage {
	o := &outage{msg: msg, err: err}
	o.left.Store(n)
	return o
}

// fail returns the injected error for the first n calls, nil after.
func (o *outage) fail(ctx context.Context) error {
	if o == nil || o.left.Add(-1) < 0 {
		return nil
	}
	o.failed.Add(1)
	n0 := o.msg.inProgress.Load()
	for o.msg.inProgress.Load() == n0 {
		select {
		case <-ctx.Done():
			o.beatless.Add(1)
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	if o.err == nil {
		// A call that blocks until its deadline.
		<-ctx.Done()
		return ctx.Err()
	}
	return o.err
}

// flakyJS fails the publishes of one event kind.
type flakyJS struct {
	jetstream.JetStream
	kind protocol.EventKind
	o    *outage
}

func (j *flakyJS) Publish(ctx context.Context, subj string, data []byte, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if strings.HasSuffix(subj, "."+string(j.kind)) {
		if err := j.o.fail(ctx); err != nil {
			return nil, err
		}
	}
	return j.JetStream.Publish(ctx, subj, data, opts...)
}

// flakyObs fails object puts.
type flakyObs struct {
	jetstream.ObjectStore
	o *outage
}

func (s *flakyObs) PutBytes(ctx context.Context, name string, data []byte) (*jetstream.ObjectInfo, error) {
	if err := s.o.fail(ctx); err != nil {
		return nil, err
	}
	return s.ObjectStore.PutBytes(ctx, name, data)
}

// flakyKV fails record updates (compare-and-set).
type flakyKV struct {
	jetstream.KeyValue
	o *outage
}

func (k *flakyKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := k.o.fail(ctx); err != nil {
		return 0, err
	}
	return k.KeyValue.Update(ctx, key, value, rev)
}

// flakyKVRead fails record reads.
type flakyKVRead struct {
	jetstream.KeyValue
	o *outage
}

func (k *flakyKVRead) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	if err := k.o.fail(ctx); err != nil {
		return nil, err
	}
	return k.KeyValue.Get(ctx, key)
}

// electionRig is one replica claimed by attempt 1 on an in-process server
// with the worker's streams and buckets.
type electionRig struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	obs jetstream.ObjectStore
	w   *Worker
	msg *fakeMsg
	a   *attempt
}

func newElectionRig(t *testing.T, checkpointEvery int64) *electionRig {
	t.Helper()
	nc := testcluster.Start(t, 1).ConnectTo(0)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: protocol.StreamEvents, Subjects: []string{protocol.EventSubjects}}); err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: protocol.BucketReplicas})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: protocol.BucketArtifacts})
	if err != nil {
		t.Fatal(err)
	}
	task := &protocol.Task{Sweep: "s1", Replica: "r0000-00000000", Group: "g", SpecHash: "h1",
		Config: protocol.ReplicaConfig{
			Data:   protocol.DataConfig{Kind: "trig", Preset: "fig2", Train: 100, Test: 100},
			Model:  protocol.ModelConfig{Hidden: []int{4}},
			Method: protocol.MethodConfig{Name: "sgd", H: 0.05}, Steps: 400, EvalEvery: 20, Batch: 10, Seed: 1, DataSeed: 1,
		},
		CheckpointEvery: checkpointEvery, TrajChunkRows: 4}
	recs := records.New(js, kv, nil)
	if _, err := recs.Create(ctx, task.Sweep, task.Replica, protocol.ReplicaState{State: protocol.StatePending, Steps: 400, Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st, rev, err := recs.Get(ctx, task.Sweep, task.Replica)
	if err != nil {
		t.Fatal(err)
	}
	run := protocol.NextAttempt(*st, "w", task.Config.Steps)
	if rev, err = recs.CompareAndSet(ctx, task.Sweep, task.Replica, st, rev, run); err != nil {
		t.Fatal(err)
	}
	w := &Worker{cfg: Config{Name: "w", Heartbeat: 5 * time.Millisecond}, nc: nc, js: js, obs: obs, recs: recs,
		log: hclog.NewNullLogger()}
	msg := &fakeMsg{}
	key, _ := protocol.ReplicaKey(task.Sweep, task.Replica)
	a := &attempt{w: w, m: msg, task: task, key: key, state: run, rev: rev, log: w.log, tail: make(chan struct{}, 1),
		ackWait: 8 * time.Second}
	return &electionRig{js: js, kv: kv, obs: obs, w: w, msg: msg, a: a}
}

// events counts the replica's events of a kind in the EVENTS stream.
func (r *electionRig) events(t *testing.T, kind protocol.EventKind) uint64 {
	t.Helper()
	subj, _ := protocol.EventSubject(r.a.task.Sweep, r.a.task.Replica, kind)
	s, err := r.js.Stream(context.Background(), protocol.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subj))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subj]
}

// The errors nats.go returns while a stream has no leader.
var leaderlessErrors = map[string]error{
	"no stream response": jetstream.ErrNoStreamResponse,
	"no responders":      nats.ErrNoResponders,
	"503":                &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"},
	"deadline":           nil, // the call blocks until its deadline
}

// TestAttemptRidesThroughElections: publishes, object puts and record
// updates that fail as they do while their stream has no leader are
// retried inside the attempt: the task is never handed back, heartbeats go
// on while each failing call blocks, and attempt 1 finishes with exactly
// one result event.
func TestAttemptRidesThroughElections(t *testing.T) {
	const k = 3
	for _, tc := range []struct {
		name            string
		checkpointEvery int64
		inject          func(r *electionRig, o *outage)
	}{
		{"events: trajectory", 0, func(r *electionRig, o *outage) { r.w.js = &flakyJS{JetStream: r.js, kind: protocol.EventTraj, o: o} }},
		{"events: result", 0, func(r *electionRig, o *outage) { r.w.js = &flakyJS{JetStream: r.js, kind: protocol.EventResult, o: o} }},
		{"object store: checkpoint", 100, func(r *electionRig, o *outage) { r.w.obs = &flakyObs{ObjectStore: r.obs, o: o} }},
		{"replica KV: result record", 0, func(r *electionRig, o *outage) { r.w.recs = records.New(r.js, &flakyKV{KeyValue: r.kv, o: o}, nil) }},
		{"replica KV: fence read", 0, func(r *electionRig, o *outage) { r.w.recs = records.New(r.js, &flakyKVRead{KeyValue: r.kv, o: o}, nil) }},
	} {
		for ename, ierr := range leaderlessErrors {
			t.Run(tc.name+"/"+ename, func(t *testing.T) {
				r := newElectionRig(t, tc.checkpointEvery)
				o := newOutage(r.msg, k, ierr)
				tc.inject(r, o)
				if ierr == nil {
					// A blocking call: it fails at its deadline, after a
					// heartbeat. Keep the deadline short.
					r.a.ackWait = 2 * time.Second
				}
				r.a.run(context.Background())
				r.w.finishing.Wait()

				if n := o.failed.Load(); n != k {
					t.Fatalf("%d calls failed; want the %d injected failures all used", n, k)
				}
				if n := o.beatless.Load(); n != 0 {
					t.Errorf("%d failing calls saw no heartbeat while they blocked", n)
				}
				if n, m := r.msg.naks.Load(), r.msg.terms.Load(); n != 0 || m != 0 {
					t.Errorf("task handed back %d times, terminated %d times; want neither", n, m)
				}
				if n := r.msg.acks.Load(); n != 1 {
					t.Errorf("%d acks; want 1", n)
				}
				st, _, err := r.w.recs.Get(context.Background(), r.a.task.Sweep, r.a.task.Replica)
				if err != nil {
					t.Fatal(err)
				}
				if st.State != protocol.StateDone || st.Attempt != 1 || st.Step != 400 || st.Lost+st.Errors != 0 {
					t.Errorf("record %+v; want done by attempt 1 at step 400", st)
				}
				if n := r.events(t, protocol.EventResult); n != 1 {
					t.Errorf("%d result events; want 1", n)
				}
			})
		}
	}
}

// TestCheckpointRecordWriteLandedDespiteLostReply: a compare-and-set whose
// reply is lost (applied, then reported as a timeout) is retried, the
// retry conflicts with the attempt's own write, and setRecord recognises
// the write as its own instead of taking it for a takeover.
func TestCheckpointRecordWriteLandedDespiteLostReply(t *testing.T) {
	r := newElectionRig(t, 0)
	r.a.ackWait = 2 * time.Second
	r.a.hb = newKeeper(r.msg, r.w.cfg.Heartbeat, r.a.ackWait)
	defer r.a.hb.stop()
	r.w.recs = records.New(r.js, &lostReplyKV{KeyValue: r.kv}, nil)
	next := r.a.state
	next.Step = 100
	rev, err := r.a.setRecord(next)
	if err != nil {
		t.Fatalf("setRecord: %v; want its own applied write recognised", err)
	}
	e, _ := r.kv.Get(context.Background(), r.a.key)
	if rev != e.Revision() {
		t.Errorf("revision %d; the bucket has %d", rev, e.Revision())
	}
}

// lostReplyKV applies the first update and reports a timeout for it.
type lostReplyKV struct {
	jetstream.KeyValue
	calls atomic.Int64
}

func (k *lostReplyKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	n, err := k.KeyValue.Update(ctx, key, value, rev)
	if k.calls.Add(1) == 1 && err == nil {
		return 0, nats.ErrTimeout
	}
	return n, err
}

// TestNoNakForAnExpiredDelivery: an attempt handing its task back naks
// the delivery while it lives, and sends nothing once it may have expired
// (the server redelivers it anyway; a nak would add a delivery).
func TestNoNakForAnExpiredDelivery(t *testing.T) {
	for _, expired := range []bool{false, true} {
		r := newElectionRig(t, 0)
		r.a.hb = newKeeper(r.msg, time.Hour, r.a.ackWait)
		r.a.hb.stop()
		if expired {
			r.a.hb.now = func() time.Time { return time.Now().Add(r.a.ackWait) }
		}
		r.a.transient(errors.New("store checkpoint: disk full"))
		want := int64(1)
		if expired {
			want = 0
		}
		if n := r.msg.naks.Load(); n != want {
			t.Errorf("expired %v: %d naks; want %d", expired, n, want)
		}
		// The hand-back is recorded: preempted with an error code, which
		// the next attempt counts as an error.
		st, _, err := r.w.recs.Get(context.Background(), r.a.task.Sweep, r.a.task.Replica)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != protocol.StatePreempted || st.ErrorCode != protocol.CodeInternal {
			t.Errorf("record after the hand-back %+v", st)
		}
		if next := protocol.NextAttempt(*st, "w2", 400); next.Errors != 1 || next.Attempt != 2 {
			t.Errorf("next attempt %+v; want attempt 2 counting 1 error", next)
		}
	}
}

// TestLeaderless: the errors of a stream without a leader are retried,
// the others are not.
func TestLeaderless(t *testing.T) {
	for name, err := range leaderlessErrors {
		if err == nil {
			err = context.DeadlineExceeded
		}
		if !leaderless(err) {
			t.Errorf("%s: %v is not leaderless", name, err)
		}
		if wrapped := errors.Join(errors.New("publish"), err); !leaderless(wrapped) {
			t.Errorf("%s wrapped is not leaderless", name)
		}
	}
	for _, err := range []error{nil, errors.New("disk full"), jetstream.ErrKeyRevisionMismatch, jetstream.ErrObjectNotFound,
		&jetstream.APIError{Code: 400, ErrorCode: 10071, Description: "wrong last sequence"}} {
		if leaderless(err) {
			t.Errorf("%v is leaderless", err)
		}
	}
}

// TestRetryGivesUp: an outage longer than the retry budget ends in
// errUnavailable (the attempt then hands its task back as preempted, not
// as an error of its own); an error that is not an election's is not
// retried at all.
func TestRetryGivesUp(t *testing.T) {
	defer func(r, s time.Duration) { retryBudget, shutdownBudget = r, s }(retryBudget, shutdownBudget)
	retryBudget, shutdownBudget = 200*time.Millisecond, 100*time.Millisecond
	for _, stopping := range []bool{false, true} {
		msg := &fakeMsg{}
		a := &attempt{m: msg, ackWait: 2 * time.Second, stopping: stopping}
		a.hb = newKeeper(msg, time.Millisecond, a.ackWait)
		tries := 0
		err := a.retry(context.Background(), "publish", func(context.Context) error { tries++; return jetstream.ErrNoStreamResponse })
		a.hb.stop()
		if !errors.Is(err, errUnavailable) || !errors.Is(err, jetstream.ErrNoStreamResponse) || tries < 2 {
			t.Errorf("stopping %v: %v after %d tries; want errUnavailable wrapping the cause after retries", stopping, err, tries)
		}
	}
	msg := &fakeMsg{}
	a := &attempt{m: msg, ackWait: 2 * time.Second}
	a.hb = newKeeper(msg, time.Millisecond, a.ackWait)
	defer a.hb.stop()
	tries := 0
	err := a.retry(context.Background(), "store checkpoint", func(context.Context) error { tries++; return errors.New("disk full") })
	if tries != 1 || err == nil || errors.Is(err, errUnavailable) || leaderless(err) {
		t.Errorf("%v after %d tries; want the error at once", err, tries)
	}
	if !strings.HasPrefix(err.Error(), "store checkpoint: ") {
		t.Errorf("error %q does not name the operation", err)
	}
}

// TestClaimCountsHowAttemptsEnded: a delivery of a replica whose record
// shows its previous attempt lost (still running) after two bad endings
// fails the replica (max_deliver, one failure event, task terminated)
// instead of starting a fourth attempt; any number of preemptions does
// not, and the replica finishes.
func TestClaimCountsHowAttemptsEnded(t *testing.T) {
	for _, tc := range []struct {
		name string
		prev func(*protocol.ReplicaState)
		fail bool
	}{
		{"third bad attempt", func(s *protocol.ReplicaState) { s.Attempt, s.Lost, s.Errors = 3, 1, 1 }, true},
		{"many preemptions", func(s *protocol.ReplicaState) { s.Attempt, s.Preemptions, s.State = 8, 7, protocol.StatePreempted }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newElectionRig(t, 0)
			ctx := context.Background()
			task := r.a.task
			st, rev, err := r.w.recs.Get(ctx, task.Sweep, task.Replica)
			if err != nil {
				t.Fatal(err)
			}
			// Rewrite the record as the history left it.
			b := *st
			tc.prev(&b)
			// The previous attempt's lease ended long ago.
			b.Updated = time.Now().Add(-time.Hour)
			enc, _ := protocol.Encode(&b)
			if _, err := r.kv.Update(ctx, r.a.key, enc, rev); err != nil {
				t.Fatal(err)
			}
			data, _ := protocol.Encode(task)
			msg := &fakeMsg{data: data}
			r.w.handle(ctx, msg, make(chan struct{}, 1))
			r.w.finishing.Wait()
			got, _, err := r.w.recs.Get(ctx, task.Sweep, task.Replica)
			if err != nil {
				t.Fatal(err)
			}
			if tc.fail {
				if got.State != protocol.StateFailed || got.ErrorCode != protocol.CodeMaxDeliver || got.Attempt != 3 || got.Lost != 2 {
					t.Errorf("record %+v; want failed max_deliver at attempt 3 with 2 lost", got)
				}
				if n := msg.terms.Load(); n != 1 {
					t.Errorf("%d terms; want 1", n)
				}
				if n := r.events(t, protocol.EventFailure); n != 1 {
					t.Errorf("%d failure events; want 1", n)
				}
				return
			}
			if got.State != protocol.StateDone || got.Attempt != 9 || got.Preemptions != 8 {
				t.Errorf("record %+v; want done in attempt 9 after 8 preemptions", got)
			}
			if n := msg.acks.Load(); n != 1 {
				t.Errorf("%d acks; want 1", n)
			}
		})
	}
}
