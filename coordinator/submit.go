package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
)

// Replica is one replica of a sweep, as the spec expanded it.
type Replica = protocol.ReplicaInfo

// Sweep is a submission: the canonical spec and its expansion. It is
// stored as the sweep's manifest (sweep.json of the run directory).
type Sweep struct {
	Version  int       `json:"version"`
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	SpecHash string    `json:"spec_hash"`
	Spec     string    `json:"spec"`
	Created  time.Time `json:"created"`
	Replicas []Replica `json:"replicas"`
	// CheckpointEvery and CheckpointSeconds set the workers' checkpoint
	// cadence; ProgressEvery the steps between progress events.
	CheckpointEvery   int64   `json:"checkpoint_every"`
	CheckpointSeconds float64 `json:"checkpoint_seconds"`
	ProgressEvery     int64   `json:"progress_every"`
	// Prune is the sweep's successive halving (nil: none); a following
	// coordinator's collector applies it (prunestate.go).
	Prune *protocol.PruneConfig `json:"prune,omitempty"`
}

func manifestObject(sweep string) string {
	name, _ := protocol.ArtifactObject(sweep, "sweep", "sweep.json")
	return name
}

// Submit records the sweep and enqueues one task per replica. Submitting
// the same sweep again is a no-op for replicas that already exist, so it is
// safe to repeat; it returns the number of tasks enqueued.
func (c *Coordinator) Submit(ctx context.Context, s *Sweep) (int, error) {
	if !protocol.ValidToken(s.ID) {
		return 0, fmt.Errorf("coordinator: sweep id %q is not a valid token", s.ID)
	}
	if len(s.Replicas) == 0 {
		return 0, fmt.Errorf("coordinator: sweep %s has no replicas", s.ID)
	}
	if s.Created.IsZero() {
		s.Created = time.Now().UTC()
	}
	s.Version = 1
	if err := c.storeData(ctx, s); err != nil {
		return 0, err
	}
	man, err := json.Marshal(s)
	if err != nil {
		return 0, err
	}
	rec := &protocol.SweepRecord{ID: s.ID, Name: s.Name, Spec: s.Spec, SpecHash: s.SpecHash,
		Replicas: len(s.Replicas), Created: s.Created, Status: protocol.SweepRunning}
	recs := c.recs()
	if _, err := recs.CreateSweep(ctx, rec); err != nil && !errors.Is(err, records.ErrExists) {
		return 0, fmt.Errorf("coordinator: %w", err)
	}
	if _, err := c.obs.PutBytes(ctx, manifestObject(s.ID), man); err != nil {
		return 0, fmt.Errorf("coordinator: store manifest: %w", err)
	}
	n, err := forEachReplica(ctx, s, func(r *Replica) (bool, error) {
		st := protocol.ReplicaState{State: protocol.StatePending, Steps: r.Config.Steps, Updated: time.Now().UTC()}
		if _, err := recs.Create(ctx, s.ID, r.ID, st); err != nil {
			if errors.Is(err, records.ErrExists) {
				return false, nil // resubmission: the replica exists already
			}
			return false, fmt.Errorf("coordinator: %w", err)
		}
		if err := c.enqueue(ctx, s, r, 0); err != nil {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		return n, err
	}
	c.log.Info("sweep submitted", "sweep", s.ID, "replicas", len(s.Replicas), "enqueued", n)
	return n, nil
}

// submitConcurrency is the number of replicas Submit and Resume record and
// enqueue at once: each is two acknowledged JetStream writes, each a quorum
// round trip on a cluster, so one at a time takes ~2 ms a replica on the
// local 3-node cluster (1.1 s for 500) and seconds for a few thousand;
// 16 at a time took 0.21 s for 500 (docs/benchmarks.md).
const submitConcurrency = 16

// forEachReplica calls fn for every replica of s, submitConcurrency at a
// time, and returns how many calls returned true. After an error it starts
// no more calls and returns the first error.
func forEachReplica(ctx context.Context, s *Sweep, fn func(r *Replica) (bool, error)) (int, error) {
	var (
		mu       sync.Mutex
		n        int
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, submitConcurrency)
	for i := range s.Replicas {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(r *Replica) {
			defer func() { <-sem; wg.Done() }()
			ok, err := fn(r)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if ok {
				n++
			}
		}(&s.Replicas[i])
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return n, firstErr
}

// enqueue publishes a replica's task. A task still pending for the
// replica makes this a no-op (the stream holds one per replica).
func (c *Coordinator) enqueue(ctx context.Context, s *Sweep, r *Replica, gen int) error {
	return c.publishTask(ctx, s, r, protocol.MsgID(s.ID, r.ID, gen, "task", 0))
}

// publishTask publishes a replica's task with the given message id (the
// stream drops a second message of one id within its duplicate window, and
// a second task of a replica while one is queued).
func (c *Coordinator) publishTask(ctx context.Context, s *Sweep, r *Replica, msgID string) error {
	subj, err := protocol.TaskSubject(c.cfg.Pool, s.ID, r.ID)
	if err != nil {
		return err
	}
	task := &protocol.Task{Sweep: s.ID, Replica: r.ID, Index: r.Index, Group: r.Group, Config: r.Config,
		CheckpointEvery: s.CheckpointEvery, CheckpointSeconds: s.CheckpointSeconds,
		ProgressEvery: s.ProgressEvery, SpecHash: s.SpecHash}
	if s.Prune != nil {
		task.PublishAt = s.Prune.MilestoneSteps(r.Config.Steps)
	}
	if task.Group == "" {
		task.Group = "all"
	}
	b, err := protocol.Encode(task)
	if err != nil {
		return fmt.Errorf("coordinator: task %s: %w", r.ID, err)
	}
	_, err = c.js.Publish(ctx, subj, b, jetstream.WithMsgID(msgID))
	if records.IsPerSubjectLimit(err) {
		return nil // the replica's task is queued already
	}
	if err != nil {
		return fmt.Errorf("coordinator: enqueue %s: %w", r.ID, err)
	}
	return nil
}

// Manifest returns a submitted sweep's manifest.
func (c *Coordinator) Manifest(ctx context.Context, sweep string) (*Sweep, error) {
	b, err := c.getObject(ctx, manifestObject(sweep))
	if err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, &NoSweepError{Sweep: sweep}
		}
		return nil, fmt.Errorf("coordinator: read manifest of %s: %w", sweep, err)
	}
	var s Sweep
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("coordinator: manifest of %s: %w", sweep, err)
	}
	return &s, nil
}

