package train

import (
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// TestEnumeratedValuesSuggest: a misspelt value of every enumerated field
// Resolve checks gets the closest allowed value and the list of allowed
// ones, in one line; a generator parameter out of range is named by its
// spec field, not its Go name.
func TestEnumeratedValuesSuggest(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*protocol.ReplicaConfig)
		want string
	}{
		{"data kind", func(c *protocol.ReplicaConfig) { c.Data.Kind = "spirals" },
			`data.kind: "spirals" is unknown; did you mean "spiral"? (want trig, spiral, rings, mnist or csv)`},
		{"data preset", func(c *protocol.ReplicaConfig) { c.Data.Preset = "author" },
			`data.preset: "author" is unknown for spiral; did you mean "authors"? (want authors or abstract)`},
		{"spiral form", func(c *protocol.ReplicaConfig) { c.Data.Form = "powr" },
			`data.form: "powr" is unknown; did you mean "power"? (want power or linear)`},
		{"spiral turns", func(c *protocol.ReplicaConfig) { c.Data.Turns = -1 }, `data.turns: -1 must be a finite number ≥ 0`},
		{"rings outer", func(c *protocol.ReplicaConfig) { c.Data = protocol.DataConfig{Kind: "rings", Inner: 2, Outer: 1} },
			`data.outer: 1 must be a finite number ≥ inner + margin = 2.1`},
		{"trig scale", func(c *protocol.ReplicaConfig) { c.Data = protocol.DataConfig{Kind: "trig", XScale: -1} }, `data.x_scale: -1 must be a finite number > 0`},
		{"method name", func(c *protocol.ReplicaConfig) { c.Method.Name = "adlalla" }, `method.name: "adlalla" is unknown; did you mean "adlala"?`},
		{"method case", func(c *protocol.ReplicaConfig) { c.Method.Name = "Adam" }, `method.name: "Adam" is unknown; did you mean "adam"?`},
		{"activation", func(c *protocol.ReplicaConfig) { c.Model.Activation = "tahn" }, `model.activation: "tahn" is unknown; did you mean "tanh"? (want relu or tanh)`},
		{"integrator", func(c *protocol.ReplicaConfig) {
			c.Method = protocol.MethodConfig{Name: "partitioned", H: 0.1, Groups: []protocol.GroupConfig{{Tensors: []string{"all"}, Integrator: "langevn"}}}
		}, `method.groups[0].integrator: "langevn" is unknown; did you mean "langevin"?`},
		{"tensor selector", func(c *protocol.ReplicaConfig) {
			c.Method = protocol.MethodConfig{Name: "partitioned", H: 0.1, Groups: []protocol.GroupConfig{{Tensors: []string{"hiden"}, Integrator: "langevin"}, {Tensors: []string{"output"}, Integrator: "langevin"}}}
		}, `"hiden" is not a tensor selector; did you mean "hidden"?`},
		{"schedule kind", func(c *protocol.ReplicaConfig) {
			c.Method.Schedule = protocol.ScheduleConfig{Kind: "cosin", To: 0.1}
		}, `kind: "cosin" is unknown; did you mean "cosine"? (want constant, linear, geometric, cosine or piecewise)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := spiralConfig(adlala(), 100)
			tc.mod(&cfg)
			_, err := Build(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.want)
			}
		})
	}
}
