package charts

import (
	"html"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

// TestDecisionBoundaryData checks that the best replica's heat map is its
// grid.json "final" exactly (Z[j][i] at (X[i], Y[j]) on a non-square
// grid), and that the model average is the mean of the representative
// group's "averaged" grids, computed by hand.
func TestDecisionBoundaryData(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	bs, ws := DecisionBoundaryData(run, sum)
	if len(ws) != 0 {
		t.Fatal(ws)
	}
	best := map[string]string{}
	for _, r := range BestReplicas(run, sum) {
		best[r.Settings["method"]] = r.ID
	}
	rep := map[string]string{}
	for _, g := range Representatives(sum) {
		rep[run.Group(g).Method] = g
	}
	byID := map[string]*synthReplica{}
	for _, r := range reps {
		byID[r.ID] = r
	}
	if len(bs) != 6 {
		t.Fatalf("%d boundaries, want 6 (3 methods × best, average)", len(bs))
	}
	for _, b := range bs {
		if len(b.X) != 5 || len(b.Y) != 4 || len(b.Z) != 4 || len(b.Z[0]) != 5 {
			t.Fatalf("%s %s: grid %d×%d, Z %d×%d", b.Method, b.Kind, len(b.X), len(b.Y), len(b.Z), len(b.Z[0]))
		}
		switch b.Kind {
		case BoundaryBest:
			r := byID[b.Replica]
			if b.Replica != best[b.Method] || b.Chains != 1 {
				t.Errorf("%s: best boundary from %s, want %s", b.Method, b.Replica, best[b.Method])
			}
			if !slices.Equal(b.X, r.Grid.X) || !slices.Equal(b.Y, r.Grid.Y) {
				t.Errorf("%s: coordinates differ from grid.json", b.Method)
			}
			for j := range b.Z {
				if !slices.Equal(b.Z[j], []float64(r.Grid.Final[j])) {
					t.Errorf("%s: row %d = %v, grid.json final %v", b.Method, j, b.Z[j], r.Grid.Final[j])
				}
			}
			if len(b.Points) != len(r.Grid.Points) || !slices.Equal(b.Points[3], r.Grid.Points[3]) {
				t.Errorf("%s: training points differ", b.Method)
			}
		case BoundaryAverage:
			if b.Group != rep[b.Method] {
				t.Errorf("%s: average of %s, want %s", b.Method, b.Group, rep[b.Method])
			}
			done := doneOf(reps, b.Group)
			if b.Chains != len(done) {
				t.Errorf("%s: %d chains, want %d", b.Method, b.Chains, len(done))
			}
			for j := range b.Z {
				for i := range b.Z[j] {
					var m float64
					for _, r := range done {
						m += r.Grid.Averaged[j][i]
					}
					m /= float64(len(done))
					if !closeTo(b.Z[j][i], m) {
						t.Errorf("%s: average at (%d, %d) = %v, by hand %v", b.Method, i, j, b.Z[j][i], m)
					}
				}
			}
		default:
			t.Errorf("unknown kind %q", b.Kind)
		}
	}
}

func TestDecisionBoundaryNoGrid(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.NoFiles = true
	writeSynthRun(t, dir, cfg)
	run, sum := mustLoad(t, dir)
	bs, ws := DecisionBoundaryData(run, sum)
	if len(ws) != 0 || len(bs) != 0 {
		t.Errorf("no grid.json: %d boundaries, %v", len(bs), ws)
	}
	hs, ws := WeightHistData(run, sum)
	if len(ws) != 0 || len(hs) != 0 {
		t.Errorf("no parameters: %d histograms, %v", len(hs), ws)
	}
	in, ws := InterpData(run, sum)
	if len(ws) != 0 || len(in) != 0 {
		t.Errorf("no interp.csv: %d series, %v", len(in), ws)
	}
}

// TestWeightHistData checks the histogram counts against a direct count
// of the values in params.bin.
func TestWeightHistData(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	hs, ws := WeightHistData(run, sum)
	if len(ws) != 0 {
		t.Fatal(ws)
	}
	if len(hs) != 3 {
		t.Fatalf("%d histograms, want 3", len(hs))
	}
	for _, h := range hs {
		done := doneOf(reps, h.Group)
		var ids []string
		var all []float64
		for _, r := range done {
			ids = append(ids, r.ID)
			all = append(all, r.Params...)
		}
		if !slices.Equal(h.Replicas, ids) {
			t.Errorf("%s: pooled %v, want %v", h.Method, h.Replicas, ids)
		}
		// A direct count: bin i holds Edges[i] ≤ |θ| < Edges[i+1], the first
		// bin also smaller values, the last also larger ones.
		want := make([]int, len(h.Edges)-1)
		small := 0
		for _, v := range all {
			a := math.Abs(v)
			if a < 0.01 {
				small++
			}
			placed := false
			for i := range want {
				lo, hi := h.Edges[i], h.Edges[i+1]
				if (a >= lo || i == 0) && (a < hi || i == len(want)-1) {
					want[i]++
					placed = true
					break
				}
			}
			if !placed {
				t.Fatalf("value %v in no bin", v)
			}
		}
		if !slices.Equal(h.Counts, want) {
			t.Errorf("%s: counts %v, direct count %v", h.Method, h.Counts, want)
		}
		if h.Total != len(all) || h.NonFinite != 0 || h.Small != small || h.Threshold != 0.01 {
			t.Errorf("%s: total %d (want %d), small %d (want %d), threshold %v", h.Method, h.Total, len(all), h.Small, small, h.Threshold)
		}
		if h.Edges[0] != MinMagnitude {
			t.Errorf("first edge %v", h.Edges[0])
		}
	}
	// Adam keeps a third of its parameters near 1e-4 (below the threshold).
	for _, h := range hs {
		frac := float64(h.Small) / float64(h.Total)
		if (h.Method == "adam") != (frac > 0.2) {
			t.Errorf("%s: %.2f below 0.01", h.Method, frac)
		}
	}
}

func TestMagnitudeEdgesAndCounts(t *testing.T) {
	e := MagnitudeEdges(3)
	if len(e) != 7*MagnitudeBinsPerDecade+1 || e[0] != 1e-6 || math.Abs(e[len(e)-1]-10) > 1e-12 {
		t.Errorf("edges %v…%v (%d)", e[0], e[len(e)-1], len(e))
	}
	if e := MagnitudeEdges(0); len(e) != MagnitudeBinsPerDecade+1 {
		t.Errorf("edges of 0: %v", e)
	}
	counts := make([]int, len(e)-1)
	nf := CountMagnitudes(counts, e, []float64{0, -1e-9, 1e-6, 2, -2, 100, math.NaN(), math.Inf(1)})
	if nf != 2 {
		t.Errorf("non-finite %d", nf)
	}
	// 0, 1e-9 and 1e-6 fall in the first bin; 2 twice in its bin; 100 in the last.
	i2 := -1
	for i := range counts {
		if e[i] <= 2 && 2 < e[i+1] {
			i2 = i
		}
	}
	if counts[0] != 3 || counts[i2] != 2 || counts[len(counts)-1] != 1 {
		t.Errorf("counts %v", counts)
	}
}

// TestInterpData checks the interpolation mean and band against
// ensemble.MeanCI95 of the losses written to interp.csv.
func TestInterpData(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	ss, ws := InterpData(run, sum)
	if len(ws) != 0 {
		t.Fatal(ws)
	}
	if len(ss) != 6 {
		t.Fatalf("%d series, want 6 (3 methods × test, train)", len(ss))
	}
	for _, s := range ss {
		done := doneOf(reps, s.Group)
		if len(s.X) != 41 || s.X[0] != -0.5 || s.X[40] != 1.5 {
			t.Fatalf("%s: α = %v…", s.Group, s.X[:2])
		}
		for i := range s.X {
			var xs []float64
			for _, r := range done {
				p := r.Interp[i]
				if s.Column == "test_loss" {
					xs = append(xs, p.Test)
				} else {
					xs = append(xs, p.Train)
				}
			}
			m, lo, hi := ensemble.MeanCI95(xs)
			if !sameFloat(s.Y[i], m) || !sameFloat(s.Lo[i], lo) || !sameFloat(s.Hi[i], hi) || s.N[i] != len(xs) {
				t.Fatalf("%s %s α=%v: %v [%v, %v], want %v [%v, %v]", s.Group, s.Column, s.X[i], s.Y[i], s.Lo[i], s.Hi[i], m, lo, hi)
			}
		}
	}
}

func TestBetweenData(t *testing.T) {
	pts := []InterpPoint{{Alpha: 1, Train: 0.3, Test: 0.4}, {Alpha: 0, Train: 0.2, Test: 0.25}, {Alpha: 0.5, Train: 0.9, Test: 1.1}}
	ss := BetweenData([]BetweenCurve{{Label: "adam → adlala", Points: pts}})
	if len(ss) != 2 || ss[0].Column != "test_loss" || ss[1].Column != "train_loss" {
		t.Fatalf("series %+v", ss)
	}
	if !slices.Equal(ss[0].X, []float64{0, 0.5, 1}) || !slices.Equal(ss[0].Y, []float64{0.25, 1.1, 0.4}) || !slices.Equal(ss[1].Y, []float64{0.2, 0.9, 0.3}) {
		t.Errorf("test %v %v, train %v", ss[0].X, ss[0].Y, ss[1].Y)
	}
	if pts[0].Alpha != 1 {
		t.Error("BetweenData reordered its input")
	}
}

// TestXiData checks ξ against the xi columns of the best replica's
// trajectory.csv.
func TestXiData(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	ss, ws := XiData(run, sum)
	if len(ws) != 0 {
		t.Fatal(ws)
	}
	if len(ss) != 2 {
		t.Fatalf("%d series, want 2 (adlala's two tensors)", len(ss))
	}
	var r *synthReplica
	for _, x := range reps {
		if x.ID == ss[0].Replica {
			r = x
		}
	}
	if r == nil || r.Method != "adlala" {
		t.Fatalf("ξ from replica %s", ss[0].Replica)
	}
	for _, s := range ss {
		if !slices.Equal(s.Y, r.col(s.Column)) || !slices.Equal(s.X, r.col("step")) {
			t.Errorf("%s differs from trajectory.csv", s.Column)
		}
	}
}

// TestReadXiErrors feeds damaged trajectories to readXi: each must fail
// with an error naming the file, never panic.
func TestReadXiErrors(t *testing.T) {
	for _, c := range []struct{ name, content, want string }{
		{"empty", "", "empty file"},
		{"no step", "a,xi:w\n1,2\n", `:1: missing column "step"`},
		{"number", "step,xi:w\n0,1\n100,zz\n", `:3: column "xi:w": bad number "zz"`},
		{"step", "step,xi:w\n0.5,1\n", `:2: column "step": bad step 0.5`},
		{"cells", "step,xi:w\n0,1,2\n", ":2: 3 cells, want 2"},
		{"truncated", "step,xi:w\n0,1\n100,2", ":3: truncated"},
		{"no rows", "step,xi:w\n", "no rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "trajectory.csv")
			mustWriteFile(t, path, []byte(c.content))
			_, err := readXi(dir)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v: want the path and %q", err, c.want)
			}
		})
	}
	if _, err := readXi(t.TempDir()); !absent(err) {
		t.Errorf("missing trajectory: %v, want fs.ErrNotExist", err)
	}
}

