package charts

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/ensemble"
)

// t975df2 is the 0.975 quantile of Student's t with 2 degrees of freedom.
// For ν = 2 the t distribution function inverts in closed form,
// t_p = (2p−1)/sqrt(2p(1−p)) = 4.30265…, 4.303 in t tables.
var t975df2 = (2*0.975 - 1) / math.Sqrt(2*0.975*(1-0.975))

// handMeanCI returns the mean and the 95% t-interval of xs computed
// directly from the definitions, for n = 3 (ν = 2).
func handMeanCI(xs []float64) (mean, lo, hi float64) {
	if len(xs) != 3 {
		panic("handMeanCI: want 3 values")
	}
	for _, x := range xs {
		mean += x
	}
	mean /= 3
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	half := t975df2 * math.Sqrt(ss/2) / math.Sqrt(3)
	return mean, mean - half, mean + half
}

func TestT975(t *testing.T) {
	if math.Abs(t975df2-4.303) > 5e-4 {
		t.Fatalf("t975df2 = %v", t975df2)
	}
}

func TestThin(t *testing.T) {
	for _, c := range []struct{ n, max int }{{0, 5}, {3, 5}, {5, 5}, {6, 5}, {1000, 400}, {401, 400}, {10, 1}} {
		idx := Thin(c.n, c.max)
		if c.n <= c.max || c.max < 2 {
			if len(idx) != c.n {
				t.Errorf("Thin(%d, %d) kept %d", c.n, c.max, len(idx))
			}
			continue
		}
		if len(idx) > c.max || idx[0] != 0 || idx[len(idx)-1] != c.n-1 || !slices.IsSorted(idx) {
			t.Errorf("Thin(%d, %d) = %v…", c.n, c.max, idx[:min(5, len(idx))])
		}
		for k := 1; k < len(idx); k++ {
			if idx[k] == idx[k-1] {
				t.Errorf("Thin(%d, %d): duplicate index %d", c.n, c.max, idx[k])
			}
		}
	}
}

// TestRepresentatives checks the representative groups against ensemble's
// own choice (Summary.Methods, and Summary.Spread, which uses them) and
// against the synthetic data: the lowest mean best.val_loss per method.
func TestRepresentatives(t *testing.T) {
	_, reps, _, sum := synthRun(t)
	got := Representatives(sum)
	var fromSummary []string
	for _, m := range sum.Methods {
		if m.Representative != nil {
			fromSummary = append(fromSummary, m.Representative.Group)
		}
	}
	if !slices.Equal(got, fromSummary) {
		t.Errorf("Representatives = %v, Summary.Methods = %v", got, fromSummary)
	}
	if sum.Spread == nil {
		t.Fatal("no Spread in summary")
	}
	if !slices.Equal(got, sum.Spread.Groups) {
		t.Errorf("Representatives = %v, ensemble Spread.Groups = %v", got, sum.Spread.Groups)
	}
	// By hand.
	best := map[string]string{}
	bestMean := map[string]float64{}
	groups := map[string]bool{}
	for _, r := range reps {
		groups[r.Group] = true
	}
	var names []string
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		done := doneOf(reps, g)
		if len(done) == 0 {
			continue
		}
		var m float64
		for _, r := range done {
			m += r.Best.ValLoss
		}
		m /= float64(len(done))
		meth := done[0].Method
		if _, ok := best[meth]; !ok || m < bestMean[meth] {
			best[meth], bestMean[meth] = g, m
		}
	}
	var want []string
	for _, m := range []string{"adam", "adlala", "lol"} {
		want = append(want, best[m])
	}
	if !slices.Equal(got, want) {
		t.Errorf("Representatives = %v, by hand %v", got, want)
	}
	if lg := LineGroups(sum); len(lg) != 4 {
		t.Errorf("LineGroups = %v, want all 4 groups", lg)
	}
}

