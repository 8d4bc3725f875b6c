package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/protocol"
)

// TestRequeuePreempted: a worker takes a task and records its replica
// preempted, but its delivery stays pending: what a server restarted after
// Ctrl-C of the embedded default restores (the worker's nak did not
// survive the restart; seen as ~20 s of idle on the demo sweep). The
// server would redeliver it only when its ack wait expires (1 h here), so
// the task is not deliverable; after RequeuePreempted it is, at once, with
// the same replica, and a task another worker holds is left alone.
func TestRequeuePreempted(t *testing.T) {
	store := filepath.Join(t.TempDir(), "js")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := func() (*embedded.Server, *Coordinator, jetstream.Consumer) {
		t.Helper()
		srv, err := embedded.Start(embedded.Options{StoreDir: store, Port: -1, SyncAlways: true})
		if err != nil {
			t.Fatal(err)
		}
		nc, err := srv.Connect()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		co, err := New(nc, Config{AckWait: time.Hour, Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if err := co.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		name, _ := protocol.WorkerConsumer(co.cfg.Pool)
		cons, err := js.Consumer(ctx, protocol.StreamTasks, name)
		if err != nil {
			t.Fatal(err)
		}
		return srv, co, cons
	}
	next := func(cons jetstream.Consumer) (jetstream.Msg, error) {
		batch, err := cons.FetchNoWait(1)
		if err != nil {
			return nil, err
		}
		for m := range batch.Messages() {
			return m, nil
		}
		return nil, errors.New("no task deliverable")
	}

	srv, co, cons := start()
	sw := testSweep(2)
	sw.Spec = "name: test\n"
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	// The worker: take the first task, record the replica preempted, nak.
	m, err := next(cons)
	if err != nil {
		t.Fatal(err)
	}
	_, _, replica, _ := protocol.ParseTaskSubject(m.Subject())
	for _, state := range []protocol.State{protocol.StateRunning, protocol.StatePreempted} {
		if _, err := co.recs().Update(ctx, sw.ID, replica, func(x *protocol.ReplicaState) bool {
			x.State, x.Attempt, x.Worker = state, 1, "w"
			return true
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Take the other task too and keep it (a worker still running it), so
	// that only the preempted replica's task could come back.
	if _, err := next(cons); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if m, err := next(cons); err == nil {
		t.Fatalf("task %s deliverable without a requeue: the test does not reproduce the wait", m.Subject())
	}
	n, err := co.RequeuePreempted(ctx, sw.ID)
	if err != nil || n != 1 {
		t.Fatalf("requeued %d, %v; want 1", n, err)
	}
	m, err = next(cons)
	if err != nil {
		t.Fatalf("after RequeuePreempted: %v", err)
	}
	if _, _, got, _ := protocol.ParseTaskSubject(m.Subject()); got != replica {
		t.Fatalf("requeued task of %s, want %s", got, replica)
	}
	task, err := protocol.DecodeTask(m.Data())
	if err != nil || task.Replica != replica {
		t.Fatalf("task %+v, %v", task, err)
	}
	if _, err := next(cons); err == nil {
		t.Fatal("a second task deliverable: the held one was requeued too")
	}
}
