// Package embedded starts an in-process nats-server with JetStream: the
// default of `heatbath run` and the server of the integration tests.
package embedded

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options configures the embedded server.
type Options struct {
	// StoreDir holds the JetStream files.
	StoreDir string
	// Listen makes the server accept TCP clients on Host:Port (Port -1
	// picks a free port); otherwise it accepts only in-process clients.
	Listen bool
	Host   string
	Port   int
	// SyncAlways makes JetStream fsync every write before acknowledging
	// it, so that an acknowledged result survives a crash of the machine.
	SyncAlways bool
	// Logger receives the server's notices and errors (nil: none).
	Logger hclog.Logger
}

// Server is a running embedded server.
type Server struct {
	*server.Server
}

// Start starts the server and waits until it accepts clients.
func Start(o Options) (*Server, error) {
	opts := &server.Options{
		ServerName: "heatbath-embedded",
		JetStream:  true,
		StoreDir:   o.StoreDir,
		DontListen: !o.Listen,
		Host:       o.Host,
		Port:       o.Port,
		NoSigs:     true,
		SyncAlways: o.SyncAlways,
		NoLog:      o.Logger == nil,
		// Keep the default 1 MB payload limit; replica files go to the
		// object store in chunks.
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if o.Listen && opts.Port == 0 {
		opts.Port = -1
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	if o.Logger != nil {
		ns.SetLoggerV2(&logAdapter{o.Logger.Named("nats-server")}, false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats-server did not become ready within 15s")
	}
	return &Server{ns}, nil
}

// Connect opens a client connection to the server (in-process when it
// does not listen).
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append(opts, nats.InProcessServer(s.Server))
	return nats.Connect(s.ClientURL(), opts...)
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() {
	s.Shutdown()
	s.WaitForShutdown()
}

type logAdapter struct{ l hclog.Logger }

func (a *logAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Debugf(format string, v ...any)  { a.l.Trace(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Tracef(format string, v ...any)  { a.l.Trace(fmt.Sprintf(format, v...)) }
