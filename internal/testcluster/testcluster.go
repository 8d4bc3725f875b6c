// Package testcluster runs an in-process nats-server JetStream cluster
// for tests: n nodes on loopback, random free ports (client and cluster),
// a file store per node under t.TempDir(), and every write fsynced before
// it is acknowledged (sync_interval always) unless WithSyncAlways(false).
//
// Every route connection between two nodes passes through a loopback
// proxy of the harness, so that Kill can cut a node off from its peers
// before its shutdown tells them anything (see Kill). Clients connect to
// the nodes directly.
//
// Everything the harness waits for is bounded (WaitTimeout); a failed wait
// fails the test with a one-line message. The cluster is shut down by
// t.Cleanup.
package testcluster

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// WaitTimeout bounds every wait of the harness: for the cluster to form,
// for a JetStream meta leader, for a stream leader, for a restarted node
// to catch up.
const WaitTimeout = 30 * time.Second

// pollEvery is the pause between two checks of a wait.
const pollEvery = 50 * time.Millisecond

// Option changes how Start builds the cluster.
type Option func(*config)

type config struct {
	syncAlways bool
	name       string
	serverOpts func(i int, o *server.Options)
}

// WithSyncAlways sets whether JetStream fsyncs every write before
// acknowledging it (sync_interval always; the default, true).
func WithSyncAlways(on bool) Option { return func(c *config) { c.syncAlways = on } }

// WithClusterName sets the cluster's name (default "hb-test").
func WithClusterName(name string) Option { return func(c *config) { c.name = name } }

// WithServerOptions lets a test change node i's server options (accounts,
// users, TLS, limits) before each start of the node, restarts included.
// It must not change the ports, routes, store directory or server name
// the harness set.
func WithServerOptions(f func(i int, o *server.Options)) Option {
	return func(c *config) { c.serverOpts = f }
}

// Cluster is a running test cluster.
type Cluster struct {
	t     testing.TB
	cfg   config
	mu    sync.Mutex
	nodes []*node
	// pair[i][j] carries the routes node i solicits to node j.
	pair [][]*proxy
	// adv[j] is node j's advertised cluster address: the routes other
	// nodes learn by gossip (implicit routes) go through it.
	adv []*proxy
}

type node struct {
	name        string
	dir         string
	clientPort  int
	clusterPort int
	srv         *server.Server // nil while down
}

// Start starts an n-node cluster (n >= 1) and waits until it has formed
// and JetStream has a meta leader that every node knows. With n == 1 the
// node is a standalone server (no cluster block: nats-server does not run
// JetStream on a cluster without routes).
func Start(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("testcluster: %d nodes: want at least 1", n)
	}
	cfg := config{syncAlways: true, name: "hb-test"}
	for _, o := range opts {
		o(&cfg)
	}
	// TempDir first: cleanups run last-in first-out, so the servers stop
	// before their store is removed.
	root := t.TempDir()
	c := &Cluster{t: t, cfg: cfg}
	t.Cleanup(c.shutdown)
	c.pair = make([][]*proxy, n)
	c.adv = make([]*proxy, n)
	for i := range n {
		c.nodes = append(c.nodes, &node{name: fmt.Sprintf("hb-%d", i), dir: fmt.Sprintf("%s/n%d", root, i)})
		c.pair[i] = make([]*proxy, n)
		p, err := newProxy()
		if err != nil {
			t.Fatalf("testcluster: proxy: %v", err)
		}
		c.adv[i] = p
		for j := range n {
			if j == i {
				continue
			}
			if c.pair[i][j], err = newProxy(); err != nil {
				t.Fatalf("testcluster: proxy: %v", err)
			}
		}
	}
	for i := range n {
		if err := c.startNode(i); err != nil {
			t.Fatalf("testcluster: %v", err)
		}
	}
	c.waitFormed()
	return c
}

// serverOptions builds node i's options for a start.
func (c *Cluster) serverOptions(i int) *server.Options {
	nd := c.nodes[i]
	var routes []*url.URL
	for j := range c.nodes {
		if j != i {
			routes = append(routes, &url.URL{Scheme: "nats-route", Host: c.pair[i][j].addr()})
		}
	}
	port, cport := nd.clientPort, nd.clusterPort
	if port == 0 {
		port = -1
	}
	if cport == 0 {
		cport = -1
	}
	o := &server.Options{
		ServerName: nd.name,
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   nd.dir,
		SyncAlways: c.cfg.syncAlways,
		NoSigs:     true,
		NoLog:      true,
		Routes:     routes,
		Cluster: server.ClusterOpts{
			Name:      c.cfg.name,
			Host:      "127.0.0.1",
			Port:      cport,
			Advertise: c.adv[i].addr(),
		},
	}
	if len(c.nodes) == 1 {
		// nats-server does not start JetStream on a cluster without
		// routes: one node is a standalone server.
		o.Routes, o.Cluster = nil, server.ClusterOpts{}
	}
	if c.cfg.serverOpts != nil {
		c.cfg.serverOpts(i, o)
	}
	return o
}

