package spec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

const base = `name: t
data: {kind: spiral}
model: {hidden: [10]}
steps: 100
batch: 10
`

func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestErrorsNameFileLineField: unknown keys, wrong types, duplicate keys
// and impossible values are errors with the file, the line and the field.
func TestErrorsNameFileLineField(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unknown key", base + "methods:\n  - name: adlala\n    h: 0.1\n    gama: 0.1\n", `s.yaml:9:5: methods[0].gama: unknown key; did you mean "gamma"?`},
		{"wrong type", "name: t\nsteps: many\n", `s.yaml:2:8: steps: "many" is text; want a whole number`},
		{"duplicate key", base + "steps: 5\n", `s.yaml:6:1: mapping key "steps" already defined`},
		{"negative h", base + "methods:\n  - name: adlala\n    h: -0.1\n", "s.yaml:8:8: methods[0].h: -0.1 must be a positive step size"},
		{"bad list entry", base + "methods:\n  - name: adlala\n    h: [0.1, x]\n", `s.yaml:8:14: methods[0].h[1]: "x" is not a number`},
		{"negative tau", base + "methods:\n  - name: lol\n    h: 0.1\n    hidden: {tau: [1e-4, -1]}\n", "methods[0].hidden.tau: -1 must be finite and non-negative"},
		{"missing steps", "name: t\nbatch: 1\nmethods: [{name: sgd, h: 1}]\n", "s.yaml: steps: 0 must be a positive number of steps"},
		{"bad seeds", base + "seeds: 0\nmethods: [{name: sgd, h: 1}]\n", "s.yaml:6:8: seeds: 0 must be a seed count"},
		{"repeated seed", base + "seeds: [1, 1]\nmethods: [{name: sgd, h: 1}]\n", "seed 1 is listed twice"},
		{"bad name", "name: a b\nsteps: 1\nbatch: 1\nmethods: [{name: sgd, h: 1}]\n", `s.yaml:1:7: name: "a b" may hold only`},
		{"both batch", base + "batch_fraction: 0.1\nmethods: [{name: sgd, h: 1}]\n", "give batch or batch_fraction, not both"},
		{"no methods", base, "methods: missing"},
		{"bad sampling", base + "sampling: bootstrap\nmethods: [{name: sgd, h: 1}]\n", `sampling: "bootstrap" is unknown`},
		{"bad ladder", base + "temperatures: {from: 0, to: 1, n: 3}\nmethods: [{name: sgd, h: 1}]\n", "temperatures: geometric spacing needs from and to > 0"},
		{"empty file", "  \n", "s.yaml: empty spec file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

// TestExpandGrid: every list-valued hyperparameter, the temperature ladder,
// the schedules and the seeds multiply; methods without a temperature are
// not crossed with the ladder or the schedules.
func TestExpandGrid(t *testing.T) {
	f := mustParse(t, base+`seeds: 3
temperatures: [1e-5, 1e-4]
schedules: [{kind: constant}, {kind: linear, to: 0}]
methods:
  - name: adlala
    h: [0.1, 0.25]
    hidden: {epsilon: [0.05, 0.1]}
  - name: adam
    lr: 0.005
`)
	reps, err := f.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	// adlala: 2 h × 2 ε × 2 τ × 2 schedules × 3 seeds = 48; adam: 3 seeds.
	if len(reps) != 51 {
		t.Fatalf("%d replicas, want 51", len(reps))
	}
	groups := map[string]int{}
	ids := map[string]bool{}
	for i, r := range reps {
		groups[r.Group]++
		if ids[r.ID] {
			t.Fatalf("duplicate replica id %s", r.ID)
		}
		ids[r.ID] = true
		if r.Index != i || !strings.HasPrefix(r.ID, fmt.Sprintf("r%04d-", i)) {
			t.Errorf("replica %d has index %d, id %s", i, r.Index, r.ID)
		}
	}
	if len(groups) != 17 {
		t.Errorf("%d groups, want 16 adlala + 1 adam", len(groups))
	}
	for g, n := range groups {
		if n != 3 {
			t.Errorf("group %s has %d seeds, want 3", g, n)
		}
	}
	r := reps[0]
	if r.Config.Method.H != 0.1 || *r.Config.Method.Hidden.Epsilon != 0.05 || *r.Config.Method.Params.Tau != 1e-5 {
		t.Errorf("first replica config %+v", r.Config.Method)
	}
	want := "method=adlala,h=0.1,hidden.epsilon=0.05,schedule=constant,tau=1e-05"
	if r.Group != want {
		t.Errorf("group key %q, want %q", r.Group, want)
	}
	last := reps[len(reps)-1]
	if last.Settings["method"] != "adam" || last.Config.Method.H != 0.005 || last.Config.Method.Params.Tau != nil {
		t.Errorf("adam replica %+v: the ladder must not apply to an optimizer", last)
	}
}

// TestIDsAreStable: the same spec gives the same sweep and replica ids,
// and a changed hyperparameter changes them.
func TestIDsAreStable(t *testing.T) {
	src := base + "seeds: 2\nmethods: [{name: lol, h: 0.25}]\n"
	a, b := mustParse(t, src), mustParse(t, "# a comment\n"+src)
	ra, _ := a.Expand(nil)
	rb, _ := b.Expand(nil)
	if a.SweepID() != b.SweepID() {
		t.Errorf("sweep ids differ: %s, %s", a.SweepID(), b.SweepID())
	}
	for i := range ra {
		if ra[i].ID != rb[i].ID {
			t.Errorf("replica %d: %s vs %s", i, ra[i].ID, rb[i].ID)
		}
	}
	c := mustParse(t, strings.Replace(src, "h: 0.25", "h: 0.2", 1))
	rc, _ := c.Expand(nil)
	if c.SweepID() == a.SweepID() || rc[0].ID == ra[0].ID {
		t.Error("a changed step size kept the ids")
	}
	// The canonical form parses back to the same canonical form.
	again := mustParse(t, string(a.Canonical()))
	if string(again.Canonical()) != string(a.Canonical()) {
		t.Errorf("canonical form is not a fixed point:\n%s\n---\n%s", a.Canonical(), again.Canonical())
	}
}

func TestLadder(t *testing.T) {
	l := Ladder{From: 1e-6, To: 1e-3, N: 4}
	ts, err := l.Temperatures()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1e-6, 1e-5, 1e-4, 1e-3} {
		if d := ts[i]/want - 1; d > 1e-12 || d < -1e-12 {
			t.Errorf("rung %d = %g, want %g", i, ts[i], want)
		}
	}
	l = Ladder{From: 0, To: 1, N: 3, Spacing: "linear"}
	ts, _ = l.Temperatures()
	if ts[1] != 0.5 {
		t.Errorf("linear ladder %v", ts)
	}
}

// TestResolverErrorsPointAtTheMethod: an error from the resolver (package
// train) about a method's field is reported at that field of the method.
func TestResolverErrorsPointAtTheMethod(t *testing.T) {
	f := mustParse(t, base+"methods:\n  - name: sgd\n    h: 1\n  - name: nope\n    h: 1\n")
	_, err := f.Expand(func(c *protocol.ReplicaConfig) error {
		if c.Method.Name == "nope" {
			return fmt.Errorf("method.name: %q is unknown", c.Method.Name)
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), `s.yaml:9:11: methods[1].name: "nope" is unknown`) {
		t.Fatalf("err = %v", err)
	}
}
