package worker_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/embedded"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/records"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
)

// pruneSpec: eight replicas run one after the other (one worker slot)
// and reach the milestone (step 5,120 of 51,200; the first evaluation
// past it is at 5,500) in the order their tasks were queued, which Submit
// does not fix. A replica has 103 rows, fewer than a chunk, and no
// checkpoint or lease renewal falls within its run: only the milestone
// (Task.PublishAt) makes the worker publish rows before the end, and only
// the prune signal can stop it. Without either, a pruned replica runs to
// the end. With keep 0.01 only a replica that is the best so far goes
// on, so some replica is pruned unless the eight arrive in strictly
// improving order (1 in 8! = 40,320 orders).
const pruneSpec = `
name: prune
data: {kind: spiral, train: 200, validation: 40, test: 100}
model: {hidden: [64]}
steps: 51200
eval_every: 500
batch: 10
seeds: 4
methods:
  - name: adam
    lr: 0.01
  - name: sgd
    lr: 0.001
checkpoint: {seconds: 3600}
prune: {metric: val_loss, at: [0.1], keep: 0.01, among: all}
`

// TestWorkerStopsAPrunedReplica runs a pruned sweep on the embedded
// server with a real worker: every replica the collector prunes ends
// pruned, not failed, with its trajectory kept from the start to at least
// the milestone and stopped before its last step (the worker abandoned
// it), and the replicas kept run to the end (or were done before their
// decision arrived). summary.json counts them.
func TestWorkerStopsAPrunedReplica(t *testing.T) {
	f, err := spec.Parse("prune.yaml", []byte(pruneSpec))
	if err != nil {
		t.Fatal(err)
	}
	reps, err := f.Expand(train.Resolve)
	if err != nil {
		t.Fatal(err)
	}
	sw := &coordinator.Sweep{ID: f.SweepID(), Name: f.Spec.Name, SpecHash: f.Hash()[:16], Spec: string(f.Canonical()),
		CheckpointSeconds: f.Spec.Checkpoint.Seconds, Prune: f.Spec.Prune.Config()}
	for _, r := range reps {
		sw.Replicas = append(sw.Replicas, r.ReplicaInfo)
	}
	srv, err := embedded.Start(embedded.Options{StoreDir: filepath.Join(t.TempDir(), "js"), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	cnc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer cnc.Close()
	wnc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer wnc.Close()
	dir := filepath.Join(t.TempDir(), "run")
	sum := runSweep(t, cnc, 1, []*nats.Conn{wnc}, sw, dir, nil)

	js, _ := jetstream.New(cnc)
	recs, err := records.Open(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pruned := 0
	for _, r := range sw.Replicas {
		st, _, err := recs.Get(ctx, sw.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, rows, err := rundir.ReadTrajectory(filepath.Join(rundir.ReplicaDir(dir, r.ID), rundir.FileTrajectory))
		if err != nil {
			t.Fatal(err)
		}
		first, last := int64(rows[0][0]), int64(rows[len(rows)-1][0])
		switch st.State {
		case protocol.StatePruned:
			pruned++
			if first != 0 || last < 5500 || last >= 51200 {
				t.Errorf("pruned %s: trajectory from step %d to %d, want from 0 to at least 5500 and before 51200", r.ID, first, last)
			}
			if st.Step >= 51200 {
				t.Errorf("pruned %s ran to the end (step %d)", r.ID, st.Step)
			}
		case protocol.StateDone:
			if last != 51200 {
				t.Errorf("kept %s: trajectory ends at step %d", r.ID, last)
			}
		default:
			t.Errorf("%s ended %s: %s", r.ID, st.State, st.Error)
		}
	}
	if pruned == 0 {
		t.Fatal("no replica pruned")
	}
	if sum.Counts[rundir.StatusPruned] != pruned || sum.Prune == nil || sum.Prune.Pruned != pruned || !sum.Prune.Ran {
		t.Errorf("summary counts %v, prune %+v; want %d pruned", sum.Counts, sum.Prune, pruned)
	}
	t.Logf("%d of %d replicas pruned", pruned, len(sw.Replicas))

}
