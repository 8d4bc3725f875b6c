package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// A publish or request that the server refuses for lack of permission is
// dropped by the server, which tells the client only with an asynchronous
// error ("Permissions Violation for Publish to <subject>"): the call
// itself waits for a reply that never comes and fails as a timeout, the
// same way as a call to a stream without a leader. Retrying it cannot help
// (the worker's credentials are wrong for this cluster), and counting it
// against the replica would fail healthy replicas one worker at a time.
// So the worker watches its connection's asynchronous errors: the first
// permission violation cancels every NATS call in flight, ends the
// attempt that made it (its task is handed back at once, counted as a
// preemption), and stops the worker, whose Run returns the server's
// one-line error naming the subject.

// watchDenials chains a handler of the connection's asynchronous errors
// that records the first permission violation (see above); the handler
// that was set keeps being called.
func (w *Worker) watchDenials() {
	w.denied, w.deny = context.WithCancelCause(context.Background())
	prev := w.nc.ErrorHandler()
	w.nc.SetErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) {
			w.deny(err)
		}
		if prev != nil {
			prev(nc, sub, err)
		}
	})
}

// deniedErr returns the permission violation the server reported, or nil.
func (w *Worker) deniedErr() error {
	if w == nil || w.denied == nil || w.denied.Err() == nil {
		return nil
	}
	return context.Cause(w.denied)
}

// bound returns the context of one NATS call: parent with a timeout of d,
// cancelled as well when the server reports a permission violation.
func (w *Worker) bound(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, d)
	if w == nil || w.denied == nil {
		return ctx, cancel
	}
	stop := context.AfterFunc(w.denied, cancel)
	return ctx, func() { stop(); cancel() }
}

// deniedOp returns, when the server reported a permission violation, the
// error of the operation what: one line naming the operation and, in the
// server's words, the subject refused. It returns nil otherwise.
func (w *Worker) deniedOp(what string) error {
	if err := w.deniedErr(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