// TestLearningCurveData checks that the plotted points and bands are
// ensemble's per-group curves, and, by hand, the mean over seeds and its
// 95% t-interval of the test accuracy written to trajectory.csv.
func TestLearningCurveData(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	groups := LineGroups(sum)
	for _, col := range []string{"test_acc", "test_loss"} {
		ss := LearningCurveData(run, groups, col)
		if len(ss) != len(groups) {
			t.Fatalf("%s: %d series for %d groups", col, len(ss), len(groups))
		}
		for _, s := range ss {
			g := run.Group(s.Group)
			c := g.Curves.Column(col)
			if len(s.X) != len(g.Curves.Steps) {
				t.Fatalf("%s %s: %d points, curves have %d", col, s.Group, len(s.X), len(g.Curves.Steps))
			}
			for i := range s.X {
				if s.X[i] != float64(g.Curves.Steps[i]) || !sameFloat(s.Y[i], c.Mean[i]) ||
					!sameFloat(s.Lo[i], c.Lo[i]) || !sameFloat(s.Hi[i], c.Hi[i]) || s.N[i] != c.N[i] {
					t.Fatalf("%s %s point %d: (%v, %v [%v, %v] n=%d), ensemble (%v, %v [%v, %v] n=%d)", col, s.Group, i,
						s.X[i], s.Y[i], s.Lo[i], s.Hi[i], s.N[i], g.Curves.Steps[i], c.Mean[i], c.Lo[i], c.Hi[i], c.N[i])
				}
			}
			if s.Method != g.Method || s.Column != col {
				t.Errorf("series %s: method %q column %q", s.Group, s.Method, s.Column)
			}
			// By hand, for groups with three done seeds.
			done := doneOf(reps, s.Group)
			if len(done) != 3 {
				continue
			}
			for i := range s.X {
				var xs []float64
				for _, r := range done {
					xs = append(xs, r.col(col)[i])
				}
				m, lo, hi := handMeanCI(xs)
				if !closeTo(s.Y[i], m) || math.Abs(s.Lo[i]-lo) > 1e-9 || math.Abs(s.Hi[i]-hi) > 1e-9 {
					t.Fatalf("%s %s step %v: %v [%v, %v], by hand %v [%v, %v]", col, s.Group, s.X[i], s.Y[i], s.Lo[i], s.Hi[i], m, lo, hi)
				}
			}
		}
	}
	// The group with the diverged replica averages only its two done seeds.
	ss := LearningCurveData(run, []string{"method=lol"}, "test_acc")
	if len(ss) != 1 || ss[0].N[0] != 1 {
		t.Errorf("lol (1 done, 1 diverged, 1 incomplete): N = %v", ss[0].N[:1])
	}
	if got := LearningCurveData(run, []string{"no-such-group"}, "test_acc"); got != nil {
		t.Errorf("unknown group gave %v", got)
	}
}

// TestLearningCurveThinning builds curves longer than MaxSeriesPoints in
// memory: every plotted point must be a point of the curve.
func TestLearningCurveThinning(t *testing.T) {
	acc := ensemble.NewCurveAccumulator("g")
	for seed := 0; seed < 3; seed++ {
		for i := 0; i < 1000; i++ {
			acc.Add("test_acc", int64(i*10), float64(i)/1000+0.01*float64(seed))
		}
	}
	run := &ensemble.Run{Groups: []*ensemble.Group{{Name: "g", Method: "m", Curves: acc.Curves()}}}
	ss := LearningCurveData(run, []string{"g"}, "test_acc")
	s := ss[0]
	if len(s.X) != MaxSeriesPoints {
		t.Fatalf("%d points, want %d", len(s.X), MaxSeriesPoints)
	}
	c := run.Groups[0].Curves
	col := c.Column("test_acc")
	for k, x := range s.X {
		i := int(x) / 10
		// The band is the curve's, clipped to [0, 1].
		if c.Steps[i] != int64(x) || s.Y[k] != col.Mean[i] || s.Lo[k] != math.Max(0, col.Lo[i]) || s.Hi[k] != math.Min(1, col.Hi[i]) {
			t.Fatalf("point %d (step %v) differs from the curve", k, x)
		}
	}
	if s.X[0] != 0 || s.X[len(s.X)-1] != 9990 {
		t.Errorf("ends %v, %v", s.X[0], s.X[len(s.X)-1])
	}
}

