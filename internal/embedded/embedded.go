// Package embedded starts an in-process nats-server with JetStream: the
// default of `heatbath run` and the server of the integration tests.
//
// A server that listens on the network requires credentials unless told
// otherwise (Options.Insecure): Start generates a worker and an observer
// user with random passwords, and the in-process coordinator connects as a
// third user that only in-process connections may use. This holds on
// loopback too: any local user or container of the machine can reach a
// loopback port.
package embedded

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/heatbath/heatbath/protocol"
)

// Options configures the embedded server.
type Options struct {
	// StoreDir holds the JetStream files.
	StoreDir string
	// Listen makes the server accept TCP clients on Host:Port (Port -1
	// picks a free port); otherwise it accepts only in-process clients.
	// A listening server requires credentials (see Server.Credential)
	// unless Insecure is set.
	Listen bool
	Host   string
	Port   int
	// Insecure lets remote clients connect without credentials, with
	// every right on every stream.
	Insecure bool
	// TLSCert and TLSKey, both or neither, make remote clients use TLS
	// with this certificate (PEM files).
	TLSCert, TLSKey string
	// SyncAlways makes JetStream fsync every write before acknowledging
	// it, so that an acknowledged result survives a crash of the machine.
	SyncAlways bool
	// Logger receives the server's notices and errors (nil: none).
	Logger hclog.Logger
}

// Server is a running embedded server.
type Server struct {
	*server.Server
	tls bool
	// creds holds the generated users by role (none without
	// authentication).
	creds map[protocol.Role]Credential
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
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, fmt.Errorf("embedded nats-server: a TLS certificate and its key go together (certificate %q, key %q)", o.TLSCert, o.TLSKey)
	}
	if o.TLSCert != "" {
		if !o.Listen {
			return nil, fmt.Errorf("embedded nats-server: TLS certificate %q given to a server that does not listen", o.TLSCert)
		}
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: o.TLSCert, KeyFile: o.TLSKey})
		if err != nil {
			return nil, fmt.Errorf("embedded nats-server: TLS certificate %s: %w", o.TLSCert, err)
		}
		opts.TLS, opts.TLSConfig = true, tc
	}
	var creds map[protocol.Role]Credential
	if o.Listen && !o.Insecure {
		creds = map[protocol.Role]Credential{}
		var list []Credential
		for _, r := range []protocol.Role{protocol.RoleCoordinator, protocol.RoleWorker, protocol.RoleObserver} {
			c := NewCredential(r)
			c.InProcessOnly = r == protocol.RoleCoordinator
			creds[r] = c
			list = append(list, c)
		}
		users, err := Users(list)
		if err != nil {
			return nil, err
		}
		opts.Users = users
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
	return &Server{Server: ns, tls: opts.TLSConfig != nil, creds: creds}, nil
}

// Connect opens an in-process client connection to the server with every
// right (as the coordinator user when the server requires credentials).
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	if c, ok := s.creds[protocol.RoleCoordinator]; ok {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	opts = append(opts, nats.InProcessServer(s.Server))
	// In-process connections need no TLS (the server does not require it
	// of them), and a tls:// URL would make the client insist on it.
	url := strings.Replace(s.ClientURL(), "tls://", "nats://", 1)
	return nats.Connect(url, opts...)
}

// Credential returns the generated user of a role (worker or observer; the
// coordinator's is for in-process connections only); false when the server
// does not require credentials.
func (s *Server) Credential(role protocol.Role) (Credential, bool) {
	c, ok := s.creds[role]
	return c, ok
}

// RemoteURL returns the URL remote clients connect to: tls:// when the
// server requires TLS, and the machine's host name when the server listens
// on every interface.
func (s *Server) RemoteURL() string {
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		return s.ClientURL()
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	scheme := "nats"
	if s.tls {
		scheme = "tls"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// WorkerCommand returns the command line that runs a remote worker against
// this server, credentials included.
func (s *Server) WorkerCommand() string {
	line := "heatbath worker --nats " + s.RemoteURL()
	if c, ok := s.creds[protocol.RoleWorker]; ok {
		line += " --user " + c.User + " --password " + c.Password
	}
	return line
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