// ReplicaStatus is a replica's state as recorded in KV.
type ReplicaStatus struct {
	Replica
	State protocol.ReplicaState
}

// Status returns every replica's state, in grid order.
func (c *Coordinator) Status(ctx context.Context, sweep string) ([]ReplicaStatus, error) {
	s, err := c.Manifest(ctx, sweep)
	if err != nil {
		return nil, err
	}
	out := make([]ReplicaStatus, 0, len(s.Replicas))
	recs := c.recs()
	for _, r := range s.Replicas {
		st, _, err := recs.Get(ctx, sweep, r.ID)
		if err != nil {
			return nil, fmt.Errorf("coordinator: %w", err)
		}
		out = append(out, ReplicaStatus{Replica: r, State: *st})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// recs returns the store of the replica and sweep records.
func (c *Coordinator) recs() *records.Store { return records.New(c.js, c.kv, c.sw) }

// Resume re-enqueues every replica of the sweep that is not done (or
// pruned) and has no task pending: failed and cancelled replicas become pending again.
// It is safe to repeat and returns the number of tasks enqueued.
func (c *Coordinator) Resume(ctx context.Context, sweep string) (int, error) {
	s, err := c.Manifest(ctx, sweep)
	if err != nil {
		return 0, err
	}
	c.markSweep(ctx, sweep, protocol.SweepRunning)
	recs := c.recs()
	n, err := forEachReplica(ctx, s, func(r *Replica) (bool, error) {
		st, _, err := recs.Get(ctx, sweep, r.ID)
		if err != nil {
			return false, fmt.Errorf("coordinator: %w", err)
		}
		switch st.State {
		case protocol.StateDone, protocol.StatePruned:
			return false, nil
		case protocol.StateFailed, protocol.StateCancelled:
			if _, err := recs.Update(ctx, sweep, r.ID, func(x *protocol.ReplicaState) bool {
				if x.State != protocol.StateFailed && x.State != protocol.StateCancelled {
					return false
				}
				x.State, x.ErrorCode, x.Error = protocol.StatePending, protocol.CodeUnknown, ""
				return true
			}); err != nil {
				return false, fmt.Errorf("coordinator: %w", err)
			}
		}
		// pending, running, preempted: re-publishing is a no-op while a
		// task is queued, and restores a task that was lost.
		if err := c.enqueue(ctx, s, r, st.Attempt+1); err != nil {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		return n, err
	}
	c.log.Info("sweep resumed", "sweep", sweep, "replicas", n)
	return n, nil
}

// RequeuePreempted makes the tasks of a sweep's preempted replicas (a
// worker checkpointed them and handed them back as it stopped) deliverable
// at once, and returns how many it requeued. Their task messages are still
// in the stream, but a server restarted after the hand-back (the embedded
// default run again after Ctrl-C) delivered them again only once their ack
// wait (30 s by default) had passed: 20 s of idle measured on the demo
// sweep (our reading: the old delivery is restored as pending and the
// worker's nak did not survive the restart). RequeuePreempted deletes each
// such queued message and publishes the task again.
//
// Only for a caller that knows no worker holds these tasks: the embedded
// default before it starts its workers. Elsewhere a worker that had just
// taken the redelivered task would see it replaced; its attempt is fenced
// by the record, so nothing would be lost but work.
func (c *Coordinator) RequeuePreempted(ctx context.Context, sweep string) (int, error) {
	s, err := c.Manifest(ctx, sweep)
	if err != nil {
		return 0, err
	}
	recs := c.recs()
	return forEachReplica(ctx, s, func(r *Replica) (bool, error) {
		st, _, err := recs.Get(ctx, sweep, r.ID)
		if err != nil {
			return false, fmt.Errorf("coordinator: %w", err)
		}
		if st.State != protocol.StatePreempted {
			return false, nil
		}
		subj, err := protocol.TaskSubject(c.cfg.Pool, sweep, r.ID)
		if err != nil {
			return false, err
		}
		msg, err := c.tasks.GetLastMsgForSubject(ctx, subj)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return false, fmt.Errorf("coordinator: requeue %s: %w", r.ID, err)
		default:
			if err := c.tasks.DeleteMsg(ctx, msg.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				return false, fmt.Errorf("coordinator: requeue %s: %w", r.ID, err)
			}
		}
		// Its own message id: the stream may remember the id of the task
		// Resume just tried to publish beside the queued one.
		if err := c.publishTask(ctx, s, r, protocol.MsgID(s.ID, r.ID, st.Attempt+1, "requeue", 0)); err != nil {
			return false, err
		}
		return true, nil
	})
}

// Cancel stops the sweep: queued tasks are removed, running workers are
// told to abandon the sweep's replicas, and every replica that is not
// finished becomes cancelled. Finished replicas and their files are kept.
func (c *Coordinator) Cancel(ctx context.Context, sweep string) error {
	s, err := c.Manifest(ctx, sweep)
	if err != nil {
		return err
	}
	c.markSweep(ctx, sweep, protocol.SweepCancelled)
	subj, _ := protocol.CancelSubject(sweep)
	if err := c.nc.Publish(subj, nil); err != nil {
		return fmt.Errorf("coordinator: broadcast cancel: %w", err)
	}
	filter, err := protocol.SweepTaskFilter(c.cfg.Pool, sweep)
	if err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	if err := c.tasks.Purge(ctx, jetstream.WithPurgeSubject(filter)); err != nil {
		return fmt.Errorf("coordinator: purge tasks: %w", err)
	}
	recs := c.recs()
	for _, r := range s.Replicas {
		if _, err := recs.Update(ctx, sweep, r.ID, func(x *protocol.ReplicaState) bool {
			if x.State.Terminal() {
				return false
			}
			x.State, x.ErrorCode, x.Error = protocol.StateCancelled, protocol.CodeCancelled, "sweep cancelled"
			return true
		}); err != nil {
			return fmt.Errorf("coordinator: %w", err)
		}
	}
	c.log.Info("sweep cancelled", "sweep", sweep)
	return nil
}

// markSweep sets the status of the sweep's record (best effort: the record
// is informational; replica records are the state that matters).
func (c *Coordinator) markSweep(ctx context.Context, sweep string, status protocol.SweepStatus) {
	if _, err := c.recs().SetSweepStatus(ctx, sweep, status); err != nil {
		c.log.Warn("cannot update the sweep record", "sweep", sweep, "status", status, "error", err)
	}
}
