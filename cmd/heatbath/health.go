package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/urfave/cli/v2"
)

// healthFlag names the address of the worker's health endpoint (off when
// empty).
var healthFlag = &cli.StringFlag{Name: "health", EnvVars: []string{"HEATBATH_HEALTH_ADDR"},
	Usage: "serve /livez and /readyz on this address (e.g. :8080) for probes"}

// healthCheckTimeout bounds the JetStream round trip of one /readyz request.
const healthCheckTimeout = 2 * time.Second

// healthConn is the part of a NATS connection the health endpoint reads.
type healthConn interface {
	Status() nats.Status
}

// healthHandler serves the probes of a worker:
//
//   - /livez is 200 while the process runs and its NATS connection is alive:
//     connected, or reconnecting (the client reconnects forever, so a NATS
//     outage is not a reason to restart the worker); 503 once it is closed.
//   - /readyz is 200 when the connection is up, JetStream answers (an account
//     info request within healthCheckTimeout) and the worker is not draining
//     (ctx not done); 503 otherwise, with the reason in the body.
//
// jsCheck is the JetStream round trip.
func healthHandler(ctx context.Context, nc healthConn, jsCheck func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		switch st := nc.Status(); st {
		case nats.CONNECTED, nats.RECONNECTING, nats.CONNECTING, nats.DRAINING_SUBS, nats.DRAINING_PUBS:
			fmt.Fprintf(w, "ok: nats %s\n", st)
		default:
			http.Error(w, fmt.Sprintf("nats connection %s", st), http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if ctx.Err() != nil {
			http.Error(w, "draining: stopping after SIGTERM", http.StatusServiceUnavailable)
			return
		}
		if st := nc.Status(); st != nats.CONNECTED {
			http.Error(w, fmt.Sprintf("nats connection %s", st), http.StatusServiceUnavailable)
			return
		}
		cctx, cancel := context.WithTimeout(r.Context(), healthCheckTimeout)
		defer cancel()
		if err := jsCheck(cctx); err != nil {
			http.Error(w, fmt.Sprintf("jetstream unreachable: %v", err), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// serveHealth starts the health endpoint of a worker on addr when addr is
// not empty and returns a function that stops it. ctx ends when the worker
// starts draining.
func serveHealth(ctx context.Context, addr string, nc *nats.Conn, log hclog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--health %s: %w", addr, err)
	}
	stop, err = serveHealthOn(ctx, ln, nc, log)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("--health %s: %w", addr, err)
	}
	return stop, nil
}

// serveHealthOn serves the health endpoint of a worker on ln until the
// returned function is called.
func serveHealthOn(ctx context.Context, ln net.Listener, nc *nats.Conn, log hclog.Logger) (stop func(), err error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	check := func(ctx context.Context) error {
		_, err := js.AccountInfo(ctx)
		return err
	}
	srv := &http.Server{Handler: healthHandler(ctx, nc, check), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("health endpoint stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
	log.Info("health endpoint", "addr", ln.Addr().String(), "paths", "/livez /readyz")
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// healthcheckCommand probes a health endpoint: for container healthchecks
// in images that have no shell, curl or wget.
func healthcheckCommand() *cli.Command {
	return &cli.Command{
		Name:      "healthcheck",
		Usage:     "probe a worker's health endpoint; exit 0 when it answers 200",
		ArgsUsage: "[URL]",
		Description: "GETs URL (default http://127.0.0.1:8080/readyz) with a 5 s limit. For container healthchecks:\n" +
			"  heatbath worker --health :8080 ...   and   heatbath healthcheck http://127.0.0.1:8080/livez",
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErrorf("healthcheck: want at most one URL, got %d arguments", c.NArg())
			}
			url := "http://127.0.0.1:8080/readyz"
			if c.NArg() == 1 {
				url = c.Args().First()
			}
			return probeURL(c.Context, url)
		},
	}
}

// probeURL GETs url and returns nil when it answers 200.
func probeURL(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: bad URL %q: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("healthcheck %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
