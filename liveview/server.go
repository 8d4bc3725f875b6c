package liveview

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/rundir"
)

//go:embed assets/index.html assets/app.js assets/style.css
var assets embed.FS

// csp lets the page load its own script and style and open its own event
// stream, and nothing else: no request leaves the server it came from.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// keepAlive is the interval of the comment lines that keep an idle event
// stream from being closed by proxies.
const keepAlive = 15 * time.Second

// replicaFiles are the files of a finished replica's directory the page
// links to and the server hands out.
var replicaFiles = []string{rundir.FileTrajectory, rundir.FileResult, rundir.FileFailure, rundir.FileReplica,
	rundir.FileParams, rundir.FileBestParams, rundir.FileInitParams, rundir.FilePredictions, rundir.FileGrid, rundir.FileInterp}

// Options configure a Server.
type Options struct {
	// RunDir is the run directory whose replicas' files the page links
	// to; empty for none.
	RunDir string
	// User and Password, when set, are required of every request (HTTP
	// basic auth).
	User, Password string
	// TLS, when set, serves the page over HTTPS with it (LoadTLS), so that
	// the credentials and the page are not sent in the clear.
	TLS *tls.Config
	// ErrorLog, when set, takes the HTTP server's errors (a TLS handshake
	// refused by a browser that does not trust the certificate, ...);
	// nil for the log package's standard logger.
	ErrorLog *log.Logger
}

// Server serves the page and the views published to it. It is an
// http.Handler; Serve runs it on a listener.
type Server struct {
	opts Options

	mu       sync.Mutex
	latest   []byte          // the latest view, as JSON; nil before the first
	terminal map[string]bool // replicas in a terminal state in the latest view
	subs     map[chan struct{}]struct{}
}

// NewServer returns a server with no view yet: the page says it is
// waiting for the sweep until the first is published.
func NewServer(o Options) *Server {
	return &Server{opts: o, terminal: map[string]bool{}, subs: map[chan struct{}]struct{}{}}
}

