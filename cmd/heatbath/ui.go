package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/liveview"
	"github.com/heatbath/heatbath/protocol"
)

// uiInterval is the live view's feed interval: a replica that finishes
// reaches the page within about this long.
const uiInterval = 500 * time.Millisecond

// uiListener is the live view's listener, opened before the sweep starts
// so that a bad address fails at once, with the credentials it requires
// (nil on loopback) and its TLS configuration (nil for plain HTTP).
type uiListener struct {
	ln   net.Listener
	cred *embedded.Credential
	tls  *tls.Config
}

// The flags of the live view's certificate, the same on run and ui (ui's
// --tls-cert and --tls-key are the NATS client's, as on every command
// that connects).
const (
	flagUITLSCert = "ui-tls-cert"
	flagUITLSKey  = "ui-tls-key"
)

// uiTLSFlags are the flags that serve the live view over HTTPS.
func uiTLSFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagUITLSCert, Usage: "serve the live view over HTTPS with this certificate (PEM; with --" + flagUITLSKey + ")"},
		&cli.StringFlag{Name: flagUITLSKey, Usage: "the private key (PEM) of --" + flagUITLSCert},
	}
}

// listenUI listens for the live view on addr, given by flag. On an address
// that is not loopback every request needs the credentials of a generated
// observer user (embedded.NewCredential), which are printed with the URL.
// With certFile and keyFile (both or neither) the page is served over
// HTTPS.
func listenUI(flag, addr, certFile, keyFile string) (*uiListener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usageErrorf("%s %q: want host:port, e.g. 127.0.0.1:8080", flag, addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, usageErrorf("%s %q: port %q is not a number from 0 to 65535", flag, addr, port)
	}
	l := &uiListener{}
	switch {
	case certFile != "" && keyFile == "":
		return nil, usageErrorf("--%s %s: give its key with --%s", flagUITLSCert, certFile, flagUITLSKey)
	case keyFile != "" && certFile == "":
		return nil, usageErrorf("--%s %s: give its certificate with --%s", flagUITLSKey, keyFile, flagUITLSCert)
	case certFile != "":
		if l.tls, err = liveview.LoadTLS(certFile, keyFile); err != nil {
			return nil, fmt.Errorf("--%s: %w", flagUITLSCert, err)
		}
	}
	if !liveview.Loopback(host) {
		c := embedded.NewCredential(protocol.RoleObserver)
		l.cred = &c
	}
	if l.ln, err = liveview.Listen(addr, l.cred != nil); err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return l, nil
}

// uiBanner returns the lines that say where the live view is: its first
// URL with the credentials it needs, the other URLs it is reached at, and
// a warning when the credentials go over plain HTTP.
func uiBanner(urls []string, cred *embedded.Credential, tls bool) string {
	var b strings.Builder
	for i, u := range urls {
		switch {
		case i > 0:
			fmt.Fprintf(&b, "live view: also %s\n", u)
		case cred != nil:
			fmt.Fprintf(&b, "live view: %s (user %s, password %s)\n", u, cred.User, cred.Password)
		default:
			fmt.Fprintf(&b, "live view: %s\n", u)
		}
	}
	if cred != nil && !tls {
		fmt.Fprintf(&b, "live view: warning: not loopback and not HTTPS: the password and the page go over the network in the clear; serve HTTPS with --%s and --%s\n",
			flagUITLSCert, flagUITLSKey)
	}
	return b.String()
}

// liveUI is a live view being served; close stops it.
type liveUI struct {
	srv                   *liveview.Server
	co                    *coordinator.Coordinator
	sweep                 string
	log                   hclog.Logger
	stopFollow, stopServe context.CancelFunc
	following, serving    sync.WaitGroup
}

