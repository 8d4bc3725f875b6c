package coordinator

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// TestFeedLeavesCollectorAlone runs the feed on a real in-process
// JetStream server, playing a worker by hand: the first snapshot has the
// step of the latest progress event while the record still says step 0,
// a progress event published while the feed runs reaches a later
// snapshot, and the sweep's durable collector consumer has delivered
// nothing to the feed: its events are all still pending for the
// collector.
func TestFeedLeavesCollectorAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	co, _ := embeddedCoordinator(t, ctx, Config{})
	sw := testSweep(2)
	sw.Spec = "name: test\n"
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	if err := co.tasks.Purge(ctx); err != nil { // no worker runs here
		t.Fatal(err)
	}
	// The collector's durable consumer, as Collect makes it.
	durable, _ := protocol.CollectorConsumer(sw.ID)
	efilter, _ := protocol.EventFilter(sw.ID)
	collector, err := co.js.CreateOrUpdateConsumer(ctx, protocol.StreamEvents, jetstream.ConsumerConfig{
		Durable: durable, FilterSubject: efilter, AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}

	key, _ := protocol.ReplicaKey(sw.ID, "r0")
	e, err := co.kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	st := protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w1", Steps: testSteps, Updated: time.Now()}
	if _, err := co.kv.Update(ctx, key, encode(t, &st), e.Revision()); err != nil {
		t.Fatal(err)
	}
	published := 0
	progress := func(step int64) {
		t.Helper()
		subj, _ := protocol.EventSubject(sw.ID, "r0", protocol.EventProgress)
		p := &protocol.Progress{Sweep: sw.ID, Replica: "r0", Attempt: 1, Worker: "w1", Step: step, Steps: testSteps}
		if _, err := co.js.Publish(ctx, subj, encode(t, p)); err != nil {
			t.Fatal(err)
		}
		published++
	}
	progress(100)
	progress(200)

	snaps := 0
	err = co.Feed(ctx, sw.ID, 20*time.Millisecond, func(s *FeedSnapshot) bool {
		snaps++
		r0, r1 := s.Replicas[0], s.Replicas[1]
		if snaps == 1 {
			if r0.Step != 200 || r0.State != protocol.StateRunning || r0.Worker != "w1" || r1.State != protocol.StatePending || r1.Step != 0 {
				t.Errorf("first snapshot: r0 %+v, r1 %+v; want r0 running on w1 at step 200, r1 pending at 0", r0, r1)
			}
			progress(300)
		}
		return r0.Step != 300
	})
	if err != nil {
		t.Fatalf("feed: %v (after %d snapshots)", err, snaps)
	}
	info, err := collector.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Delivered.Consumer != 0 || info.NumAckPending != 0 || info.NumPending != uint64(published) {
		t.Errorf("collector consumer: %d delivered, %d awaiting ack, %d pending; want 0, 0 and the %d events published",
			info.Delivered.Consumer, info.NumAckPending, info.NumPending, published)
	}
}