// TestLadderData checks the ladder lines against the summary's ladders
// and the final test accuracies by hand.
func TestLadderData(t *testing.T) {
	_, reps, _, sum := synthRun(t)
	lines := LadderData(sum)
	if len(lines) != 1 || len(sum.Ladders) != 1 {
		t.Fatalf("%d lines, %d ladders; want 1 (adlala)", len(lines), len(sum.Ladders))
	}
	l, ens := lines[0], sum.Ladders[0]
	if l.Method != "adlala" || l.Label != "adlala" {
		t.Errorf("line %q (%s)", l.Label, l.Method)
	}
	if len(l.Acc.X) != len(ens.Points) {
		t.Fatalf("%d points, ladder has %d", len(l.Acc.X), len(ens.Points))
	}
	for i, p := range ens.Points {
		if l.Acc.X[i] != p.Tau || l.Acc.Y[i] != p.TestAcc.Mean || l.Acc.Lo[i] != p.TestAcc.CILo || l.Acc.Hi[i] != p.TestAcc.CIHi {
			t.Errorf("acc point %d: %v %v [%v %v]", i, l.Acc.X[i], l.Acc.Y[i], l.Acc.Lo[i], l.Acc.Hi[i])
		}
		if l.Loss.Y[i] != p.TestLoss.Mean || l.Loss.Lo[i] != p.TestLoss.CILo || l.Loss.Hi[i] != p.TestLoss.CIHi {
			t.Errorf("loss point %d differs", i)
		}
		var xs []float64
		for _, r := range doneOf(reps, p.Group) {
			xs = append(xs, r.Final.TestAcc)
		}
		m, lo, hi := handMeanCI(xs)
		if !closeTo(l.Acc.Y[i], m) || math.Abs(l.Acc.Lo[i]-lo) > 1e-9 || math.Abs(l.Acc.Hi[i]-hi) > 1e-9 {
			t.Errorf("τ=%v: %v [%v, %v], by hand %v [%v, %v]", p.Tau, l.Acc.Y[i], l.Acc.Lo[i], l.Acc.Hi[i], m, lo, hi)
		}
	}
	if want := []float64{1e-4, 1e-3}; !slices.Equal(l.Acc.X, want) {
		t.Errorf("τ = %v, want %v", l.Acc.X, want)
	}
	g := ens.Goldilocks
	if l.Best == nil || g == nil || l.Best.Tau != g.Tau || l.Best.Acc != g.TestAcc.Mean || l.Best.Lo != g.Lo || l.Best.Hi != g.Hi {
		t.Errorf("best %+v, Goldilocks %+v", l.Best, g)
	}
}

func TestLadderDataDropsNonPositiveTau(t *testing.T) {
	st := ensemble.Describe([]float64{0.5, 0.6})
	sum := &ensemble.Summary{Ladders: []ensemble.Ladder{
		{Method: "m", Fixed: map[string]string{"method": "m", "h": "0.1"}, Points: []ensemble.LadderPoint{{Tau: 0, TestAcc: st, TestLoss: st}, {Tau: 1e-3, TestAcc: st, TestLoss: st}},
			Goldilocks: &ensemble.Goldilocks{Tau: 0}},
		{Method: "m", Fixed: map[string]string{"method": "m", "h": "0.2"}},
	}}
	lines := LadderData(sum)
	if lines[0].Dropped != 1 || len(lines[0].Acc.X) != 1 || lines[0].Best != nil {
		t.Errorf("line 0: dropped %d, %d points, best %v", lines[0].Dropped, len(lines[0].Acc.X), lines[0].Best)
	}
	if lines[0].Label != "m (h=0.1)" || lines[1].Label != "m (h=0.2)" {
		t.Errorf("labels %q, %q", lines[0].Label, lines[1].Label)
	}
}