// Publish makes v the latest view and sends it to every open page.
func (s *Server) Publish(v *View) error {
	b, err := v.encode()
	if err != nil {
		return fmt.Errorf("liveview: encode the view of %s: %w", v.Sweep, err)
	}
	terminal := make(map[string]bool, len(v.Replicas))
	for _, r := range v.Replicas {
		if r.State.Terminal() {
			terminal[r.ID] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest, s.terminal = b, terminal
	for c := range s.subs {
		select {
		case c <- struct{}{}:
		default: // a signal is pending: the page will get the latest view
		}
	}
	return nil
}

// Follow publishes a view of each of co's snapshots of sweep until ctx
// ends; interval is the feed's. It reads the feed with the progress
// events' history (coordinator.FeedHistory), so that a view started
// mid-sweep has the curves from their start.
func (s *Server) Follow(ctx context.Context, co *coordinator.Coordinator, sweep string, interval time.Duration) error {
	m, err := co.Manifest(ctx, sweep)
	if err != nil {
		return err
	}
	b := NewBuilder(m, s.opts.RunDir != "")
	var perr error
	err = co.FeedHistory(ctx, sweep, interval, func(snap *coordinator.FeedSnapshot) bool {
		perr = s.Publish(b.View(snap))
		return perr == nil
	})
	if perr != nil {
		return perr
	}
	return err
}

// latestView returns the latest view's JSON (nil before the first).
func (s *Server) latestView() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// Final publishes the sweep's state once more (coordinator.SweepSnapshot):
// a run that ends stops its view after this, so that its last view is the
// sweep's final state and not the feed's last tick before it.
func (s *Server) Final(ctx context.Context, co *coordinator.Coordinator, sweep string) error {
	m, err := co.Manifest(ctx, sweep)
	if err != nil {
		return err
	}
	snap, err := co.SweepSnapshot(ctx, sweep)
	if err != nil {
		return err
	}
	return s.Publish(NewBuilder(m, s.opts.RunDir != "").View(snap))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if s.opts.User != "" && !s.authorized(r) {
		h.Set("WWW-Authenticate", `Basic realm="heatbath live view", charset="UTF-8"`)
		http.Error(w, "heatbath live view: credentials required", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "heatbath live view: "+r.Method+" not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/":
		s.asset(w, "index.html", "text/html; charset=utf-8")
	case p == "/app.js":
		s.asset(w, "app.js", "text/javascript; charset=utf-8")
	case p == "/style.css":
		s.asset(w, "style.css", "text/css; charset=utf-8")
	case p == "/view.json":
		s.mu.Lock()
		b := s.latest
		s.mu.Unlock()
		if b == nil {
			http.Error(w, "heatbath live view: no snapshot of the sweep yet", http.StatusServiceUnavailable)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	case p == "/events":
		s.events(w, r)
	case strings.HasPrefix(p, "/files/"):
		s.file(w, r, strings.TrimPrefix(p, "/files/"))
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	// Both compared in full whatever the first gives.
	uok := subtle.ConstantTimeCompare([]byte(u), []byte(s.opts.User))
	pok := subtle.ConstantTimeCompare([]byte(p), []byte(s.opts.Password))
	return ok && uok&pok == 1
}

func (s *Server) asset(w http.ResponseWriter, name, ctype string) {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		http.Error(w, "heatbath live view: missing asset "+name, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// events streams the views as server-sent events: the latest at once, then
// each new one; a page that falls behind gets the latest only. When the
// server stops, the stream ends with an "end" event, after which the page
// stops reconnecting.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "heatbath live view: streaming not supported", http.StatusInternalServerError)
		return
	}
	c := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[c] = struct{}{}
	if s.latest != nil {
		c <- struct{}{}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, c)
		s.mu.Unlock()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			// The server stops (or the page left, and this goes nowhere).
			_, _ = w.Write([]byte("event: end\ndata: {}\n\n"))
			fl.Flush()
			return
		case <-tick.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return
			}
		case <-c:
			s.mu.Lock()
			b := s.latest
			s.mu.Unlock()
			// A view is one line of JSON: one data field.
			if _, err := fmt.Fprintf(w, "event: view\ndata: %s\n\n", b); err != nil {
				return
			}
		}
		fl.Flush()
	}
}

// file serves a file of a finished replica's directory: rest is
// "<replica id>/<file name>".
func (s *Server) file(w http.ResponseWriter, r *http.Request, rest string) {
	id, name, ok := strings.Cut(rest, "/")
	s.mu.Lock()
	terminal := s.terminal[id]
	s.mu.Unlock()
	switch {
	case s.opts.RunDir == "":
		http.Error(w, "heatbath live view: no run directory at hand", http.StatusNotFound)
		return
	case !ok || !rundir.ValidReplicaID(id) || !isReplicaFile(name):
		http.NotFound(w, r)
		return
	case !terminal:
		http.Error(w, "heatbath live view: replica "+id+" has not finished", http.StatusNotFound)
		return
	}
	f, err := os.Open(filepath.Join(rundir.ReplicaDir(s.opts.RunDir, id), name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	switch filepath.Ext(name) {
	case ".csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	case ".json":
		w.Header().Set("Content-Type", "application/json")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", id+"-"+name))
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}

func isReplicaFile(name string) bool {
	for _, f := range replicaFiles {
		if f == name {
			return true
		}
	}
	return false
}

// Listen listens on addr (host:port). An address that is not loopback
// (an empty host is every interface) is refused unless credentials is
// set: the page would be open to whoever reaches the machine.
func Listen(addr string, credentials bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("liveview: address %q: want host:port", addr)
	}
	if !credentials && !Loopback(host) {
		return nil, fmt.Errorf("liveview: %s is not a loopback address; the live view listens elsewhere only with credentials", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("liveview: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Loopback reports whether host (a name or an IP address) is the loopback
// interface: "localhost" or an address in 127.0.0.0/8 or ::1.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoadTLS returns the TLS configuration of a page served over HTTPS with
// the certificate (chain) in certFile and its private key in keyFile, both
// PEM.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("liveview: TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Scheme returns the scheme of the page's URLs: "https" when it is served
// over TLS, else "http".
func (s *Server) Scheme() string {
	if s.opts.TLS != nil {
		return "https"
	}
	return "http"
}

// Serve serves s on ln until ctx ends (over HTTPS when Options.TLS is
// set); open event streams end with it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: s.opts.ErrorLog,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	if s.opts.TLS != nil {
		hs.TLSConfig = s.opts.TLS.Clone()
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = hs.Shutdown(sctx)
		case <-done:
		}
	}()
	var err error
	if hs.TLSConfig != nil {
		err = hs.ServeTLS(ln, "", "") // the certificate is in TLSConfig
	} else {
		err = hs.Serve(ln)
	}
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
