package validate

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// TestClusterFromConfigsServesR3 starts the three nodes from n1.conf,
// n2.conf and n3.conf on loopback (changed only in addresses and store
// directories: routes to 127.0.0.1 instead of n1..n3) with the certificates
// of make-certs.sh: the routes' mutual TLS must accept each node's
// certificate, the nodes must form a JetStream cluster, and the
// coordinator must be able to create an R3 stream that a worker on
// another node publishes to.
func TestClusterFromConfigsServesR3(t *testing.T) {
	certs := makeCerts(t)
	setPasswords(t)
	ports := freePorts(t, 3)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	var urls []string
	for i, node := range natsNodes {
		opts, err := server.ProcessConfigFile(nodeConfig(t, certs, node))
		if err != nil {
			t.Fatal(err)
		}
		opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", -1, 0
		opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", ports[i]
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		opts.StoreDir = t.TempDir()
		opts.NoSigs, opts.NoLog = true, true
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("%s: %v", node, err)
		}
		go s.Start()
		t.Cleanup(s.Shutdown)
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("%s did not start", node)
		}
		urls = append(urls, s.ClientURL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	co, err := dial(t, urls[0], certs, "coordinator")
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	js, _ := jetstream.New(co)
	cfg := jetstream.StreamConfig{Name: protocol.StreamEvents, Subjects: []string{protocol.EventSubjects}, Replicas: 3}
	// The cluster elects its meta leader once the routes are up: retry
	// the create until then (bounded by ctx).
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var stream jetstream.Stream
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		stream, err = js.CreateStream(cctx, cfg)
		ccancel()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no R3 stream on the cluster of the configs: %v", err)
		case <-tick.C:
		}
	}
	wc, err := dial(t, urls[2], certs, "worker")
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	wjs, _ := jetstream.New(wc)
	ev, _ := protocol.EventSubject("s1", "r0", protocol.EventResult)
	if _, err := wjs.Publish(ctx, ev, []byte("result")); err != nil {
		t.Fatalf("worker on n3 publishes to the R3 stream: %v", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream %s: %d replicas, cluster %+v; want a leader and 2 peers", cfg.Name, info.Config.Replicas, info.Cluster)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream %s holds %d messages, want 1", cfg.Name, info.State.Msgs)
	}
}
