package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// feedSettle bounds the wait for the stored progress events before the
// first snapshot: a feed whose events were purged under it, or that never
// sees the last of them announced, still starts.
const feedSettle = 3 * time.Second

// Feed follows a sweep live and calls fn with a snapshot: first once the
// replica records, the sweep record and the latest progress event of each
// replica stored so far have been read, then every interval (default 1 s)
// until fn returns false (Feed returns nil) or ctx ends (Feed returns ctx's
// error). fn runs on Feed's goroutine and may keep the snapshot.
//
// It reads the records through a KV watch and the progress events
// (protocol.ProgressFilter) through an ordered, ephemeral consumer that
// starts at each replica's latest event: it never touches the sweep's
// durable collector consumer, acks nothing and changes no configuration,
// so any number of feeds may follow a sweep beside its collector.
func (c *Coordinator) Feed(ctx context.Context, sweep string, interval time.Duration, fn func(*FeedSnapshot) bool) error {
	if interval <= 0 {
		interval = time.Second
	}
	s, err := c.Manifest(ctx, sweep)
	if err != nil {
		return err
	}
	st := newFeedState(s)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	kfilter, _ := protocol.ReplicaKeyFilter(sweep)
	records, err := c.kv.Watch(ctx, kfilter, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("coordinator: watch replica records of %s: %w", sweep, err)
	}
	defer func() { _ = records.Stop() }()
	skey, _ := protocol.SweepKey(sweep)
	sweeps, err := c.sw.Watch(ctx, skey, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("coordinator: watch sweep record %s: %w", sweep, err)
	}
	defer func() { _ = sweeps.Stop() }()

	pfilter, _ := protocol.ProgressFilter(sweep)
	info, err := c.evts.Info(ctx, jetstream.WithSubjectFilter(pfilter))
	if err != nil {
		return fmt.Errorf("coordinator: progress events of %s: %w", sweep, err)
	}
	cons, err := c.js.OrderedConsumer(ctx, protocol.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{pfilter}, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
	})
	if err != nil {
		return fmt.Errorf("coordinator: progress consumer of %s: %w", sweep, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("coordinator: progress consumer of %s: %w", sweep, err)
	}
	defer it.Stop()
	events := make(chan jetstream.Msg)
	go func() {
		for {
			m, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
					return
				}
				c.log.Debug("progress feed", "sweep", sweep, "error", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(fetchRetry):
				}
				continue
			}
			select {
			case events <- m:
			case <-ctx.Done():
				return
			}
		}
	}()

	recordsIn, sweepIn := false, false
	progressIn := len(info.State.Subjects) == 0
	settle := time.NewTimer(feedSettle)
	defer settle.Stop()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	ready := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-records.Updates():
			switch {
			case !ok:
				return fmt.Errorf("coordinator: watch of the replica records of %s ended", sweep)
			case e == nil:
				recordsIn = true
			case e.Operation() == jetstream.KeyValuePut:
				st.record(e.Key(), e.Value(), e.Created())
			}
		case e, ok := <-sweeps.Updates():
			switch {
			case !ok:
				return fmt.Errorf("coordinator: watch of the sweep record %s ended", sweep)
			case e == nil:
				sweepIn = true
			case e.Operation() == jetstream.KeyValuePut:
				st.sweepRecord(e.Value())
			}
		case m := <-events:
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			st.progress(m.Subject(), m.Data(), md.Timestamp)
			if md.NumPending == 0 {
				progressIn = true
			}
		case <-settle.C:
			progressIn = true
		case <-ticker.C:
			if ready && !fn(st.snapshot(time.Now())) {
				return nil
			}
		}
		if !ready && recordsIn && sweepIn && progressIn {
			ready = true
			if !fn(st.snapshot(time.Now())) {
				return nil
			}
		}
	}
}

// SweepSnapshot returns a sweep's live state once: the first snapshot of
// Feed.
func (c *Coordinator) SweepSnapshot(ctx context.Context, sweep string) (*FeedSnapshot, error) {
	var snap *FeedSnapshot
	err := c.Feed(ctx, sweep, 0, func(s *FeedSnapshot) bool {
		snap = s
		return false
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}