// TestBoxData checks the box statistics are the summary's and the values
// are the done replicas' final test accuracies.
func TestBoxData(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	boxes := BoxData(run, sum)
	if len(boxes) != 4 {
		t.Fatalf("%d boxes, want 4", len(boxes))
	}
	for _, b := range boxes {
		var want []float64
		for _, r := range doneOf(reps, b.Group) {
			want = append(want, r.Final.TestAcc)
		}
		sort.Float64s(want)
		if !slices.Equal(b.Values, want) {
			t.Errorf("%s: values %v, want %v", b.Group, b.Values, want)
		}
		var gs *ensemble.GroupSummary
		for i := range sum.Groups {
			if sum.Groups[i].Group == b.Group {
				gs = &sum.Groups[i]
			}
		}
		if !sameStats(b.Stats, gs.FinalTestAcc) {
			t.Errorf("%s: stats %+v, summary %+v", b.Group, b.Stats, gs.FinalTestAcc)
		}
		if b.WhiskerLo != want[0] || b.WhiskerHi != want[len(want)-1] || len(b.Outliers) != 0 {
			t.Errorf("%s: whiskers [%v, %v], outliers %v for %v", b.Group, b.WhiskerLo, b.WhiskerHi, b.Outliers, want)
		}
	}
}

// sameStats compares two Stats field by field, NaN equal to NaN.
func sameStats(a, b ensemble.Stats) bool {
	return a.N == b.N && sameFloat(a.Mean, b.Mean) && sameFloat(a.SD, b.SD) && sameFloat(a.CILo, b.CILo) &&
		sameFloat(a.CIHi, b.CIHi) && sameFloat(a.Median, b.Median) && sameFloat(a.Q1, b.Q1) && sameFloat(a.Q3, b.Q3) &&
		sameFloat(a.IQR, b.IQR) && sameFloat(a.Min, b.Min) && sameFloat(a.Max, b.Max)
}

// TestBoxOutliers checks Tukey's whiskers on values with an outlier.
func TestBoxOutliers(t *testing.T) {
	vals := []float64{0.80, 0.81, 0.82, 0.83, 0.84, 0.50}
	run := &ensemble.Run{Groups: []*ensemble.Group{{Name: "g", Method: "m"}}}
	for i, v := range vals {
		run.Replicas = append(run.Replicas, &ensemble.Replica{ID: string(rune('a' + i)), Group: "g", Status: ensemble.StatusDone,
			Final: ensemble.Metrics{TestAcc: v}})
	}
	run.Replicas = append(run.Replicas, &ensemble.Replica{ID: "z", Group: "g", Status: ensemble.StatusFailed, Final: ensemble.Metrics{TestAcc: 0.1}})
	st := ensemble.Describe(vals)
	sum := &ensemble.Summary{Groups: []ensemble.GroupSummary{{Group: "g", Method: "m", FinalTestAcc: st}}}
	b := BoxData(run, sum)[0]
	// Q1 = 0.8025, Q3 = 0.8275 (type 7), IQR = 0.025: fences 0.765, 0.865.
	if math.Abs(st.Q1-0.8025) > 1e-12 || math.Abs(st.Q3-0.8275) > 1e-12 {
		t.Fatalf("quartiles %v %v", st.Q1, st.Q3)
	}
	if b.WhiskerLo != 0.80 || b.WhiskerHi != 0.84 || !slices.Equal(b.Outliers, []float64{0.50}) || len(b.Values) != 6 {
		t.Errorf("box %+v", b)
	}
}

