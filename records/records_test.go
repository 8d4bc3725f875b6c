package records

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
)

// server starts an in-process JetStream server and returns a client.
func server(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc := testcluster.Start(t, 1).ConnectTo(0)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// newStore creates the two record buckets on a fresh server and returns a
// store over them, and the replicas bucket.
func newStore(t *testing.T) (*Store, jetstream.KeyValue, jetstream.JetStream) {
	t.Helper()
	js := server(t)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: protocol.BucketReplicas, History: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: protocol.BucketSweeps}); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	return s, kv, js
}

func pending() protocol.ReplicaState {
	return protocol.ReplicaState{State: protocol.StatePending, Steps: 100, Updated: time.Now().UTC()}
}

func running(attempt int, worker string) protocol.ReplicaState {
	return protocol.ReplicaState{State: protocol.StateRunning, Attempt: attempt, Worker: worker, Steps: 100, Updated: time.Now().UTC()}
}

// TestCreateAndGet: a created record reads back, from a KV get and from
// the leader, at the revision Create returned; a second Create and a
// missing record are the typed errors.
func TestCreateAndGet(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	rev, err := s.Create(ctx, "s1", "r1", pending())
	if err != nil {
		t.Fatal(err)
	}
	for name, get := range map[string]func(context.Context, string, string) (*protocol.ReplicaState, uint64, error){
		"Get": s.Get, "GetLeader": s.GetLeader,
	} {
		st, got, err := get(ctx, "s1", "r1")
		if err != nil || got != rev || st.State != protocol.StatePending || st.Steps != 100 {
			t.Errorf("%s: %+v at %d, %v; want pending at %d", name, st, got, err, rev)
		}
		_, _, err = get(ctx, "s1", "r2")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a missing record: %v; want ErrNotFound", name, err)
		}
		if name == "Get" && !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("Get of a missing record: %v; want it to match jetstream.ErrKeyNotFound", err)
		}
	}
	_, err = s.Create(ctx, "s1", "r1", pending())
	if !errors.Is(err, ErrExists) || !errors.Is(err, jetstream.ErrKeyExists) {
		t.Errorf("second Create: %v; want ErrExists and jetstream.ErrKeyExists", err)
	}
	if _, _, err := s.Get(ctx, "s1", "r.1"); err == nil || protocol.CodeOf(err) != protocol.CodeInvalid {
		t.Errorf("Get of an invalid id: %v; want an invalid-id error", err)
	}
}

