package records

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Error codes of the JetStream API that nats.go does not name.
const (
	// clusterNotAvail is "JetStream system temporarily unavailable" (503):
	// the cluster has no meta leader, or the stream no quorum.
	clusterNotAvail jetstream.ErrorCode = 10008
	// clusterNotLeader is "JetStream cluster can not handle request" (500).
	clusterNotLeader jetstream.ErrorCode = 10009
)

// Unavailable reports whether err is what a JetStream request returns
// while the stream, bucket or consumer it addresses has no leader, or
// while the server cannot reach it: no responders, no response from the
// stream, a timeout of the request or of its context, a client that is
// disconnected or reconnecting, or the API's 503 "JetStream system
// temporarily unavailable" and "cluster can not handle request". Such a
// request may succeed if made again after the election. A permission
// violation is never unavailable, although the server answers a denied
// request with silence (see Denied).
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, nats.ErrPermissionViolation) {
		return false
	}
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrNoHeartbeat) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting) {
		return true
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code == 503 || api.ErrorCode == clusterNotAvail || api.ErrorCode == clusterNotLeader
	}
	return false
}
