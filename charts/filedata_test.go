package charts

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/ensemble"
)

// TestDecisionBoundaryData checks that the best replica's heat map is its
// grid.json "final" exactly (Z[j][i] at (X[i], Y[j]) on a non-square
// grid), and that the model average is the mean of the representative
// group's "averaged" grids, computed by hand.
func TestDecisionBoundaryData(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	bs, err := DecisionBoundaryData(run, sum)
	if err != nil {
		t.Fatal(err)
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
				if !slices.Equal(b.Z[j], r.Grid.Final[j]) {
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
	bs, err := DecisionBoundaryData(run, sum)
	if err != nil || len(bs) != 0 {
		t.Errorf("no grid.json: %d boundaries, %v", len(bs), err)
	}
	hs, err := WeightHistData(run, sum)
	if err != nil || len(hs) != 0 {
		t.Errorf("no params.bin: %d histograms, %v", len(hs), err)
	}
	in, err := InterpData(run, sum)
	if err != nil || len(in) != 0 {
		t.Errorf("no interp.csv: %d series, %v", len(in), err)
	}
}

// TestWeightHistData checks the histogram counts against a direct count
// of the values in params.bin.
func TestWeightHistData(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	hs, err := WeightHistData(run, sum)
	if err != nil {
		t.Fatal(err)
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
	ss, err := InterpData(run, sum)
	if err != nil {
		t.Fatal(err)
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
	ss, err := XiData(run, sum)
	if err != nil {
		t.Fatal(err)
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

// TestReadErrors feeds malformed files to every reader: each must fail
// with an error naming the file, never panic.
func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	good := encodeParams([]float64{1, 2, 3})
	cases := []struct {
		name, file, content string
		read                func(string) error
		want                string
	}{
		{"params missing", "none.bin", "", func(p string) error { _, err := ReadParams(p); return err }, "no such file"},
		{"params magic", "a.bin", "HBPARAM2" + string(good[8:]), func(p string) error { _, err := ReadParams(p); return err }, "bad magic"},
		{"params short header", "b.bin", "HBPA", func(p string) error { _, err := ReadParams(p); return err }, "truncated header"},
		{"params truncated", "c.bin", string(good[:30]), func(p string) error { _, err := ReadParams(p); return err }, "truncated: 1 of 3"},
		{"params trailing", "d.bin", string(good) + "x", func(p string) error { _, err := ReadParams(p); return err }, "trailing"},
		{"params huge count", "e.bin", "HBPARAM1\xff\xff\xff\xff\xff\xff\xff\xff", func(p string) error { _, err := ReadParams(p); return err }, "too large"},
		{"grid missing", "none.json", "", func(p string) error { _, err := ReadGrid(p); return err }, "no such file"},
		{"grid not json", "g1.json", "{x:", func(p string) error { _, err := ReadGrid(p); return err }, "invalid character"},
		{"grid short row", "g2.json", `{"x":[0,1],"y":[0,1],"final":[[0,1],[0]],"averaged":[[0,1],[0,1]],"points":[]}`,
			func(p string) error { _, err := ReadGrid(p); return err }, `"final" row 1 has 1 values`},
		{"grid rows", "g3.json", `{"x":[0,1],"y":[0,1,2],"final":[[0,1],[0,1]],"averaged":[[0,1],[0,1]],"points":[]}`,
			func(p string) error { _, err := ReadGrid(p); return err }, `"final" has 2 rows, want 3`},
		{"grid probability", "g4.json", `{"x":[0,1],"y":[0,1],"final":[[0,1],[0,1.5]],"averaged":[[0,1],[0,1]],"points":[]}`,
			func(p string) error { _, err := ReadGrid(p); return err }, "not a probability"},
		{"grid x order", "g5.json", `{"x":[1,0],"y":[0,1],"final":[[0,1],[0,1]],"averaged":[[0,1],[0,1]],"points":[]}`,
			func(p string) error { _, err := ReadGrid(p); return err }, "increasing"},
		{"grid point", "g6.json", `{"x":[0,1],"y":[0,1],"final":[[0,1],[0,1]],"averaged":[[0,1],[0,1]],"points":[[1,2]]}`,
			func(p string) error { _, err := ReadGrid(p); return err }, "point 0 has 2 values"},
		{"interp empty", "i1.csv", "", func(p string) error { _, err := ReadInterp(p); return err }, "empty file"},
		{"interp header", "i2.csv", "a,b,c\n0,1,2\n", func(p string) error { _, err := ReadInterp(p); return err }, "header"},
		{"interp number", "i3.csv", "alpha,train_loss,test_loss\n0,1,2\n0.05,x,2\n", func(p string) error { _, err := ReadInterp(p); return err }, `:3: column "train_loss": bad number "x"`},
		{"interp fields", "i4.csv", "alpha,train_loss,test_loss\n0,1\n", func(p string) error { _, err := ReadInterp(p); return err }, "wrong number of fields"},
		{"interp order", "i5.csv", "alpha,train_loss,test_loss\n0.5,1,2\n0.1,1,2\n", func(p string) error { _, err := ReadInterp(p); return err }, "not increasing"},
		{"interp no rows", "i6.csv", "alpha,train_loss,test_loss\n", func(p string) error { _, err := ReadInterp(p); return err }, "no rows"},
		{"trajectory no step", "t1.csv", "a,xi:w\n1,2\n", func(p string) error { _, err := ReadColumns(p, "xi:"); return err }, `missing column "step"`},
		{"trajectory number", "t2.csv", "step,xi:w\n0,1\n100,zz\n", func(p string) error { _, err := ReadColumns(p, "xi:"); return err }, `:3: column "xi:w": bad number "zz"`},
		{"trajectory step", "t3.csv", "step,xi:w\n0.5,1\n", func(p string) error { _, err := ReadColumns(p, "xi:"); return err }, `bad step "0.5"`},
		{"trajectory quote", "t4.csv", "step,xi:w\n0,\"1\n", func(p string) error { _, err := ReadColumns(p, "xi:"); return err }, "t4.csv"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.file)
			if c.file != "none.bin" && c.file != "none.json" {
				mustWriteFile(t, path, []byte(c.content))
			}
			err := c.read(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want the path and %q", err, c.want)
			}
		})
	}
}

func TestDecodeParams(t *testing.T) {
	want := []float64{0, -1.5, math.Inf(1), 1e-300}
	got, err := DecodeParams(bytes.NewReader(encodeParams(want)))
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("DecodeParams = %v, %v", got, err)
	}
	got, err = DecodeParams(bytes.NewReader(encodeParams(nil)))
	if err != nil || len(got) != 0 {
		t.Errorf("empty: %v, %v", got, err)
	}
}

// TestMalformedReplicaFiles breaks one replica file at a time: Render
// must return an error naming the file.
func TestMalformedReplicaFiles(t *testing.T) {
	dir, reps, run, sum := synthRun(t)
	best := BestReplicas(run, sum)
	var adlala string
	for _, r := range best {
		if r.Settings["method"] == "adlala" {
			adlala = r.Dir
		}
	}
	rep := doneOf(reps, Representatives(sum)[0])[0].Dir
	for _, c := range []struct{ dir, file, content string }{
		{best[0].Dir, "grid.json", `{"x": [0, 1], "y": [0]}`},
		{rep, "params.bin", "HBPARAM1"},
		{rep, "interp.csv", "alpha,train_loss,test_loss\n0,1,oops\n"},
		{adlala, "trajectory.csv", "step,train_loss\nfoo,1\n"},
	} {
		path := filepath.Join(c.dir, c.file)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		mustWriteFile(t, path, []byte(c.content))
		err = Render(dir, filepath.Join(dir, "report"), sum, run, Extra{})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Render error %v, want one naming the file", path, err)
		}
		mustWriteFile(t, path, orig)
	}
	if err := Render(dir, filepath.Join(dir, "report"), sum, run, Extra{}); err != nil {
		t.Errorf("restored files: %v", err)
	}
}