// TestCompareAndSetConflict: a write at a revision that is no longer the
// latest is ErrConflict, matching nats.go's ErrKeyRevisionMismatch, and
// leaves the record as the other writer left it.
func TestCompareAndSetConflict(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	rev, err := s.Create(ctx, "s1", "r1", pending())
	if err != nil {
		t.Fatal(err)
	}
	prev := pending()
	rev2, err := s.CompareAndSet(ctx, "s1", "r1", &prev, rev, running(1, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if rev2 <= rev {
		t.Fatalf("revision %d after %d", rev2, rev)
	}
	_, err = s.CompareAndSet(ctx, "s1", "r1", &prev, rev, running(1, "b"))
	if !errors.Is(err, ErrConflict) || !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		t.Fatalf("stale write: %v; want ErrConflict and jetstream.ErrKeyRevisionMismatch", err)
	}
	if !strings.Contains(err.Error(), "s1.r1") {
		t.Errorf("error %q does not name the record", err)
	}
	st, got, _ := s.Get(ctx, "s1", "r1")
	if got != rev2 || st.Worker != "a" {
		t.Errorf("record %+v at %d after a refused write; want worker a at %d", st, got, rev2)
	}
}

// TestCompareAndSetRefusesTransition: a move that CheckTransition refuses
// is its protocol error and writes nothing.
func TestCompareAndSetRefusesTransition(t *testing.T) {
	s, kv, _ := newStore(t)
	ctx := context.Background()
	rev, err := s.Create(ctx, "s1", "r1", pending())
	if err != nil {
		t.Fatal(err)
	}
	prev := pending()
	done := protocol.ReplicaState{State: protocol.StateDone, Attempt: 1, Worker: "a", Step: 100, Steps: 100}
	_, err = s.CompareAndSet(ctx, "s1", "r1", &prev, rev, done)
	if protocol.CodeOf(err) != protocol.CodeInvalid || errors.Is(err, ErrConflict) {
		t.Fatalf("pending → done: %v; want an invalid-transition error", err)
	}
	// A zombie: attempt 1 of worker b over attempt 1 of worker a.
	rev, err = s.CompareAndSet(ctx, "s1", "r1", &prev, rev, running(1, "a"))
	if err != nil {
		t.Fatal(err)
	}
	cur := running(1, "a")
	_, err = s.CompareAndSet(ctx, "s1", "r1", &cur, rev, running(1, "b"))
	if protocol.CodeOf(err) != protocol.CodeStale {
		t.Fatalf("zombie write: %v; want CodeStale", err)
	}
	e, err := kv.Get(ctx, "s1.r1")
	if err != nil || e.Revision() != rev {
		t.Fatalf("bucket at %v, %v after refused writes; want revision %d", e, err, rev)
	}
	st, _ := protocol.DecodeReplicaState(e.Value())
	if st.Worker != "a" || st.State != protocol.StateRunning {
		t.Errorf("record %+v after refused writes; want running by a", st)
	}
}

// laggingKV answers the first lag Gets from old, as a lagging replica of a
// clustered bucket answers a direct get.
type laggingKV struct {
	jetstream.KeyValue
	old  jetstream.KeyValueEntry
	lag  int32
	gets atomic.Int32
}

func (k *laggingKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	if k.gets.Add(1) <= k.lag {
		return k.old, nil
	}
	return k.KeyValue.Get(ctx, key)
}

// TestReadAtLeast: read-your-writes returns a value at least as new as the
// write behind a lagging bucket, and ErrBehind when the bucket never
// catches up; the leader read is never behind.
func TestReadAtLeast(t *testing.T) {
	s, kv, js := newStore(t)
	ctx := context.Background()
	rev, err := s.Create(ctx, "s1", "r1", pending())
	if err != nil {
		t.Fatal(err)
	}
	old, err := kv.Get(ctx, "s1.r1")
	if err != nil {
		t.Fatal(err)
	}
	prev := pending()
	rev, err = s.CompareAndSet(ctx, "s1", "r1", &prev, rev, running(1, "a"))
	if err != nil {
		t.Fatal(err)
	}

	lag := &laggingKV{KeyValue: kv, old: old, lag: 3}
	ls := New(js, lag, nil)
	if _, got, _ := ls.Get(ctx, "s1", "r1"); got >= rev {
		t.Fatalf("the lagging bucket read revision %d; the test needs one behind %d", got, rev)
	}
	st, got, err := ls.ReadAtLeast(ctx, "s1", "r1", rev, time.Minute)
	if err != nil || got < rev || st.Worker != "a" {
		t.Fatalf("ReadAtLeast: %+v at %d, %v; want worker a at %d or later", st, got, err, rev)
	}
	if n := lag.gets.Load(); n != 4 {
		t.Errorf("%d reads; want 3 behind (1 above, 2 in ReadAtLeast) and 1 current", n)
	}
	st, got, err = ls.GetLeader(ctx, "s1", "r1")
	if err != nil || got != rev || st.Worker != "a" {
		t.Errorf("GetLeader: %+v at %d, %v; want worker a at %d", st, got, err, rev)
	}

	stuck := New(js, &laggingKV{KeyValue: kv, old: old, lag: 1 << 30}, nil)
	_, _, err = stuck.ReadAtLeast(ctx, "s1", "r1", rev, 20*time.Millisecond)
	if !errors.Is(err, ErrBehind) {
		t.Errorf("ReadAtLeast on a bucket that stays behind: %v; want ErrBehind", err)
	}
}

// TestUpdate: Update applies a change, leaves the record alone when the
// change declines, and refuses a disallowed move without writing.
func TestUpdate(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	rev, err := s.Create(ctx, "s1", "r1", pending())
	if err != nil {
		t.Fatal(err)
	}
	ok, err := s.Update(ctx, "s1", "r1", func(x *protocol.ReplicaState) bool {
		x.State, x.ErrorCode, x.Error = protocol.StateCancelled, protocol.CodeCancelled, "sweep cancelled"
		return true
	})
	if !ok || err != nil {
		t.Fatalf("Update: %v, %v", ok, err)
	}
	ok, err = s.Update(ctx, "s1", "r1", func(*protocol.ReplicaState) bool { return false })
	if ok || err != nil {
		t.Fatalf("declined Update: %v, %v; want false, nil", ok, err)
	}
	ok, err = s.Update(ctx, "s1", "r1", func(x *protocol.ReplicaState) bool { x.State = protocol.StateDone; return true })
	if ok || protocol.CodeOf(err) != protocol.CodeInvalid {
		t.Fatalf("cancelled → done: %v, %v; want refused", ok, err)
	}
	st, got, _ := s.Get(ctx, "s1", "r1")
	if st.State != protocol.StateCancelled || got != rev+1 {
		t.Errorf("record %s at %d; want cancelled at %d", st.State, got, rev+1)
	}
}

// TestUpdateRetriesAfterAConflict: a write that loses to another writer
// between its read and its write is retried on the new record.
func TestUpdateRetriesAfterAConflict(t *testing.T) {
	s, kv, _ := newStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, "s1", "r1", pending()); err != nil {
		t.Fatal(err)
	}
	calls := 0
	ok, err := s.Update(ctx, "s1", "r1", func(x *protocol.ReplicaState) bool {
		calls++
		if calls == 1 {
			// Another writer gets in first: a worker claims the replica.
			e, _ := kv.Get(ctx, "s1.r1")
			b, _ := protocol.Encode(new(running(1, "w")))
			if _, err := kv.Update(ctx, "s1.r1", b, e.Revision()); err != nil {
				t.Fatal(err)
			}
		}
		x.State, x.ErrorCode, x.Error = protocol.StateCancelled, protocol.CodeCancelled, "sweep cancelled"
		return true
	})
	if !ok || err != nil || calls != 2 {
		t.Fatalf("Update: %v, %v after %d calls; want true, nil after 2", ok, err, calls)
	}
	st, _, _ := s.Get(ctx, "s1", "r1")
	if st.State != protocol.StateCancelled || st.Attempt != 1 || st.Worker != "w" {
		t.Errorf("record %+v; want the claim cancelled (attempt 1, worker w)", st)
	}
}

