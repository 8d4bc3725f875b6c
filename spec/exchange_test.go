package spec

import (
	"strings"
	"testing"
)

// TestExchangeCollapsesTheLadder: with exchange, a temperature method runs
// one replica per seed whose config carries the whole ladder, methods
// without a temperature run as before, and the cyclical and step-size
// schedules reach the replica config.
func TestExchangeCollapsesTheLadder(t *testing.T) {
	f := mustParse(t, base+`seeds: 2
temperatures: [1e-4, 1e-3, 1e-2]
exchange: {every: 20, energy: minibatch, f: 2}
methods:
  - name: lala
    h: 0.1
    step_schedule: {kind: cosine, to: 0.5}
  - name: adam
    lr: 0.01
  - name: sgld
    h: 0.1
    cycle: {cycles: 4, step_size: true}
`)
	reps, err := f.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 6 {
		t.Fatalf("%d replicas, want 2 seeds × 3 methods", len(reps))
	}
	for _, r := range reps {
		x := r.Config.Exchange
		switch r.Config.Method.Name {
		case "adam":
			if x != nil {
				t.Errorf("adam got an exchange ladder")
			}
		default:
			if x == nil || len(x.Ladder) != 3 || x.Every != 20 || x.Energy != "minibatch" || x.F != 2 {
				t.Errorf("%s: exchange %+v", r.Config.Method.Name, x)
			}
			if r.Settings["exchange"] != "3 rungs" || r.Settings["tau"] != "" {
				t.Errorf("%s: settings %v", r.Config.Method.Name, r.Settings)
			}
		}
	}
	if s := reps[0].Config.Method.StepSchedule; s == nil || s.Kind != "cosine" {
		t.Errorf("step schedule %+v", s)
	}
	if c := reps[4].Config.Method.Cycle; c == nil || c.Cycles != 4 {
		t.Errorf("cycle %+v", c)
	}
	reps[0].Config.Exchange.Ladder[0] = 99
	if reps[1].Config.Exchange.Ladder[0] == 99 {
		t.Error("replicas share their ladder")
	}
}

// TestExchangeRefusals: exchange needs a ladder, refuses methods that set
// their own τ (and says why) and temperature schedules.
func TestExchangeRefusals(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"exchange: {every: 10}\nmethods: [{name: lala, h: 0.1}]\n", "exchange: needs temperatures"},
		{"temperatures: [1e-4, 1e-3]\nexchange: {every: 10}\nmethods: [{name: lol, h: 0.1, hidden: {tau: 1e-3}}]\n", "methods[0]: sets tau, but with exchange the temperatures ladder sets the temperature of every group"},
		{"temperatures: [1e-4, 1e-3]\nexchange: {energy: exact}\nmethods: [{name: lala, h: 0.1}]\n", `exchange.energy: "exact" is unknown`},
		{"temperatures: [1e-4, 1e-3]\nexchange: {every: 1000}\nmethods: [{name: lala, h: 0.1}]\n", "exchange.every: 1000 must lie in [1, steps = 100]"},
		{"temperatures: [1e-4]\nexchange: {}\nmethods: [{name: lala, h: 0.1}]\n", "exchange needs at least 2 temperatures"},
		{"temperatures: [1e-4, 1e-3]\nexchange: {}\nschedules: [{kind: linear, to: 0}]\nmethods: [{name: lala, h: 0.1}]\n", "schedules: cannot be combined with exchange"},
	} {
		_, err := Parse("s.yaml", []byte(base+tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}
