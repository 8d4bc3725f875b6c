package records

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// CreatePrune stores a successive-halving decision under its
// protocol.PruneKey, before anyone acts on it. A decision is written once:
// when the key exists (a decision of another coordinator, or of this one
// before a restart), the stored decision is returned with created false,
// and it is the one that counts.
func (s *Store) CreatePrune(ctx context.Context, d *protocol.PruneDecision) (stored *protocol.PruneDecision, created bool, err error) {
	key, err := protocol.PruneKey(d.Sweep, d.Replica, d.Milestone)
	if err != nil {
		return nil, false, fmt.Errorf("records: %w", err)
	}
	b, err := protocol.Encode(d)
	if err != nil {
		return nil, false, fmt.Errorf("records: prune decision %s: %w", key, err)
	}
	if _, err := s.replicas.Create(ctx, key, b); err == nil {
		return d, true, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, false, fmt.Errorf("records: create prune decision %s: %w", key, err)
	}
	e, err := s.replicas.Get(ctx, key)
	if err != nil {
		return nil, false, fmt.Errorf("records: read prune decision %s: %w", key, err)
	}
	got, err := protocol.DecodePruneDecision(e.Value())
	if err != nil {
		return nil, false, fmt.Errorf("records: prune decision %s at revision %d: %w", key, e.Revision(), err)
	}
	return got, false, nil
}

// PruneLog returns the stored successive-halving decisions of a sweep in
// the order they were taken (Seq). An undecodable entry is an error: a log
// with a hole would be replayed wrong.
func (s *Store) PruneLog(ctx context.Context, sweep string) ([]protocol.PruneDecision, error) {
	filter, err := protocol.PruneKeyFilter(sweep)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	lister, err := s.replicas.ListKeysFiltered(ctx, filter)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("records: list prune decisions of %s: %w", sweep, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var out []protocol.PruneDecision
	for _, key := range keys {
		e, err := s.replicas.Get(ctx, key)
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue // deleted since it was listed
			}
			return nil, fmt.Errorf("records: read prune decision %s: %w", key, err)
		}
		d, err := protocol.DecodePruneDecision(e.Value())
		if err != nil {
			return nil, fmt.Errorf("records: prune decision %s at revision %d: %w", key, e.Revision(), err)
		}
		out = append(out, *d)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// Prune records a replica pruned (reason in its Error), unless it is
// already in a terminal state; it reports whether it wrote.
func (s *Store) Prune(ctx context.Context, sweep, replica, reason string) (bool, error) {
	return s.Update(ctx, sweep, replica, func(x *protocol.ReplicaState) bool {
		if x.State.Terminal() {
			return false
		}
		x.State, x.ErrorCode, x.Error = protocol.StatePruned, protocol.CodeUnknown, reason
		return true
	})
}
