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
	// buckets: 1 on a single server (the default), 3 on a cluster.
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

// New returns a coordinator on nc; call Setup before anything else.
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
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
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

// Setup creates (or updates) the streams, buckets and the pool's worker
// consumer. It waits for JetStream to answer first, since the first calls
// on a fresh cluster can hang until its meta leader is elected.
func (c *Coordinator) Setup(ctx context.Context) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.js.AccountInfo(actx)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("coordinator: JetStream not available: %w", err)
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
	var err error
	r := c.cfg.Replicas
	if c.tasks, err = c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: protocol.StreamTasks, Subjects: []string{protocol.TaskSubjects},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Replicas: r,
		MaxMsgsPerSubject: 1, Discard: jetstream.DiscardNew, DiscardNewPerSubject: true,
		Duplicates: 10 * time.Minute,
	}); err != nil {
		return fmt.Errorf("coordinator: create stream %s: %w", protocol.StreamTasks, err)
	}
	if c.evts, err = c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: protocol.StreamEvents, Subjects: []string{protocol.EventSubjects},
		Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: r,
		MaxAge: 30 * 24 * time.Hour, Duplicates: 2 * time.Minute,
	}); err != nil {
		return fmt.Errorf("coordinator: create stream %s: %w", protocol.StreamEvents, err)
	}
	if c.kv, err = c.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: protocol.BucketReplicas, History: 10, Storage: jetstream.FileStorage, Replicas: r,
	}); err != nil {
		return fmt.Errorf("coordinator: create bucket %s: %w", protocol.BucketReplicas, err)
	}
	if c.sw, err = c.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: protocol.BucketSweeps, History: 5, Storage: jetstream.FileStorage, Replicas: r,
	}); err != nil {
		return fmt.Errorf("coordinator: create bucket %s: %w", protocol.BucketSweeps, err)
	}
	if c.obs, err = c.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: protocol.BucketArtifacts, Storage: jetstream.FileStorage, Replicas: r,
	}); err != nil {
		return fmt.Errorf("coordinator: create object store %s: %w", protocol.BucketArtifacts, err)
	}
	name, _ := protocol.WorkerConsumer(c.cfg.Pool)
	filter, _ := protocol.TaskFilter(c.cfg.Pool)
	cons, err := c.js.CreateOrUpdateConsumer(ctx, protocol.StreamTasks, jetstream.ConsumerConfig{
		Durable: name, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: c.cfg.AckWait, MaxDeliver: c.cfg.MaxDeliver,
	})
	if err != nil {
		// AckWait and MaxDeliver cannot change on an existing consumer.
		return fmt.Errorf("coordinator: create consumer %s (an existing consumer keeps its ack wait and max deliver; delete it to change them): %w", name, err)
	}
	_ = cons
	return nil
}

// AckWait returns the configured ack wait, which workers use to pace
// their heartbeats.
func (c *Coordinator) AckWait() time.Duration { return c.cfg.AckWait }
