package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// TestDecodeErrorsNameFieldGivenAndAllowed: every kind of decoder error
// reads as "file:line:col: field: what was given; what is allowed", with a
// did-you-mean for unknown keys, and never shows Go types.
func TestDecodeErrorsNameFieldGivenAndAllowed(t *testing.T) {
	const head = "name: x\nsteps: 100\nbatch: 10\ndata: {kind: spiral}\n"
	const method = "methods:\n  - name: adlala\n    h: 0.1\n"
	cases := []struct {
		name, src string
		field     string
		want      []string
	}{
		{"list for an integer", "name: x\nsteps: [100, 200]\nbatch: 10\ndata: {kind: spiral}\n" + method,
			"steps", []string{`spec.yaml:2:8: steps: "[100, 200]" is a list; want a whole number`}},
		{"text for an integer", "name: x\nsteps: 100\nbatch: ten\ndata: {kind: spiral}\n" + method,
			"batch", []string{`spec.yaml:3:8: batch: "ten" is text; want a whole number`}},
		{"unknown top-level key", "name: x\nstep: 100\nbatch: 10\ndata: {kind: spiral}\n" + method,
			"step", []string{`spec.yaml:2:1: step: unknown key; did you mean "steps"?`, "keys here: batch, batch_fraction,"}},
		{"unknown key in data", "name: x\nsteps: 100\nbatch: 10\ndata: {kind: spiral, trian: 5}\n" + method,
			"data.trian", []string{`data.trian: unknown key; did you mean "train"?`, "(keys in data: digits, dir,"}},
		{"unknown key in a method", head + method + "    tua: 1\n",
			"methods[0].tua", []string{`spec.yaml:8:5: methods[0].tua: unknown key; did you mean "tau"?`, "(keys in methods[0]: beta1,"}},
		{"unknown key far from any", head + method + "    zzzzzz: 1\n",
			"methods[0].zzzzzz", []string{`methods[0].zzzzzz: unknown key (keys in methods[0]:`}},
		{"mapping for a list", head + "methods:\n  name: adlala\n  h: 0.1\n",
			"methods", []string{`methods: "name: adlala" is a mapping (key: value); want a list of mappings`}},
		{"integer for a list", "name: x\nsteps: 100\nbatch: 10\ndata: {kind: spiral}\nmodel: {hidden: 10}\n" + method,
			"model.hidden", []string{`model.hidden: "10" is an integer; want a list of whole numbers`}},
		{"list for a group", head + method + "    hidden: [1]\n",
			"methods[0].hidden", []string{`methods[0].hidden: "[1]" is a list; want a mapping with keys beta1,`}},
		{"overflow", "name: x\nsteps: 100000000000000000000000\nbatch: 10\ndata: {kind: spiral}\n" + method,
			"steps", []string{`steps: 100000000000000000000000 is out of range for a whole number`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("spec.yaml", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n  %s\nwant it to contain\n  %s", msg, w)
				}
			}
			for _, bad := range []string{"Go struct", "interface {}", "int64", "\n", "[]"} {
				if strings.Contains(msg, bad) && !strings.Contains(tc.src, bad) {
					t.Errorf("error shows %q: %s", bad, msg)
				}
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("FieldError %+v, want field %q", fe, tc.field)
			}
		})
	}
}

// TestResolveErrorsPointAtTheField: an error of the Resolver that names a
// field of the replica config is reported at that field of the spec (a
// method's fields under its methods[i]), not at the method.
func TestResolveErrorsPointAtTheField(t *testing.T) {
	src := "name: x\nsteps: 100\nbatch: 10\ndata: {kind: spiral}\nmethods:\n  - name: adlala\n    h: 0.1\n  - name: lol\n    h: 0.1\n    gamma: 2\n"
	f, err := Parse("spec.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ resolverErr, want, field string }{
		{"data.kind: bad", "spec.yaml:4:14: data.kind: bad", "data.kind"},
		{"method.gamma: too hot", "spec.yaml:10:12: methods[1].gamma: too hot", "methods[1].gamma"},
		{"method: no such method", "spec.yaml:8:9: methods[1]: no such method", "methods[1]"},
		{"no field named here", "spec.yaml:8:9: methods[1]: no field named here", "methods[1]"},
	}
	for _, tc := range cases {
		_, err := f.Expand(func(c *protocol.ReplicaConfig) error {
			if c.Method.Name == "lol" {
				return errors.New(tc.resolverErr)
			}
			return nil
		})
		var fe *FieldError
		if err == nil || err.Error() != tc.want || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("resolver error %q: got %v (field %+v), want %q at field %q", tc.resolverErr, err, fe, tc.want, tc.field)
		}
	}
}
