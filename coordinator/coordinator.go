// Package coordinator hands out the replicas of a sweep to workers over NATS
// JetStream and gathers their results into a run directory.
//
// All state lives in JetStream, so a coordinator can stop and restart at
// any time: the TASKS work-queue stream holds one pending task per replica
// (MaxMsgsPerSubject 1, DiscardNewPerSubject), the hb_replicas KV bucket
// holds each replica's state (changed only by compare-and-set), the EVENTS
// stream holds progress, trajectory chunks, results and failures, and the
// hb_artifacts object store holds checkpoints, replica files and the sweep
// manifest. Collect replays the events of a sweep through a durable
// consumer, so a restarted coordinator continues where it stopped.
package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// Config configures a coordinator. Zero values mean the documented
// defaults.
type Config struct {
	// Pool is the worker pool the tasks go to; default "cpu".
	Pool string
	// AckWait is how long a task may go without a heartbeat before it is
	// redelivered to another worker; default 30s.
	AckWait time.Duration
	// MaxDeliver is the number of deliveries before a task counts as poison
	// and its replica fails; default 20. It is the last resort: workers
	// fail a replica after protocol.MaxBadAttempts attempts lost or ended
	// in errors, and deliveries handed back during leader elections must
	// not use it up.
	MaxDeliver int
	// Replicas is the JetStream replication factor of the streams and
	// buckets Setup creates; 0 (unset) lets Setup choose (see Setup). A
	// set value that differs from an existing stream's makes Setup fail.
	Replicas int
	// Logger receives the coordinator's logs; default a null logger.
	Logger hclog.Logger
}

// Coordinator submits sweeps and collects their results.
type Coordinator struct {
	cfg   Config
	nc    *nats.Conn
	js    jetstream.JetStream
	log   hclog.Logger
	tasks jetstream.Stream
	evts  jetstream.Stream
	kv    jetstream.KeyValue
	sw    jetstream.KeyValue
	obs   jetstream.ObjectStore
}

// New returns a coordinator on nc; call Setup (submit, run) or Open
// (status, cancel, resume) before anything else.
func New(nc *nats.Conn, cfg Config) (*Coordinator, error) {
	if cfg.Pool == "" {
		cfg.Pool = "cpu"
	}
	if !protocol.ValidToken(cfg.Pool) {
		return nil, fmt.Errorf("coordinator: pool %q is not a valid token", cfg.Pool)
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = 20
	}
	if cfg.Replicas < 0 {
		return nil, fmt.Errorf("coordinator: stream replicas %d: want 1 or more, or 0 to choose", cfg.Replicas)
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("coordinator: jetstream: %w", err)
	}
	return &Coordinator{cfg: cfg, nc: nc, js: js, log: cfg.Logger.Named("coordinator")}, nil
}

