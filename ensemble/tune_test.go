package ensemble

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// tuneGroup is one setting of a synthetic tuning sweep: the best
// validation loss and accuracy of each seed, and its test loss.
type tuneGroup struct {
	method, key, val string
	valLoss          []float64
	valAcc           []float64 // nil: 1 − valLoss
	testLoss         []float64 // nil: equal to valLoss
	statuses         []string  // nil: all done
}

// tuneRun writes a tuning run of groups (seeds 1..n per group) and loads
// it.
func tuneRun(t *testing.T, groups []tuneGroup) *Run {
	t.Helper()
	var reps []synthReplica
	for _, g := range groups {
		settings := map[string]string{"method": g.method}
		if g.key != "" {
			settings[g.key] = g.val
		}
		for s, vl := range g.valLoss {
			idx := len(reps)
			st := map[string]string{"seed": strconv.Itoa(s + 1)}
			for k, v := range settings {
				st[k] = v
			}
			va := 1 - vl
			if g.valAcc != nil {
				va = g.valAcc[s]
			}
			tl := vl
			if g.testLoss != nil {
				tl = g.testLoss[s]
			}
			r := synthReplica{
				ID: fmt.Sprintf("r%04d-%08x", idx, uint32(idx*2654435761)), Index: idx, Group: groupName(settings),
				Settings: st, Seed: uint64(s + 1), Status: "done", BestBy: "val_loss",
			}
			if g.statuses != nil {
				r.Status = g.statuses[s]
			}
			r.Best = Metrics{Step: 100, TrainLoss: vl / 2, TrainAcc: 0.9, ValLoss: vl, ValAcc: va, TestLoss: tl, TestAcc: 1 - tl}
			r.Final = Metrics{Step: 200, TrainLoss: vl / 2, TrainAcc: 0.9, ValLoss: vl, ValAcc: va, TestLoss: tl, TestAcc: 1 - tl}
			reps = append(reps, r)
		}
	}
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	return mustLoad(t, dir)
}

// tuneGroups is a sweep with known means:
//
//   - adam: lr=0.001 mean 0.32; lr=0.01 has the best single replica (0.05)
//     but mean 0.41; lr=0.03 mean 0.36. Chosen: lr=0.001.
//   - adlala: h=0.1 and h=0.25 tie at mean 0.20 (different values);
//     chosen: h=0.1, the first group by name.
//   - sgld: tau=1e-05 has 2 of 5 seeds diverged; its 3 done seeds have mean
//     0.25 < 0.30 of tau=0.0001: chosen on the seeds that finished, and
//     reported as incomplete.
func tuneGroups() []tuneGroup {
	return []tuneGroup{
		{method: "adam", key: "lr", val: "0.001", valLoss: []float64{0.30, 0.31, 0.32, 0.33, 0.34}},
		{method: "adam", key: "lr", val: "0.01", valLoss: []float64{0.05, 0.50, 0.50, 0.50, 0.50}},
		{method: "adam", key: "lr", val: "0.03", valLoss: []float64{0.36, 0.36, 0.36, 0.36, 0.36}},
		{method: "adlala", key: "h", val: "0.25", valLoss: []float64{0.10, 0.30, 0.20, 0.20, 0.20}},
		{method: "adlala", key: "h", val: "0.1", valLoss: []float64{0.20, 0.20, 0.20, 0.20, 0.20}},
		{method: "sgld", key: "tau", val: "1e-05", valLoss: []float64{0.25, 0.25, 0.25, 0.01, 0.01},
			statuses: []string{"done", "done", "done", "diverged", "diverged"}},
		{method: "sgld", key: "tau", val: "0.0001", valLoss: []float64{0.30, 0.30, 0.30, 0.30, 0.30}},
	}
}

func chosenSettings(t *testing.T, tu *Tuning) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range tu.Methods {
		c, ok := m.Candidate()
		if !ok {
			t.Fatalf("method %s: nothing chosen", m.Method)
		}
		out[m.Method] = settingsText(c.Settings)
	}
	return out
}

