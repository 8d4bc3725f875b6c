package records

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
)

// TestIsPerSubjectLimit publishes to real streams: a second message on a
// subject of a work queue configured as TASKS is (one per subject, discard
// new per subject) matches; the other refusals the server sends with the
// same generic code (a full stream) and other errors (a message too large,
// no stream) do not.
func TestIsPerSubjectLimit(t *testing.T) {
	js := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: protocol.StreamTasks, Subjects: []string{protocol.TaskSubjects},
		Retention: jetstream.WorkQueuePolicy, MaxMsgsPerSubject: 1, Discard: jetstream.DiscardNew, DiscardNewPerSubject: true,
	}); err != nil {
		t.Fatal(err)
	}
	subj, _ := protocol.TaskSubject("cpu", "s1", "r1")
	if _, err := js.Publish(ctx, subj, []byte("1")); err != nil {
		t.Fatal(err)
	}
	_, err := js.Publish(ctx, subj, []byte("2"))
	if !IsPerSubjectLimit(err) {
		t.Fatalf("second task on a subject: %v; want the per-subject limit", err)
	}
	other, _ := protocol.TaskSubject("cpu", "s1", "r2")
	if _, err := js.Publish(ctx, other, []byte("1")); err != nil {
		t.Fatalf("a task on another subject: %v", err)
	}

	// The same code for other causes.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "FULL", Subjects: []string{"full.>"}, MaxMsgs: 1, Discard: jetstream.DiscardNew, MaxMsgSize: 16,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "full.a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	var apiErr *jetstream.APIError
	_, full := js.Publish(ctx, "full.b", []byte("2"))
	if !errors.As(full, &apiErr) || apiErr.ErrorCode != storeFailed {
		t.Fatalf("publish to a full stream: %v; the test expects code %d", full, storeFailed)
	}
	_, large := js.Publish(ctx, "full.c", []byte(strings.Repeat("x", 64)))
	if !errors.As(large, &apiErr) {
		t.Fatalf("publish of a message too large: %v; the test expects an API error", large)
	}
	for name, err := range map[string]error{
		"stream full": full, "message too large": large, "nil": nil,
		"no stream":  func() error { _, err := js.Publish(ctx, "nowhere.x", nil); return err }(),
		"plain text": errors.New("maximum messages per subject exceeded"),
	} {
		if IsPerSubjectLimit(err) {
			t.Errorf("%s (%v) taken for the per-subject limit", name, err)
		}
	}
}
