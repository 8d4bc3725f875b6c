package train

import (
	"math"
	"testing"
)

// TestInterpolateOnSubsample: the loss along a line is computed on at most
// InterpPoints training and test points: a seeded subsample of a larger
// split (the same for replicas that differ only in Seed, another for
// another DataSeed), the whole of a smaller one.
func TestInterpolateOnSubsample(t *testing.T) {
	cfg := spiralConfig(adlala(), 10)
	cfg.Data.Train, cfg.Data.Test = InterpPoints+700, InterpPoints+300
	r := mustBuild(t, cfg)
	collect(t, r, 10)
	tr, te := r.interpSets()
	if tr.Len() != InterpPoints || te.Len() != InterpPoints {
		t.Fatalf("subsamples of %d and %d points, want %d each", tr.Len(), te.Len(), InterpPoints)
	}
	rows := r.Interpolate(r.Init, r.Chain.Theta())
	if len(rows) != 41 || rows[0][0] != -0.5 || rows[40][0] != 1.5 {
		t.Fatalf("%d rows from α = %v to %v, want 41 from -0.5 to 1.5", len(rows), rows[0][0], rows[len(rows)-1][0])
	}
	final := rows[30]
	if final[0] != 1 {
		t.Fatalf("row 30 has α = %v, want 1", final[0])
	}
	wantTr, _ := r.Model.Evaluate(r.evalWS, r.Chain.Theta(), tr.X, tr.Y)
	wantTe, _ := r.Model.Evaluate(r.evalWS, r.Chain.Theta(), te.X, te.Y)
	if math.Float64bits(final[1]) != math.Float64bits(wantTr) || math.Float64bits(final[2]) != math.Float64bits(wantTe) {
		t.Fatalf("α = 1: losses %v, %v; the subsamples give %v, %v", final[1], final[2], wantTr, wantTe)
	}
	allTr, _ := r.Model.Evaluate(r.evalWS, r.Chain.Theta(), r.Train.X, r.Train.Y)
	if final[1] == allTr {
		t.Fatal("the training loss at α = 1 equals the full split's: no subsample taken")
	}

	other := cfg
	other.Seed++
	tr2, _ := mustBuild(t, other).interpSets()
	other.DataSeed++
	tr3, _ := mustBuild(t, other).interpSets()
	same3 := true
	for i := range tr.X {
		if tr.X[i] != tr2.X[i] {
			t.Fatal("another Seed drew another subsample: replicas of a sweep would not share the points")
		}
		same3 = same3 && tr.X[i] == tr3.X[i]
	}
	if same3 {
		t.Fatal("another DataSeed drew the same subsample")
	}

	small := mustBuild(t, spiralConfig(adlala(), 10))
	trs, tes := small.interpSets()
	if trs.Len() != small.Train.Len() || tes.Len() != small.Test.Len() {
		t.Fatalf("a split of %d/%d points gave subsamples of %d/%d: small splits are used whole", small.Train.Len(), small.Test.Len(), trs.Len(), tes.Len())
	}
}