// TestTuneChoosesBestMean: per method, the setting of lowest mean best
// validation loss over its seeds (not the best single replica), ties to the
// first group by name, diverged seeds left out of the mean and the group
// marked incomplete; the seeds of the run are listed.
func TestTuneChoosesBestMean(t *testing.T) {
	tu, err := Tune(tuneRun(t, tuneGroups()), "")
	if err != nil {
		t.Fatal(err)
	}
	if tu.ChosenBy != SelectValLoss {
		t.Errorf("chosen by %q, want val_loss", tu.ChosenBy)
	}
	want := map[string]string{"adam": "lr=0.001", "adlala": "h=0.1", "sgld": "tau=1e-05"}
	if got := chosenSettings(t, tu); !reflect.DeepEqual(got, want) {
		t.Errorf("chosen %v, want %v", got, want)
	}
	if !reflect.DeepEqual(tu.Seeds, []uint64{1, 2, 3, 4, 5}) {
		t.Errorf("seeds %v, want 1..5", tu.Seeds)
	}
	for _, m := range tu.Methods {
		c, _ := m.Candidate()
		if c.Incomplete() != (m.Method == "sgld") {
			t.Errorf("%s: incomplete = %v", m.Method, c.Incomplete())
		}
		if m.Method == "adam" && (len(m.Candidates) != 3 || c.Selection.N != 5 || !near(c.Selection.Mean, 0.32)) {
			t.Errorf("adam: %d candidates, chosen %+v", len(m.Candidates), c.Selection)
		}
		if m.Method == "sgld" && (c.Selection.N != 3 || !near(c.Selection.Mean, 0.25)) {
			t.Errorf("sgld: chosen on %d seeds, mean %v; want the 3 done ones, 0.25", c.Selection.N, c.Selection.Mean)
		}
	}
	tab := tu.Table("# ")
	for _, line := range []string{
		"# | adam | lr=0.001 | 5/5 | 0.3200 ± 0.0158 | **chosen** (lowest mean) |",
		"# | adam | lr=0.01 | 5/5 | 0.4100 ± 0.2012 |  |",
		"# | sgld | tau=1e-05 | 3/5 | 0.2500 ± 0.0000 | **chosen** (lowest mean) |",
	} {
		if !strings.Contains(tab, line) {
			t.Errorf("table lacks %q:\n%s", line, tab)
		}
	}
	if strings.Contains(tab, "test") {
		t.Errorf("table names a test metric:\n%s", tab)
	}
}

func near(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }

// TestTuneIgnoresTestMetrics: test losses and accuracies that would make
// every other setting the winner change nothing, and val_acc selects the
// highest mean validation accuracy.
func TestTuneIgnoresTestMetrics(t *testing.T) {
	base, err := Tune(tuneRun(t, tuneGroups()), SelectValLoss)
	if err != nil {
		t.Fatal(err)
	}
	gs := tuneGroups()
	for i := range gs {
		// Test loss inverted: the worst validation setting is now the best
		// on test (and its test accuracy the highest).
		gs[i].testLoss = make([]float64, len(gs[i].valLoss))
		for s, v := range gs[i].valLoss {
			gs[i].testLoss[s] = 1 - v
		}
	}
	perturbed, err := Tune(tuneRun(t, gs), SelectValLoss)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(chosenSettings(t, base), chosenSettings(t, perturbed)) {
		t.Errorf("test metrics changed the choice: %v, then %v", chosenSettings(t, base), chosenSettings(t, perturbed))
	}
	if base.Table("") != perturbed.Table("") {
		t.Errorf("test metrics changed the table:\n%s\nthen\n%s", base.Table(""), perturbed.Table(""))
	}

	// val_acc: adam lr=0.03 has the highest mean accuracy, although its
	// validation loss is not the lowest.
	gs = tuneGroups()
	gs[2].valAcc = []float64{0.99, 0.99, 0.99, 0.99, 0.99}
	acc, err := Tune(tuneRun(t, gs), SelectValAcc)
	if err != nil {
		t.Fatal(err)
	}
	if got := chosenSettings(t, acc)["adam"]; got != "lr=0.03" || acc.ChosenBy != SelectValAcc {
		t.Errorf("val_acc chose adam %s (by %s), want lr=0.03", got, acc.ChosenBy)
	}
	if _, err := Tune(tuneRun(t, gs), "test_loss"); err == nil {
		t.Error("Tune accepted test_loss as a selection metric")
	}
}
