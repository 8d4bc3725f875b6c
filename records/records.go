// Package records is the one store of Heatbath's replica and sweep records:
// the ReplicaStates of the hb_replicas KV bucket and the SweepRecords of
// hb_sweeps (package protocol defines both). Coordinator and worker read
// and write them only through a Store.
//
// A replica record is written only by compare-and-set on its revision,
// after protocol.CheckTransition has accepted the move. Reads come in
// three strengths: Get (a KV direct get, which any replica of a clustered
// bucket may answer, so possibly behind), GetLeader (answered by the
// leader of the bucket's stream: the latest value) and ReadAtLeast (reads
// until the revision is at least one the caller wrote: read-your-writes).
//
// Errors name the record and match, with errors.Is, this package's
// sentinels (ErrNotFound, ErrExists, ErrConflict, ErrBehind) and the
// nats.go sentinels they come from (jetstream.ErrKeyNotFound,
// jetstream.ErrKeyExists, jetstream.ErrKeyRevisionMismatch). A transition
// that protocol.CheckTransition refuses is its *protocol.Error (code
// CodeStale for a superseded writer, CodeInvalid otherwise), and nothing is
// written.
package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// The errors of a Store, matched with errors.Is.
var (
	// ErrNotFound: the record does not exist. It comes with
	// jetstream.ErrKeyNotFound when the bucket said so.
	ErrNotFound = errors.New("record not found")
	// ErrExists: Create found the record already there (with
	// jetstream.ErrKeyExists).
	ErrExists = errors.New("record exists")
	// ErrConflict: a compare-and-set found the record at another
	// revision: someone else wrote it since it was read (with
	// jetstream.ErrKeyRevisionMismatch).
	ErrConflict = errors.New("record changed since it was read")
	// ErrBehind: ReadAtLeast saw only revisions older than the one asked
	// for until its wait ran out.
	ErrBehind = errors.New("record read behind a known write")
)

// Store reads and writes replica and sweep records.
type Store struct {
	js       jetstream.JetStream
	replicas jetstream.KeyValue
	sweeps   jetstream.KeyValue
}

// New returns a store over the buckets given: replicas is the
// protocol.BucketReplicas bucket; sweeps the protocol.BucketSweeps bucket,
// or nil for a caller that never touches sweep records (the sweep methods
// then return an error). js serves the leader reads.
func New(js jetstream.JetStream, replicas, sweeps jetstream.KeyValue) *Store {
	return &Store{js: js, replicas: replicas, sweeps: sweeps}
}

// Open binds to the existing record buckets; it creates nothing.
func Open(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	replicas, err := js.KeyValue(ctx, protocol.BucketReplicas)
	if err != nil {
		return nil, fmt.Errorf("records: bucket %s: %w", protocol.BucketReplicas, err)
	}
	sweeps, err := js.KeyValue(ctx, protocol.BucketSweeps)
	if err != nil {
		return nil, fmt.Errorf("records: bucket %s: %w", protocol.BucketSweeps, err)
	}
	return New(js, replicas, sweeps), nil
}

// replicaKey returns the key of a replica's record.
func replicaKey(sweep, replica string) (string, error) {
	key, err := protocol.ReplicaKey(sweep, replica)
	if err != nil {
		return "", fmt.Errorf("records: %w", err)
	}
	return key, nil
}

// Get reads a replica's record and its revision with a KV get. On a
// clustered bucket any replica of the bucket may answer, and a lagging
// one returns an older record: use GetLeader or ReadAtLeast when that
// matters.
func (s *Store) Get(ctx context.Context, sweep, replica string) (*protocol.ReplicaState, uint64, error) {
	key, err := replicaKey(sweep, replica)
	if err != nil {
		return nil, 0, err
	}
	e, err := s.replicas.Get(ctx, key)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, 0, fmt.Errorf("records: replica %s: %w: %w", key, ErrNotFound, err)
		}
		return nil, 0, fmt.Errorf("records: read replica %s: %w", key, err)
	}
	return decodeReplica(key, e.Value(), e.Revision())
}

func decodeReplica(key string, b []byte, rev uint64) (*protocol.ReplicaState, uint64, error) {
	st, err := protocol.DecodeReplicaState(b)
	if err != nil {
		return nil, 0, fmt.Errorf("records: replica %s at revision %d: %w", key, rev, err)
	}
	return st, rev, nil
}

// msgGetNotFound is the JetStream API error code of a message get that
// found no message (JSNoMessageFoundErr).
const msgGetNotFound = 10037

