package liveview

import (
	"fmt"
	"strconv"
	"time"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/protocol"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testSweep is a sweep of adam (no temperature) and adlala at two
// temperatures, seeds replicas each, with steps steps: replica ids r0,
// r1, ... in grid order, groups in that order.
func testSweep(seeds int, steps int64) *coordinator.Sweep {
	s := &coordinator.Sweep{ID: "s1", Name: "live", SpecHash: "h1", Created: t0}
	groups := []struct{ method, tau string }{{"adam", ""}, {"adlala", "0.0001"}, {"adlala", "0.001"}}
	i := 0
	for _, g := range groups {
		for seed := 1; seed <= seeds; seed++ {
			set := map[string]string{"method": g.method, "seed": strconv.Itoa(seed)}
			name := "method=" + g.method
			if g.tau != "" {
				set["tau"] = g.tau
				name += ",tau=" + g.tau
			}
			s.Replicas = append(s.Replicas, coordinator.Replica{ID: fmt.Sprintf("r%d", i), Index: i, Group: name,
				Settings: set, Seed: uint64(seed), Config: protocol.ReplicaConfig{Steps: steps}})
			i++
		}
	}
	return s
}

// snapshotOf returns a snapshot of sweep s with every replica in state st
// at step step, with the curve points given for every replica: loss(r, k)
// is replica r's train_loss at point k of steps.
func snapshotOf(s *coordinator.Sweep, st protocol.State, step int64, steps []int64, loss func(r, k int) float64) *coordinator.FeedSnapshot {
	snap := &coordinator.FeedSnapshot{Sweep: s.ID, Name: s.Name, Status: protocol.SweepRunning, Time: t0, Total: len(s.Replicas),
		Counts: map[protocol.State]int{st: len(s.Replicas)}}
	for r, rep := range s.Replicas {
		fr := coordinator.FeedReplica{ID: rep.ID, Index: rep.Index, Group: rep.Group, State: st, Attempt: 1, Worker: "w1",
			Step: step, Steps: rep.Config.Steps}
		for k, at := range steps {
			fr.Curve = append(fr.Curve, coordinator.CurvePoint{Step: at, Metrics: map[string]float64{"train_loss": loss(r, k)}})
		}
		snap.Replicas = append(snap.Replicas, fr)
		snap.StepsDone += step
		snap.StepsTotal += rep.Config.Steps
	}
	return snap
}
