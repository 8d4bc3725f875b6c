package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

type fakeHealthConn struct{ st nats.Status }

func (f *fakeHealthConn) Status() nats.Status { return f.st }

func probe(t *testing.T, h http.Handler, path string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

// TestHealthProbes checks each probe against the connection state, the
// JetStream check and draining.
func TestHealthProbes(t *testing.T) {
	errJS := errors.New("no responders")
	cases := []struct {
		name        string
		st          nats.Status
		js          error
		draining    bool
		live, ready int
	}{
		{"connected", nats.CONNECTED, nil, false, 200, 200},
		{"jetstream down", nats.CONNECTED, errJS, false, 200, 503},
		{"reconnecting", nats.RECONNECTING, nil, false, 200, 503},
		{"closed", nats.CLOSED, nil, false, 503, 503},
		{"draining", nats.CONNECTED, nil, true, 200, 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.draining {
				cancel()
			}
			calls := 0
			h := healthHandler(ctx, &fakeHealthConn{tc.st}, func(context.Context) error { calls++; return tc.js })
			if got := probe(t, h, "/livez"); got != tc.live {
				t.Errorf("/livez = %d, want %d", got, tc.live)
			}
			if got := probe(t, h, "/readyz"); got != tc.ready {
				t.Errorf("/readyz = %d, want %d", got, tc.ready)
			}
			if tc.st == nats.CONNECTED && !tc.draining && calls != 1 {
				t.Errorf("JetStream checked %d times for one /readyz, want 1", calls)
			}
		})
	}
}

// TestWorkerHealthFlag checks that the worker command serves the probes
// (the flag is wired into it).
func TestWorkerHealthFlag(t *testing.T) {
	cmd := workerCommand()
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == "health" {
				return
			}
		}
	}
	t.Fatal("worker command has no --health flag")
}

// TestProbeURL checks that healthcheck succeeds on 200 only.
func TestProbeURL(t *testing.T) {
	h := healthHandler(context.Background(), &fakeHealthConn{nats.CONNECTED}, func(context.Context) error { return errors.New("down") })
	srv := httptest.NewServer(h)
	defer srv.Close()
	if err := probeURL(context.Background(), srv.URL+"/livez"); err != nil {
		t.Errorf("probe of a live endpoint: %v", err)
	}
	if err := probeURL(context.Background(), srv.URL+"/readyz"); err == nil {
		t.Error("probe of an endpoint answering 503 succeeded")
	}
}

// TestHealthEndpointFollowsNATS serves the endpoint for a real connection:
// ready with a JetStream server, not ready (but alive) while the server is
// gone and the client reconnects, not alive once the connection is closed.
func TestHealthEndpointFollowsNATS(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: filepath.Join(t.TempDir(), "js"), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	disconnected := make(chan struct{}, 1)
	nc, err := nats.Connect(ns.ClientURL(), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(*nats.Conn, error) {
			select {
			case disconnected <- struct{}{}:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop, err := serveHealthOn(context.Background(), ln, nc, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	base := "http://" + ln.Addr().String()
	ctx := context.Background()
	if err := probeURL(ctx, base+"/readyz"); err != nil {
		t.Fatalf("ready with JetStream up: %v", err)
	}
	ns.Shutdown()
	select {
	case <-disconnected:
	case <-time.After(30 * time.Second):
		t.Fatal("no disconnect after the server stopped")
	}
	if err := probeURL(ctx, base+"/readyz"); err == nil {
		t.Error("ready with the server gone")
	}
	if err := probeURL(ctx, base+"/livez"); err != nil {
		t.Errorf("not alive while reconnecting: %v", err)
	}
	nc.Close()
	if err := probeURL(ctx, base+"/livez"); err == nil {
		t.Error("alive with the connection closed")
	}
}
