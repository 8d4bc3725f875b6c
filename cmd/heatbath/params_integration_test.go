package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
)

// TestLargeResultFilesTravelThroughObjectStore runs a replica whose files
// exceed protocol.MaxInlineFiles (three parameter files of a 2→6000→1
// network, 190 KB each), so that the worker sends them through the object
// store: every result file arrives in the run directory, byte for byte the
// files of the same chain run in-process.
func TestLargeResultFilesTravelThroughObjectStore(t *testing.T) {
	f, err := spec.Parse("big.yaml", []byte(`
name: big
data: {kind: spiral, train: 60, validation: 20, test: 40}
model: {hidden: [6000]}
steps: 30
eval_every: 10
batch: 10
seeds: 1
methods:
  - {name: sgd, h: 0.05}
`))
	if err != nil {
		t.Fatal(err)
	}
	sw, _, err := sweepOf(f)
	if err != nil {
		t.Fatal(err)
	}
	c := startServer(t, false)
	co := c.coordinator(10*time.Second, 5, testLogger(t))
	if _, err := co.Submit(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	c.startWorker(1, time.Second, "")
	dir := filepath.Join(c.dir, "run")
	if sum := collect(t, co, sw.ID, dir, time.Minute); sum.Counts["done"] != 1 {
		t.Fatalf("counts %v", sum.Counts)
	}

	r := sw.Replicas[0]
	rep, err := train.Build(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	rep.ID = r.ID
	if err := rep.RunUntil(r.Config.Steps, nil); err != nil {
		t.Fatal(err)
	}
	want, err := rep.Artifacts(rep.Result())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range want {
		total += len(b)
	}
	if total <= protocol.MaxInlineFiles {
		t.Fatalf("the files hold %d bytes, not more than the inline limit %d: the test proves nothing", total, protocol.MaxInlineFiles)
	}
	js, _ := jetstream.New(c.conn())
	obs, err := js.ObjectStore(context.Background(), protocol.BucketArtifacts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range rundir.ResultFiles() {
		obj, _ := protocol.ArtifactObject(sw.ID, r.ID, name)
		if _, err := obs.GetInfo(context.Background(), obj); err != nil {
			t.Errorf("%s is not in the object store: %v", name, err)
		}
		if name == rundir.FileResult {
			continue // its elapsed time and speed differ between the runs
		}
		got, err := os.ReadFile(filepath.Join(dir, "replicas", r.ID, name))
		if err != nil {
			t.Errorf("collected run: %v", err)
			continue
		}
		if !bytes.Equal(got, want[name]) {
			t.Errorf("%s: %d bytes collected, differs from the in-process run's %d", name, len(got), len(want[name]))
		}
	}
	p, err := rundir.ReadParams(filepath.Join(dir, "replicas", r.ID), rundir.FileBestParams)
	if err != nil {
		t.Fatal(err)
	}
	if p.Meta.Replica != r.ID || p.Meta.Widths[1] != 6000 {
		t.Errorf("best_params.safetensors metadata %+v", p.Meta)
	}
}
