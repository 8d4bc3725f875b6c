package rundir

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomicLeavesNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.json")
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("read %q, want %q", b, content)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("folder holds %d entries, want only x.json", len(ents))
	}
	// A folder that does not exist: an error naming the file, no panic.
	err := WriteFile(filepath.Join(dir, "missing", "y.json"), nil)
	if err == nil || !strings.Contains(err.Error(), "missing/y.json") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want one naming missing/y.json that is fs.ErrNotExist", err)
	}
}

func TestWriteFilesResultLast(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{FileResult: []byte("{}"), FileGrid: []byte("g"), FileInterp: []byte("i")}
	if err := WriteFiles(dir, files, FileResult); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != string(want) {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
}

func TestReadJSONTruncated(t *testing.T) {
	dir := t.TempDir()
	res := &Result{Version: ResultVersion, Status: StatusDone, Steps: 10, Final: Metrics{Step: 10, TrainLoss: Finite(0.5)}}
	b, _ := res.Encode()
	if err := os.WriteFile(filepath.Join(dir, FileResult), b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadResult(dir)
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), FileResult) {
		t.Fatalf("err = %v, want a truncated *FileError naming result.json", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileResult), b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResult(dir)
	if err != nil || got.Steps != 10 || *got.Final.TrainLoss != 0.5 || got.Final.TestLoss != nil {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestTrajectoryAppendRepairRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileTrajectory)
	cols := []string{"step", "train_loss", "tkin:all"}
	last, err := RepairTrajectory(path)
	if err != nil || last != -1 {
		t.Fatalf("missing file: last %d, %v", last, err)
	}
	if last, err = AppendTrajectory(path, cols, last, [][]float64{{0, 1, math.NaN()}, {10, 0.5, 2}}); err != nil || last != 10 {
		t.Fatalf("append: %d %v", last, err)
	}
	// A resent chunk overlapping the file: only the new row is written.
	if last, err = AppendTrajectory(path, cols, last, [][]float64{{10, 0.5, 2}, {20, 0.25, math.Inf(1)}}); err != nil || last != 20 {
		t.Fatalf("append: %d %v", last, err)
	}
	want := "step,train_loss,tkin:all\n0,1,\n10,0.5,2\n20,0.25,\n"
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("file %q, want %q", b, want)
	}
	// A crash mid-row: the reader reports truncation, repair cuts the torn line.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("30,0.1")
	f.Close()
	if _, _, err := ReadTrajectory(path); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), ":5") {
		t.Fatalf("torn file: %v, want ErrTruncated at line 5", err)
	}
	if last, err = RepairTrajectory(path); err != nil || last != 20 {
		t.Fatalf("repair: %d %v", last, err)
	}
	c, rows, err := ReadTrajectory(path)
	if err != nil || len(rows) != 3 || len(c) != 3 || rows[2][0] != 20 || !math.IsNaN(rows[0][2]) {
		t.Fatalf("read: %v %v %v", c, rows, err)
	}
}

func TestTrajectoryReaderErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"", "empty file"},
		{"step,a\n1,2,3\n", ":2: 3 cells, want 2"},
		{"step,a\n1\n", ":2: 1 cells, want 2"},
		{"step,a\n1,x\n", `:2: column "a": bad number "x"`},
	} {
		path := filepath.Join(dir, "t.csv")
		os.WriteFile(path, []byte(tc.content), 0o644)
		_, _, err := ReadTrajectory(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.content, err, tc.want)
		}
	}
}

func TestInterpRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileInterp)
	pts := []InterpPoint{{-0.5, 1, 2}, {0, 0.5, math.NaN()}, {0.05, 0.25, 0.125}}
	if err := os.WriteFile(path, EncodeInterp(pts), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadInterp(path)
	if err != nil || len(got) != 3 || got[2] != pts[2] || !math.IsNaN(got[1].Test) {
		t.Fatalf("%v %v", got, err)
	}
}

func TestLegacyParams(t *testing.T) {
	theta := []float64{1, -2.5, math.Pi}
	got, err := DecodeLegacyParams(EncodeLegacyParams(theta))
	if err != nil || len(got) != 3 || got[2] != math.Pi {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := DecodeLegacyParams(EncodeLegacyParams(theta)[:20]); err == nil {
		t.Fatal("truncated params.bin decoded")
	}
}