// TestWeightHistSafetensors checks that the histograms are the same
// whether the parameters are in params.bin (run directories written
// before safetensors) or in params.safetensors.
func TestWeightHistSafetensors(t *testing.T) {
	dir, reps, run, sum := synthRun(t)
	legacy, ws := WeightHistData(run, sum)
	if len(ws) != 0 || len(legacy) != 3 {
		t.Fatalf("%d histograms, warnings %v", len(legacy), ws)
	}
	for _, r := range reps {
		if r.Params == nil {
			continue
		}
		// 40 parameters: torch.nn.Sequential(Linear(2, 3), ReLU(), Linear(3, 6), ReLU(), Linear(6, 1)).
		b, err := rundir.EncodeParams(rundir.ParamsMeta{Parameters: rundir.ParamsFinal, Step: 2000, Widths: []int{2, 3, 6, 1},
			Activation: "relu", InputScaling: rundir.ScalingNone, Classes: 2, Replica: r.ID}, r.Params)
		if err != nil {
			t.Fatal(err)
		}
		mustWriteFile(t, filepath.Join(r.Dir, rundir.FileParams), b)
		if err := os.Remove(filepath.Join(r.Dir, rundir.FileLegacyParams)); err != nil {
			t.Fatal(err)
		}
	}
	run, sum = mustLoad(t, dir)
	got, ws := WeightHistData(run, sum)
	if len(ws) != 0 || !reflect.DeepEqual(got, legacy) {
		t.Errorf("from params.safetensors: %+v, warnings %v; from params.bin: %+v", got, ws, legacy)
	}
}

