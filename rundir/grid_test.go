package rundir

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbsRoundTrip checks that Probs read back what MarshalJSON wrote,
// null as NaN, and refuse what is not an array of numbers.
func TestProbsRoundTrip(t *testing.T) {
	in := Probs{0.25, math.NaN(), 1, 0, 0.123456}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Probs
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) || !math.IsNaN(out[1]) || out[0] != 0.25 || out[4] != 0.123456 {
		t.Errorf("%s read back as %v", b, out)
	}
	for _, s := range []string{`[ ]`, ` [0.5 , null ,1e-3] `} {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{`["0.5"]`, `[[0.5]]`, `{"a":1}`, `[true]`, `0.5`, `[1,"a,b"]`} {
		if err := json.Unmarshal([]byte(s), &out); err == nil {
			t.Errorf("%s: no error", s)
		}
	}
}

// TestReadGridErrors feeds damaged grid.json files to ReadGrid: each is
// an error naming the file and the problem, a cut-off one wraps
// ErrTruncated, a missing one fs.ErrNotExist.
func TestReadGridErrors(t *testing.T) {
	good := &Grid{X: []float64{0, 1}, Y: []float64{0, 1}, Final: []Probs{{0, 1}, {0.5, math.NaN()}},
		Averaged: []Probs{{0, 1}, {0.5, 0.5}}, Points: [][]float64{{0.1, 0.2, 1}}}
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, FileGrid), good.AppendJSON(nil)); err != nil {
		t.Fatal(err)
	}
	g, err := ReadGrid(dir)
	if err != nil || !math.IsNaN(g.Final[1][1]) || g.Points[0][2] != 1 {
		t.Fatalf("ReadGrid = %+v, %v", g, err)
	}
	full := string(good.AppendJSON(nil))
	for _, c := range []struct{ name, content, want string }{
		{"cut", full[:len(full)/2], "truncated"},
		{"not json", "{x:", "invalid character"},
		{"short row", `{"x":[0,1],"y":[0,1],"final":[[0,1],[0]],"averaged":[[0,1],[0,1]],"points":[]}`, `"final" row 1 has 1 values`},
		{"rows", `{"x":[0,1],"y":[0,1,2],"final":[[0,1],[0,1]],"averaged":[[0,1],[0,1]],"points":[]}`, `"final" has 2 rows, want 3`},
		{"probability", `{"x":[0,1],"y":[0,1],"final":[[0,1],[0,1.5]],"averaged":[[0,1],[0,1]],"points":[]}`, "not a probability"},
		{"x order", `{"x":[1,0],"y":[0,1],"final":[[0,1],[0,1]],"averaged":[[0,1],[0,1]],"points":[]}`, `"x" is not finite and increasing`},
		{"one y", `{"x":[0,1],"y":[0],"final":[[0,1]],"averaged":[[0,1]],"points":[]}`, `"y" has 1 values`},
		{"point", `{"x":[0,1],"y":[0,1],"final":[[0,1],[0,1]],"averaged":[[0,1],[0,1]],"points":[[1,2]]}`, "point 0 has 2 values"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileGrid)
			if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadGrid(dir)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != path || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v: want a *FileError of %s with %q", err, path, c.want)
			}
			if (c.name == "cut") != errors.Is(err, ErrTruncated) {
				t.Errorf("error %v: truncated %v", err, errors.Is(err, ErrTruncated))
			}
		})
	}
	if _, err := ReadGrid(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing grid.json: %v, want fs.ErrNotExist", err)
	}
}

