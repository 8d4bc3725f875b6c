package coordinator

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/internal/testcluster"
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
	submitNoWorkers(t, ctx, co, sw)
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

// lineCounter is a log output that counts the lines holding a text and
// signals the first of them.
type lineCounter struct {
	t    *testing.T
	text string
	mu   sync.Mutex
	n    int
	seen chan struct{}
}

func (w *lineCounter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	if strings.Contains(string(p), w.text) {
		w.mu.Lock()
		w.n++
		if w.n == 1 {
			close(w.seen)
		}
		w.mu.Unlock()
	}
	return len(p), nil
}

// TestFeedSurvivesNodeKill: on a 3-node cluster with R1 streams, the node
// holding the replica records is killed while a feed follows the sweep
// from another node, then restarted. The feed carries on: a record written
// and a progress event published after the restart reach a later snapshot,
// and Feed did not return. (Here the client library recreates its
// consumers by itself: the feed before its re-establishment passed this
// too; TestFeedSurvivesLostBucket is the case the library gives up on.)
func TestFeedSurvivesNodeKill(t *testing.T) {
	tc := testcluster.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setup, err := New(tc.ConnectTo(0), Config{Replicas: 1, Logger: hclog.New(&hclog.LoggerOptions{Output: testWriter{t}})})
	if err != nil {
		t.Fatal(err)
	}
	if err := setup.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	victim := tc.KVLeader(protocol.BucketReplicas)
	var others []int
	for i := range tc.N() {
		if i != victim {
			others = append(others, i)
		}
	}
	open := func(node int, log hclog.Logger) *Coordinator {
		t.Helper()
		co, err := New(tc.ConnectTo(node), Config{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := co.Open(ctx); err != nil {
			t.Fatal(err)
		}
		return co
	}
	ctl := open(others[0], hclog.New(&hclog.LoggerOptions{Output: testWriter{t}}))
	fco := open(others[1], hclog.New(&hclog.LoggerOptions{Output: testWriter{t}}))

	sw := testSweep(2)
	submitNoWorkers(t, ctx, ctl, sw)

	next, feedErr, stopFeed := followFeed(t, ctx, fco, sw.ID)
	defer stopFeed()
	if s := next(); s.Counts[protocol.StatePending] != 2 {
		t.Fatalf("first snapshot counts %v, want 2 pending", s.Counts)
	}

	tc.Kill(victim)
	next() // a snapshot while the node is down
	tc.Restart(victim)

	// After the restart: r1 runs on w9 and reports step 300.
	key, _ := protocol.ReplicaKey(sw.ID, "r1")
	for {
		e, err := ctl.kv.Get(ctx, key)
		if err == nil {
			st := protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w9", Steps: testSteps, Updated: time.Now()}
			if _, err = ctl.kv.Update(ctx, key, encode(t, &st), e.Revision()); err == nil {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("record update after the restart: %v", err)
		}
		t.Logf("record update after the restart: %v (retrying)", err)
		next() // wait for the next snapshot, not for a time
	}
	subj, _ := protocol.EventSubject(sw.ID, "r1", protocol.EventProgress)
	p := &protocol.Progress{Sweep: sw.ID, Replica: "r1", Attempt: 1, Worker: "w9", Step: 300, Steps: testSteps}
	if _, err := ctl.js.Publish(ctx, subj, encode(t, p)); err != nil {
		t.Fatal(err)
	}
	for {
		s := next()
		r1 := s.Replicas[1]
		if r1.State == protocol.StateRunning && r1.Worker == "w9" && r1.Step == 300 {
			break
		}
	}
	stopFeed()
	if err := <-feedErr; !errors.Is(err, context.Canceled) {
		t.Errorf("feed ended with %v, want context.Canceled", err)
	}
}

// followFeed runs co's feed of sweep in the background: next returns the
// latest snapshot not yet returned (failing the test if the feed returns
// or ctx ends first); feedErr receives Feed's error once stop is called.
func followFeed(t *testing.T, ctx context.Context, co *Coordinator, sweep string) (next func() *FeedSnapshot, feedErr chan error, stop func()) {
	snaps := make(chan *FeedSnapshot, 1)
	feedErr = make(chan error, 1)
	fctx, stop := context.WithCancel(ctx)
	go func() {
		feedErr <- co.Feed(fctx, sweep, 20*time.Millisecond, func(s *FeedSnapshot) bool {
			select {
			case <-snaps:
			default:
			}
			snaps <- s
			return true
		})
	}()
	next = func() *FeedSnapshot {
		t.Helper()
		select {
		case s := <-snaps:
			return s
		case err := <-feedErr:
			t.Fatalf("feed returned: %v", err)
		case <-ctx.Done():
			t.Fatal("timed out waiting for a snapshot")
		}
		return nil
	}
	return next, feedErr, stop
}

// TestFeedSurvivesLostBucket: the replica records' bucket is deleted under
// a running feed, which the client library answers by ending the watch
// (its consumer cannot be made again: the stream is gone), and made again
// by Setup. The feed says in its log that it lost the watch, keeps making
// snapshots, sets the watch up again once the bucket is back, and a record
// written then reaches a snapshot.
func TestFeedSurvivesLostBucket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lost := &lineCounter{t: t, text: "live feed lost its source", seen: make(chan struct{})}
	co, _ := embeddedCoordinator(t, ctx, Config{Logger: hclog.New(&hclog.LoggerOptions{Output: lost})})
	sw := testSweep(2)
	submitNoWorkers(t, ctx, co, sw)
	next, feedErr, stopFeed := followFeed(t, ctx, co, sw.ID)
	defer stopFeed()
	if s := next(); s.Counts[protocol.StatePending] != 2 {
		t.Fatalf("first snapshot counts %v, want 2 pending", s.Counts)
	}
	if err := co.js.DeleteKeyValue(ctx, protocol.BucketReplicas); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost.seen:
	case err := <-feedErr:
		t.Fatalf("feed returned after the bucket was deleted: %v", err)
	case <-ctx.Done():
		t.Fatal("the watch never ended")
	}
	next() // snapshots go on meanwhile
	if err := co.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	key, _ := protocol.ReplicaKey(sw.ID, "r1")
	st := protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w9", Steps: testSteps, Updated: time.Now()}
	if _, err := co.kv.Put(ctx, key, encode(t, &st)); err != nil {
		t.Fatal(err)
	}
	for {
		if r1 := next().Replicas[1]; r1.State == protocol.StateRunning && r1.Worker == "w9" {
			break
		}
	}
	stopFeed()
	if err := <-feedErr; !errors.Is(err, context.Canceled) {
		t.Errorf("feed ended with %v, want context.Canceled", err)
	}
}

// TestFeedHistory: a feed started after three progress events of a
// replica sees only the latest in its curve; FeedHistory sees all three.
func TestFeedHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	co, _ := embeddedCoordinator(t, ctx, Config{})
	sw := testSweep(1)
	submitNoWorkers(t, ctx, co, sw)
	subj, _ := protocol.EventSubject(sw.ID, "r0", protocol.EventProgress)
	for _, step := range []int64{100, 200, 300} {
		p := &protocol.Progress{Sweep: sw.ID, Replica: "r0", Attempt: 1, Worker: "w1", Step: step, Steps: testSteps,
			Metrics: map[string]float64{"train_loss": float64(step)}}
		if _, err := co.js.Publish(ctx, subj, encode(t, p)); err != nil {
			t.Fatal(err)
		}
	}
	curve := func(feed func(context.Context, string, time.Duration, func(*FeedSnapshot) bool) error) []int64 {
		t.Helper()
		var steps []int64
		err := feed(ctx, sw.ID, 20*time.Millisecond, func(s *FeedSnapshot) bool {
			steps = curveSteps(s.Replicas[0])
			return false
		})
		if err != nil {
			t.Fatal(err)
		}
		return steps
	}
	if got := curve(co.Feed); !slices.Equal(got, []int64{300}) {
		t.Errorf("Feed's curve %v, want [300]", got)
	}
	if got := curve(co.FeedHistory); !slices.Equal(got, []int64{100, 200, 300}) {
		t.Errorf("FeedHistory's curve %v, want [100 200 300]", got)
	}
}
