package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
)

// exchangeSpec is one AdLaLa exchange set of 4 chains (issue 13) with
// swaps every 500 steps and checkpoints every 1,000.
const exchangeSpec = `
name: xtest
data: {kind: spiral, train: 100, validation: 40, test: 100}
model: {hidden: [12]}
steps: 30000
eval_every: 500
batch: 10
seeds: 1
temperatures: [1e-4, 1e-3, 1e-2, 1e-1]
exchange: {every: 500, energy: full}
methods:
  - name: adlala
    h: 0.25
checkpoint: {every: 1000}
`

// TestWorkerKilledMidExchangeSetResumesIdentically kills a worker process
// with SIGKILL in the middle of an exchange set, after swaps and a
// checkpoint; a new worker resumes the set from the checkpoint, and every
// file of the replica (trajectory, parameters, the exchange files with the
// swap record and every chain's trajectory) equals an uninterrupted
// in-process run.
func TestWorkerKilledMidExchangeSetResumesIdentically(t *testing.T) {
	f, err := spec.Parse("xtest.yaml", []byte(exchangeSpec))
	if err != nil {
		t.Fatal(err)
	}
	sw, _, err := sweepOf(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(sw.Replicas) != 1 || sw.Replicas[0].Config.Exchange == nil {
		t.Fatalf("want one exchange set, got %d replicas", len(sw.Replicas))
	}
	c := startServer(t, true)
	co := c.coordinator(2*time.Second, 5, testLogger(t))
	if _, err := co.Submit(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	cmd, _, read := checkpointedWorker(t, c, sw, 3000, 2*time.Minute)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	after := *read()
	if after.Step >= sw.Replicas[0].Config.Steps {
		t.Fatalf("the set finished before the kill (step %d)", after.Step)
	}
	c.startWorker(1, 300*time.Millisecond, "replacement")
	dir := filepath.Join(c.dir, "run")
	sum := collect(t, co, sw.ID, dir, 3*time.Minute)
	if sum.Counts["done"] != 1 || sum.Replicas[0].Attempts != 2 {
		t.Fatalf("counts %v, attempts %d; want 1 done after 2 attempts", sum.Counts, sum.Replicas[0].Attempts)
	}
	checkRunMatchesLocal(t, sw, dir)

	// The exchange files against an in-process run.
	r := sw.Replicas[0]
	local, err := train.Build(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	local.ID = r.ID
	if err := local.RunUntil(r.Config.Steps, nil); err != nil {
		t.Fatal(err)
	}
	files, err := local.Artifacts(local.Result())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range rundir.ExchangeResultFiles() {
		got, err := os.ReadFile(filepath.Join(dir, "replicas", r.ID, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, files[name]) {
			t.Errorf("%s differs from the uninterrupted in-process run", name)
		}
	}
	ex, err := rundir.ReadExchange(filepath.Join(dir, "replicas", r.ID))
	if err != nil {
		t.Fatal(err)
	}
	var swaps int64
	for _, p := range ex.Pairs {
		swaps += p.Accepted
	}
	t.Logf("killed after the checkpoint at step %d of %d; %d swaps accepted in the set; files identical", after.Step, r.Config.Steps, swaps)
	if swaps == 0 {
		t.Error("no swap was accepted: the test does not show that the swap state resumes")
	}
}
