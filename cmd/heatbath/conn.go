package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"
	"github.com/nats-io/nats.go"
	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
)

// natsFlags are the connection options of every command that talks to a
// NATS cluster. Each flag also reads an environment variable.
func natsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "nats", Value: nats.DefaultURL, EnvVars: []string{"HEATBATH_NATS_URL", "NATS_URL"}, Usage: "NATS server URLs, comma separated"},
		&cli.StringFlag{Name: "user", EnvVars: []string{"HEATBATH_NATS_USER"}, Usage: "NATS user name"},
		&cli.StringFlag{Name: "password", EnvVars: []string{"HEATBATH_NATS_PASSWORD"}, Usage: "NATS password"},
		&cli.StringFlag{Name: "token", EnvVars: []string{"HEATBATH_NATS_TOKEN"}, Usage: "NATS authentication token"},
		&cli.StringFlag{Name: "nkey", EnvVars: []string{"HEATBATH_NATS_NKEY"}, Usage: "file holding an NKey seed"},
		&cli.StringFlag{Name: "creds", EnvVars: []string{"HEATBATH_NATS_CREDS"}, Usage: "NATS credentials file (JWT and seed)"},
		&cli.StringFlag{Name: "tls-ca", EnvVars: []string{"HEATBATH_NATS_TLS_CA"}, Usage: "CA certificate to verify the server"},
		&cli.StringFlag{Name: "tls-cert", EnvVars: []string{"HEATBATH_NATS_TLS_CERT"}, Usage: "client certificate"},
		&cli.StringFlag{Name: "tls-key", EnvVars: []string{"HEATBATH_NATS_TLS_KEY"}, Usage: "client certificate key"},
		&cli.StringFlag{Name: "pool", Value: "cpu", EnvVars: []string{"HEATBATH_POOL"}, Usage: "worker pool"},
		logLevelFlag(),
	}
}

func newLogger(c *cli.Context) hclog.Logger {
	lvl := hclog.LevelFromString(c.String("log-level"))
	if lvl == hclog.NoLevel {
		lvl = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{Name: "heatbath", Level: lvl, Output: os.Stderr,
		Color: logColor()})
}

// connect opens the NATS connection the flags describe. The first connect
// must succeed (so that a wrong URL or credentials fail at once with a
// clear message); after that the client reconnects forever with backoff.
func connect(c *cli.Context, log hclog.Logger, name string) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(500*time.Millisecond, 2*time.Second),
		nats.Timeout(5 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("disconnected from NATS; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("reconnected to NATS", "url", nc.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Warn("NATS error", "error", err) }),
	}
	if u := c.String("user"); u != "" {
		opts = append(opts, nats.UserInfo(u, c.String("password")))
	}
	if t := c.String("token"); t != "" {
		opts = append(opts, nats.Token(t))
	}
	if f := c.String("nkey"); f != "" {
		o, err := nats.NkeyOptionFromSeed(f)
		if err != nil {
			return nil, fmt.Errorf("--nkey %s: %w", f, err)
		}
		opts = append(opts, o)
	}
	if f := c.String("creds"); f != "" {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("--creds: %w", err)
		}
		opts = append(opts, nats.UserCredentials(f))
	}
	if f := c.String("tls-ca"); f != "" {
		opts = append(opts, nats.RootCAs(f))
	}
	if cert, key := c.String("tls-cert"), c.String("tls-key"); cert != "" || key != "" {
		if cert == "" || key == "" {
			return nil, usageErrorf("--tls-cert and --tls-key go together")
		}
		opts = append(opts, nats.ClientCert(cert, key))
	}
	url := c.String("nats")
	nc, err := nats.Connect(url, opts...)
	if errors.Is(err, nats.ErrNoServers) && !c.IsSet("nats") {
		return nil, fmt.Errorf("cannot connect to NATS at %s, the default (give --nats URL or HEATBATH_NATS_URL; heatbath run needs no server): %w", url, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w", url, err)
	}
	return nc, nil
}

// loadSweep reads a spec and expands it into a coordinator sweep.
func loadSweep(path string) (*coordinator.Sweep, *spec.File, error) {
	f, err := spec.Load(path)
	if err != nil {
		return nil, nil, err
	}
	return sweepOf(f)
}

func sweepOf(f *spec.File) (*coordinator.Sweep, *spec.File, error) {
	reps, err := f.Expand(train.Resolve)
	if err != nil {
		return nil, nil, err
	}
	s := &coordinator.Sweep{ID: f.SweepID(), Name: f.Spec.Name, SpecHash: f.Hash()[:16], Spec: string(f.Canonical()),
		CheckpointEvery: f.Spec.Checkpoint.Every, CheckpointSeconds: f.Spec.Checkpoint.Seconds, ProgressEvery: f.Spec.ProgressEvery,
		Prune: f.Spec.Prune.Config()}
	if s.CheckpointEvery == 0 && s.CheckpointSeconds == 0 {
		s.CheckpointSeconds = 30
	}
	for _, r := range reps {
		s.Replicas = append(s.Replicas, r.ReplicaInfo)
	}
	return s, f, nil
}

func isTerminal(f *os.File) bool { return isatty.IsTerminal(f.Fd()) }

// sweepArg returns the one argument of the command verb, a sweep id; a
// missing, extra or malformed one is a usage error that points to
// heatbath list, which shows the server's sweeps.
func sweepArg(c *cli.Context, verb string) (string, error) {
	switch {
	case c.NArg() == 0:
		return "", usageErrorf("%s: which sweep? give its id: heatbath %s SWEEP_ID (heatbath list shows the sweeps on the server)", verb, verb)
	case c.NArg() > 1:
		return "", usageErrorf("%s: want one sweep id, got %d arguments (%s)", verb, c.NArg(), strings.Join(c.Args().Slice(), " "))
	}
	id := c.Args().First()
	if strings.ContainsAny(id, ". *>") || id == "" {
		return "", usageErrorf("%s: %q is not a sweep id (heatbath list shows the sweeps on the server)", verb, id)
	}
	return id, nil
}
