package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
)

// csvSweep writes a CSV of two features and a label, and a spec next to
// it naming it by a relative path, in a new folder; it returns the sweep
// as the command line builds it.
func csvSweep(t *testing.T, name string) *coordinator.Sweep {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for i := range 120 {
		x, y := float64(i%11)/10-0.5, float64((i*7)%13)/12-0.5
		label := 0
		if x*y > 0 {
			label = 1
		}
		fmt.Fprintf(&b, "%.3f,%.3f,%d\n", x, y, label)
	}
	if err := os.WriteFile(filepath.Join(dir, "points.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(`
name: %s
data: {kind: csv, path: points.csv, train: 80, validation: 20, test: 20}
model: {hidden: [6]}
steps: 200
eval_every: 50
batch: 10
seeds: 2
methods:
  - name: adam
    lr: 0.01
`, name)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := spec.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	sw, _, err := sweepOf(f)
	if err != nil {
		t.Fatal(err)
	}
	return sw
}

// TestDataTravelsWithTheSweep: a sweep whose CSV is moved away after
// submission still runs on a worker (the file comes from the object
// store), with the same files as chains run in-process from the file; a
// data object whose contents do not match the hash fails every replica
// with invalid_config.
func TestDataTravelsWithTheSweep(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // a fresh data cache for the workers
	c := startServer(t, false)
	co := c.coordinator(0, 0, testLogger(t))
	ctx := context.Background()

	sw := csvSweep(t, "csvok")
	path := sw.Replicas[0].Config.Data.Path
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	away := path + ".away"
	if err := os.Rename(path, away); err != nil {
		t.Fatal(err)
	}
	stop := c.startWorker(2, time.Second, "w")
	sum := collect(t, co, sw.ID, filepath.Join(c.dir, "ok"), time.Minute)
	stop()
	if n := sum.Counts[rundir.StatusDone]; n != len(sw.Replicas) {
		t.Fatalf("%d of %d replicas done: %+v", n, len(sw.Replicas), sum.Replicas)
	}
	if err := os.Rename(away, path); err != nil {
		t.Fatal(err)
	}
	checkRunMatchesLocal(t, sw, filepath.Join(c.dir, "ok"))

	// A corrupted object: the stored file is replaced by other bytes
	// (and the cache is fresh, so the worker fetches it).
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bad := csvSweep(t, "csvbad")
	if _, err := co.Submit(ctx, bad); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(c.conn())
	obs, err := js.ObjectStore(ctx, protocol.BucketArtifacts)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := protocol.DataObject(bad.Replicas[0].Config.Data.SHA256)
	if _, err := obs.PutBytes(ctx, name, []byte("0.1,0.2,0\n")); err != nil {
		t.Fatal(err)
	}
	c.startWorker(2, time.Second, "w2")
	sum = collect(t, co, bad.ID, filepath.Join(c.dir, "bad"), time.Minute)
	for _, r := range sum.Replicas {
		if r.State != string(protocol.StateFailed) || r.ErrorCode != "invalid_config" || !strings.Contains(r.Error, "does not match its hash") {
			t.Errorf("replica %s: state %s code %q error %q; want failed invalid_config, data does not match its hash", r.ID, r.State, r.ErrorCode, r.Error)
		}
	}
}
