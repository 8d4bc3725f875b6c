package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// SweepInfo is a sweep on the server, as List returns it.
type SweepInfo struct {
	// ID, Name, Created and Status are the sweep record's.
	ID      string               `json:"id"`
	Name    string               `json:"name"`
	Created time.Time            `json:"created"`
	Status  protocol.SweepStatus `json:"status"`
	// Replicas is the number of replicas the spec expands to; Counts
	// counts the replica records by state.
	Replicas int                    `json:"replicas"`
	Counts   map[protocol.State]int `json:"counts"`
}

// Unfinished returns the number of replicas whose record is not in a
// terminal state (pending, running or preempted).
func (s *SweepInfo) Unfinished() int {
	n := 0
	for st, k := range s.Counts {
		if !st.Terminal() {
			n += k
		}
	}
	return n
}

// List returns the sweeps recorded on the server (the sweeps bucket), the
// newest first, with their replicas counted by state. It reads only.
func (c *Coordinator) List(ctx context.Context) ([]SweepInfo, error) {
	recs, err := readAll(ctx, c.sw)
	if err != nil {
		return nil, fmt.Errorf("coordinator: read bucket %s: %w", protocol.BucketSweeps, err)
	}
	byID := map[string]*SweepInfo{}
	var out []*SweepInfo
	for key, v := range recs {
		rec, err := protocol.DecodeSweepRecord(v)
		if err != nil {
			c.log.Warn("undecodable sweep record skipped", "key", key, "error", err)
			continue
		}
		si := &SweepInfo{ID: rec.ID, Name: rec.Name, Created: rec.Created, Status: rec.Status, Replicas: rec.Replicas,
			Counts: map[protocol.State]int{}}
		byID[rec.ID] = si
		out = append(out, si)
	}
	states, err := readAll(ctx, c.kv)
	if err != nil {
		return nil, fmt.Errorf("coordinator: read bucket %s: %w", protocol.BucketReplicas, err)
	}
	for key, v := range states {
		sweep, _, err := protocol.ParseReplicaKey(key)
		if err != nil || byID[sweep] == nil {
			continue
		}
		st, err := protocol.DecodeReplicaState(v)
		if err != nil {
			continue
		}
		byID[sweep].Counts[st.State]++
	}
	slices.SortFunc(out, func(a, b *SweepInfo) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	res := make([]SweepInfo, len(out))
	for i, s := range out {
		res[i] = *s
	}
	return res, nil
}

// readAll returns the current value of every key of a bucket.
func readAll(ctx context.Context, kv jetstream.KeyValue) (map[string][]byte, error) {
	return readFiltered(ctx, kv, ">")
}

// readFiltered returns the current value of every key of a bucket that
// matches filter.
func readFiltered(ctx context.Context, kv jetstream.KeyValue, filter string) (map[string][]byte, error) {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	out := map[string][]byte{}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("watch of %s ended", filter)
			}
			if e == nil {
				return out, nil
			}
			out[e.Key()] = e.Value()
		}
	}
}

// RunningError is the error of Delete on a sweep that has unfinished
// replicas.
type RunningError struct {
	// Sweep is the sweep id; Unfinished counts its replicas that are
	// pending, running or preempted.
	Sweep      string
	Unfinished int
}

// Error says that the sweep is running and how to stop it.
func (e *RunningError) Error() string {
	return fmt.Sprintf("sweep %s is running (%d replicas not finished); cancel it first: heatbath cancel %s", e.Sweep, e.Unfinished, e.Sweep)
}

// Deleted counts what Delete removed.
type Deleted struct {
	// Records is the number of replica records, Events of events, Objects
	// of objects (checkpoints, replica files, the manifest).
	Records int    `json:"records"`
	Events  uint64 `json:"events"`
	Objects int    `json:"objects"`
	// Consumer is whether the sweep's durable collector consumer existed;
	// SweepRecord whether its sweep record did.
	Consumer    bool `json:"consumer"`
	SweepRecord bool `json:"sweep_record"`
}