// GetLeader reads a replica's record from the leader of the bucket's
// stream: the latest value. nats.go reads KV buckets (which allow direct
// gets) only through direct gets, so this is a hand-built
// $JS.API.STREAM.MSG.GET request (protocol.StreamMsgGetSubject), which only
// the stream's leader answers. It fails while the stream has no leader.
func (s *Store) GetLeader(ctx context.Context, sweep, replica string) (*protocol.ReplicaState, uint64, error) {
	key, err := replicaKey(sweep, replica)
	if err != nil {
		return nil, 0, err
	}
	stream, _ := protocol.KVStream(protocol.BucketReplicas)
	subj, _ := protocol.StreamMsgGetSubject(stream)
	keySubj, err := protocol.KVKeySubject(protocol.BucketReplicas, key)
	if err != nil {
		return nil, 0, fmt.Errorf("records: %w", err)
	}
	req, err := json.Marshal(struct {
		LastBySubject string `json:"last_by_subj"`
	}{keySubj})
	if err != nil {
		return nil, 0, fmt.Errorf("records: read replica %s from the leader: %w", key, err)
	}
	msg, err := s.js.Conn().RequestWithContext(ctx, subj, req)
	if err != nil {
		return nil, 0, fmt.Errorf("records: read replica %s from the leader: %w", key, err)
	}
	var resp struct {
		Message *struct {
			Seq  uint64 `json:"seq"`
			Data []byte `json:"data"`
		} `json:"message"`
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, 0, fmt.Errorf("records: read replica %s from the leader: %w", key, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == msgGetNotFound {
			return nil, 0, fmt.Errorf("records: replica %s: %w: %w", key, ErrNotFound, resp.Error)
		}
		return nil, 0, fmt.Errorf("records: read replica %s from the leader: %w", key, resp.Error)
	}
	if resp.Message == nil {
		return nil, 0, fmt.Errorf("records: read replica %s from the leader: empty response", key)
	}
	return decodeReplica(key, resp.Message.Data, resp.Message.Seq)
}

// readPause is the pause between the reads of ReadAtLeast.
const readPause = 5 * time.Millisecond

// ReadAtLeast reads a replica's record until its revision is at least rev
// (read-your-writes, for a caller that wrote revision rev), with Get, for
// up to wait. A read that stays behind is an error matching ErrBehind; a
// newer revision is returned as it is (someone else wrote since).
func (s *Store) ReadAtLeast(ctx context.Context, sweep, replica string, rev uint64, wait time.Duration) (*protocol.ReplicaState, uint64, error) {
	deadline := time.Now().Add(wait)
	for {
		st, got, err := s.Get(ctx, sweep, replica)
		if err != nil {
			return nil, 0, err
		}
		if got >= rev {
			return st, got, nil
		}
		if !time.Now().Before(deadline) {
			return nil, 0, fmt.Errorf("records: replica %s.%s: revision %d read, %d written, after %v: %w", sweep, replica, got, rev, wait, ErrBehind)
		}
		t := time.NewTimer(readPause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, 0, ctx.Err()
		case <-t.C:
		}
	}
}

// Create writes a replica's first record; an existing record is an error
// matching ErrExists and jetstream.ErrKeyExists. It returns the revision.
func (s *Store) Create(ctx context.Context, sweep, replica string, st protocol.ReplicaState) (uint64, error) {
	key, err := replicaKey(sweep, replica)
	if err != nil {
		return 0, err
	}
	b, err := protocol.Encode(&st)
	if err != nil {
		return 0, fmt.Errorf("records: replica %s: %w", key, err)
	}
	rev, err := s.replicas.Create(ctx, key, b)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return 0, fmt.Errorf("records: replica %s: %w: %w", key, ErrExists, err)
		}
		return 0, fmt.Errorf("records: create replica %s: %w", key, err)
	}
	return rev, nil
}

// CompareAndSet replaces the record prev, read at revision rev, with next,
// stamped with the current time, and returns the new revision. It writes
// nothing when protocol.CheckTransition refuses the move (its
// *protocol.Error is returned); a record changed since rev is an error
// matching ErrConflict and jetstream.ErrKeyRevisionMismatch.
func (s *Store) CompareAndSet(ctx context.Context, sweep, replica string, prev *protocol.ReplicaState, rev uint64, next protocol.ReplicaState) (uint64, error) {
	key, err := replicaKey(sweep, replica)
	if err != nil {
		return 0, err
	}
	next.Updated = time.Now().UTC()
	if err := protocol.CheckTransition(*prev, next); err != nil {
		return 0, fmt.Errorf("records: replica %s: %w", key, err)
	}
	b, err := protocol.Encode(&next)
	if err != nil {
		return 0, fmt.Errorf("records: replica %s: %w", key, err)
	}
	nrev, err := s.replicas.Update(ctx, key, b, rev)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return 0, fmt.Errorf("records: replica %s at revision %d: %w: %w", key, rev, ErrConflict, err)
		}
		return 0, fmt.Errorf("records: update replica %s: %w", key, err)
	}
	return nrev, nil
}

// updateTries bounds Update's compare-and-set attempts.
const updateTries = 10

