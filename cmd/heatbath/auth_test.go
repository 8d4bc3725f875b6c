package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/protocol"
)

// deniedChecker runs operations that the server must refuse a client and
// checks that the server sent the permission violation for the subject.
type deniedChecker struct {
	t    *testing.T
	nc   *nats.Conn
	js   jetstream.JetStream
	errs chan error
}

// connectAs connects to a listening embedded server over TCP with the
// credentials of a role, keeping the asynchronous errors the server sends.
func connectAs(t *testing.T, srv *embedded.Server, role protocol.Role) *deniedChecker {
	t.Helper()
	cred, ok := srv.Credential(role)
	if !ok {
		t.Fatalf("no %s credentials", role)
	}
	errs := make(chan error, 256)
	nc, err := nats.Connect(srv.RemoteURL(), nats.UserInfo(cred.User, cred.Password),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("%s credentials refused: %v", role, err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	return &deniedChecker{t: t, nc: nc, js: js, errs: errs}
}

// denied runs op, which must fail, and waits for the server's permission
// violation naming a subject that starts with subject; op's context ends
// once the violation has come (a refused request gets no answer).
func (d *deniedChecker) denied(what, subject string, op func(ctx context.Context) error) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opErr := make(chan error, 1)
	go func() { opErr <- op(ctx) }()
	violated := false
	for !violated {
		select {
		case err := <-d.errs:
			violated = errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `to "`+subject)
		case <-ctx.Done():
			d.t.Errorf("%s: no permission violation for %s from the server", what, subject)
			return
		}
	}
	cancel()
	if err := <-opErr; err == nil {
		d.t.Errorf("%s: succeeded despite the permission violation", what)
	}
}

// noViolations fails if the server has sent this client a permission
// violation other than for a subject that starts with one of the allowed
// prefixes.
func (d *deniedChecker) noViolations(what string, allowed ...string) {
	d.t.Helper()
	d.nc.Flush()
	for {
		select {
		case err := <-d.errs:
			ok := false
			for _, p := range allowed {
				ok = ok || strings.Contains(err.Error(), `to "`+p)
			}
			if errors.Is(err, nats.ErrPermissionViolation) && !ok {
				d.t.Errorf("%s: %v", what, err)
			}
		default:
			return
		}
	}
}

