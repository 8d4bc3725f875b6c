package coordinator

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
)

// TestSetupReplicationFollowsPlacement: with the replication unset, a
// two-node cluster refuses the R3 placement and Setup creates everything
// R2 (the cluster's size); a second Setup asking explicitly for 3 fails
// and leaves it R2. A standalone server gets R1 without probing.
func TestSetupReplicationFollowsPlacement(t *testing.T) {
	tc := testcluster.Start(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc := tc.ConnectTo(0)
	if nc.ConnectedClusterName() == "" {
		t.Fatal("the test cluster does not name its cluster; the test needs it to probe placement")
	}
	co, err := New(nc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Open(ctx); err == nil {
		t.Fatal("Open on a fresh server succeeded; want an error: nothing exists")
	}
	if err := co.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(co *Coordinator, when string, want int) {
		t.Helper()
		for _, s := range co.stores() {
			r, stream, err := s.bind(ctx)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", when, s.kind, s.name, err)
			}
			if r != want {
				t.Errorf("%s: %s %s (stream %s) is R%d, want R%d", when, s.kind, s.name, stream, r, want)
			}
		}
	}
	check(co, "a default Setup on a two-node cluster", 2)
	co3, err := New(nc, Config{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := co3.Setup(ctx); err == nil {
		t.Fatal("Setup with Replicas 3 on R1 streams succeeded; want an error")
	}
	check(co, "a refused Setup with Replicas 3", 2)
	if err := co.Open(ctx); err != nil {
		t.Fatalf("Open after Setup: %v", err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.Consumer(ctx, protocol.StreamTasks, "workers-cpu"); err != nil {
		t.Errorf("Setup did not create the pool's worker consumer: %v", err)
	}
}

func TestSetupOnStandaloneServerIsR1(t *testing.T) {
	tc := testcluster.Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	co, err := New(tc.ConnectTo(0), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range co.stores() {
		if r, _, err := s.bind(ctx); err != nil || r != 1 {
			t.Errorf("%s %s: R%d (%v), want R1", s.kind, s.name, r, err)
		}
	}
}
