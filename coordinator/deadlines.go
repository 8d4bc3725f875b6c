package coordinator

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// objectGetTry bounds one read of an object (a manifest, a result file).
// nats.go reads an object through an ordered consumer; when the node that
// serves it dies mid-read (a leader election on a cluster), the read was
// seen to hang until its context ended, minutes later. Objects here are
// at most a few MB, read in milliseconds on a healthy cluster.
const objectGetTry = 15 * time.Second

// apiTry bounds a JetStream API request of the collection loop (a
// consumer info): a request sent while a stream or consumer elects a
// leader may never be answered, and the collector's context has no
// deadline. A variable for tests.
var apiTry = 10 * time.Second

// objectGetRetry is the pause between two tries.
const objectGetRetry = 500 * time.Millisecond

// getObject reads an object of the artifact store, trying again with a
// fresh deadline after a read that failed or timed out, until ctx ends.
// A missing object is reported at once (jetstream.ErrObjectNotFound).
func (c *Coordinator) getObject(ctx context.Context, name string) ([]byte, error) {
	for {
		tctx, cancel := context.WithTimeout(ctx, objectGetTry)
		b, err := c.obs.GetBytes(tctx, name)
		cancel()
		if err == nil || errors.Is(err, jetstream.ErrObjectNotFound) || ctx.Err() != nil {
			return b, err
		}
		c.log.Warn("reading an object failed; trying again", "object", name, "error", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(objectGetRetry):
		}
	}
}