// Update moves a replica's record by compare-and-set: it reads the record,
// lets change edit a copy (change returns false to leave the record alone)
// and writes it with CompareAndSet, again after a conflict, up to
// updateTries times with a growing pause. After a conflict it reads from
// the stream's leader, since on a clustered bucket the conflict may come
// from a lagging read; when the leader cannot answer it reads as before.
// It reports whether it wrote.
func (s *Store) Update(ctx context.Context, sweep, replica string, change func(*protocol.ReplicaState) bool) (bool, error) {
	leader := false
	for try := 0; try < updateTries; try++ {
		var (
			st  *protocol.ReplicaState
			rev uint64
			err error
		)
		if leader {
			st, rev, err = s.GetLeader(ctx, sweep, replica)
		}
		if !leader || err != nil {
			if st, rev, err = s.Get(ctx, sweep, replica); err != nil {
				return false, err
			}
		}
		next := *st
		if !change(&next) {
			return false, nil
		}
		_, err = s.CompareAndSet(ctx, sweep, replica, st, rev, next)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, ErrConflict) {
			return false, err
		}
		leader = true
		t := time.NewTimer(time.Duration(try+1) * 10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
	}
	return false, fmt.Errorf("records: replica %s.%s: %d writes in a row lost to concurrent updates: %w", sweep, replica, updateTries, ErrConflict)
}

// Watch watches the replica records of a sweep: their current values, a
// nil entry, then every change (jetstream.KeyValue.Watch).
func (s *Store) Watch(ctx context.Context, sweep string) (jetstream.KeyWatcher, error) {
	filter, err := protocol.ReplicaKeyFilter(sweep)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	w, err := s.replicas.Watch(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("records: watch the replicas of %s: %w", sweep, err)
	}
	return w, nil
}

// sweepBucket returns the sweeps bucket, or an error when the store has
// none.
func (s *Store) sweepBucket() (jetstream.KeyValue, error) {
	if s.sweeps == nil {
		return nil, fmt.Errorf("records: no %s bucket in this store", protocol.BucketSweeps)
	}
	return s.sweeps, nil
}

// CreateSweep writes a sweep's record; an existing record is an error
// matching ErrExists and jetstream.ErrKeyExists.
func (s *Store) CreateSweep(ctx context.Context, rec *protocol.SweepRecord) (uint64, error) {
	kv, err := s.sweepBucket()
	if err != nil {
		return 0, err
	}
	key, err := protocol.SweepKey(rec.ID)
	if err != nil {
		return 0, fmt.Errorf("records: %w", err)
	}
	b, err := protocol.Encode(rec)
	if err != nil {
		return 0, fmt.Errorf("records: sweep %s: %w", key, err)
	}
	rev, err := kv.Create(ctx, key, b)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return 0, fmt.Errorf("records: sweep %s: %w: %w", key, ErrExists, err)
		}
		return 0, fmt.Errorf("records: create sweep %s: %w", key, err)
	}
	return rev, nil
}

// GetSweep reads a sweep's record and its revision (a KV get, possibly
// behind on a clustered bucket).
func (s *Store) GetSweep(ctx context.Context, sweep string) (*protocol.SweepRecord, uint64, error) {
	kv, err := s.sweepBucket()
	if err != nil {
		return nil, 0, err
	}
	key, err := protocol.SweepKey(sweep)
	if err != nil {
		return nil, 0, fmt.Errorf("records: %w", err)
	}
	e, err := kv.Get(ctx, key)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, 0, fmt.Errorf("records: sweep %s: %w: %w", key, ErrNotFound, err)
		}
		return nil, 0, fmt.Errorf("records: read sweep %s: %w", key, err)
	}
	rec, err := protocol.DecodeSweepRecord(e.Value())
	if err != nil {
		return nil, 0, fmt.Errorf("records: sweep %s at revision %d: %w", key, e.Revision(), err)
	}
	return rec, e.Revision(), nil
}

// SetSweepStatus sets the status of a sweep's record by compare-and-set,
// again after a conflict (up to updateTries times), and reports whether it
// wrote (false when the record had the status already).
func (s *Store) SetSweepStatus(ctx context.Context, sweep string, status protocol.SweepStatus) (bool, error) {
	if !status.Valid() {
		return false, fmt.Errorf("records: sweep %s: status %q is not a sweep status", sweep, status)
	}
	for try := 0; try < updateTries; try++ {
		rec, rev, err := s.GetSweep(ctx, sweep)
		if err != nil {
			return false, err
		}
		if rec.Status == status {
			return false, nil
		}
		rec.Status = status
		b, err := protocol.Encode(rec)
		if err != nil {
			return false, fmt.Errorf("records: sweep %s: %w", sweep, err)
		}
		if _, err = s.sweeps.Update(ctx, sweep, b, rev); err == nil {
			return true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return false, fmt.Errorf("records: update sweep %s: %w", sweep, err)
		}
		t := time.NewTimer(time.Duration(try+1) * 10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
	}
	return false, fmt.Errorf("records: sweep %s: %d writes in a row lost to concurrent updates: %w", sweep, updateTries, ErrConflict)
}