// TestSweepRecords: create, read and set the status of a sweep record.
func TestSweepRecords(t *testing.T) {
	s, _, js := newStore(t)
	ctx := context.Background()
	rec := &protocol.SweepRecord{ID: "s1", Spec: "x: 1\n", SpecHash: "h1", Replicas: 2,
		Created: time.Now().UTC(), Status: protocol.SweepRunning}
	if _, err := s.CreateSweep(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSweep(ctx, rec); !errors.Is(err, ErrExists) || !errors.Is(err, jetstream.ErrKeyExists) {
		t.Errorf("second CreateSweep: %v; want ErrExists", err)
	}
	if ok, err := s.SetSweepStatus(ctx, "s1", protocol.SweepDone); !ok || err != nil {
		t.Fatalf("SetSweepStatus: %v, %v", ok, err)
	}
	if ok, err := s.SetSweepStatus(ctx, "s1", protocol.SweepDone); ok || err != nil {
		t.Errorf("SetSweepStatus to the same status: %v, %v; want false, nil", ok, err)
	}
	got, _, err := s.GetSweep(ctx, "s1")
	if err != nil || got.Status != protocol.SweepDone || got.Replicas != 2 {
		t.Errorf("GetSweep: %+v, %v", got, err)
	}
	if _, _, err := s.GetSweep(ctx, "s2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSweep of a missing sweep: %v; want ErrNotFound", err)
	}
	if _, err := s.SetSweepStatus(ctx, "s2", protocol.SweepDone); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetSweepStatus of a missing sweep: %v; want ErrNotFound", err)
	}
	noSweeps := New(js, nil, nil)
	if _, _, err := noSweeps.GetSweep(ctx, "s1"); err == nil {
		t.Error("GetSweep on a store without a sweeps bucket succeeded")
	}
}

// TestWatch: the watch brings a sweep's records and not another's.
func TestWatch(t *testing.T) {
	s, _, _ := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, k := range [][2]string{{"s1", "r1"}, {"s2", "r1"}, {"s1", "r2"}} {
		if _, err := s.Create(ctx, k[0], k[1], pending()); err != nil {
			t.Fatal(err)
		}
	}
	w, err := s.Watch(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var keys []string
	for e := range w.Updates() {
		if e == nil {
			break
		}
		keys = append(keys, e.Key())
	}
	if strings.Join(keys, ",") != "s1.r1,s1.r2" {
		t.Errorf("watched %v; want s1.r1, s1.r2", keys)
	}
}
