package records

import (
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// storeFailed is the JetStream API error code of a publish the stream
// refused to store (JSStreamStoreFailedF in nats-server). The server sends
// it for several causes, each with its own description, and nats.go has no
// sentinel for any of them.
const storeFailed jetstream.ErrorCode = 10077

// perSubjectLimit is the description nats-server (store.go,
// ErrMaxMsgsPerSubject) gives a storeFailed error when a stream with
// DiscardNewPerSubject already holds MaxMsgsPerSubject messages on the
// subject.
const perSubjectLimit = "maximum messages per subject exceeded"

// IsPerSubjectLimit reports whether err is the server's refusal to store a
// message because its subject already holds the stream's
// MaxMsgsPerSubject messages (with DiscardNewPerSubject). The TASKS work
// queue holds one task per replica this way, so for a task publish it
// means the replica's task is queued already. Other refusals with the same
// generic code (stream full, message too large, an I/O error) do not
// match.
func IsPerSubjectLimit(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == storeFailed && apiErr.Description == perSubjectLimit
}
