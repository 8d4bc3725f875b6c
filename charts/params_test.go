package charts

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/heatbath/heatbath/rundir"
)

// TestWeightHistReadsSafetensors: the parameter histogram reads
// params.safetensors (run directories of now) as it reads params.bin (run
// directories of before), to the same numbers, also with both kinds of
// replica in one run.
func TestWeightHistReadsSafetensors(t *testing.T) {
	_, reps, run, sum := synthRun(t)
	legacy, err := WeightHistData(run, sum)
	if err != nil {
		t.Fatal(err)
	}
	converted := 0
	for i, r := range reps {
		if r.Params == nil || i%2 == 1 { // odd replicas keep params.bin
			continue
		}
		// 40 parameters: Sequential(Linear(1, 13), ReLU(), Linear(13, 1)).
		b, err := rundir.EncodeParams(rundir.ParamsMeta{Parameters: rundir.ParamsFinal, Step: 2000, Widths: []int{1, 13, 1},
			Activation: "relu", InputScaling: rundir.ScalingNone, Classes: 2, Replica: r.ID}, r.Params)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.Dir, rundir.FileParams), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(r.Dir, rundir.FileLegacyParams)); err != nil {
			t.Fatal(err)
		}
		converted++
	}
	if converted == 0 {
		t.Fatal("no replica converted: the test proves nothing")
	}
	mixed, err := WeightHistData(run, sum)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(mixed, legacy) {
		t.Errorf("histograms from params.safetensors differ from those of params.bin:\n%+v\n%+v", mixed, legacy)
	}

	// A corrupt params.safetensors is an error naming the file, not a
	// replica silently skipped.
	for i, r := range reps {
		if r.Params != nil && i%2 == 0 {
			path := filepath.Join(r.Dir, rundir.FileParams)
			if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := WeightHistData(run, sum); err == nil {
		t.Error("corrupt params.safetensors files were accepted")
	}
}
