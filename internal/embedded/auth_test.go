package embedded

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// syncBuffer keeps what the server logs, for checks of permission
// violations.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startListening(t *testing.T, o Options) (*Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o.StoreDir = filepath.Join(t.TempDir(), "js")
	o.Listen, o.Host, o.Port = true, "127.0.0.1", -1
	o.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: logs})
	srv, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, logs
}

// TestListenRequiresCredentials: a listening server refuses clients without
// credentials or with a wrong password, and the coordinator's user over
// the network, each with a one-line authorization error; the generated
// worker user gets in; the in-process coordinator connection too.
func TestListenRequiresCredentials(t *testing.T) {
	srv, _ := startListening(t, Options{})
	wc, ok := srv.Credential(protocol.RoleWorker)
	if !ok || wc.Password == "" {
		t.Fatalf("no worker credential generated: %+v", wc)
	}
	oc, _ := srv.Credential(protocol.RoleObserver)
	if oc.Password == wc.Password {
		t.Fatal("observer and worker share a password")
	}
	co, _ := srv.Credential(protocol.RoleCoordinator)
	url := srv.RemoteURL()
	for name, opts := range map[string][]nats.Option{
		"no credentials":          nil,
		"wrong password":          {nats.UserInfo(wc.User, wc.Password+"x")},
		"coordinator over TCP":    {nats.UserInfo(co.User, co.Password)},
		"observer's user, worker": {nats.UserInfo(oc.User, wc.Password)},
	} {
		nc, err := nats.Connect(url, append(opts, nats.NoReconnect())...)
		if err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
			continue
		}
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: error %v, want an authorization violation", name, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", name, err)
		}
	}
	nc, err := nats.Connect(url, nats.UserInfo(wc.User, wc.Password))
	if err != nil {
		t.Fatalf("worker credentials refused: %v", err)
	}
	nc.Close()
	cnc, err := srv.Connect()
	if err != nil {
		t.Fatalf("in-process coordinator refused: %v", err)
	}
	cnc.Close()
	if !strings.Contains(srv.WorkerCommand(), "--nats "+url+" --user "+wc.User+" --password "+wc.Password) {
		t.Errorf("worker command %q lacks the URL and credentials", srv.WorkerCommand())
	}
}

// TestInsecureListen: with Insecure a listening server takes anyone, and the
// worker command carries no credentials.
func TestInsecureListen(t *testing.T) {
	srv, _ := startListening(t, Options{Insecure: true})
	if _, ok := srv.Credential(protocol.RoleWorker); ok {
		t.Error("credentials generated for an insecure server")
	}
	nc, err := nats.Connect(srv.RemoteURL())
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if strings.Contains(srv.WorkerCommand(), "--user") {
		t.Errorf("worker command %q", srv.WorkerCommand())
	}
}

