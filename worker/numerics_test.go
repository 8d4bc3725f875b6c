package worker

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/heatbath/heatbath/nn"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/train"
)

// TestCheckpointOfAnotherNumericsVersionIsHandedBack: a replica whose
// checkpoint was computed by kernels of another numerics version is not
// restarted from step 0 by this worker (its trajectory would mix the old
// kernels' rows with the new ones'): the task is handed back, counted as
// an error of the replica, with a message naming both versions, and no
// result is published.
func TestCheckpointOfAnotherNumericsVersionIsHandedBack(t *testing.T) {
	r := newElectionRig(t, 0)
	ctx := context.Background()
	task := r.a.task

	// A checkpoint at step 100 as an older binary would have written it.
	rep, err := train.Build(task.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.RunUntil(100, nil); err != nil {
		t.Fatal(err)
	}
	body, err := rep.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	const magic = len("HBREPL03")
	binary.LittleEndian.PutUint32(body[magic:], uint32(nn.NumericsVersion-1))
	name, err := protocol.CheckpointObject(task.Sweep, task.Replica)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.obs.PutBytes(ctx, name, append([]byte(task.SpecHash+"\n"), body...)); err != nil {
		t.Fatal(err)
	}

	// The record as the older worker left it: running at step 100 with
	// that checkpoint, its lease long ended.
	st, rev, err := r.w.recs.Get(ctx, task.Sweep, task.Replica)
	if err != nil {
		t.Fatal(err)
	}
	b := *st
	b.State, b.Step, b.Checkpoint, b.Worker = protocol.StateRunning, 100, name, "old"
	b.Updated = time.Now().Add(-time.Hour)
	enc, _ := protocol.Encode(&b)
	if _, err := r.kv.Update(ctx, r.a.key, enc, rev); err != nil {
		t.Fatal(err)
	}

	data, _ := protocol.Encode(task)
	msg := &fakeMsg{data: data}
	r.w.handle(ctx, msg, make(chan struct{}, 1))
	r.w.finishing.Wait()

	got, _, err := r.w.recs.Get(ctx, task.Sweep, task.Replica)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != protocol.StatePreempted || got.ErrorCode != protocol.CodeInternal {
		t.Fatalf("record %s (code %s, step %d); want preempted with an error of the replica", got.State, got.ErrorCode, got.Step)
	}
	for _, v := range []string{"numerics", "version"} {
		if !strings.Contains(got.Error, v) {
			t.Errorf("record error %q does not mention %q", got.Error, v)
		}
	}
	if got.Checkpoint != name {
		t.Errorf("checkpoint %q; want %q kept for a worker of its version", got.Checkpoint, name)
	}
	if n := msg.naks.Load(); n != 1 {
		t.Errorf("%d naks; want 1 (handed back)", n)
	}
	if n := msg.acks.Load() + msg.terms.Load(); n != 0 {
		t.Errorf("%d acks/terms; want 0", n)
	}
	if n := r.events(t, protocol.EventResult); n != 0 {
		t.Errorf("%d result events; want 0", n)
	}
}
