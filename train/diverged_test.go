package train

import (
	"encoding/json"
	"testing"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// TestDivergedChainWritesItsFiles: a diverged chain is a result, so its
// files must encode although its weights (and an adaptive thermostat's ξ)
// are no longer finite, which JSON cannot hold: result.json used to fail
// with "json: unsupported value: +Inf", and the worker then failed the
// replica as internal instead of reporting it diverged.
func TestDivergedChainWritesItsFiles(t *testing.T) {
	for _, m := range []protocol.MethodConfig{{Name: "sgd", H: 1e300}, {Name: "adlala", H: 1e300}, {Name: "sgd", H: 1e6}} {
		cfg := spiralConfig(m, 300)
		r := mustBuild(t, cfg)
		collect(t, r, cfg.Steps)
		res := r.Result()
		if res.Status != rundir.StatusDiverged {
			t.Fatalf("%s h=%g: status %q, want diverged", m.Name, m.H, res.Status)
		}
		files, err := r.Artifacts(res)
		if err != nil {
			t.Fatalf("%s h=%g: %v", m.Name, m.H, err)
		}
		for _, name := range []string{rundir.FileResult, rundir.FilePredictions, rundir.FileGrid} {
			var v any
			if err := json.Unmarshal(files[name], &v); err != nil {
				t.Errorf("%s h=%g: %s is not JSON: %v", m.Name, m.H, name, err)
			}
		}
		var back rundir.Result
		if err := json.Unmarshal(files[rundir.FileResult], &back); err != nil || back.Status != rundir.StatusDiverged || back.DivergedAt != res.DivergedAt {
			t.Errorf("%s h=%g: result.json reads back as %q at step %d (%v)", m.Name, m.H, back.Status, back.DivergedAt, err)
		}
	}
}