// TestListenRemoteWorkerWithPrintedCredentials starts the embedded server
// as `run --listen` does (credentials required, loopback included), runs
// the printed `heatbath worker` command line in-process over TCP, and
// checks that it runs every replica of a sweep to the in-process results
// with no permission violation; then that the worker's credentials cannot
// delete, edit or purge the streams, delete the task consumer, publish a
// task or reach the system account, and that the observer's can read
// records, events and stream information but write nothing.
func TestListenRemoteWorkerWithPrintedCredentials(t *testing.T) {
	srvLogs := &logBuffer{}
	dir := t.TempDir()
	srv, err := embedded.Start(embedded.Options{StoreDir: filepath.Join(dir, "js"), Listen: true, Host: "127.0.0.1", Port: -1,
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: srvLogs})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c := &cluster{t: t, srv: srv, dir: dir}
	co := c.coordinator(10*time.Second, 5, testLogger(t))
	sw := smallSweep(t, 3000, 1, 1000)
	if _, err := co.Submit(context.Background(), sw); err != nil {
		t.Fatal(err)
	}

	var printed logBuffer
	announceListen(&printed, srv, testLogger(t))
	var args []string
	for _, line := range strings.Split(printed.String(), "\n") {
		if cmd, ok := strings.CutPrefix(line, "remote workers: heatbath "); ok {
			args = strings.Fields(cmd)
		}
	}
	if len(args) == 0 || !strings.Contains(printed.String(), "--password") {
		t.Fatalf("no worker command line with credentials printed:\n%s", printed.String())
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		app := newApp()
		app.Writer, app.ErrWriter = &logBuffer{}, &logBuffer{}
		done <- app.RunContext(ctx, flagsFirst(app, append(append([]string{"heatbath"}, args...), "--slots", "2", "--name", "remote", "--log-level", "error")))
	}()
	out := filepath.Join(dir, "run")
	sum := collect(t, co, sw.ID, out, 3*time.Minute)
	stop()
	if err := <-done; err != nil {
		t.Errorf("remote worker: %v", err)
	}
	if sum.Counts["done"] != len(sw.Replicas) {
		t.Fatalf("counts %v, want %d done", sum.Counts, len(sw.Replicas))
	}
	checkRunMatchesLocal(t, sw, out)
	if strings.Contains(srvLogs.String(), "Violation") {
		t.Fatalf("the server logged a permission violation during the sweep:\n%s", srvLogs.String())
	}

	admin, _ := jetstream.New(c.conn())
	before, err := admin.Stream(context.Background(), protocol.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	events := before.CachedInfo().State.Msgs
	if events == 0 {
		t.Fatal("no events to protect")
	}
	consumer, _ := protocol.WorkerConsumer("cpu")
	task, _ := protocol.TaskSubject("cpu", sw.ID, sw.Replicas[0].ID)
	purge := func(js jetstream.JetStream, stream string) func(context.Context) error {
		return func(ctx context.Context) error {
			s, err := js.Stream(ctx, stream)
			if err != nil {
				return err
			}
			return s.Purge(ctx)
		}
	}

	t.Run("worker", func(t *testing.T) {
		w := connectAs(t, srv, protocol.RoleWorker)
		w.denied("delete the task stream", "$JS.API.STREAM.DELETE."+protocol.StreamTasks, func(ctx context.Context) error {
			return w.js.DeleteStream(ctx, protocol.StreamTasks)
		})
		w.denied("delete the object store", "$JS.API.STREAM.DELETE.OBJ_"+protocol.BucketArtifacts, func(ctx context.Context) error {
			return w.js.DeleteObjectStore(ctx, protocol.BucketArtifacts)
		})
		w.denied("purge the queue", "$JS.API.STREAM.PURGE."+protocol.StreamTasks, purge(w.js, protocol.StreamTasks))
		w.denied("purge the events", "$JS.API.STREAM.PURGE."+protocol.StreamEvents, purge(w.js, protocol.StreamEvents))
		w.denied("purge the replica records", "$JS.API.STREAM.PURGE.KV_"+protocol.BucketReplicas, purge(w.js, "KV_"+protocol.BucketReplicas))
		w.denied("edit the task stream", "$JS.API.STREAM.UPDATE."+protocol.StreamTasks, func(ctx context.Context) error {
			s, err := w.js.Stream(ctx, protocol.StreamTasks)
			if err != nil {
				return err
			}
			cfg := s.CachedInfo().Config
			cfg.MaxAge = time.Minute
			_, err = w.js.UpdateStream(ctx, cfg)
			return err
		})
		w.denied("delete the task consumer", "$JS.API.CONSUMER.DELETE."+protocol.StreamTasks, func(ctx context.Context) error {
			return w.js.DeleteConsumer(ctx, protocol.StreamTasks, consumer)
		})
		w.denied("create a consumer on the tasks", "$JS.API.CONSUMER.CREATE."+protocol.StreamTasks, func(ctx context.Context) error {
			_, err := w.js.CreateConsumer(ctx, protocol.StreamTasks, jetstream.ConsumerConfig{Durable: "thief"})
			return err
		})
		w.denied("publish a task", task, func(ctx context.Context) error {
			_, err := w.js.Publish(ctx, task, []byte("{}"))
			return err
		})
		w.denied("read the system account's connections", "$SYS.REQ.SERVER.PING.CONNZ", func(ctx context.Context) error {
			_, err := w.nc.RequestWithContext(ctx, "$SYS.REQ.SERVER.PING.CONNZ", nil)
			return err
		})
	})

	t.Run("observer", func(t *testing.T) {
		o := connectAs(t, srv, protocol.RoleObserver)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := o.js.Stream(ctx, protocol.StreamTasks); err != nil {
			t.Errorf("task stream info: %v", err)
		}
		if _, err := o.js.Consumer(ctx, protocol.StreamTasks, consumer); err != nil {
			t.Errorf("task consumer info: %v", err)
		}
		sweeps, err := o.js.KeyValue(ctx, protocol.BucketSweeps)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := protocol.SweepKey(sw.ID)
		if _, err := sweeps.Get(ctx, key); err != nil {
			t.Errorf("sweep record: %v", err)
		}
		replicas, err := o.js.KeyValue(ctx, protocol.BucketReplicas)
		if err != nil {
			t.Fatal(err)
		}
		filter, _ := protocol.ReplicaKeyFilter(sw.ID)
		watch, err := replicas.Watch(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		records := 0
		for e := range watch.Updates() {
			if e == nil {
				break
			}
			records++
		}
		watch.Stop()
		if records != len(sw.Replicas) {
			t.Errorf("watched %d replica records, want %d", records, len(sw.Replicas))
		}
		evFilter, _ := protocol.EventFilter(sw.ID)
		oc, err := o.js.OrderedConsumer(ctx, protocol.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{evFilter}})
		if err != nil {
			t.Fatal(err)
		}
		batch, err := oc.Fetch(5)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for range batch.Messages() {
			n++
		}
		if n == 0 {
			t.Errorf("read no events: %v", batch.Error())
		}
		// An ordered consumer deletes itself when it stops; an observer
		// may not delete consumers on EVENTS (the collector's is there).
		o.noViolations("observer reads", "$JS.API.CONSUMER.DELETE."+protocol.StreamEvents+".")

		rkey, _ := protocol.ReplicaKey(sw.ID, sw.Replicas[0].ID)
		o.denied("write a replica record", "$KV."+protocol.BucketReplicas+"."+rkey, func(ctx context.Context) error {
			_, err := replicas.Put(ctx, rkey, []byte("{}"))
			return err
		})
		evSubj, _ := protocol.EventSubject(sw.ID, sw.Replicas[0].ID, protocol.EventResult)
		o.denied("publish an event", evSubj, func(ctx context.Context) error {
			_, err := o.js.Publish(ctx, evSubj, []byte("{}"))
			return err
		})
		o.denied("pull a task", "$JS.API.CONSUMER.MSG.NEXT."+protocol.StreamTasks, func(ctx context.Context) error {
			cons, err := o.js.Consumer(ctx, protocol.StreamTasks, consumer)
			if err != nil {
				return err
			}
			_, err = cons.Next(jetstream.FetchMaxWait(time.Second))
			return err
		})
		o.denied("purge the events", "$JS.API.STREAM.PURGE."+protocol.StreamEvents, purge(o.js, protocol.StreamEvents))
		o.denied("delete the event stream", "$JS.API.STREAM.DELETE."+protocol.StreamEvents, func(ctx context.Context) error {
			return o.js.DeleteStream(ctx, protocol.StreamEvents)
		})
	})

	// Nothing the denied clients tried took effect.
	ctx = context.Background()
	for _, name := range []string{protocol.StreamTasks, protocol.StreamEvents, "KV_" + protocol.BucketReplicas, "OBJ_" + protocol.BucketArtifacts} {
		if _, err := admin.Stream(ctx, name); err != nil {
			t.Errorf("stream %s after the denied requests: %v", name, err)
		}
	}
	tasks, _ := admin.Stream(ctx, protocol.StreamTasks)
	if info := tasks.CachedInfo(); info.Config.MaxAge != 0 || info.State.Msgs != 0 {
		t.Errorf("task stream after the denied requests: max age %v, %d messages (want 0, 0)", info.Config.MaxAge, info.State.Msgs)
	}
	evts, _ := admin.Stream(ctx, protocol.StreamEvents)
	if got := evts.CachedInfo().State.Msgs; got != events {
		t.Errorf("event stream holds %d messages after the denied requests, want %d", got, events)
	}
	if _, err := admin.Consumer(ctx, protocol.StreamTasks, consumer); err != nil {
		t.Errorf("task consumer after the denied requests: %v", err)
	}
}

// TestRunListenFlagsNeedListen: the TLS and --insecure flags without
// --listen are a usage error, given before the run directory is made.
func TestRunListenFlagsNeedListen(t *testing.T) {
	for _, args := range [][]string{{"--insecure"}, {"--listen-tls-cert", "c.pem", "--listen-tls-key", "k.pem"}} {
		out := filepath.Join(t.TempDir(), "run")
		err := runCLI(t, append([]string{"run", "--out", out}, args...)...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "need --listen") {
			t.Errorf("run %v: error %v, want a usage error", args, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("run %v: the run directory was made", args)
		}
	}
}

// TestInsecureListenWarns: a server listening with --insecure is announced
// with one warning line and a worker command without credentials; one with
// credentials with none.
func TestInsecureListenWarns(t *testing.T) {
	for _, insecure := range []bool{true, false} {
		srv, err := embedded.Start(embedded.Options{StoreDir: filepath.Join(t.TempDir(), "js"), Listen: true, Host: "127.0.0.1", Port: -1, Insecure: insecure})
		if err != nil {
			t.Fatal(err)
		}
		log, logs := capturingLogger(t)
		var printed logBuffer
		announceListen(&printed, srv, log)
		srv.Stop()
		warnings := strings.Count(logs.String(), "[WARN]")
		if insecure && (warnings != 1 || !strings.Contains(logs.String(), "without credentials")) {
			t.Errorf("insecure: %d warnings, want one about credentials:\n%s", warnings, logs.String())
		}
		if !insecure && warnings != 0 {
			t.Errorf("with credentials: warned:\n%s", logs.String())
		}
		if got := strings.Contains(printed.String(), "--password"); got == insecure {
			t.Errorf("insecure=%v: printed %q", insecure, printed.String())
		}
		if !strings.Contains(printed.String(), "remote workers: heatbath worker --nats nats://127.0.0.1:") {
			t.Errorf("no worker command printed: %q", printed.String())
		}
	}
}

// TestWorkerWithoutCredentialsRefused: `heatbath worker` against a server
// that requires credentials fails at once with one line naming the server,
// without credentials or with a wrong password.
func TestWorkerWithoutCredentialsRefused(t *testing.T) {
	srv, err := embedded.Start(embedded.Options{StoreDir: filepath.Join(t.TempDir(), "js"), Listen: true, Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	wc, _ := srv.Credential(protocol.RoleWorker)
	for name, extra := range map[string][]string{
		"no credentials": nil,
		"wrong password": {"--user", wc.User, "--password", "not-" + wc.Password},
	} {
		err := runCLI(t, append([]string{"worker", "--nats", srv.RemoteURL(), "--log-level", "error"}, extra...)...)
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: error %v, want an authorization violation", name, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, srv.RemoteURL()) {
			t.Errorf("%s: error %q, want one line naming %s", name, msg, srv.RemoteURL())
		}
	}
}
