package worker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
	"github.com/heatbath/heatbath/worker"
)

// TestWorkerStopsWhenDenied: a worker whose user (protocol.PermissionsFor
// through the embedded server's auth, embedded.Users) may not publish the
// sweep's events claims a replica, has its first event publish refused by
// the server, and stops at once: Run returns one line that names the
// subject and matches nats.ErrPermissionViolation, instead of retrying the
// publish as if the stream had no leader (2 min, then the same again for
// every replica). The replica is handed back as a preemption, which never
// counts against it.
func TestWorkerStopsWhenDenied(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a worker against an authenticating server")
	}
	sw := electionSweep(t)
	deny, _ := protocol.EventFilter(sw.ID)
	coord := embedded.NewCredential(protocol.RoleCoordinator)
	work := embedded.NewCredential(protocol.RoleWorker)
	users, err := embedded.Users([]embedded.Credential{coord, work})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Username == work.User {
			u.Permissions.Publish.Deny = append(u.Permissions.Publish.Deny, deny)
		}
	}
	c := testcluster.Start(t, 1, testcluster.WithServerOptions(func(_ int, o *server.Options) { o.Users = users }))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cnc := c.ConnectTo(0, nats.UserInfo(coord.User, coord.Password))
	co, err := coordinator.New(cnc, coordinator.Config{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	wk, err := worker.New(c.ConnectTo(0, nats.UserInfo(work.User, work.Password)), worker.Config{Name: "w", Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = wk.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the worker ran until the test's deadline (%v): it retried the refused publish", err)
	}
	if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "hb.evt."+sw.ID+".") ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("Run: %v; want one line naming the refused subject hb.evt.%s.…", err, sw.ID)
	}
	t.Logf("Run: %v", err)

	js, _ := jetstream.New(cnc)
	recs, err := records.Open(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	claimed := 0
	for _, r := range sw.Replicas {
		st, _, err := recs.GetLeader(ctx, sw.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Attempt == 0 {
			continue
		}
		claimed++
		if st.State != protocol.StatePreempted || st.ErrorCode != protocol.CodeUnknown {
			t.Errorf("replica %s: %s with code %q; want preempted without an error code", r.ID, st.State, st.ErrorCode)
		}
		if next := protocol.NextAttempt(*st, "w2", st.Steps); next.Errors+next.Lost != 0 || next.State != protocol.StateRunning {
			t.Errorf("replica %s: the next attempt counts %d errors, %d lost; want a preemption", r.ID, next.Errors, next.Lost)
		}
	}
	if claimed != 1 {
		t.Errorf("%d replicas claimed; want the one the worker ran", claimed)
	}
}
