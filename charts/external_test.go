package charts

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/heatbath/heatbath/ensemble"
)

// TestRenderExternal renders the run directory named by
// $HEATBATH_REPORT_RUN into $HEATBATH_REPORT_RUN/report (for looking at a
// real run by hand); it is skipped when the variable is unset.
func TestRenderExternal(t *testing.T) {
	dir := os.Getenv("HEATBATH_REPORT_RUN")
	if dir == "" {
		t.Skip("HEATBATH_REPORT_RUN not set")
	}
	start := time.Now()
	run, err := ensemble.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ensemble.Analyze(run, ensemble.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	loaded := time.Since(start)
	out := filepath.Join(dir, "report")
	if err := Render(dir, out, sum, run, Extra{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("load+analyze %v, render %v into %s", loaded, time.Since(start)-loaded, out)
}