// TestEquipartitionData checks the kinetic temperature curves against
// ensemble's and that groups without momenta are left out.
func TestEquipartitionData(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	panels := EquipartitionData(run, LineGroups(sum))
	if len(panels) != 3 {
		t.Fatalf("%d panels, want 3 (adam has no momenta)", len(panels))
	}
	for _, p := range panels {
		if p.Method == "adam" {
			t.Errorf("adam has a panel")
		}
		if !slices.Equal(p.Names, []string{"hidden", "output"}) {
			t.Errorf("%s: names %v", p.Group, p.Names)
		}
		c := run.Group(p.Group).Curves
		for i, name := range p.Names {
			tk, tau := c.Column("tkin:"+name), c.Column("tau:"+name)
			for k := range p.Tkin[i].X {
				if !sameFloat(p.Tkin[i].Y[k], tk.Mean[k]) || !sameFloat(p.Tkin[i].Lo[k], tk.Lo[k]) || !sameFloat(p.Tau[i].Y[k], tau.Mean[k]) {
					t.Fatalf("%s %s point %d differs from ensemble", p.Group, name, k)
				}
			}
			// Step 0 has no kinetic temperature (empty cell).
			if !math.IsNaN(p.Tkin[i].Y[0]) {
				t.Errorf("%s %s: T_kin at step 0 = %v, want NaN", p.Group, name, p.Tkin[i].Y[0])
			}
			done := doneOf(reps, p.Group)
			if len(done) == 3 {
				xs := []float64{done[0].col("tkin:" + name)[5], done[1].col("tkin:" + name)[5], done[2].col("tkin:" + name)[5]}
				m, _, _ := handMeanCI(xs)
				if !closeTo(p.Tkin[i].Y[5], m) {
					t.Errorf("%s %s row 5: %v, by hand %v", p.Group, name, p.Tkin[i].Y[5], m)
				}
			}
		}
	}
}

// TestBestReplicas checks each method's best replica by hand and that the
// overall best (ensemble's Summary.Best) is its method's best.
func TestBestReplicas(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	best := BestReplicas(run, sum)
	want := map[string]*synthReplica{}
	for _, r := range reps {
		if r.Status != "done" {
			continue
		}
		if b := want[r.Method]; b == nil || r.Best.ValLoss < b.Best.ValLoss {
			want[r.Method] = r
		}
	}
	if len(best) != len(want) {
		t.Fatalf("%d best replicas, want %d", len(best), len(want))
	}
	for _, b := range best {
		m := b.Settings["method"]
		if b.ID != want[m].ID {
			t.Errorf("%s: best %s, by hand %s", m, b.ID, want[m].ID)
		}
		if m == sum.Best.Method && b.ID != sum.Best.ID {
			t.Errorf("%s: best %s, but ensemble's best replica is %s", m, b.ID, sum.Best.ID)
		}
	}
}

// selectionRun is an in-memory run of two methods where validation and
// test disagree: method "a" has group "a1" with the lower validation
// losses and the worse test accuracies and group "a2" the reverse; within
// each method the replica of lowest validation loss does not have the
// best test accuracy.
func selectionRun() *ensemble.Run {
	run := &ensemble.Run{Groups: []*ensemble.Group{
		{Name: "a1", Method: "a", Settings: map[string]string{"method": "a", "h": "1"}},
		{Name: "a2", Method: "a", Settings: map[string]string{"method": "a", "h": "2"}},
		{Name: "b1", Method: "b", Settings: map[string]string{"method": "b"}},
	}}
	add := func(id, group, method string, val, acc float64) {
		m := ensemble.Metrics{Step: 100, ValLoss: val, TrainLoss: val, TestAcc: acc, TestLoss: 1 - acc}
		run.Replicas = append(run.Replicas, &ensemble.Replica{ID: id, Group: group, Status: ensemble.StatusDone,
			Settings: map[string]string{"method": method}, Best: m, Final: m, BestBy: "val_loss"})
	}
	add("r1", "a1", "a", 0.10, 0.60) // a's best by validation: worst test accuracy of a
	add("r2", "a1", "a", 0.30, 0.70)
	add("r3", "a2", "a", 0.40, 0.95)
	add("r4", "a2", "a", 0.41, 0.96)
	add("r5", "b1", "b", 0.20, 0.80)
	add("r6", "b1", "b", 0.50, 0.90)
	return run
}

