package validate

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// startNode starts a server from node n1's config as written (TLS, users,
// JetStream), changed only to run alone on loopback: no routes, a random
// client port, no monitoring port, a temporary store.
func startNode(t *testing.T, certs string) string {
	t.Helper()
	setPasswords(t)
	opts, err := server.ProcessConfigFile(nodeConfig(t, certs, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Cluster = server.ClusterOpts{}
	opts.Routes = nil
	opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", -1, 0
	opts.StoreDir = t.TempDir()
	opts.NoSigs, opts.NoLog = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// dial connects as user with the throwaway CA.
func dial(t *testing.T, url, certs, user string, extra ...nats.Option) (*nats.Conn, error) {
	t.Helper()
	opts := append([]nats.Option{nats.RootCAs(filepath.Join(certs, "ca.pem")), nats.Timeout(5 * time.Second),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})}, extra...)
	if user != "" {
		opts = append(opts, nats.UserInfo(user, "heatbath_"+user+"_password-secret"))
	}
	return nats.Connect(url, opts...)
}

// TestNodeConfigEnforcesRoles starts a node from the config and checks
// what each user can do: the coordinator sets up the streams and queues a
// task; a worker pulls and acks it, writes a replica record, an event and
// an object; a worker cannot delete or purge a stream, publish a task or
// write a sweep record; nobody gets in without TLS and a password.
func TestNodeConfigEnforcesRoles(t *testing.T) {
	certs := makeCerts(t)
	url := startNode(t, certs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if nc, err := dial(t, url, certs, ""); err == nil {
		nc.Close()
		t.Error("a client without a password connected")
	}
	if nc, err := nats.Connect(url, nats.UserInfo("worker", "heatbath_worker_password-secret")); err == nil {
		nc.Close()
		t.Error("a client without TLS connected")
	}

	co, err := dial(t, url, certs, "coordinator")
	if err != nil {
		t.Fatalf("coordinator: %v", err)
	}
	defer co.Close()
	cjs, _ := jetstream.New(co)
	filter, _ := protocol.TaskFilter("cpu")
	consumer, _ := protocol.WorkerConsumer("cpu")
	if _, err := cjs.CreateStream(ctx, jetstream.StreamConfig{Name: protocol.StreamTasks, Subjects: []string{protocol.TaskSubjects}, Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatalf("coordinator creates TASKS: %v", err)
	}
	if _, err := cjs.CreateStream(ctx, jetstream.StreamConfig{Name: protocol.StreamEvents, Subjects: []string{protocol.EventSubjects}}); err != nil {
		t.Fatalf("coordinator creates EVENTS: %v", err)
	}
	if _, err := cjs.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: protocol.BucketReplicas}); err != nil {
		t.Fatalf("coordinator creates %s: %v", protocol.BucketReplicas, err)
	}
	if _, err := cjs.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: protocol.BucketSweeps}); err != nil {
		t.Fatalf("coordinator creates %s: %v", protocol.BucketSweeps, err)
	}
	if _, err := cjs.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: protocol.BucketArtifacts}); err != nil {
		t.Fatalf("coordinator creates %s: %v", protocol.BucketArtifacts, err)
	}
	if _, err := cjs.CreateOrUpdateConsumer(ctx, protocol.StreamTasks, jetstream.ConsumerConfig{Durable: consumer, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("coordinator creates the worker consumer: %v", err)
	}
	task, _ := protocol.TaskSubject("cpu", "s1", "r0")
	if _, err := cjs.Publish(ctx, task, []byte("task")); err != nil {
		t.Fatalf("coordinator queues a task: %v", err)
	}

	wc, err := dial(t, url, certs, "worker")
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	defer wc.Close()
	wjs, _ := jetstream.New(wc)
	cons, err := wjs.Consumer(ctx, protocol.StreamTasks, consumer)
	if err != nil {
		t.Fatalf("worker binds to %s: %v", consumer, err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatalf("worker pulls: %v", err)
	}
	got := 0
	for m := range batch.Messages() {
		got++
		if err := m.InProgress(); err != nil {
			t.Errorf("worker heartbeat: %v", err)
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Errorf("worker acks: %v", err)
		}
	}
	if got != 1 {
		t.Fatalf("worker pulled %d tasks, want 1", got)
	}
	kv, err := wjs.KeyValue(ctx, protocol.BucketReplicas)
	if err != nil {
		t.Fatalf("worker binds to %s: %v", protocol.BucketReplicas, err)
	}
	key, _ := protocol.ReplicaKey("s1", "r0")
	rev, err := kv.Create(ctx, key, []byte("pending"))
	if err != nil {
		t.Fatalf("worker writes a replica record: %v", err)
	}
	if _, err := kv.Update(ctx, key, []byte("running"), rev); err != nil {
		t.Fatalf("worker updates a replica record: %v", err)
	}
	if e, err := kv.Get(ctx, key); err != nil || string(e.Value()) != "running" {
		t.Fatalf("worker reads a replica record: %v", err)
	}
	ev, _ := protocol.EventSubject("s1", "r0", protocol.EventProgress)
	if _, err := wjs.Publish(ctx, ev, []byte("progress")); err != nil {
		t.Fatalf("worker publishes an event: %v", err)
	}
	obs, err := wjs.ObjectStore(ctx, protocol.BucketArtifacts)
	if err != nil {
		t.Fatalf("worker binds to %s: %v", protocol.BucketArtifacts, err)
	}
	ckpt, _ := protocol.CheckpointObject("s1", "r0")
	for _, body := range []string{"first", "second"} { // the second put purges the first's chunks
		if _, err := obs.PutBytes(ctx, ckpt, []byte(body)); err != nil {
			t.Fatalf("worker writes a checkpoint: %v", err)
		}
	}
	if b, err := obs.GetBytes(ctx, ckpt); err != nil || string(b) != "second" {
		t.Fatalf("worker reads its checkpoint back: %q, %v", b, err)
	}

	// What a worker must not do. A denied request gets no answer: bound
	// each, then check with the coordinator that nothing changed.
	denied := func(what string, f func(context.Context) error) {
		t.Helper()
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		defer dcancel()
		if err := f(dctx); err == nil {
			t.Errorf("worker may %s", what)
		}
	}
	denied("publish a task", func(c context.Context) error { _, err := wjs.Publish(c, task, []byte("forged")); return err })
	denied("purge TASKS", func(c context.Context) error {
		s, err := wjs.Stream(c, protocol.StreamTasks)
		if err != nil {
			return err
		}
		return s.Purge(c)
	})
	denied("purge EVENTS", func(c context.Context) error {
		s, err := wjs.Stream(c, protocol.StreamEvents)
		if err != nil {
			return err
		}
		return s.Purge(c)
	})
	denied("delete TASKS", func(c context.Context) error { return wjs.DeleteStream(c, protocol.StreamTasks) })
	denied("delete the replica bucket", func(c context.Context) error { return wjs.DeleteKeyValue(c, protocol.BucketReplicas) })
	denied("edit EVENTS", func(c context.Context) error {
		_, err := wjs.UpdateStream(c, jetstream.StreamConfig{Name: protocol.StreamEvents, Subjects: []string{protocol.EventSubjects}, MaxMsgs: 1})
		return err
	})
	denied("write a sweep record", func(c context.Context) error {
		skv, err := wjs.KeyValue(c, protocol.BucketSweeps)
		if err != nil {
			return err
		}
		sk, _ := protocol.SweepKey("s1")
		_, err = skv.Put(c, sk, []byte("forged"))
		return err
	})

	tasks, err := cjs.Stream(ctx, protocol.StreamTasks)
	if err != nil {
		t.Fatalf("TASKS is gone: %v", err)
	}
	if n := tasks.CachedInfo().State.Msgs; n != 0 {
		t.Errorf("TASKS holds %d messages after the worker's attempts, want 0 (no forged task)", n)
	}
	events, err := cjs.Stream(ctx, protocol.StreamEvents)
	if err != nil {
		t.Fatalf("EVENTS is gone: %v", err)
	}
	if st := events.CachedInfo(); st.State.Msgs != 1 || st.Config.MaxMsgs == 1 {
		t.Errorf("EVENTS holds %d messages with MaxMsgs %d, want the 1 event, unedited", st.State.Msgs, st.Config.MaxMsgs)
	}
	if _, err := cjs.KeyValue(ctx, protocol.BucketReplicas); errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Error("the replica bucket is gone")
	}
}