func (c *Cluster) startNode(i int) error {
	nd := c.nodes[i]
	ns, err := server.NewServer(c.serverOptions(i))
	if err != nil {
		return fmt.Errorf("node %d: %w", i, err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(WaitTimeout) {
		ns.Shutdown()
		return fmt.Errorf("node %d did not accept clients within %v", i, WaitTimeout)
	}
	addr, ok := ns.Addr().(*net.TCPAddr)
	if !ok || (len(c.nodes) > 1 && ns.ClusterAddr() == nil) {
		ns.Shutdown()
		return fmt.Errorf("node %d: no client or cluster listener", i)
	}
	nd.clientPort = addr.Port
	if ca := ns.ClusterAddr(); ca != nil {
		nd.clusterPort = ca.Port
	}
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(nd.clusterPort))
	c.mu.Lock()
	nd.srv = ns
	c.mu.Unlock()
	c.adv[i].setTarget(target)
	c.adv[i].setDown(false)
	for j := range c.nodes {
		if j != i {
			c.pair[j][i].setTarget(target)
			c.pair[j][i].setDown(false)
			c.pair[i][j].setDown(false)
		}
	}
	return nil
}

// N is the number of nodes, running or not.
func (c *Cluster) N() int { return len(c.nodes) }

// Node returns node i's server, or nil while it is down.
func (c *Cluster) Node(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// URL is node i's client URL (it stays the same across restarts).
func (c *Cluster) URL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.nodes[i].clientPort)
}

// URLs are the client URLs of all nodes, node 0 first.
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.nodes))
	for i := range c.nodes {
		out[i] = c.URL(i)
	}
	return out
}

// ConnectTo connects to node i first (the other nodes are the reconnect
// fallbacks, in order), with endless reconnects; extra options are
// applied last. The connection is closed by t.Cleanup.
func (c *Cluster) ConnectTo(i int, opts ...nats.Option) *nats.Conn {
	c.t.Helper()
	urls := []string{c.URL(i)}
	for j := range c.nodes {
		if j != i {
			urls = append(urls, c.URL(j))
		}
	}
	base := []nats.Option{nats.DontRandomize(), nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond),
		nats.Name(fmt.Sprintf("testcluster-client-of-%d", i))}
	nc, err := nats.Connect(strings.Join(urls, ","), append(base, opts...)...)
	if err != nil {
		c.t.Fatalf("testcluster: connect to node %d at %s: %v", i, c.URL(i), err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

// Stop shuts node i down gracefully: it hands its raft leaderships to
// its peers first, as nats-server does on SIGTERM. Its store stays for
// Restart.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	ns := c.take(i)
	if ns == nil {
		c.t.Fatalf("testcluster: Stop(%d): node is down", i)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
}

// Kill stops node i as abruptly as an in-process server allows, to stand
// in for SIGKILL: every route connection to and from the node is closed
// first (its peers see the routes drop, and it cannot reach them again
// until Restart), then the server shuts down. So the leadership handover
// a graceful shutdown sends never reaches the peers: they detect the loss
// and elect new leaders as after a crash. Its clients see their
// connections close, as when the kernel closes a killed process's
// sockets.
//
// What it does not simulate: the shutdown itself still runs in the
// process, so the node's file store is closed cleanly (buffers written,
// index files updated), which a killed process does not do; a restart
// therefore does not exercise recovery from torn message blocks. With
// sync_interval always (the default) every acknowledged write was on disk
// before the kill either way. Nor is it a machine crash (the page cache
// survives in both cases).
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	c.mu.Lock()
	ns := c.nodes[i].srv
	c.mu.Unlock()
	if ns == nil {
		c.t.Fatalf("testcluster: Kill(%d): node is down", i)
	}
	c.sever(i)
	c.take(i)
	ns.Shutdown()
	ns.WaitForShutdown()
}

// sever cuts every route of node i. Implicit routes (learned by gossip)
// go through the advertised addresses, whose dialing side is unknown; all
// of those are cut, the peers' ones reconnect at once.
func (c *Cluster) sever(i int) {
	c.adv[i].setDown(true)
	for j := range c.nodes {
		if j != i {
			c.pair[i][j].setDown(true)
			c.pair[j][i].setDown(true)
			c.adv[j].setDown(true)
			c.adv[j].setDown(false)
		}
	}
}

func (c *Cluster) take(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	ns := c.nodes[i].srv
	c.nodes[i].srv = nil
	return ns
}

// Restart starts node i again from its store directory, on the same
// ports, and waits until it has rejoined: routes up and JetStream's meta
// state current on every node.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.Node(i) != nil {
		c.t.Fatalf("testcluster: Restart(%d): node is running", i)
	}
	if err := c.startNode(i); err != nil {
		c.t.Fatalf("testcluster: restart: %v", err)
	}
	c.waitFormed()
}