// TestReadPredictionsErrors checks ReadPredictions' validation.
func TestReadPredictionsErrors(t *testing.T) {
	good := &Predictions{Classes: 3, Labels: []int{0, 2}, K: 4, Final: []Probs{{0.2, 0.3, 0.5}, {0, 0, 1}},
		Averaged: []Probs{{0.3, 0.3, 0.4}, {0.1, 0.1, 0.8}}}
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, FilePredictions), good.AppendJSON(nil)); err != nil {
		t.Fatal(err)
	}
	if p, err := ReadPredictions(dir); err != nil || p.K != 4 || p.Averaged[1][2] != 0.8 {
		t.Fatalf("ReadPredictions = %+v, %v", p, err)
	}
	full := string(good.AppendJSON(nil))
	for _, c := range []struct{ name, content, want string }{
		{"cut", full[:len(full)-5], "truncated"},
		{"classes", `{"classes":1,"labels":[],"k":1,"final":[],"averaged":[]}`, "classes = 1"},
		{"k", `{"classes":2,"labels":[],"k":-1,"final":[],"averaged":[]}`, "k = -1"},
		{"rows", `{"classes":2,"labels":[0,1],"k":1,"final":[[0.5,0.5]],"averaged":[[0.5,0.5],[0.5,0.5]]}`, "2 labels, 1 final and 2 averaged rows"},
		{"label", `{"classes":2,"labels":[0,2],"k":1,"final":[[0.5,0.5],[0.5,0.5]],"averaged":[[0.5,0.5],[0.5,0.5]]}`, "label 2 of point 1"},
		{"row length", `{"classes":2,"labels":[0],"k":1,"final":[[0.5]],"averaged":[[0.5,0.5]]}`, "rows of 1 and 2 probabilities"},
		{"probability", `{"classes":2,"labels":[0],"k":1,"final":[[-0.1,1.1]],"averaged":[[0.5,0.5]]}`, "-0.1 is not a probability"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FilePredictions)
			if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadPredictions(dir)
			if file, reason := Damage(err); file != path || !strings.Contains(reason, c.want) {
				t.Errorf("error %v: want one of %s with %q", err, path, c.want)
			}
		})
	}
}

func TestSweepValidate(t *testing.T) {
	ok := &Sweep{Version: SweepVersion, ID: "s", Replicas: []SweepEntry{{ID: "r1", Group: "g"}, {ID: "r2", Group: "g"}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s    Sweep
		want string
	}{
		{Sweep{Version: SweepVersion + 1}, "unsupported version"},
		{Sweep{Replicas: []SweepEntry{{ID: "a", Group: "g"}, {ID: "a", Group: "g"}}}, `duplicate replica id "a"`},
		{Sweep{Replicas: []SweepEntry{{ID: "../x", Group: "g"}}}, `invalid id "../x"`},
		{Sweep{Replicas: []SweepEntry{{ID: "a\\b", Group: "g"}}}, "invalid id"},
		{Sweep{Replicas: []SweepEntry{{ID: "..", Group: "g"}}}, "invalid id"},
		{Sweep{Replicas: []SweepEntry{{ID: "", Group: "g"}}}, "invalid id"},
		{Sweep{Replicas: []SweepEntry{{ID: "a"}}}, `replica "a" has no group`},
	} {
		if err := c.s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.s, err, c.want)
		}
	}
}

// TestTrajectoryStep checks OpenTrajectory, Index and Step: steps must be
// whole numbers, errors name the file and line.
func TestTrajectoryStep(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileTrajectory)
	if err := os.WriteFile(path, []byte("a,step\n1,100\n2,\n3,1.5\n4,200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := OpenTrajectory(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.Index("step") != 1 || tr.Index("b") != -1 {
		t.Errorf("Index: step %d, b %d", tr.Index("step"), tr.Index("b"))
	}
	want := []string{"", path + ":3: column \"step\": bad step NaN", path + ":4: column \"step\": bad step 1.5", ""}
	for i, w := range want {
		row, err := tr.Next(nil)
		if err != nil {
			t.Fatal(err)
		}
		step, err := tr.Step(row, 1)
		if w == "" && (err != nil || step != int64(100*(i/2+1))) {
			t.Errorf("row %d: step %d, %v", i, step, err)
		}
		if w != "" && (err == nil || err.Error() != w) {
			t.Errorf("row %d: error %v, want %s", i, err, w)
		}
	}
	if _, err := tr.Next(nil); err != io.EOF {
		t.Errorf("end: %v", err)
	}
	if _, err := OpenTrajectory(filepath.Join(dir, "none.csv")); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "none.csv") {
		t.Errorf("missing file: %v", err)
	}
}
