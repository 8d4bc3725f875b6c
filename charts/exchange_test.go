package charts

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/rundir"
)

// TestExchangeData writes exchange files into the replicas of one
// method's representative group and checks the pooled acceptance by pair
// (with its Wilson interval), the mean round trips, the best replica's
// paths as stairs, and that a damaged exchange.json leaves its replica out
// with a warning naming the file.
func TestExchangeData(t *testing.T) {
	_, _, run, sum := synthRun(t)
	var group, method string
	for _, g := range Representatives(sum) {
		if m := groupMethod(run, g); m == "adlala" {
			group, method = g, m
		}
	}
	reps := doneReplicas(run, group, 0)
	if len(reps) < 2 {
		t.Fatalf("representative group %q has %d done replicas", group, len(reps))
	}
	ladder := []float64{1e-4, 1e-3, 1e-2}
	for i, r := range reps {
		s := rundir.ExchangeSummary{Version: rundir.ExchangeVersion, Ladder: ladder, Every: 10, Energy: "full", F: 1, Rounds: 4,
			Pairs:  []rundir.ExchangePair{{Rung: 0, Proposed: 10, Accepted: int64(i + 1)}, {Rung: 1, Proposed: 10, Accepted: 0}},
			Chains: []rundir.ExchangeChain{{Chain: 0, RoundTrips: 1}, {Chain: 1}, {Chain: 2, RoundTrips: 2}}}
		b, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		mustWriteFile(t, filepath.Join(r.Dir, rundir.FileExchange), b)
		mustWriteFile(t, filepath.Join(r.Dir, rundir.FileExchangePath), []byte("step,rung0,rung1,rung2\n0,0,1,2\n10,1,0,2\n20,1,2,0\n"))
	}
	xs, warns := ExchangeData(run, sum)
	if len(warns) != 0 || len(xs) != 1 {
		t.Fatalf("%d charts, warnings %v", len(xs), warns)
	}
	x := xs[0]
	if x.Method != method || x.Sets != len(reps) {
		t.Fatalf("method %s, %d sets; want %s, %d", x.Method, x.Sets, method, len(reps))
	}
	n := int64(len(reps))
	wantAcc := float64(n*(n+1)/2) / float64(10*n)
	if got := x.Acceptance.Y[0]; math.Abs(got-wantAcc) > 1e-12 {
		t.Errorf("pair 0 acceptance %g, want %g", got, wantAcc)
	}
	if x.Acceptance.Y[1] != 0 || x.Acceptance.Lo[1] != 0 || !(x.Acceptance.Hi[1] > 0) {
		t.Errorf("pair 1 (never accepted): rate %g, interval [%g, %g]", x.Acceptance.Y[1], x.Acceptance.Lo[1], x.Acceptance.Hi[1])
	}
	if x.Acceptance.Lo[0] >= wantAcc || x.Acceptance.Hi[0] <= wantAcc {
		t.Errorf("interval [%g, %g] misses the rate %g", x.Acceptance.Lo[0], x.Acceptance.Hi[0], wantAcc)
	}
	if want := math.Sqrt(1e-4 * 1e-3); math.Abs(x.Acceptance.X[0]-want) > 1e-18 {
		t.Errorf("pair 0 at τ %g, want %g", x.Acceptance.X[0], want)
	}
	if x.RoundTrips != 1 {
		t.Errorf("mean round trips %g, want 1", x.RoundTrips)
	}
	// Chain 0: rung 0 from step 0, rung 1 from 10, rung 2 from 20; each
	// stair repeats the old rung at the riser.
	if p := x.Paths[0]; len(p.X) != 5 || p.X[1] != 10 || p.X[2] != 10 || !equalF(p.Y, []float64{0, 0, 1, 1, 2}) {
		t.Errorf("chain 0 path %v / %v", p.X, p.Y)
	}
	if p := x.Paths[2]; !equalF(p.Y, []float64{2, 2, 2, 2, 1}) {
		t.Errorf("chain 2 path %v, want rung 2 then 1 from step 20", p.Y)
	}
	if _, err := DrawExchange(xs, reportPalette(run, sum, Extra{})); err != nil {
		t.Fatal(err)
	}

	mustWriteFile(t, filepath.Join(reps[0].Dir, rundir.FileExchange), []byte("{not json"))
	xs, warns = ExchangeData(run, sum)
	if len(warns) != 1 || !strings.Contains(warns[0], rundir.FileExchange) || xs[0].Sets != len(reps)-1 {
		t.Errorf("damaged exchange.json: warnings %v, %d sets", warns, xs[0].Sets)
	}
}

func equalF(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
