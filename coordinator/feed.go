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
//
// A watch or consumer that ends under it (a node of the cluster died, the
// server was restarted, a stream was lost and made again) is set up again
// every fetchRetry until it is: the watches from the start (every record
// again, which the state takes idempotently), the consumer from the time of
// the last event seen (stream sequences restart with a stream made again,
// times do not); the snapshots carry on meanwhile with what was known. Only
// setting them up the first time fails Feed. (The client library rides
// through most node deaths by itself; it ends a watch or consumer when the
// server answers that the stream is gone.)
func (c *Coordinator) Feed(ctx context.Context, sweep string, interval time.Duration, fn func(*FeedSnapshot) bool) error {
	return c.feed(ctx, sweep, interval, false, fn)
}

// FeedHistory is Feed reading every progress event the sweep has stored,
// not only each replica's latest: the snapshots' curves (FeedReplica.Curve)
// then start at the replicas' first evaluations, also when the feed starts
// mid-sweep. It reads more at the start (an event per progress report of
// each replica so far); the first snapshot waits for them up to
// feedSettle, and the rest arrive in the following snapshots.
func (c *Coordinator) FeedHistory(ctx context.Context, sweep string, interval time.Duration, fn func(*FeedSnapshot) bool) error {
	return c.feed(ctx, sweep, interval, true, fn)
}

func (c *Coordinator) feed(ctx context.Context, sweep string, interval time.Duration, history bool, fn func(*FeedSnapshot) bool) error {
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
	records := &feedWatch{kv: c.kv, filter: kfilter, what: "replica records of " + sweep}
	if err := records.start(ctx); err != nil {
		return fmt.Errorf("coordinator: watch %s: %w", records.what, err)
	}
	defer records.stop()
	skey, _ := protocol.SweepKey(sweep)
	sweeps := &feedWatch{kv: c.sw, filter: skey, what: "sweep record " + sweep}
	if err := sweeps.start(ctx); err != nil {
		return fmt.Errorf("coordinator: watch %s: %w", sweeps.what, err)
	}
	defer sweeps.stop()

	pfilter, _ := protocol.ProgressFilter(sweep)
	info, err := c.evts.Info(ctx, jetstream.WithSubjectFilter(pfilter))
	if err != nil {
		return fmt.Errorf("coordinator: progress events of %s: %w", sweep, err)
	}
	events := make(chan jetstream.Msg)
	progressEnded := make(chan error, 1)
	var lastEvent time.Time          // server time of the latest progress event received
	var it jetstream.MessagesContext // the current iterator, stopped here only
	defer func() {
		if it != nil {
			it.Stop()
		}
	}()
	followProgress := func() error {
		var err error
		if it, err = c.progressIterator(ctx, pfilter, lastEvent, history); err != nil {
			return err
		}
		go func(it jetstream.MessagesContext) {
			for {
				m, err := it.Next()
				if err != nil {
					progressEnded <- err
					return
				}
				select {
				case events <- m:
				case <-ctx.Done():
					progressEnded <- ctx.Err()
					return
				}
			}
		}(it)
		return nil
	}
	if err := followProgress(); err != nil {
		return fmt.Errorf("coordinator: progress consumer of %s: %w", sweep, err)
	}
	progressUp := true

	// retry fires fetchRetry after a watch or the consumer ended, to set
	// up again whatever is down; nil while everything is up.
	var retry <-chan time.Time
	// down notes that a source ended (lost) or could not be set up again
	// (logged at debug level: it is retried every fetchRetry).
	down := func(what string, err error, lost bool) {
		if lost {
			c.log.Warn("live feed lost its source; setting it up again", "sweep", sweep, "source", what, "error", err)
		} else {
			c.log.Debug("live feed source not back yet", "sweep", sweep, "source", what, "error", err)
		}
		if retry == nil {
			retry = time.After(fetchRetry)
		}
	}

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
		case e, ok := <-records.updates():
			switch {
			case !ok:
				records.ended()
				down(records.what, errFeedWatchEnded, true)
			case e == nil:
				recordsIn = true
			default:
				if e.Operation() == jetstream.KeyValuePut {
					st.record(e.Key(), e.Value(), e.Created())
				}
			}
		case e, ok := <-sweeps.updates():
			switch {
			case !ok:
				sweeps.ended()
				down(sweeps.what, errFeedWatchEnded, true)
			case e == nil:
				sweepIn = true
			default:
				if e.Operation() == jetstream.KeyValuePut {
					st.sweepRecord(e.Value())
				}
			}
		case m := <-events:
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			lastEvent = later(lastEvent, md.Timestamp)
			st.progress(m.Subject(), m.Data(), md.Timestamp)
			if md.NumPending == 0 {
				progressIn = true
			}
		case err := <-progressEnded:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			progressUp = false
			it.Stop()
			it = nil
			down("progress events of "+sweep, err, true)
		case <-retry:
			retry = nil
			for _, w := range []*feedWatch{records, sweeps} {
				if !w.up() {
					if err := w.start(ctx); err != nil {
						down(w.what, err, false)
					} else {
						c.log.Info("live feed source back", "sweep", sweep, "source", w.what)
					}
				}
			}
			if !progressUp {
				if err := followProgress(); err != nil {
					down("progress events of "+sweep, err, false)
				} else {
					progressUp = true
					c.log.Info("live feed source back", "sweep", sweep, "source", "progress events of "+sweep)
				}
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

// errFeedWatchEnded is why a KV watch was set up again: its updates
// channel closed (the library closes it when its ordered consumer cannot be
// recreated).
var errFeedWatchEnded = errors.New("watch ended")

// progressIterator returns an iterator over the progress events of
// filter: when since is zero, every event stored (history) or each
// subject's latest; else every event stored since then (the one at since
// again, which the state ignores).
func (c *Coordinator) progressIterator(ctx context.Context, filter string, since time.Time, history bool) (jetstream.MessagesContext, error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy}
	switch {
	case !since.IsZero():
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	case history:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	cons, err := c.js.OrderedConsumer(ctx, protocol.StreamEvents, cfg)
	if err != nil {
		return nil, err
	}
	return cons.Messages()
}

// feedWatch is a KV watch of the feed that can be set up again after it
// ended.
type feedWatch struct {
	kv     jetstream.KeyValue
	filter string
	what   string // "replica records of <sweep>", for messages
	w      jetstream.KeyWatcher
}

// start sets up the watch: the latest entry of each key, then the updates.
func (f *feedWatch) start(ctx context.Context) error {
	w, err := f.kv.Watch(ctx, f.filter, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	f.w = w
	return nil
}

// updates returns the watch's updates, nil (never ready) while it is down.
func (f *feedWatch) updates() <-chan jetstream.KeyValueEntry {
	if f.w == nil {
		return nil
	}
	return f.w.Updates()
}

func (f *feedWatch) up() bool { return f.w != nil }

// ended takes note that the watch's updates closed.
func (f *feedWatch) ended() {
	_ = f.w.Stop()
	f.w = nil
}

func (f *feedWatch) stop() {
	if f.w != nil {
		_ = f.w.Stop()
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
