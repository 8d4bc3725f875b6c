package testcluster

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestRoutesPassThroughProxies checks the property Kill relies on: every
// route connection of the cluster goes through a proxy of the harness (a
// route that bypassed them would survive Kill and let the graceful
// stepdown reach the peers).
func TestRoutesPassThroughProxies(t *testing.T) {
	c := Start(t, 3)
	total := 0
	for i := range c.N() {
		rz, err := c.Node(i).Routez(nil)
		if err != nil {
			t.Fatal(err)
		}
		total += len(rz.Routes)
	}
	if total == 0 || total != 2*c.routeConns() {
		t.Fatalf("%d route ends on the nodes, %d connections through the proxies: want twice as many ends", total, c.routeConns())
	}
}

// TestKillStreamLeaderAndRestart kills the leader of an R3 stream: a new
// leader is elected among the others, writes go on, and the node comes
// back from its store with the stream's messages.
func TestKillStreamLeaderAndRestart(t *testing.T) {
	c := Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js, err := jetstream.New(c.ConnectTo(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := js.Publish(ctx, "t.a", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	old := c.StreamLeader("T")
	c.Kill(old)
	if c.Node(old) != nil {
		t.Fatal("killed node still listed as running")
	}
	now := c.StreamLeader("T")
	if now == old {
		t.Fatalf("leader still %d after its kill", now)
	}
	// A client of another node keeps writing through the election.
	js2, err := jetstream.New(c.ConnectTo(now))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := js2.Publish(ctx, "t.a", []byte("y")); err != nil {
			t.Fatal(err)
		}
	}
	c.Restart(old)
	s, err := js2.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 10 || info.Config.Replicas != 3 {
		t.Fatalf("after kill and restart: %d messages, R%d; want 10, R3", info.State.Msgs, info.Config.Replicas)
	}
	// The restarted node holds the stream again (it catches up from the
	// leader): wait for it to be current, bounded.
	deadline := time.Now().Add(WaitTimeout)
	for !c.Node(old).JetStreamIsStreamCurrent("$G", "T") {
		if time.Now().After(deadline) {
			t.Fatalf("restarted node %d did not catch up on stream T", old)
		}
		time.Sleep(pollEvery)
	}
	total := 0
	for i := range c.N() {
		rz, _ := c.Node(i).Routez(nil)
		total += len(rz.Routes)
	}
	if total != 2*c.routeConns() {
		t.Fatalf("after restart: %d route ends, %d proxied connections", total, c.routeConns())
	}
}

// TestSingleNode: one node is a standalone JetStream server that restarts
// from its store.
func TestSingleNode(t *testing.T) {
	c := Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js, err := jetstream.New(c.ConnectTo(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.Stop(0)
	c.Restart(0)
	if c.StreamLeader("T") != 0 {
		t.Fatal("stream T has no leader after the restart")
	}
	s, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("%d messages after the restart, want 1", n)
	}
}

// TestNewConsumerLeaderUsesPublishTime pins down the nats-server
// behaviour the worker works around by sending an in-progress ack as soon
// as it receives a task (worker.handle): a replicated consumer's followers
// record a delivery with the message's publish time, not the time of the
// delivery, so after a change of consumer leader a message that waited in
// the stream longer than the ack wait is redelivered at once, well within
// the ack wait of its delivery. A replicated in-progress ack records the
// current time, and the message is not redelivered. If this test starts
// failing for the case without the in-progress ack, nats-server changed
// and the worker's early in-progress ack is no longer needed.
func TestNewConsumerLeaderUsesPublishTime(t *testing.T) {
	const ackWait = 5 * time.Second
	for _, inProgress := range []bool{false, true} {
		c := Start(t, 3)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		js, err := jetstream.New(c.ConnectTo(0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "Q", Subjects: []string{"q.>"}, Replicas: 3,
			Retention: jetstream.WorkQueuePolicy}); err != nil {
			t.Fatal(err)
		}
		cons, err := js.CreateOrUpdateConsumer(ctx, "Q", jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: ackWait})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, "q.a", []byte("task")); err != nil {
			t.Fatal(err)
		}
		// The message waits in the stream for longer than the ack wait.
		time.Sleep(ackWait + 500*time.Millisecond)
		m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if inProgress {
			if err := m.InProgress(); err != nil {
				t.Fatal(err)
			}
			// Let the update reach the followers (a proposal's commit takes
			// milliseconds).
			time.Sleep(300 * time.Millisecond)
		}
		c.StepDownConsumer("Q", "C")
		// Within the ack wait of the delivery, the new leader redelivers
		// only when it believes the delivery expired.
		again, err := cons.Next(jetstream.FetchMaxWait(3 * time.Second))
		redelivered := err == nil
		if redelivered {
			md, _ := again.Metadata()
			t.Logf("in-progress %v: redelivered after the step-down, delivery %d", inProgress, md.NumDelivered)
		}
		if redelivered == inProgress {
			t.Errorf("in-progress ack %v: redelivered %v within the ack wait after a change of consumer leader; want %v",
				inProgress, redelivered, !inProgress)
		}
	}
}