// TestDamagedReplicaFiles damages one replica file at a time (grid.json,
// the parameters, interp.csv, trajectory.csv): the chart data must leave
// exactly that replica out with a warning naming the file, and Render
// must still write the report, listing the warning in summary.json,
// summary.md and report.html.
func TestDamagedReplicaFiles(t *testing.T) {
	dir, reps, run, sum := synthRun(t)
	var adlala *ensemble.Replica
	for _, r := range BestReplicas(run, sum) {
		if r.Settings["method"] == "adlala" {
			adlala = r
		}
	}
	bestDirs := map[string]bool{}
	for _, r := range BestReplicas(run, sum) {
		bestDirs[r.Dir] = true
	}
	// A done replica of a representative group that is no method's best
	// replica, so that only the group average loses it.
	var rep *synthReplica
	group := Representatives(sum)[0]
	for _, r := range doneOf(reps, group) {
		if !bestDirs[r.Dir] {
			rep = r
			break
		}
	}
	if rep == nil || adlala == nil {
		t.Fatal("no replica to damage")
	}
	chains := len(doneOf(reps, group))
	cases := []struct {
		name, dir, file, content, want string
		// check tests the chart data with the damaged file.
		check func(t *testing.T) []string
	}{
		{"grid truncated", rep.Dir, rundir.FileGrid, `{"x": [0, 1], "y": [0`, "truncated", func(t *testing.T) []string {
			bs, ws := DecisionBoundaryData(run, sum)
			for _, b := range bs {
				if b.Kind == BoundaryAverage && b.Group == group && b.Chains != chains-1 {
					t.Errorf("average of %s over %d chains, want %d", group, b.Chains, chains-1)
				}
			}
			return ws
		}},
		{"grid malformed", rep.Dir, rundir.FileGrid, `{"x": [0, 1], "y": [0]}`, `"y" has 1 values`, func(t *testing.T) []string {
			_, ws := DecisionBoundaryData(run, sum)
			return ws
		}},
		{"grid of other coordinates", rep.Dir, rundir.FileGrid,
			`{"x":[0,1],"y":[0,1],"final":[[0,1],[0,1]],"averaged":[[0,1],[0,1]],"points":[]}`, "grid coordinates differ", func(t *testing.T) []string {
				_, ws := DecisionBoundaryData(run, sum)
				return ws
			}},
		{"params truncated", rep.Dir, rundir.FileLegacyParams, "HBPARAM1", "bad magic", func(t *testing.T) []string {
			hs, ws := WeightHistData(run, sum)
			for _, h := range hs {
				if h.Group == group && len(h.Replicas) != chains-1 {
					t.Errorf("histogram of %s pools %v, want %d replicas", group, h.Replicas, chains-1)
				}
			}
			return ws
		}},
		{"safetensors truncated", rep.Dir, rundir.FileParams, "\x10\x00\x00\x00\x00\x00\x00\x00{\"__metadata", "truncated", func(t *testing.T) []string {
			_, ws := WeightHistData(run, sum)
			return ws
		}},
		{"interp truncated", rep.Dir, rundir.FileInterp, "alpha,train_loss,test_loss\n0,1,1\n0.5,1", "truncated", func(t *testing.T) []string {
			ss, ws := InterpData(run, sum)
			for _, s := range ss {
				if s.Group == group && s.N[0] != chains-1 {
					t.Errorf("interpolation of %s over %d replicas, want %d", group, s.N[0], chains-1)
				}
			}
			return ws
		}},
		{"interp other alphas", rep.Dir, rundir.FileInterp, "alpha,train_loss,test_loss\n0,1,1\n1,1,1\n", "values of alpha differ", func(t *testing.T) []string {
			_, ws := InterpData(run, sum)
			return ws
		}},
		{"trajectory bad step", adlala.Dir, rundir.FileTrajectory, "step,train_loss\nfoo,1\n", `bad number "foo"`, func(t *testing.T) []string {
			ss, ws := XiData(run, sum)
			for _, s := range ss {
				if s.Replica == adlala.ID {
					t.Errorf("ξ drawn from the damaged trajectory")
				}
			}
			return ws
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(c.dir, c.file)
			orig, err := os.ReadFile(path)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			mustWriteFile(t, path, []byte(c.content))
			defer func() {
				if orig == nil {
					os.Remove(path)
				} else {
					mustWriteFile(t, path, orig)
				}
			}()
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			ws := c.check(t)
			if len(ws) != 1 || !strings.Contains(ws[0], rel) || !strings.Contains(ws[0], c.want) {
				t.Fatalf("warnings %q, want one naming %s and %q", ws, rel, c.want)
			}
			out := filepath.Join(dir, "report-"+strings.ReplaceAll(c.name, " ", "-"))
			if err := Render(dir, out, sum, run, Extra{}); err != nil {
				t.Fatalf("Render: %v, want the report without the damaged replica", err)
			}
			for _, f := range []string{"summary.json", "summary.md", ReportFile} {
				b, err := os.ReadFile(filepath.Join(out, f))
				if err != nil {
					t.Fatal(err)
				}
				text := string(b)
				if f == ReportFile {
					text = html.UnescapeString(text)
				}
				if !strings.Contains(text, rel) {
					t.Errorf("%s does not name %s", f, rel)
				}
			}
			for _, w := range sum.Warnings {
				if strings.Contains(w, rel) {
					t.Errorf("Render changed the caller's summary: %q", w)
				}
			}
		})
	}
	// Restored, the report has no warning.
	if _, ws := DecisionBoundaryData(run, sum); len(ws) != 0 {
		t.Errorf("restored files: %v", ws)
	}
}