// serveUI serves the live view of sweep on l until close or ctx ends,
// following co's feed; runDir, when set, is the run directory whose
// finished replicas' files the page links to. It prints the URLs (and the
// credentials it needs) on w.
func serveUI(ctx context.Context, l *uiListener, co *coordinator.Coordinator, sweep, runDir string, w io.Writer, log hclog.Logger) *liveUI {
	// The server's own errors (mostly TLS handshakes of browsers that do
	// not trust the certificate) are debug lines.
	o := liveview.Options{RunDir: runDir, TLS: l.tls,
		ErrorLog: log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})}
	if l.cred != nil {
		o.User, o.Password = l.cred.User, l.cred.Password
	}
	srv := liveview.NewServer(o)
	// One write, so that the lines stay together.
	_, _ = io.WriteString(w, uiBanner(liveview.URLs(srv.Scheme(), l.ln.Addr()), l.cred, l.tls != nil))
	u := &liveUI{srv: srv, co: co, sweep: sweep, log: log}
	sctx, stopServe := context.WithCancel(ctx)
	fctx, stopFollow := context.WithCancel(ctx)
	u.stopServe, u.stopFollow = stopServe, stopFollow
	u.serving.Add(1)
	go func() {
		defer u.serving.Done()
		if err := u.srv.Serve(sctx, l.ln); err != nil {
			log.Error("live view stopped", "error", err)
		}
	}()
	u.following.Add(1)
	go func() {
		defer u.following.Done()
		if err := u.srv.Follow(fctx, co, sweep, uiInterval); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("live view lost the sweep's feed", "sweep", sweep, "error", err)
		}
	}()
	return u
}

// close stops the view: with final, its pages get the sweep's state once
// more first (a run that ends shows its final counts, not the feed's last
// tick before them). The pages are told that the view stopped.
func (u *liveUI) close(final bool) {
	u.stopFollow()
	u.following.Wait()
	if final {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := u.srv.Final(ctx, u.co, u.sweep); err != nil {
			u.log.Warn("live view: no final view of the sweep", "sweep", u.sweep, "error", err)
		}
		cancel()
	}
	u.stopServe()
	u.serving.Wait()
}

func uiCommand() *cli.Command {
	return &cli.Command{
		Name:      "ui",
		Usage:     "serve a live web page of a sweep running on a NATS server or cluster",
		ArgsUsage: " ",
		Description: "Follows the sweep's feed (the same as status --watch) and serves a page on --addr with the replicas'\n" +
			"states and progress, learning curves by group with 95% bands, the temperature ladder and, with --dir,\n" +
			"links to finished replicas' files. The page updates itself and needs no internet. On an address that is\n" +
			"not loopback it asks for the generated credentials printed at start; give --ui-tls-cert and --ui-tls-key to\n" +
			"serve it over HTTPS (--tls-cert and --tls-key are the NATS connection's). Runs until Ctrl-C.",
		Flags: append(append(natsFlags(),
			&cli.StringFlag{Name: "sweep", Usage: "sweep id (default: the newest unfinished sweep on the server, else the newest)"},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "address to serve the page on (host:port)"},
			&cli.StringFlag{Name: "dir", Usage: "the sweep's run directory, to link finished replicas' files"},
		), uiTLSFlags()...),
		Action: uiAction,
	}
}

func uiAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("ui: no arguments expected (the sweep is --sweep), got %d", c.NArg())
	}
	if id := c.String("sweep"); strings.ContainsAny(id, ". *>") {
		// As sweepArg, before anything listens or connects.
		return usageErrorf("ui: --sweep %q is not a sweep id (heatbath list shows the sweeps on the server)", id)
	}
	l, err := listenUI("--addr", c.String("addr"), c.String(flagUITLSCert), c.String(flagUITLSKey))
	if err != nil {
		return err
	}
	defer l.ln.Close()
	co, closeFn, err := openCoordinator(c)
	if err != nil {
		return err
	}
	defer closeFn()
	log := newLogger(c)
	sweep := c.String("sweep")
	if sweep == "" {
		if sweep, err = defaultSweep(c.Context, co); err != nil {
			return err
		}
		log.Info("following the sweep", "sweep", sweep)
	}
	if _, err := co.Manifest(c.Context, sweep); err != nil {
		return fmt.Errorf("ui: sweep %s: %w", sweep, err)
	}
	u := serveUI(c.Context, l, co, sweep, c.String("dir"), c.App.ErrWriter, log)
	<-c.Context.Done()
	u.close(false)
	return nil
}

// defaultSweep returns the newest unfinished sweep on the server, else the
// newest one.
func defaultSweep(ctx context.Context, co *coordinator.Coordinator) (string, error) {
	list, err := co.List(ctx)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", errors.New("ui: no sweep on the server; submit one first")
	}
	for _, s := range list { // newest first
		if s.Unfinished() > 0 {
			return s.ID, nil
		}
	}
	return list[0].ID, nil
}
