package coordinator

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// objectGetTry bounds one read of an object (a manifest, a result file).
// nats.go reads an object through an ordered consumer; when the node that
// serves it dies mid-read (a leader election on a cluster), the read was
// seen to hang until its context ended, minutes later. Objects here are
// at most a few MB, read in milliseconds on a healthy cluster.
const objectGetTry = 15 * time.Second

// apiTry bounds a JetStream API request of the collector (the events
// consumer's creation and info, the records watch's creation, the record
// reads that fence results, a replay's consumer, the object lookups of a
// reconcile, the prune decisions' reads and writes): a request sent while
// a stream or consumer elects a leader may never be answered, and the
// collector's context has no deadline. Each failed request is retried by
// the collector's state. A variable for tests.
var apiTry = 10 * time.Second

// objectGetRetry is the pause between two tries.
const objectGetRetry = 500 * time.Millisecond

// getObject reads an object of the artifact store, trying again with a
// fresh deadline after a read that failed or timed out, until ctx ends.
// A missing object is reported at once (jetstream.ErrObjectNotFound).
func (c *Coordinator) getObject(ctx context.Context, name string) ([]byte, error) {
	return retryTries(ctx, c, objectGetTry, objectGetRetry, func(err error) bool { return errors.Is(err, jetstream.ErrObjectNotFound) },
		"reading an object failed; trying again", []any{"object", name},
		func(tctx context.Context) ([]byte, error) { return c.obs.GetBytes(tctx, name) })
}

// retryTries calls try, each time under a fresh deadline of per, until it
// succeeds, final says its error is not worth another try, or ctx ends;
// it returns the last try's outcome. Between tries it logs warn (with kv,
// the pause and the error) and waits pause.
func retryTries[T any](ctx context.Context, c *Coordinator, per, pause time.Duration, final func(error) bool,
	warn string, kv []any, try func(context.Context) (T, error)) (T, error) {
	for {
		tctx, cancel := context.WithTimeout(ctx, per)
		v, err := try(tctx)
		cancel()
		if err == nil || final(err) || ctx.Err() != nil {
			return v, err
		}
		c.log.Warn(warn, append(slices.Clone(kv), "retry", pause, "error", err)...)
		select {
		case <-ctx.Done():
			var zero T
			return zero, err
		case <-time.After(pause):
		}
	}
}
