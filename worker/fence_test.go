package worker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
)

// laggingKV serves the first lag reads of every key from a snapshot taken
// before the test's writes, as a lagging replica of a clustered bucket
// answers a direct get.
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

// fenceSetup returns a real KV bucket on an in-process server holding one
// replica record at revision 1 (pending), and the attempt "w" that claimed
// it (revision 2). use makes the attempt's worker read the bucket through
// the given view of it.
func fenceSetup(t *testing.T) (jetstream.KeyValue, *attempt, jetstream.KeyValueEntry, func(jetstream.KeyValue)) {
	t.Helper()
	nc := testcluster.Start(t, 1).ConnectTo(0)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: protocol.BucketReplicas})
	if err != nil {
		t.Fatal(err)
	}
	key := "s1.r0000-00000000"
	put := func(st protocol.ReplicaState, rev uint64) uint64 {
		b, err := protocol.Encode(&st)
		if err != nil {
			t.Fatal(err)
		}
		if rev == 0 {
			r, err := kv.Create(ctx, key, b)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		r, err := kv.Update(ctx, key, b, rev)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rev := put(protocol.ReplicaState{State: protocol.StatePending, Steps: 100, Updated: time.Now()}, 0)
	old, _ := kv.Get(ctx, key)
	claim := protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w", Steps: 100, Updated: time.Now()}
	rev = put(claim, rev)
	w := &Worker{cfg: Config{Name: "w"}, nc: nc, js: js}
	task := &protocol.Task{Sweep: "s1", Replica: "r0000-00000000"}
	a := &attempt{w: w, task: task, key: key, state: claim, rev: rev}
	use := func(view jetstream.KeyValue) { w.recs = records.New(js, view, nil) }
	use(kv)
	return kv, a, old, use
}

// TestFenceWaitsForItsOwnWrite: a read that shows an older revision than
// the attempt's own last write (a lagging replica) is not a takeover; the
// fence reads again until it sees its write.
func TestFenceWaitsForItsOwnWrite(t *testing.T) {
	kv, a, old, use := fenceSetup(t)
	lagging := &laggingKV{KeyValue: kv, old: old, lag: 3}
	use(lagging)
	if err := a.fence(context.Background()); err != nil {
		t.Fatalf("fence: %v; want nil (the record is the attempt's own)", err)
	}
	if n := lagging.gets.Load(); n != 4 {
		t.Errorf("%d reads; want 3 stale ones and 1 current", n)
	}
}

// TestFenceSeesTakeover: a record written after the attempt's own write by
// another attempt fences the attempt out, even behind a lagging read.
func TestFenceSeesTakeover(t *testing.T) {
	kv, a, old, use := fenceSetup(t)
	next := a.state
	next.Attempt, next.Worker = 2, "other"
	b, _ := protocol.Encode(&next)
	if _, err := kv.Update(context.Background(), a.key, b, a.rev); err != nil {
		t.Fatal(err)
	}
	use(&laggingKV{KeyValue: kv, old: old, lag: 2})
	if err := a.fence(context.Background()); !errors.Is(err, errStale) {
		t.Fatalf("fence: %v; want errStale", err)
	}
}

// TestFenceGivesUpOnAReplicaThatStaysBehind: a read that never catches up
// is an error (the task is handed back), not a takeover and not a pass.
func TestFenceGivesUpOnAReplicaThatStaysBehind(t *testing.T) {
	kv, a, old, use := fenceSetup(t)
	use(&laggingKV{KeyValue: kv, old: old, lag: 1 << 30})
	defer func(d time.Duration) { fenceWait = d }(fenceWait)
	fenceWait = 50 * time.Millisecond
	err := a.fence(context.Background())
	if !errors.Is(err, records.ErrBehind) || errors.Is(err, errStale) {
		t.Fatalf("fence: %v; want records.ErrBehind, not errStale", err)
	}
}
