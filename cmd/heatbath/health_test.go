package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

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
