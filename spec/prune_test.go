package spec

import (
	"strings"
	"testing"
)

// TestPruneDefaultsAndConfig: the prune section reaches its protocol form
// with the defaults filled in (val_loss, keep 0.5, among group).
func TestPruneDefaultsAndConfig(t *testing.T) {
	withVal := strings.Replace(base, "data: {kind: spiral}", "data: {kind: spiral, validation: 50}", 1)
	f := mustParse(t, withVal+`prune: {at: [0.1, 0.3]}
methods:
  - name: sgd
    lr: 0.1
`)
	c := f.Spec.Prune.Config()
	if c.Metric != "val_loss" || c.Keep != 0.5 || c.Among != "group" || len(c.At) != 2 || c.At[1] != 0.3 {
		t.Fatalf("config %+v", c)
	}
	f = mustParse(t, withVal+`prune: {metric: val_acc, at: [0.5], keep: 0.25, among: all}
methods:
  - name: sgd
    lr: 0.1
`)
	if c := f.Spec.Prune.Config(); c.Metric != "val_acc" || !c.HigherBetter() || c.Keep != 0.25 || c.Among != "all" {
		t.Fatalf("config %+v", c)
	}
	var none *PruneSpec
	if none.Config() != nil {
		t.Fatal("no prune section gives a config")
	}
}

// TestPruneErrors: each bad prune field is refused with its field named.
func TestPruneErrors(t *testing.T) {
	for _, c := range []struct{ prune, want string }{
		{`{metric: val_los, at: [0.1]}`, `prune.metric: "val_los" is unknown; did you mean "val_loss"?`},
		{`{metric: test_loss, at: [0.1]}`, `prune.metric: "test_loss" is unknown`},
		{`{at: []}`, `prune.at: missing`},
		{`{at: [0.3, 0.1]}`, `prune.at[1]: 0.1 does not follow at[0] = 0.3`},
		{`{at: [0.3, 1]}`, `prune.at[1]: 1 is not a fraction in (0, 1)`},
		{`{at: [0]}`, `prune.at[0]: 0 is not a fraction in (0, 1)`},
		{`{at: [0.5], keep: 1}`, `prune.keep: 1 is not a fraction in (0, 1)`},
		{`{at: [0.5], keep: -0.5}`, `prune.keep: -0.5 is not a fraction in (0, 1)`},
		{`{at: [0.5], among: groups}`, `prune.among: "groups" is unknown; did you mean "group"?`},
	} {
		_, err := Parse("s.yaml", []byte(base+"prune: "+c.prune+"\nmethods:\n  - name: sgd\n    lr: 0.1\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("prune %s: error %v, want %q", c.prune, err, c.want)
		}
	}
}

// TestPruneNeedsValidationSplit: a validation metric without a validation
// split (every value NaN, so all tie and nothing is ever pruned) is
// refused, naming the metric and data.validation; train_loss is not.
func TestPruneNeedsValidationSplit(t *testing.T) {
	for _, c := range []struct{ prune, want string }{
		{`{at: [0.5]}`, `prune: val_loss (the default metric) needs a validation split, and data.validation is 0`},
		{`{metric: val_acc, at: [0.5]}`, `prune.metric: val_acc needs a validation split, and data.validation is 0`},
	} {
		_, err := Parse("s.yaml", []byte(base+"prune: "+c.prune+"\nmethods:\n  - name: sgd\n    lr: 0.1\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("prune %s without a validation split: error %v, want one line with %q", c.prune, err, c.want)
		}
	}
	mustParse(t, base+"prune: {metric: train_loss, at: [0.5]}\nmethods:\n  - name: sgd\n    lr: 0.1\n")
}
