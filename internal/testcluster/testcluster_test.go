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