// waitJetStream waits for JetStream to answer an account info, since the
// first calls on a fresh cluster can hang until its meta leader is
// elected.
func (c *Coordinator) waitJetStream(ctx context.Context) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.js.AccountInfo(actx)
		cancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return fmt.Errorf("coordinator: JetStream is not enabled on this server: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("coordinator: JetStream not available: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// store is one of the streams and buckets the coordinator works with.
type store struct {
	kind string // "stream", "KV bucket", "object store"
	name string
	// bind binds c to the existing store and returns its replication and
	// the name of the stream that holds it; an error that is
	// jetstream.ErrStreamNotFound or ErrBucketNotFound means it does not
	// exist.
	bind func(ctx context.Context) (replicas int, stream string, err error)
	// create creates it with r replicas and binds c to it; an error that
	// is ErrStreamNameAlreadyInUse or ErrBucketExists means another
	// process created it meanwhile.
	create func(ctx context.Context, r int) error
}

// stores lists the streams and buckets with their configurations. The
// configurations apply only when Setup creates them: nothing changes
// those that exist.
func (c *Coordinator) stores() []store {
	streamInfo := func(s jetstream.Stream) (int, string, error) {
		info := s.CachedInfo()
		return info.Config.Replicas, info.Config.Name, nil
	}
	kvInfo := func(ctx context.Context, kv jetstream.KeyValue) (int, string, error) {
		st, err := kv.Status(ctx)
		if err != nil {
			return 0, "", err
		}
		bs, ok := st.(*jetstream.KeyValueBucketStatus)
		if !ok || bs.StreamInfo() == nil {
			return 0, "", fmt.Errorf("KV bucket %s: no stream information", kv.Bucket())
		}
		return bs.StreamInfo().Config.Replicas, bs.StreamInfo().Config.Name, nil
	}
	return []store{
		{kind: "stream", name: protocol.StreamTasks,
			bind: func(ctx context.Context) (r int, name string, err error) {
				if c.tasks, err = c.js.Stream(ctx, protocol.StreamTasks); err != nil {
					return 0, "", err
				}
				return streamInfo(c.tasks)
			},
			create: func(ctx context.Context, r int) (err error) {
				c.tasks, err = c.js.CreateStream(ctx, jetstream.StreamConfig{
					Name: protocol.StreamTasks, Subjects: []string{protocol.TaskSubjects},
					Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Replicas: r,
					MaxMsgsPerSubject: 1, Discard: jetstream.DiscardNew, DiscardNewPerSubject: true,
					Duplicates: 10 * time.Minute,
				})
				return err
			}},
		{kind: "stream", name: protocol.StreamEvents,
			bind: func(ctx context.Context) (r int, name string, err error) {
				if c.evts, err = c.js.Stream(ctx, protocol.StreamEvents); err != nil {
					return 0, "", err
				}
				return streamInfo(c.evts)
			},
			create: func(ctx context.Context, r int) (err error) {
				c.evts, err = c.js.CreateStream(ctx, jetstream.StreamConfig{
					Name: protocol.StreamEvents, Subjects: []string{protocol.EventSubjects},
					Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: r,
					MaxAge: 30 * 24 * time.Hour, Duplicates: 2 * time.Minute,
				})
				return err
			}},
		{kind: "KV bucket", name: protocol.BucketReplicas,
			bind: func(ctx context.Context) (r int, name string, err error) {
				if c.kv, err = c.js.KeyValue(ctx, protocol.BucketReplicas); err != nil {
					return 0, "", err
				}
				return kvInfo(ctx, c.kv)
			},
			create: func(ctx context.Context, r int) (err error) {
				c.kv, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
					Bucket: protocol.BucketReplicas, History: 10, Storage: jetstream.FileStorage, Replicas: r,
				})
				return err
			}},
		{kind: "KV bucket", name: protocol.BucketSweeps,
			bind: func(ctx context.Context) (r int, name string, err error) {
				if c.sw, err = c.js.KeyValue(ctx, protocol.BucketSweeps); err != nil {
					return 0, "", err
				}
				return kvInfo(ctx, c.sw)
			},
			create: func(ctx context.Context, r int) (err error) {
				c.sw, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
					Bucket: protocol.BucketSweeps, History: 5, Storage: jetstream.FileStorage, Replicas: r,
				})
				return err
			}},
		{kind: "object store", name: protocol.BucketArtifacts,
			bind: func(ctx context.Context) (r int, name string, err error) {
				if c.obs, err = c.js.ObjectStore(ctx, protocol.BucketArtifacts); err != nil {
					return 0, "", err
				}
				st, err := c.obs.Status(ctx)
				if err != nil {
					return 0, "", err
				}
				bs, ok := st.(*jetstream.ObjectBucketStatus)
				if !ok || bs.StreamInfo() == nil {
					return 0, "", fmt.Errorf("object store %s: no stream information", protocol.BucketArtifacts)
				}
				return bs.StreamInfo().Config.Replicas, bs.StreamInfo().Config.Name, nil
			},
			create: func(ctx context.Context, r int) (err error) {
				c.obs, err = c.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
					Bucket: protocol.BucketArtifacts, Storage: jetstream.FileStorage, Replicas: r,
				})
				return err
			}},
	}
}

func notFound(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound)
}

func alreadyExists(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || errors.Is(err, jetstream.ErrBucketExists)
}

// Open binds the coordinator to the existing streams and buckets without
// creating or changing any: status, cancel and resume use it, so that they
// cannot reconfigure a cluster. (Collect still creates a sweep's own
// durable collector consumer, which resume needs.) It fails when the
// server has none of them (nothing was submitted there).
func (c *Coordinator) Open(ctx context.Context) error {
	if err := c.waitJetStream(ctx); err != nil {
		return err
	}
	for _, s := range c.stores() {
		if _, _, err := s.bind(ctx); err != nil {
			if notFound(err) {
				return fmt.Errorf("coordinator: %s %s does not exist on this server: nothing was submitted here (heatbath submit creates it)", s.kind, s.name)
			}
			return fmt.Errorf("coordinator: open %s %s: %w", s.kind, s.name, err)
		}
	}
	return nil
}

// Server error codes of a stream that cannot be placed with the requested
// replication (nats-server's JSClusterNoPeersErrF,
// JSInsufficientResourcesErr and JSStreamReplicasNotSupportedErr).
const (
	errCodeNoPeers               = 10005
	errCodeInsufficientResources = 10023
	errCodeReplicasNotSupported  = 10074
)

// cannotPlace reports whether err says the server cannot place a stream
// with as many replicas as requested.
func cannotPlace(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode {
	case errCodeNoPeers, errCodeInsufficientResources, errCodeReplicasNotSupported:
		return true
	}
	return false
}

// maxAutoReplicas caps the replication chosen for a cluster: R3 survives
// the loss of one node; more replicas cost writes and buy little here.
const maxAutoReplicas = 3