// TestSelectionReadFromSummary checks that the charts' choices are the
// Summary's: when validation and test disagree the validation choice is
// drawn, and when the Summary says otherwise the charts follow it (they
// read the choice, they do not recompute it).
func TestSelectionReadFromSummary(t *testing.T) {
	run := selectionRun()
	sum, err := ensemble.Analyze(run, ensemble.Options{Resamples: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got := Representatives(sum); !slices.Equal(got, []string{"a1", "b1"}) {
		t.Errorf("Representatives = %v, want [a1 b1] (lowest mean validation loss; a2 has the better test accuracy)", got)
	}
	var ids []string
	for _, r := range BestReplicas(run, sum) {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"r1", "r5"}) {
		t.Errorf("BestReplicas = %v, want [r1 r5] (lowest validation loss, not the best test accuracy)", ids)
	}
	for i, m := range sum.Methods {
		if m.Representative == nil || m.Best == nil || Representatives(sum)[i] != m.Representative.Group || ids[i] != m.Best.ID {
			t.Errorf("method %s: charts %s/%s, summary %+v", m.Method, Representatives(sum)[i], ids[i], m)
		}
	}

	// The Summary decides: change its choice and the charts follow.
	sum.Methods[0].Representative.Group = "a2"
	sum.Methods[0].Best.ID = "r4"
	if got := Representatives(sum); !slices.Equal(got, []string{"a2", "b1"}) {
		t.Errorf("after changing the summary: Representatives = %v, want [a2 b1]", got)
	}
	ids = nil
	for _, r := range BestReplicas(run, sum) {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"r4", "r5"}) {
		t.Errorf("after changing the summary: BestReplicas = %v, want [r4 r5]", ids)
	}
	// A best replica the run does not hold is left out, not replaced.
	sum.Methods[1].Best.ID = "gone"
	if got := BestReplicas(run, sum); len(got) != 1 || got[0].ID != "r4" {
		t.Errorf("unknown id: BestReplicas = %v", got)
	}
}