// setupStreams creates the streams and buckets as the coordinator does
// (names from protocol), through the in-process coordinator connection.
func setupStreams(t *testing.T, srv *Server) jetstream.JetStream {
	t.Helper()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: protocol.StreamTasks, Subjects: []string{protocol.TaskSubjects},
		Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: protocol.StreamEvents, Subjects: []string{protocol.EventSubjects}}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{protocol.BucketReplicas, protocol.BucketSweeps} {
		if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b, History: 5}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: protocol.BucketArtifacts}); err != nil {
		t.Fatal(err)
	}
	name, _ := protocol.WorkerConsumer("cpu")
	filter, _ := protocol.TaskFilter("cpu")
	if _, err := js.CreateConsumer(ctx, protocol.StreamTasks, jetstream.ConsumerConfig{Durable: name, FilterSubject: filter,
		AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	return js
}

// TestWorkerStoreOperations: with the worker's credentials, the object store
// and KV operations a worker performs go through without a permission
// violation: a checkpoint written, overwritten (the purge of its old
// chunks), read back and its info read; a replica record created, read and
// updated by compare-and-set; an event published.
func TestWorkerStoreOperations(t *testing.T) {
	srv, logs := startListening(t, Options{})
	setupStreams(t, srv)
	wc, _ := srv.Credential(protocol.RoleWorker)
	nc, err := nats.Connect(srv.RemoteURL(), nats.UserInfo(wc.User, wc.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obs, err := js.ObjectStore(ctx, protocol.BucketArtifacts)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := protocol.CheckpointObject("s1", "r1")
	first := bytes.Repeat([]byte("a"), 300<<10) // several chunks
	second := bytes.Repeat([]byte("b"), 200<<10)
	if _, err := obs.PutBytes(ctx, name, first); err != nil {
		t.Fatal(err)
	}
	if _, err := obs.PutBytes(ctx, name, second); err != nil {
		t.Fatal(err)
	}
	got, err := obs.GetBytes(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, second) {
		t.Fatalf("checkpoint read back: %d bytes, want the %d of the overwrite", len(got), len(second))
	}
	if _, err := obs.GetInfo(ctx, name); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, protocol.BucketReplicas)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := protocol.ReplicaKey("s1", "r1")
	rev, err := kv.Create(ctx, key, []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(ctx, key, []byte("2"), rev); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(ctx, key, []byte("3"), rev); !errors.Is(err, jetstream.ErrKeyExists) {
		t.Fatalf("stale compare-and-set: %v, want a revision conflict", err)
	}
	subj, _ := protocol.EventSubject("s1", "r1", protocol.EventProgress)
	if _, err := js.Publish(ctx, subj, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "Violation") {
		t.Fatalf("the server logged a permission violation:\n%s", logs.String())
	}
}

// writeTestCert makes a throwaway CA and a server certificate for
// 127.0.0.1 signed by it; it returns the CA, certificate and key files.
func writeTestCert(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "heatbath test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// TestListenTLS: with a certificate the server requires TLS of remote
// clients: a plain-text client is refused, a client that does not trust the
// CA is refused, a client with the CA and the worker's credentials gets in
// over TLS; the in-process coordinator connection needs no TLS.
func TestListenTLS(t *testing.T) {
	caFile, certFile, keyFile := writeTestCert(t)
	srv, _ := startListening(t, Options{TLSCert: certFile, TLSKey: keyFile})
	url := srv.RemoteURL()
	if !strings.HasPrefix(url, "tls://") {
		t.Errorf("remote URL %s, want tls://", url)
	}
	wc, _ := srv.Credential(protocol.RoleWorker)

	// A plain-text client: the server announces TLS as required and does
	// not answer a plain CONNECT and PING with a PONG.
	addr := strings.TrimPrefix(url, "tls://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	info, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, `"tls_required":true`) {
		t.Errorf("server INFO does not require TLS: %s", info)
	}
	conn.Write([]byte(`CONNECT {"verbose":false,"user":"` + wc.User + `","pass":"` + wc.Password + `"}` + "\r\nPING\r\n"))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // closed: refused
		}
		if strings.HasPrefix(line, "PONG") {
			t.Fatal("a plain-text client was served")
		}
	}

	if nc, err := nats.Connect(url, nats.UserInfo(wc.User, wc.Password), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Error("a client that does not trust the CA connected")
	} else {
		var unknown x509.UnknownAuthorityError
		var verify *tls.CertificateVerificationError
		if !errors.As(err, &unknown) && !errors.As(err, &verify) {
			t.Errorf("untrusted CA: error %v, want a certificate verification error", err)
		}
	}
	nc, err := nats.Connect(url, nats.UserInfo(wc.User, wc.Password), nats.RootCAs(caFile))
	if err != nil {
		t.Fatalf("TLS client with the CA: %v", err)
	}
	if _, err := nc.TLSConnectionState(); err != nil {
		t.Errorf("connection is not TLS: %v", err)
	}
	nc.Close()
	cnc, err := srv.Connect()
	if err != nil {
		t.Fatalf("in-process connection to a TLS server: %v", err)
	}
	cnc.Close()
}

// TestStartRejectsBadTLSOptions: a certificate without its key, or a
// certificate for a server that does not listen, fails with one line.
func TestStartRejectsBadTLSOptions(t *testing.T) {
	_, certFile, keyFile := writeTestCert(t)
	for name, o := range map[string]Options{
		"cert without key": {Listen: true, Port: -1, TLSCert: certFile},
		"key without cert": {Listen: true, Port: -1, TLSKey: keyFile},
		"not listening":    {TLSCert: certFile, TLSKey: keyFile},
		"missing file":     {Listen: true, Port: -1, TLSCert: certFile + ".missing", TLSKey: keyFile},
	} {
		o.StoreDir = filepath.Join(t.TempDir(), "js")
		srv, err := Start(o)
		if err == nil {
			srv.Stop()
			t.Errorf("%s: started", name)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", name, err)
		}
	}
}

// TestUsersRejectsBadCredentials: Users refuses an unknown role, an empty
// password and a user given twice.
func TestUsersRejectsBadCredentials(t *testing.T) {
	w := NewCredential(protocol.RoleWorker)
	for name, creds := range map[string][]Credential{
		"unknown role":   {{Role: "admin", User: "a", Password: "p"}},
		"empty password": {{Role: protocol.RoleWorker, User: "w"}},
		"twice":          {w, w},
	} {
		if _, err := Users(creds); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	users, err := Users([]Credential{{Role: protocol.RoleCoordinator, User: "c", Password: "p", InProcessOnly: true}, w})
	if err != nil {
		t.Fatal(err)
	}
	if users[0].Permissions != nil || len(users[0].AllowedConnectionTypes) != 1 {
		t.Errorf("coordinator user: permissions %+v, connection types %v", users[0].Permissions, users[0].AllowedConnectionTypes)
	}
	if users[1].Permissions == nil || users[1].Permissions.Publish == nil || len(users[1].Permissions.Publish.Allow) == 0 {
		t.Errorf("worker user without publish permissions: %+v", users[1].Permissions)
	}
}

// TestWorkerCannotReadAnotherAccount: users made by Users in one account of
// a server with two accounts: the worker cannot read the other account's
// stream, whose name its permissions do not allow, nor see it by name.
func TestWorkerCannotReadAnotherAccount(t *testing.T) {
	heatbath := server.NewAccount("HEATBATH")
	other := server.NewAccount("OTHER")
	w := NewCredential(protocol.RoleWorker)
	users, err := Users([]Credential{w})
	if err != nil {
		t.Fatal(err)
	}
	users[0].Account = heatbath
	otherUser := &server.User{Username: "other", Password: "other-secret", Account: other}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: filepath.Join(t.TempDir(), "js"),
		Accounts: []*server.Account{heatbath, other}, Users: append(users, otherUser), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	for _, name := range []string{"HEATBATH", "OTHER"} {
		acc, err := ns.LookupAccount(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.EnableJetStream(map[string]server.JetStreamAccountLimits{"": {MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	onc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("other", "other-secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer onc.Close()
	ojs, _ := jetstream.New(onc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A stream in the other account under a name the worker may read in
	// its own: accounts, not permissions, keep it out.
	if _, err := ojs.CreateStream(ctx, jetstream.StreamConfig{Name: protocol.StreamEvents, Subjects: []string{protocol.EventSubjects}}); err != nil {
		t.Fatal(err)
	}
	subj, _ := protocol.EventSubject("s1", "r1", protocol.EventResult)
	if _, err := ojs.Publish(ctx, subj, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	wnc, err := nats.Connect(ns.ClientURL(), nats.UserInfo(w.User, w.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer wnc.Close()
	wjs, _ := jetstream.New(wnc)
	if _, err := wjs.Stream(ctx, protocol.StreamEvents); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("worker reading the other account's %s: %v, want stream not found", protocol.StreamEvents, err)
	}
	// The worker's own event publish lands in its account (no stream
	// there: no JetStream answer), never in the other's.
	if _, err := wjs.Publish(ctx, subj, []byte("mine")); !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("worker publish: %v, want no stream to answer", err)
	}
	s, err := ojs.Stream(ctx, protocol.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("other account's stream holds %d messages, want 1", n)
	}
}
