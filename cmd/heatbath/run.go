package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/worker"
)

//go:embed demo.yaml
var demoSpec []byte

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a whole sweep on an embedded NATS server with local workers",
		ArgsUsage: "[SPEC]",
		Description: "Starts an in-process nats-server with JetStream (files under OUT/.jetstream, every write synced),\n" +
			"local workers and the coordinator; runs the sweep, writes the run directory and the report, and exits.\n" +
			"Without SPEC it runs the built-in demo sweep (AdLaLa and LOL vs Adam on spirals, 3 seeds, 3 temperatures).\n" +
			"Run it again with the same --out to resume an interrupted sweep.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "run directory (default runs/<sweep id>)"},
			&cli.IntFlag{Name: "workers", Value: runtime.NumCPU(), Usage: "chains run at once"},
			&cli.StringFlag{Name: "listen", Usage: "also accept remote workers on this address (host:port), with generated credentials printed at start; default in-process only"},
			&cli.StringFlag{Name: "listen-tls-cert", Usage: "with --listen: TLS certificate (PEM) remote clients must connect with"},
			&cli.StringFlag{Name: "listen-tls-key", Usage: "with --listen: key of --listen-tls-cert (PEM)"},
			&cli.BoolFlag{Name: "insecure", Usage: "with --listen: accept remote clients without credentials, with every right on the sweep's streams"},
			&cli.BoolFlag{Name: "no-sync", Usage: "do not fsync every JetStream write (faster, loses acknowledged data on a power cut)"},
			&cli.BoolFlag{Name: "no-report", Usage: "skip the report at the end"},
			forceFlag,
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bars"},
			&cli.StringFlag{Name: "ui", Usage: "serve a live view of the sweep on this address (host:port, e.g. 127.0.0.1:8080); one that is not loopback asks for generated credentials, printed at start"},
			uiTLSFlags()[0], uiTLSFlags()[1],
			logLevelFlag(),
		},
		Action: runAction,
	}
}

func runAction(c *cli.Context) error {
	var f *spec.File
	var err error
	switch c.NArg() {
	case 0:
		f, err = spec.Parse("demo.yaml (built in)", demoSpec)
	case 1:
		f, err = spec.Load(c.Args().First())
	default:
		return usageErrorf("run: one spec file at most, got %d arguments", c.NArg())
	}
	if err != nil {
		return err
	}
	sw, _, err := sweepOf(f)
	if err != nil {
		return err
	}
	if c.Int("workers") < 1 {
		return usageErrorf("run: --workers %d must be at least 1", c.Int("workers"))
	}
	if c.String("listen") == "" && (c.String("listen-tls-cert") != "" || c.String("listen-tls-key") != "" || c.Bool("insecure")) {
		return usageErrorf("run: --listen-tls-cert, --listen-tls-key and --insecure need --listen")
	}
	if c.String("ui") == "" && (c.String(flagUITLSCert) != "" || c.String(flagUITLSKey) != "") {
		return usageErrorf("run: --%s and --%s need --ui", flagUITLSCert, flagUITLSKey)
	}
	out := c.String("out")
	if out == "" {
		out = filepath.Join("runs", sw.ID)
	}
	log := newLogger(c)
	// The run directory is this command's until it ends, report included;
	// taken before the embedded server starts in it, so that an --out that
	// cannot be written fails with a line about the folder.
	lock, err := claimRunDir(out, sw.ID, c.Bool("force"), log)
	if err != nil {
		return err
	}
	defer releaseRunDir(lock, log)
	var ui *uiListener
	if addr := c.String("ui"); addr != "" {
		if ui, err = listenUI("--ui", addr, c.String(flagUITLSCert), c.String(flagUITLSKey)); err != nil {
			return err
		}
		defer ui.ln.Close()
	}
	sum, err := runEmbedded(c.Context, sw, out, embeddedOptions{
		workers: c.Int("workers"), listen: c.String("listen"), sync: !c.Bool("no-sync"),
		listenTLSCert: c.String("listen-tls-cert"), listenTLSKey: c.String("listen-tls-key"), insecure: c.Bool("insecure"),
		quiet: c.Bool("quiet"), log: log, ui: ui,
	})
	if err != nil {
		return err
	}
	return finishSweep(os.Stdout, sum, out, !c.Bool("no-report"))
}

type embeddedOptions struct {
	workers int
	listen  string
	sync    bool
	quiet   bool
	log     hclog.Logger
	// ui, if set, serves the live view (run --ui).
	ui *uiListener
	// submitted, if set, is called once the sweep is submitted (for
	// benchmarks that time the pipeline without server start-up).
	submitted func()

	// listenTLSCert and listenTLSKey serve TLS to remote clients;
	// insecure lets them in without credentials.
	listenTLSCert, listenTLSKey string
	insecure                    bool
}