// Setup binds the coordinator to the streams and buckets and creates the
// missing ones, then creates or updates the pool's worker consumer; submit
// and run use it. It never changes the replication or limits of a stream
// or bucket that exists.
//
// Replication of what it creates: Config.Replicas when set; otherwise that
// of the streams and buckets that exist already (the largest), and on a
// fresh server the cluster's size capped at 3 as JetStream's placement
// sees it (see autoReplicas), 1 on a single server. An explicit
// Config.Replicas that differs from the replication of an existing stream
// or bucket is an error naming it and the nats CLI command that changes
// it; nothing is created then.
func (c *Coordinator) Setup(ctx context.Context) error {
	if err := c.waitJetStream(ctx); err != nil {
		return err
	}
	stores := c.stores()
	var missing []store
	var mismatch []string
	have := 0
	for _, s := range stores {
		r, stream, err := s.bind(ctx)
		switch {
		case notFound(err):
			missing = append(missing, s)
			continue
		case err != nil:
			return fmt.Errorf("coordinator: open %s %s: %w", s.kind, s.name, err)
		}
		have = max(have, r)
		if c.cfg.Replicas > 0 && r != c.cfg.Replicas {
			mismatch = append(mismatch, fmt.Sprintf("%s %s is R%d (nats stream edit %s --replicas %d)", s.kind, s.name, r, stream, c.cfg.Replicas))
		} else if c.cfg.Replicas == 0 {
			c.log.Debug("keeping the replication of an existing store", "kind", s.kind, "name", s.name, "replicas", r)
		}
	}
	if len(mismatch) > 0 {
		return fmt.Errorf("coordinator: %d replicas requested, but %s; heatbath never changes existing streams: change them with those commands or leave the replication unset",
			c.cfg.Replicas, strings.Join(mismatch, ", "))
	}
	if have > 0 && c.cfg.Replicas == 0 {
		c.log.Info("streams and buckets exist; keeping their replication", "replicas", have)
	}
	r := c.cfg.Replicas
	if r == 0 {
		r = have
	}
	for i, s := range missing {
		var err error
		if r == 0 && i == 0 {
			// Nothing exists and nothing was asked for: the first
			// creation finds the replication the cluster can place.
			r, err = c.autoReplicas(ctx, s)
		} else {
			err = s.create(ctx, r)
		}
		if alreadyExists(err) {
			// Another coordinator created it meanwhile: keep its.
			var got int
			if got, _, err = s.bind(ctx); err == nil && c.cfg.Replicas > 0 && got != c.cfg.Replicas {
				err = fmt.Errorf("created meanwhile by another process with R%d, not R%d", got, c.cfg.Replicas)
			}
		}
		if err != nil {
			return fmt.Errorf("coordinator: create %s %s: %w", s.kind, s.name, err)
		}
		c.log.Info("created", "kind", s.kind, "name", s.name, "replicas", r)
	}
	name, _ := protocol.WorkerConsumer(c.cfg.Pool)
	filter, _ := protocol.TaskFilter(c.cfg.Pool)
	if _, err := c.js.CreateOrUpdateConsumer(ctx, protocol.StreamTasks, jetstream.ConsumerConfig{
		Durable: name, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: c.cfg.AckWait, MaxDeliver: c.cfg.MaxDeliver,
	}); err != nil {
		return fmt.Errorf("coordinator: create consumer %s: %w", name, err)
	}
	return nil
}

// autoReplicas creates s with the cluster's size capped at 3 and returns
// the replication it got. A client cannot ask a normal account for the
// number of peers (JetStream's account info has none; the server and meta
// group reports need the system account; the connect URLs a server
// gossips are missing when advertising is off), so the size is what
// JetStream's placement accepts: on a server in a cluster (its INFO names
// one) s is created with 3 replicas, then 2, then 1 while the server
// answers that it cannot place that many. A single server gets 1 at once.
// A 3-node cluster with a node down gets R2, with a warning.
func (c *Coordinator) autoReplicas(ctx context.Context, s store) (int, error) {
	if c.nc.ConnectedClusterName() == "" {
		return 1, s.create(ctx, 1)
	}
	var err error
	for r := maxAutoReplicas; r >= 1; r-- {
		if err = s.create(ctx, r); err == nil || !cannotPlace(err) {
			if err == nil && r < maxAutoReplicas {
				c.log.Warn("the cluster placed fewer replicas than 3; with all nodes up, raise them with nats stream edit STREAM --replicas 3",
					"cluster", c.nc.ConnectedClusterName(), "replicas", r)
			}
			return r, err
		}
	}
	return 0, err
}

// AckWait returns the configured ack wait, which workers use to pace
// their heartbeats.
func (c *Coordinator) AckWait() time.Duration { return c.cfg.AckWait }
