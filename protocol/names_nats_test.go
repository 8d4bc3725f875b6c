package protocol

import (
	"strings"
	"testing"
)

// TestNATSNames checks the names of JetStream's own subjects and of the
// project's consumers that are built here rather than by hand elsewhere.
func TestNATSNames(t *testing.T) {
	tests := []struct {
		name string
		fn   func() (string, error)
		want string
	}{
		{"SweepTaskFilter", func() (string, error) { return SweepTaskFilter("cpu", "s1") }, "hb.task.cpu.s1.>"},
		{"CollectorConsumer", func() (string, error) { return CollectorConsumer("s1") }, "collect-s1"},
		{"KVStream", func() (string, error) { return KVStream(BucketReplicas) }, "KV_hb_replicas"},
		{"KVKeySubject", func() (string, error) { return KVKeySubject(BucketReplicas, "s1.r1") }, "$KV.hb_replicas.s1.r1"},
		{"StreamMsgGetSubject", func() (string, error) { return StreamMsgGetSubject("KV_hb_replicas") }, "$JS.API.STREAM.MSG.GET.KV_hb_replicas"},
		{"MaxDeliveriesAdvisory", func() (string, error) { return MaxDeliveriesAdvisory(StreamTasks, "workers-cpu") },
			"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.TASKS.workers-cpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn()
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	bad := []struct {
		name string
		fn   func() (string, error)
		want string
	}{
		{"SweepTaskFilter", func() (string, error) { return SweepTaskFilter("cpu", "s.1") }, `sweep "s.1" is not a valid token`},
		{"CollectorConsumer", func() (string, error) { return CollectorConsumer(">") }, `sweep ">" is not a valid token`},
		{"KVStream", func() (string, error) { return KVStream("a.b") }, `bucket "a.b" is not a valid token`},
		{"KVKeySubject key", func() (string, error) { return KVKeySubject(BucketReplicas, "s1.>") }, `key part ">" is not a valid token`},
		{"KVKeySubject empty", func() (string, error) { return KVKeySubject(BucketReplicas, "") }, `key is empty`},
		{"StreamMsgGetSubject", func() (string, error) { return StreamMsgGetSubject("*") }, `stream "*" is not a valid token`},
		{"MaxDeliveriesAdvisory", func() (string, error) { return MaxDeliveriesAdvisory(StreamTasks, "a b") }, `consumer "a b" is not a valid token`},
	}
	for _, tt := range bad {
		t.Run(tt.name+" bad", func(t *testing.T) {
			got, err := tt.fn()
			if err == nil || !strings.Contains(err.Error(), tt.want) || CodeOf(err) != CodeInvalid {
				t.Fatalf("got %q, %v; want an invalid error containing %q", got, err, tt.want)
			}
		})
	}
}
