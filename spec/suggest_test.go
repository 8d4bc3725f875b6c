package spec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// TestEnumeratedValuesSuggest: a misspelt value of an enumerated field the
// spec checks itself (sampling, the ladder's spacing, exchange.energy)
// names the closest allowed value, in one line.
func TestEnumeratedValuesSuggest(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"sampling", base + "sampling: reshufle\nmethods: [{name: sgd, h: 1}]\n",
			`sampling: "reshufle" is unknown; did you mean "reshuffle"? (want reshuffle or replacement)`},
		{"spacing", base + "temperatures: {from: 1e-5, to: 1e-3, n: 3, spacing: Linear}\nmethods: [{name: lala, h: 0.1}]\n",
			`did you mean "linear"?`},
		{"energy", "name: t\nsteps: 100\nbatch: 10\ntemperatures: [1e-4, 1e-3]\nexchange: {energy: minibach}\nmethods: [{name: lala, h: 0.1}]\n",
			`exchange.energy: "minibach" is unknown; did you mean "minibatch"? (want full or minibatch)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v\nwant one line containing %q", err, tc.want)
			}
		})
	}
}

// TestSweepScheduleErrorAtItsEntry: a Resolver's error about a schedule
// that came from the sweep's schedules list is reported at that entry's
// line and field, not at the method that received it.
func TestSweepScheduleErrorAtItsEntry(t *testing.T) {
	src := base + "temperatures: [1e-4]\nschedules: [{kind: constant}, {kind: cosin}]\nmethods:\n  - name: adlala\n    h: 0.1\n"
	f, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Expand(func(c *protocol.ReplicaConfig) error {
		if c.Method.Schedule.Kind == "cosin" {
			return fmt.Errorf(`method.hidden.schedule: kind: "cosin" is unknown; did you mean "cosine"?`)
		}
		return nil
	})
	want := `s.yaml:7:38: schedules[1].kind: "cosin" is unknown; did you mean "cosine"?`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestLoadFolder: a folder given as the spec file is named as such.
func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || err.Error() != "spec file "+dir+" is a folder, not a file" {
		t.Errorf("Load(folder) = %v", err)
	}
}
