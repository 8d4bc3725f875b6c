package liveview

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/charts"
	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/protocol"
)

// TestViewCurvesAreTheReportStatistic: a group's curve in the view is
// ensemble's curve of the same values (mean over seeds and its 95% t band,
// as the report draws), the method takes the report's colour, a step with
// a single value has no band (null in the JSON), and the ladder has the
// method with two temperatures, in increasing temperature, with the mean of
// the latest values, and not the method without any.
func TestViewCurvesAreTheReportStatistic(t *testing.T) {
	sw := testSweep(3, 400)
	steps := []int64{100, 200, 300}
	loss := func(r, k int) float64 { return float64(r*r%7) + float64(k) }
	snap := snapshotOf(sw, protocol.StateRunning, 300, steps, loss)
	// r0 has one more point, at 400, alone there.
	snap.Replicas[0].Curve = append(snap.Replicas[0].Curve, snap.Replicas[0].Curve[2])
	snap.Replicas[0].Curve[3].Step = 400
	v := NewBuilder(sw, false).View(snap)

	if len(v.Groups) != 3 || v.Groups[0].Name != "method=adam" || v.Groups[2].Name != "method=adlala,tau=0.001" {
		t.Fatalf("groups %+v", v.Groups)
	}
	for g, vg := range v.Groups {
		want := ensemble.NewCurveAccumulator(vg.Name)
		for r := 3 * g; r < 3*g+3; r++ {
			for _, p := range snap.Replicas[r].Curve {
				want.Add("train_loss", p.Step, p.Metrics["train_loss"])
			}
		}
		ws := want.Curves().Column("train_loss")
		if len(vg.Series) != 1 || vg.Series[0].Name != "train_loss" || len(vg.Steps) != len(ws.Mean) {
			t.Fatalf("group %s: series %+v, steps %v", vg.Name, vg.Series, vg.Steps)
		}
		got := vg.Series[0]
		for i := range ws.Mean {
			if !same(float64(got.Mean[i]), ws.Mean[i]) || !same(float64(got.Lo[i]), ws.Lo[i]) || !same(float64(got.Hi[i]), ws.Hi[i]) || got.N[i] != ws.N[i] {
				t.Errorf("group %s step %d: mean %v [%v, %v] n %d, ensemble says %v [%v, %v] n %d", vg.Name, vg.Steps[i],
					got.Mean[i], got.Lo[i], got.Hi[i], got.N[i], ws.Mean[i], ws.Lo[i], ws.Hi[i], ws.N[i])
			}
		}
		c := charts.NewPalette([]string{"adam", "adlala"}).Color(vg.Method)
		if want := "#" + hex2(c.R) + hex2(c.G) + hex2(c.B); vg.Color != want {
			t.Errorf("group %s colour %s, the report's %s", vg.Name, vg.Color, want)
		}
	}
	if s := v.Groups[0]; s.Steps[3] != 400 || s.Series[0].N[3] != 1 || !math.IsNaN(float64(s.Series[0].Lo[3])) {
		t.Errorf("adam at step 400: %+v", s)
	}
	b, err := v.encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"lo":[`) || !strings.Contains(string(b), `null`) {
		t.Errorf("a band without a value is not null in %.300s", b)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("view JSON does not decode: %v", err)
	}

	if v.LadderMetric != "train_loss" || len(v.Ladder) != 1 || v.Ladder[0].Method != "adlala" {
		t.Fatalf("ladder %q %+v, want adlala's train_loss", v.LadderMetric, v.Ladder)
	}
	pts := v.Ladder[0].Points
	if len(pts) != 2 || pts[0].Tau != 0.0001 || pts[1].Tau != 0.001 {
		t.Fatalf("ladder points %+v", pts)
	}
	for i, p := range pts {
		var sum float64
		for r := 3 * (i + 1); r < 3*(i+1)+3; r++ {
			sum += loss(r, 2)
		}
		if p.N != 3 || !same(float64(p.Mean), sum/3) || !(float64(p.Lo) < float64(p.Mean)) {
			t.Errorf("ladder at %v: %+v, want the mean %v of 3 latest values with a band", p.Tau, p, sum/3)
		}
	}
}

// TestViewThinsLongCurves: a curve of many steps reaches the page with at
// most maxCurvePoints points, its first and last among them.
func TestViewThinsLongCurves(t *testing.T) {
	sw := testSweep(2, 100000)
	for i := range sw.Replicas {
		sw.Replicas[i].Config.EvalEvery = 10 // an evaluation at each point
	}
	var steps []int64
	for s := int64(10); s <= 10000; s += 10 {
		steps = append(steps, s)
	}
	v := NewBuilder(sw, false).View(snapshotOf(sw, protocol.StateRunning, 10000, steps, func(r, k int) float64 { return float64(k) }))
	for _, g := range v.Groups {
		if n := len(g.Steps); n > maxCurvePoints || n < maxCurvePoints/2 || g.Steps[0] != 10 || g.Steps[n-1] != 10000 || len(g.Series[0].Mean) != n {
			t.Errorf("group %s: %d steps from %d to %d", g.Name, n, g.Steps[0], g.Steps[n-1])
		}
	}
}

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b))
}

func hex2(x uint8) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[x>>4], digits[x&15]})
}

// TestViewCurvesAtEvaluationSteps: a progress event carries the latest
// evaluation with the chain's step, which lies anywhere after it; the view
// puts each point at its evaluation's step (on the replica's eval_every
// grid), so that the seeds of a group meet there with a band, and counts
// an evaluation carried by two events once. A replica with a cyclical
// schedule (evaluations off the grid too) keeps the event's step.
func TestViewCurvesAtEvaluationSteps(t *testing.T) {
	sw := testSweep(2, 4000)
	for i := range sw.Replicas {
		sw.Replicas[i].Config.EvalEvery = 200
	}
	snap := snapshotOf(sw, protocol.StateRunning, 1300, nil, nil)
	point := func(step int64, loss float64) coordinator.CurvePoint {
		return coordinator.CurvePoint{Step: step, Metrics: map[string]float64{"train_loss": loss}}
	}
	// adam's two seeds: the evaluation at 1000 seen at chain steps 1088
	// and 1130 (and again at 1150 by r0); at 1200 by r1 alone.
	snap.Replicas[0].Curve = []coordinator.CurvePoint{point(1088, 1), point(1150, 1)}
	snap.Replicas[1].Curve = []coordinator.CurvePoint{point(1130, 3), point(1264, 2)}
	v := NewBuilder(sw, false).View(snap)
	g := v.Groups[0]
	if g.Name != "method=adam" || len(g.Steps) != 2 || g.Steps[0] != 1000 || g.Steps[1] != 1200 {
		t.Fatalf("adam's steps %v, want [1000 1200]", g.Steps)
	}
	s := g.Series[0]
	if s.N[0] != 2 || s.Mean[0] != 2 || math.IsNaN(float64(s.Lo[0])) || s.N[1] != 1 {
		t.Errorf("adam at 1000: n %d mean %v [%v, %v]; at 1200 n %d", s.N[0], s.Mean[0], s.Lo[0], s.Hi[0], s.N[1])
	}

	sw.Replicas[0].Config.Method.Cycle = &protocol.CycleConfig{}
	v = NewBuilder(sw, false).View(snap)
	if got := v.Groups[0].Steps; len(got) != 4 || got[0] != 1000 || got[1] != 1088 {
		t.Errorf("with r0 cyclical: steps %v, want r0's own steps beside r1's evaluations", got)
	}
}

// TestViewGroupWithoutEvaluations: a group whose replicas have reported no
// evaluation yet, beside groups that have, has empty steps and series in
// the JSON (arrays, not null: the page iterates them).
func TestViewGroupWithoutEvaluations(t *testing.T) {
	sw := testSweep(1, 400)
	snap := snapshotOf(sw, protocol.StateRunning, 100, []int64{100}, func(r, k int) float64 { return 1 })
	snap.Replicas[1].Curve = nil
	b, err := NewBuilder(sw, false).View(snap).encode()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Groups []map[string]json.RawMessage `json:"groups"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if g := v.Groups[1]; string(g["steps"]) != "[]" || string(g["series"]) != "[]" {
		t.Errorf("group without evaluations: steps %s, series %s, want []", g["steps"], g["series"])
	}
	if g := v.Groups[0]; string(g["steps"]) != "[100]" {
		t.Errorf("group with one evaluation: steps %s", g["steps"])
	}
}