// running returns the indices and servers of the nodes that are up.
func (c *Cluster) running() ([]int, []*server.Server) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var idx []int
	var srv []*server.Server
	for i, nd := range c.nodes {
		if nd.srv != nil {
			idx = append(idx, i)
			srv = append(srv, nd.srv)
		}
	}
	return idx, srv
}

// MetaLeader waits for a JetStream meta leader that every running node
// agrees on and returns its index.
func (c *Cluster) MetaLeader() int {
	c.t.Helper()
	var last string
	deadline := time.Now().Add(WaitTimeout)
	for time.Now().Before(deadline) {
		if i, ok, why := c.metaLeader(); ok {
			return i
		} else {
			last = why
		}
		time.Sleep(pollEvery)
	}
	c.t.Fatalf("testcluster: no JetStream meta leader within %v: %s", WaitTimeout, last)
	return -1
}

func (c *Cluster) metaLeader() (int, bool, string) {
	idx, srv := c.running()
	leader := ""
	for k, ns := range srv {
		if len(c.nodes) > 1 && !ns.JetStreamIsCurrent() {
			return -1, false, fmt.Sprintf("node %d is not current", idx[k])
		}
		jsz, err := ns.Jsz(nil)
		if err != nil || jsz.Meta == nil {
			if len(c.nodes) == 1 {
				return idx[k], true, ""
			}
			return -1, false, fmt.Sprintf("node %d: no meta group", idx[k])
		}
		if jsz.Meta.Leader == "" || (leader != "" && jsz.Meta.Leader != leader) {
			return -1, false, fmt.Sprintf("node %d sees meta leader %q", idx[k], jsz.Meta.Leader)
		}
		leader = jsz.Meta.Leader
	}
	for k, ns := range srv {
		if ns.Name() != leader {
			continue
		}
		// Placement needs the leader to see every other running node as
		// online: until then a stream of n replicas is refused ("no
		// suitable peers for placement, peer offline").
		if len(c.nodes) > 1 {
			jsz, err := ns.Jsz(nil)
			if err != nil || jsz.Meta == nil {
				return -1, false, fmt.Sprintf("meta leader %s: no meta group", leader)
			}
			online := 0
			for _, p := range jsz.Meta.Replicas {
				if p != nil && p.Current && !p.Offline {
					online++
				}
			}
			if online < len(srv)-1 {
				return -1, false, fmt.Sprintf("meta leader %s sees %d of %d peers online", leader, online, len(srv)-1)
			}
			// Placement also needs the leader to have had each node's
			// statistics (statsz), which come apart from the meta group's
			// state: until then the node is not selectable and an R3
			// stream was refused with "peer offline" (seen 1 in ~6 runs on
			// a loaded machine).
			if sel := len(ns.JetStreamClusterPeers()); sel < len(srv) {
				return -1, false, fmt.Sprintf("meta leader %s can place streams on %d of %d nodes", leader, sel, len(srv))
			}
		}
		return idx[k], true, ""
	}
	return -1, false, fmt.Sprintf("meta leader %q is not a running node", leader)
}

// waitFormed waits until every running node has a route to every other
// running node and they agree on a meta leader.
func (c *Cluster) waitFormed() {
	c.t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	why := ""
	for time.Now().Before(deadline) {
		_, srv := c.running()
		ok := true
		for _, ns := range srv {
			if peers := c.routedPeers(ns); peers < len(srv)-1 {
				ok, why = false, fmt.Sprintf("%s has routes to %d of %d peers", ns.Name(), peers, len(srv)-1)
				break
			}
		}
		if ok {
			if _, ok, w := c.metaLeader(); ok {
				return
			} else {
				why = w
			}
		}
		time.Sleep(pollEvery)
	}
	c.t.Fatalf("testcluster: cluster did not form within %v: %s", WaitTimeout, why)
}

