package ensemble

import (
	"errors"
	"strings"
	"testing"
)

// TestSelectOption: Options.Select chooses the metric of every selection:
// val_acc picks the highest validation accuracy (best replica, best and
// representative groups, Goldilocks τ), train_loss the lowest training
// loss, each disagreeing here with val_loss; unknown metrics and a
// validation metric without a validation split are errors.
func TestSelectOption(t *testing.T) {
	cfg := synthConfig{Seed: 7, Rows: 20, Points: 30, Groups: []synthGroup{
		{Method: "adlala", Tau: "0.0001", Seeds: 2, AccMean: 0.8, AccSD: 0.01},
		{Method: "adlala", Tau: "0.001", Seeds: 2, AccMean: 0.8, AccSD: 0.01},
	}}
	reps := synthRun(cfg)
	// τ = 1e-4 (reps 0, 1): lowest validation loss. τ = 1e-3 (reps 2, 3):
	// highest validation accuracy. Rep 1: lowest training loss.
	set := func(r *synthReplica, valLoss, valAcc, trainLoss float64) {
		r.Best.ValLoss, r.Best.ValAcc, r.Best.TrainLoss = valLoss, valAcc, trainLoss
	}
	set(&reps[0], 0.10, 0.70, 0.30)
	set(&reps[1], 0.11, 0.71, 0.01)
	set(&reps[2], 0.30, 0.90, 0.20)
	set(&reps[3], 0.31, 0.95, 0.25)
	dir := t.TempDir()
	writeRun(t, dir, reps, nil, nil)
	run := mustLoad(t, dir)

	cases := []struct {
		sel, chosen, best, group string
		value                    float64
	}{
		{"", "val_loss", reps[0].ID, reps[0].Group, 0.10},
		{"val_loss", "val_loss", reps[0].ID, reps[0].Group, 0.10},
		{"val_acc", "val_acc", reps[3].ID, reps[2].Group, 0.95},
		{"train_loss", "train_loss", reps[1].ID, reps[0].Group, 0.01},
	}
	for _, tc := range cases {
		s := mustAnalyze(t, run, Options{Resamples: 200, Select: tc.sel})
		if s.ChosenBy != tc.chosen || s.Best == nil || s.Best.ID != tc.best || s.Best.Value != tc.value || s.Best.ChosenBy != tc.chosen {
			t.Errorf("Select %q: chosen by %q, best %+v; want %s, %s with %v", tc.sel, s.ChosenBy, s.Best, tc.chosen, tc.best, tc.value)
			continue
		}
		if s.BestGroup.Group != tc.group || s.Methods[0].Representative.Group != tc.group {
			t.Errorf("Select %q: best group %s, representative %s; want %s", tc.sel, s.BestGroup.Group, s.Methods[0].Representative.Group, tc.group)
		}
		if g := s.Ladders[0].Goldilocks; g == nil || g.Group != tc.group || g.ChosenBy != tc.chosen {
			t.Errorf("Select %q: Goldilocks %+v, want group %s", tc.sel, g, tc.group)
		}
		var md strings.Builder
		if err := WriteMarkdown(&md, s); err != nil {
			t.Fatal(err)
		}
		if want := "Chosen by the " + Extreme(tc.chosen) + " best." + tc.chosen; !strings.Contains(md.String(), want) {
			t.Errorf("Select %q: summary.md does not say %q", tc.sel, want)
		}
	}

	if _, err := Analyze(run, Options{Select: "test_acc"}); err == nil || !strings.Contains(err.Error(), `"test_acc" is unknown (want val_loss, val_acc, train_loss)`) {
		t.Errorf("Select test_acc: %v", err)
	}
	cfg.NoValSplit = true
	dir = t.TempDir()
	writeRun(t, dir, synthRun(cfg), nil, nil)
	noVal := mustLoad(t, dir)
	var nv *NoValidationError
	if _, err := Analyze(noVal, Options{Select: "val_acc"}); !errors.As(err, &nv) || nv.Select != "val_acc" || nv.Missing != 4 || nv.Done != 4 {
		t.Errorf("Select val_acc without a validation split: %v, want a NoValidationError for 4 of 4", err)
	}
	if s := mustAnalyze(t, noVal, Options{Resamples: 10, Select: "train_loss"}); s.ChosenBy != "train_loss" || len(s.Warnings) != 0 && strings.Contains(strings.Join(s.Warnings, " "), "validation split") {
		t.Errorf("Select train_loss without validation: chosen by %s, warnings %v", s.ChosenBy, s.Warnings)
	}
}
