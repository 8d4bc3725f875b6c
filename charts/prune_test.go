package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/ensemble"
)

// TestReportSaysHowManyWerePruned: the report's status line counts the
// pruned replicas, and its problems table shows where each was cut (the
// step and the decision); a run without pruned replicas does not mention
// pruning.
func TestReportSaysHowManyWerePruned(t *testing.T) {
	why := "pruned at milestone 0 (step 300): val_loss 0.9 ranked 2 of 2, 1 kept"
	sum := &ensemble.Summary{Status: ensemble.StatusCounts{Total: 3, Done: 1, Pruned: 2},
		Problems: []ensemble.ReplicaProblem{
			{ID: "r1", Group: "g", Status: ensemble.StatusPruned, Steps: 300, Message: why},
			{ID: "r2", Group: "g", Status: ensemble.StatusPruned, Steps: 320, Message: "pruned"},
		}}
	page := func(s *ensemble.Summary) string {
		t.Helper()
		dir := t.TempDir()
		if err := WriteReport(dir, ReportInput{Summary: s}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, ReportFile))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	p := page(sum)
	for _, want := range []string{"0 incomplete, 2 pruned (stopped at a milestone by successive halving",
		"<td>300</td>", why} {
		if !strings.Contains(p, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if p := page(&ensemble.Summary{Status: ensemble.StatusCounts{Total: 1, Done: 1}}); strings.Contains(p, "pruned") {
		t.Error("a report without pruned replicas mentions pruning")
	}
}
