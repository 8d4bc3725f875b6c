package spec

import (
	"slices"
	"testing"
)

// TestStepSizeNamedAsWritten: a method given lr has its step size axis
// named lr in settings and group names (the replicas.csv column), one
// given h keeps h; the configs are the same either way.
func TestStepSizeNamedAsWritten(t *testing.T) {
	f := mustParse(t, base+`methods:
  - name: adlala
    h: [0.1, 0.2]
  - name: adam
    lr: [0.01, 0.001]
`)
	reps, err := f.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, r := range reps {
		groups = append(groups, r.Group)
		switch r.Config.Method.Name {
		case "adam":
			if _, ok := r.Settings["h"]; ok || r.Settings["lr"] != fmtFloat(r.Config.Method.H) {
				t.Errorf("adam replica settings %v, want lr = %g and no h", r.Settings, r.Config.Method.H)
			}
		case "adlala":
			if _, ok := r.Settings["lr"]; ok || r.Settings["h"] != fmtFloat(r.Config.Method.H) {
				t.Errorf("adlala replica settings %v, want h = %g and no lr", r.Settings, r.Config.Method.H)
			}
		}
	}
	for _, want := range []string{"method=adlala,h=0.1", "method=adlala,h=0.2", "method=adam,lr=0.01", "method=adam,lr=0.001"} {
		if !slices.Contains(groups, want) {
			t.Errorf("groups %v, want %s", groups, want)
		}
	}
}