// TestRenderSelection checks that the report's "each method" table and
// the charts drawn from representative groups use the Summary's choices.
func TestRenderSelection(t *testing.T) {
	runDir, _, run, sum := synthRun(t)
	figs, _, err := Figures(run, sum, Extra{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, m := range sum.Methods {
		if m.Representative != nil {
			want[m.Method] = m.Representative.Group
		}
	}
	hs, ws := WeightHistData(run, sum)
	if len(ws) != 0 {
		t.Fatal(ws)
	}
	for _, h := range hs {
		if h.Group != want[h.Method] {
			t.Errorf("weights of %s drawn from %s, summary's representative %s", h.Method, h.Group, want[h.Method])
		}
	}
	if len(figs) == 0 {
		t.Fatal("no figures")
	}
	outDir := filepath.Join(runDir, "report")
	if err := Render(runDir, outDir, sum, run, Extra{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(outDir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, m := range sum.Methods {
		if m.Best == nil {
			continue
		}
		row := "<tr><td class=\"l\">" + m.Method + "</td><td class=\"l\">" + m.Representative.Group + "</td>"
		if !strings.Contains(page, row) || !strings.Contains(page, m.Best.ID) {
			t.Errorf("report lacks %s's representative %s and best replica %s", m.Method, m.Representative.Group, m.Best.ID)
		}
	}
}

// TestBandClipping is a property test of the band data: over random
// curves of few seeds (whose t-intervals reach far past the values), the
// learning-curve, ladder and kinetic-temperature bands never leave the
// metric's range (losses and temperatures ≥ 0, accuracies within [0, 1]),
// the mean stays inside its band, and a band edge inside the range is
// left as it is.
func TestBandClipping(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	outside := 0
	columns := []string{"train_loss", "test_loss", "val_loss", "train_acc", "test_acc", "val_acc", "tkin:hidden"}
	for trial := 0; trial < 200; trial++ {
		seeds := 2 + rng.IntN(3)
		acc := ensemble.NewCurveAccumulator("g")
		for s := 0; s < seeds; s++ {
			for i := 0; i < 30; i++ {
				step := int64(i * 10)
				for _, c := range columns {
					var v float64
					switch lo, hi := MetricRange(c); {
					case hi == 1: // accuracy: near 0 or 1 half of the time
						v = []float64{rng.Float64(), 0.02 * rng.Float64(), 1 - 0.02*rng.Float64()}[rng.IntN(3)]
					default: // loss, temperature: small and spread
						v = lo + math.Abs(rng.NormFloat64())*math.Pow(10, -3*rng.Float64())
					}
					acc.Add(c, step, v)
				}
			}
		}
		curves := acc.Curves()
		run := &ensemble.Run{Groups: []*ensemble.Group{{Name: "g", Method: "m", Curves: curves}}}
		check := func(what, col string, s Series, raw *ensemble.Series) {
			lo, hi := MetricRange(col)
			for k := range s.X {
				l, h, y := s.Lo[k], s.Hi[k], s.Y[k]
				if math.IsNaN(l) || math.IsNaN(h) {
					continue
				}
				if l < lo || h > hi || l > h || y < l || y > h {
					t.Fatalf("trial %d %s %s point %d: band [%v, %v] around %v leaves [%v, %v]", trial, what, col, k, l, h, y, lo, hi)
				}
				if raw != nil && (raw.Lo[k] < lo || raw.Hi[k] > hi) {
					outside++
				}
				if raw != nil && ((raw.Lo[k] >= lo && l != raw.Lo[k]) || (raw.Hi[k] <= hi && h != raw.Hi[k])) {
					t.Fatalf("trial %d %s %s point %d: band [%v, %v] changed inside the range (raw [%v, %v])", trial, what, col, k, l, h, raw.Lo[k], raw.Hi[k])
				}
			}
		}
		for _, col := range columns[:6] {
			ss := LearningCurveData(run, []string{"g"}, col)
			if len(ss) != 1 {
				t.Fatalf("%s: %d series", col, len(ss))
			}
			check("learning curve", col, ss[0], curves.Column(col))
		}
		for _, p := range EquipartitionData(run, []string{"g"}) {
			check("equipartition", "tkin:hidden", p.Tkin[0], curves.Column("tkin:hidden"))
		}
		// Ladder points: the final test metrics of few seeds.
		sum := &ensemble.Summary{Ladders: []ensemble.Ladder{{Method: "m"}}}
		for k := 0; k < 5; k++ {
			var accs, losses []float64
			for s := 0; s < seeds; s++ {
				accs = append(accs, []float64{rng.Float64(), 0.99 + 0.01*rng.Float64()}[rng.IntN(2)])
				losses = append(losses, 0.01*math.Abs(rng.NormFloat64()))
			}
			sum.Ladders[0].Points = append(sum.Ladders[0].Points, ensemble.LadderPoint{Tau: math.Pow(10, float64(k-5)),
				TestAcc: ensemble.Describe(accs), TestLoss: ensemble.Describe(losses)})
		}
		l := LadderData(sum)[0]
		check("ladder", "test_acc", l.Acc, nil)
		check("ladder", "test_loss", l.Loss, nil)
	}
	// The raw bands did reach past the range (else the property is vacuous).
	if outside < 100 {
		t.Fatalf("only %d raw band edges outside the range: the check proves little", outside)
	}
}