// Delete removes a finished or cancelled sweep from the server: its events
// (the EVENTS stream purged by the sweep's subject filter), its durable
// collector consumer, its objects (checkpoints, replica files and
// manifest), its replica records and, last, its sweep record, so that a
// Delete that stops half-way can be run again. A sweep with a replica that
// is pending, running or preempted is refused with a *RunningError and
// nothing is removed. It changes no stream or bucket configuration.
func (c *Coordinator) Delete(ctx context.Context, sweep string) (*Deleted, error) {
	if !protocol.ValidToken(sweep) {
		return nil, fmt.Errorf("coordinator: sweep id %q is not a valid token", sweep)
	}
	skey, _ := protocol.SweepKey(sweep)
	kfilter, _ := protocol.ReplicaKeyFilter(sweep)
	efilter, _ := protocol.EventFilter(sweep)
	recs, err := readFiltered(ctx, c.kv, kfilter)
	if err != nil {
		return nil, fmt.Errorf("coordinator: read replica records of %s: %w", sweep, err)
	}
	unfinished := 0
	for key, v := range recs {
		st, err := protocol.DecodeReplicaState(v)
		if err != nil {
			return nil, fmt.Errorf("coordinator: replica record %s: %w", key, err)
		}
		if !st.State.Terminal() {
			unfinished++
		}
	}
	if unfinished > 0 {
		return nil, &RunningError{Sweep: sweep, Unfinished: unfinished}
	}
	d := &Deleted{}
	if _, err := c.sw.Get(ctx, skey); err == nil {
		d.SweepRecord = true
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("coordinator: sweep record %s: %w", sweep, err)
	}
	var objects []string
	infos, err := c.obs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, fmt.Errorf("coordinator: list object store %s: %w", protocol.BucketArtifacts, err)
	}
	for _, o := range infos {
		if strings.HasPrefix(o.Name, sweep+"/") {
			objects = append(objects, o.Name)
		}
	}
	if !d.SweepRecord && len(recs) == 0 && len(objects) == 0 {
		return nil, &NoSweepError{Sweep: sweep}
	}

	info, err := c.evts.Info(ctx, jetstream.WithSubjectFilter(efilter))
	if err != nil {
		return nil, fmt.Errorf("coordinator: stream %s: %w", protocol.StreamEvents, err)
	}
	for _, n := range info.State.Subjects {
		d.Events += n
	}
	if err := c.evts.Purge(ctx, jetstream.WithPurgeSubject(efilter)); err != nil {
		return nil, fmt.Errorf("coordinator: purge events %s: %w", efilter, err)
	}
	durable, _ := protocol.CollectorConsumer(sweep)
	switch err := c.js.DeleteConsumer(ctx, protocol.StreamEvents, durable); {
	case err == nil:
		d.Consumer = true
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return nil, fmt.Errorf("coordinator: delete consumer %s: %w", durable, err)
	}
	for _, name := range objects {
		if err := c.obs.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, fmt.Errorf("coordinator: delete object %s: %w", name, err)
		}
		d.Objects++
	}
	for key := range recs {
		if err := c.kv.Purge(ctx, key); err != nil {
			return nil, fmt.Errorf("coordinator: delete replica record %s: %w", key, err)
		}
		d.Records++
	}
	// A purge leaves a marker per key; these go too (with the markers of
	// keys deleted before, which hold nothing either).
	if d.Records > 0 {
		if err := c.kv.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(-1)); err != nil {
			return nil, fmt.Errorf("coordinator: bucket %s: %w", protocol.BucketReplicas, err)
		}
	}
	if d.SweepRecord {
		if err := c.sw.Purge(ctx, skey); err != nil {
			return nil, fmt.Errorf("coordinator: delete sweep record %s: %w", sweep, err)
		}
		if err := c.sw.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(-1)); err != nil {
			return nil, fmt.Errorf("coordinator: bucket %s: %w", protocol.BucketSweeps, err)
		}
	}
	c.log.Info("sweep deleted", "sweep", sweep, "records", d.Records, "events", d.Events, "objects", d.Objects)
	return d, nil
}