// routedPeers counts the distinct servers ns has a route to.
func (c *Cluster) routedPeers(ns *server.Server) int {
	rz, err := ns.Routez(nil)
	if err != nil {
		return 0
	}
	seen := map[string]bool{}
	for _, r := range rz.Routes {
		seen[r.RemoteID] = true
	}
	return len(seen)
}

// StreamLeader waits for the stream of the global account ($G, the
// account of a server without accounts) to have a leader and returns its
// node index.
func (c *Cluster) StreamLeader(stream string) int {
	c.t.Helper()
	return c.AccountStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream)
}

// KVLeader returns the node leading the stream of KV bucket b (KV_b).
func (c *Cluster) KVLeader(bucket string) int { c.t.Helper(); return c.StreamLeader("KV_" + bucket) }

// ObjectStoreLeader returns the node leading the stream of object store
// b (OBJ_b).
func (c *Cluster) ObjectStoreLeader(bucket string) int {
	c.t.Helper()
	return c.StreamLeader("OBJ_" + bucket)
}

// AccountStreamLeader waits for a stream of the named account to have a
// leader among the running nodes and returns its node index.
func (c *Cluster) AccountStreamLeader(account, stream string) int {
	c.t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for time.Now().Before(deadline) {
		idx, srv := c.running()
		for k, ns := range srv {
			if ns.JetStreamIsStreamLeader(account, stream) || (len(c.nodes) == 1 && hasStream(ns, account, stream)) {
				return idx[k]
			}
		}
		time.Sleep(pollEvery)
	}
	c.t.Fatalf("testcluster: stream %s of account %s has no leader within %v", stream, account, WaitTimeout)
	return -1
}

// ConsumerLeader waits for a consumer of a stream of the global account
// to have a leader among the running nodes and returns its node index.
func (c *Cluster) ConsumerLeader(stream, consumer string) int {
	c.t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for time.Now().Before(deadline) {
		idx, srv := c.running()
		for k, ns := range srv {
			if ns.JetStreamIsConsumerLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream, consumer) {
				return idx[k]
			}
		}
		time.Sleep(pollEvery)
	}
	c.t.Fatalf("testcluster: consumer %s of stream %s has no leader within %v", consumer, stream, WaitTimeout)
	return -1
}

// StepDownConsumer makes the leader of a consumer (of a stream of the
// global account) hand its leadership to another node, as `nats consumer
// cluster step-down` does, and waits for the new leader, whose index it
// returns.
func (c *Cluster) StepDownConsumer(stream, consumer string) int {
	c.t.Helper()
	old := c.ConsumerLeader(stream, consumer)
	if err := c.Node(old).JetStreamStepdownConsumer(server.DEFAULT_GLOBAL_ACCOUNT, stream, consumer); err != nil {
		c.t.Fatalf("testcluster: step down consumer %s of %s on node %d: %v", consumer, stream, old, err)
	}
	deadline := time.Now().Add(WaitTimeout)
	for time.Now().Before(deadline) {
		if now := c.ConsumerLeader(stream, consumer); now != old {
			return now
		}
		time.Sleep(pollEvery)
	}
	c.t.Fatalf("testcluster: consumer %s of %s still led by node %d after a step-down", consumer, stream, old)
	return -1
}

// hasStream reports whether a standalone server (which leads every
// stream it has) has the stream.
func hasStream(ns *server.Server, account, stream string) bool {
	jsz, err := ns.Jsz(&server.JSzOptions{Account: account, Streams: true})
	if err != nil {
		return false
	}
	for _, a := range jsz.AccountDetails {
		for _, s := range a.Streams {
			if s.Name == stream {
				return true
			}
		}
	}
	return false
}

// routeConns is the number of route connections that pass through the
// harness's proxies (for the harness's own test).
func (c *Cluster) routeConns() int {
	n := 0
	for i := range c.nodes {
		n += c.adv[i].count()
		for j := range c.nodes {
			if j != i {
				n += c.pair[i][j].count()
			}
		}
	}
	return n
}

func (c *Cluster) shutdown() {
	for i := range c.nodes {
		if ns := c.take(i); ns != nil {
			ns.Shutdown()
			ns.WaitForShutdown()
		}
	}
	for i := range c.nodes {
		if c.adv[i] != nil {
			c.adv[i].close()
		}
		for j := range c.nodes {
			if p := c.pair[i][j]; p != nil {
				p.close()
			}
		}
	}
}
