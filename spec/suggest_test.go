package spec

import (
	"strings"
	"testing"
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
