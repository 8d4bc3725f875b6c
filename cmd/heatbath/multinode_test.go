package main

// Tests on a 3-node nats-server cluster (internal/testcluster, in-process,
// loopback): the commands never change the replication of what exists.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
)

// storeStreams are the streams that hold the coordinator's streams and
// buckets (a KV bucket b lives in stream KV_b, an object store in OBJ_b).
var storeStreams = []string{protocol.StreamTasks, protocol.StreamEvents,
	"KV_" + protocol.BucketReplicas, "KV_" + protocol.BucketSweeps, "OBJ_" + protocol.BucketArtifacts}

// streamReplicas returns each store stream's configured replication;
// a missing stream has 0.
func streamReplicas(t *testing.T, js jetstream.JetStream) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := map[string]int{}
	for _, name := range storeStreams {
		s, err := js.Stream(ctx, name)
		if err != nil {
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				out[name] = 0
				continue
			}
			t.Fatalf("stream %s: %v", name, err)
		}
		out[name] = s.CachedInfo().Config.Replicas
	}
	return out
}

// requireReplicas fails unless every store stream has want replicas.
func requireReplicas(t *testing.T, js jetstream.JetStream, after string, want int) {
	t.Helper()
	for name, r := range streamReplicas(t, js) {
		if r != want {
			t.Errorf("after %s: stream %s is R%d, want R%d", after, name, r, want)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// writeSpec writes smallSpec with a name of its own and returns its path
// and sweep id.
func writeSpec(t *testing.T, dir, name string, steps, seeds, ckpt int) (string, string) {
	t.Helper()
	body := strings.Replace(fmt.Sprintf(smallSpec, steps, seeds, ckpt), "name: itest", "name: "+name, 1)
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	sw, _, err := loadSweep(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, sw.ID
}

func clusterJS(t *testing.T, tc *testcluster.Cluster) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(tc.ConnectTo(0))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestCommandsKeepClusterReplication: after `submit --stream-replicas 3`
// on a 3-node cluster, status, cancel, resume and the submit of another
// sweep without the flag leave every stream and bucket R3 (they used to
// make them R1), and a submit with a different explicit replication fails
// with the commands that would change it, changing nothing.
func TestCommandsKeepClusterReplication(t *testing.T) {
	tc := testcluster.Start(t, 3)
	urls := strings.Join(tc.URLs(), ",")
	js := clusterJS(t, tc)
	dir := t.TempDir()
	specA, idA := writeSpec(t, dir, "repla", 200, 1, 100)
	specB, _ := writeSpec(t, dir, "replb", 200, 1, 100)

	if err := runCLI(t, "submit", "--detach", "--stream-replicas", "3", "--nats", urls, specA); err != nil {
		t.Fatalf("submit --stream-replicas 3: %v", err)
	}
	requireReplicas(t, js, "submit --stream-replicas 3", 3)
	steps := []struct {
		what string
		args []string
	}{
		{"status", []string{"status", "--nats", urls, idA}},
		{"cancel", []string{"cancel", "--nats", urls, idA}},
		{"resume", []string{"resume", "--detach", "--nats", urls, idA}},
		{"submit of another sweep without --stream-replicas", []string{"submit", "--detach", "--nats", urls, specB}},
	}
	for _, s := range steps {
		if err := runCLI(t, s.args...); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		requireReplicas(t, js, s.what, 3)
	}

	err := runCLI(t, "submit", "--detach", "--stream-replicas", "1", "--nats", urls, specB)
	if err == nil {
		t.Fatal("submit --stream-replicas 1 on R3 streams succeeded; want an error")
	}
	msg := err.Error()
	for _, want := range []string{"stream TASKS is R3", "nats stream edit TASKS --replicas 1",
		"KV bucket " + protocol.BucketReplicas + " is R3", "nats stream edit KV_" + protocol.BucketReplicas + " --replicas 1",
		"object store " + protocol.BucketArtifacts + " is R3", "nats stream edit OBJ_" + protocol.BucketArtifacts + " --replicas 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line", msg)
	}
	requireReplicas(t, js, "the refused submit --stream-replicas 1", 3)
}

// TestDefaultSubmitOnFreshCluster: on a fresh 3-node cluster a status
// creates nothing (and says nothing was submitted), and a submit without
// --stream-replicas creates everything R3.
func TestDefaultSubmitOnFreshCluster(t *testing.T) {
	tc := testcluster.Start(t, 3)
	urls := strings.Join(tc.URLs(), ",")
	js := clusterJS(t, tc)
	spec, id := writeSpec(t, t.TempDir(), "fresh", 200, 1, 100)

	err := runCLI(t, "status", "--nats", urls, id)
	if err == nil || !strings.Contains(err.Error(), "does not exist on this server") {
		t.Fatalf("status on a fresh cluster: %v; want an error saying the streams do not exist", err)
	}
	requireReplicas(t, js, "status on a fresh cluster", 0)

	if err := runCLI(t, "submit", "--detach", "--nats", urls, spec); err != nil {
		t.Fatalf("submit: %v", err)
	}
	requireReplicas(t, js, "a default submit on a fresh 3-node cluster", 3)
}