// runEmbedded runs a sweep on an in-process server with local workers.
func runEmbedded(ctx context.Context, sw *coordinator.Sweep, out string, o embeddedOptions) (*rundir.Summary, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	eo := embedded.Options{StoreDir: filepath.Join(out, ".jetstream"), SyncAlways: o.sync}
	if o.listen != "" {
		host, port, err := splitHostPort(o.listen)
		if err != nil {
			return nil, fmt.Errorf("--listen: %w", err)
		}
		eo.Listen, eo.Host, eo.Port = true, host, port
		eo.TLSCert, eo.TLSKey, eo.Insecure = o.listenTLSCert, o.listenTLSKey, o.insecure
	}
	srv, err := embedded.Start(eo)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	if o.listen != "" {
		announceListen(os.Stderr, srv, o.log)
	}
	cnc, err := srv.Connect()
	if err != nil {
		return nil, err
	}
	defer cnc.Close()
	co, err := coordinator.New(cnc, coordinator.Config{Logger: o.log})
	if err != nil {
		return nil, err
	}
	if err := co.Setup(ctx); err != nil {
		return nil, err
	}
	n, err := co.Submit(ctx, sw)
	if err != nil {
		return nil, err
	}
	if n < len(sw.Replicas) {
		// The sweep was here already (the run directory of an interrupted
		// run): put back what did not finish.
		if n, err = co.Resume(ctx, sw.ID); err != nil {
			return nil, err
		}
		// Replicas handed back when the last run was interrupted would
		// wait out their ack wait; no worker holds them (ours start below,
		// and remote ones cannot have connected without --listen).
		if o.listen == "" {
			k, err := co.RequeuePreempted(ctx, sw.ID)
			if err != nil {
				return nil, err
			}
			if k > 0 {
				o.log.Info("replicas handed back by the interrupted run are requeued at once", "requeued", k)
			}
		}
		o.log.Info("resuming the sweep from its run directory", "unfinished", n)
	}
	if o.submitted != nil {
		o.submitted()
	}
	wnc, err := srv.Connect()
	if err != nil {
		return nil, err
	}
	defer wnc.Close()
	// The local worker reports each replica at info level, which would
	// scroll the progress bars away: it logs warnings and errors only,
	// unless debugging was asked for.
	wlog := o.log.ResetNamed("heatbath.local")
	if !o.log.IsDebug() {
		wlog = hclog.New(&hclog.LoggerOptions{Name: "heatbath.local", Level: hclog.Warn, Output: os.Stderr, Color: logColor()})
	}
	wk, err := worker.New(wnc, worker.Config{Slots: o.workers, Logger: wlog, Heartbeat: co.AckWait() / 3})
	if err != nil {
		return nil, err
	}
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := wk.Run(wctx); err != nil {
			o.log.Error("local worker stopped", "error", err)
		}
	}()
	defer func() {
		stopWorkers()
		wg.Wait()
	}()
	prog := followProgress(ctx, co, sw.ID, o.log, o.quiet)
	if o.ui != nil {
		defer serveUI(ctx, o.ui, co, sw.ID, out, os.Stderr, o.log).close(true)
	}
	sum, err := co.Collect(ctx, sw.ID, out)
	prog.close()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			// Hand running replicas back with a checkpoint before exiting.
			stopWorkers()
			wg.Wait()
			return nil, fmt.Errorf("run: interrupted; run the same command again to resume the sweep from its checkpoints")
		}
		return nil, err
	}
	return sum, nil
}

func splitHostPort(s string) (string, int, error) {
	var host string
	var port int
	i := len(s) - 1
	for i >= 0 && s[i] != ':' {
		i--
	}
	if i < 0 {
		return "", 0, fmt.Errorf("%q: want host:port", s)
	}
	host = s[:i]
	if _, err := fmt.Sscanf(s[i+1:], "%d", &port); err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", s)
	}
	return host, port, nil
}

// announceListen tells how remote clients reach a listening embedded
// server: the worker command line with its credentials and the observer's
// credentials, or a warning when it accepts anyone.
func announceListen(w io.Writer, srv *embedded.Server, log hclog.Logger) {
	if _, ok := srv.Credential(protocol.RoleWorker); !ok {
		log.Warn("embedded NATS server accepts clients without credentials (--insecure): anyone who can reach it can read, purge or delete the sweep's streams", "url", srv.RemoteURL())
	}
	fmt.Fprintf(w, "remote workers: %s\n", srv.WorkerCommand())
	if oc, ok := srv.Credential(protocol.RoleObserver); ok {
		fmt.Fprintf(w, "read-only observers: --nats %s --user %s --password %s\n", srv.RemoteURL(), oc.User, oc.Password)
	}
}
