package rundir

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testMeta() ParamsMeta {
	return ParamsMeta{Parameters: ParamsBest, Step: 1250, Widths: []int{2, 3, 1}, Activation: "relu",
		InputScaling: ScalingNone, Classes: 2, Replica: "r0007"}
}

func ramp(n int) []float64 {
	theta := make([]float64, n)
	for i := range theta {
		theta[i] = float64(i)/8 - 0.75
	}
	return theta
}

func TestParamsRoundTrip(t *testing.T) {
	for _, m := range []ParamsMeta{
		testMeta(),
		{Parameters: ParamsFinal, Step: 40000, Widths: []int{784, 16, 8, 10}, Activation: "tanh", InputScaling: ScalingPixels, Classes: 10},
	} {
		n, _ := paramCount(m.Widths)
		theta := ramp(n)
		b, err := EncodeParams(m, theta)
		if err != nil {
			t.Fatal(err)
		}
		got, gotTheta, err := DecodeParams(b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotTheta, theta) {
			t.Errorf("theta changed in the round trip")
		}
		if got.Parameters != m.Parameters || got.Step != m.Step || !slices.Equal(got.Widths, m.Widths) || got.Activation != m.Activation ||
			got.InputScaling != m.InputScaling || got.Classes != m.Classes || got.Replica != m.Replica {
			t.Errorf("meta %+v, want %+v", got, m)
		}
	}
}

// TestParamsMetadataKeys pins the "__metadata__" a PyTorch user reads.
func TestParamsMetadataKeys(t *testing.T) {
	b, err := EncodeParams(testMeta(), ramp(13))
	if err != nil {
		t.Fatal(err)
	}
	ts, meta, err := DecodeSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"format": "heatbath-params/1", "parameters": "best", "step": "1250", "widths": "2,3,1",
		"activation": "relu", "input_scaling": "none", "classes": "2", "output": "sigmoid", "replica": "r0007"}
	if !maps.Equal(meta, want) {
		t.Errorf("metadata %v, want %v", meta, want)
	}
	var names []string
	for _, x := range ts {
		names = append(names, x.Name)
	}
	if got := strings.Join(names, " "); got != "0.weight 0.bias 2.weight 2.bias" {
		t.Errorf("tensors %s", got)
	}
	m := testMeta()
	m.Replica = ""
	m.Classes, m.Widths = 3, []int{2, 3, 3}
	b, _ = EncodeParams(m, ramp(21))
	if _, meta, _ = DecodeSafetensors(b); meta["output"] != "softmax" {
		t.Errorf("3 classes: output %q", meta["output"])
	}
	if _, ok := meta["replica"]; ok {
		t.Error("an unknown replica id was written")
	}
}

func TestEncodeParamsRejects(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*ParamsMeta)
		theta int
		want  string
	}{
		{"parameters", func(m *ParamsMeta) { m.Parameters = "last" }, 13, `parameters "last"`},
		{"step", func(m *ParamsMeta) { m.Step = -1 }, 13, "step -1"},
		{"activation", func(m *ParamsMeta) { m.Activation = "gelu" }, 13, `activation "gelu"`},
		{"scaling", func(m *ParamsMeta) { m.InputScaling = "x/256" }, 13, `input scaling "x/256"`},
		{"classes", func(m *ParamsMeta) { m.Classes = 1 }, 13, "classes 1"},
		{"outputs", func(m *ParamsMeta) { m.Classes = 3 }, 13, "end in 1 outputs, 3 classes need 3"},
		{"no hidden", func(m *ParamsMeta) { m.Widths = []int{2, 1} }, 3, "no hidden layer"},
		{"theta", func(m *ParamsMeta) {}, 12, "12 values"},
	}
	for _, c := range cases {
		m := testMeta()
		c.edit(&m)
		if _, err := EncodeParams(m, ramp(c.theta)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestDecodeParamsRejects(t *testing.T) {
	good, _ := EncodeParams(testMeta(), ramp(13))
	ts, meta, _ := DecodeSafetensors(good)
	edit := func(f func(map[string]string)) []byte {
		m := maps.Clone(meta)
		f(m)
		b, err := EncodeSafetensors(ts, m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"format", edit(func(m map[string]string) { m["format"] = "other/2" }), `format "other/2"`},
		{"no format", edit(func(m map[string]string) { delete(m, "format") }), `format ""`},
		{"missing step", edit(func(m map[string]string) { delete(m, "step") }), `no "step"`},
		{"step", edit(func(m map[string]string) { m["step"] = "1e3" }), `step "1e3"`},
		{"classes", edit(func(m map[string]string) { m["classes"] = "two" }), `classes "two"`},
		{"widths", edit(func(m map[string]string) { m["widths"] = "2;3;1" }), `widths "2;3;1"`},
		{"widths vs tensors", edit(func(m map[string]string) { m["widths"] = "2,4,1" }), `"0.weight" has shape [3 2]`},
		{"output", edit(func(m map[string]string) { m["output"] = "softmax" }), `output "softmax"`},
		{"activation", edit(func(m map[string]string) { m["activation"] = "" }), `activation ""`},
		{"tensor missing", func() []byte { b, _ := EncodeSafetensors(ts[:3], meta); return b }(), `"2.bias" is missing`},
		{"not safetensors", []byte("HBPARAM1\x00\x00\x00\x00\x00\x00\x00\x00"), "safetensors: header length"},
	}
	for _, c := range cases {
		if _, _, err := DecodeParams(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestReadParams(t *testing.T) {
	theta := ramp(13)
	st, _ := EncodeParams(testMeta(), theta)
	old := EncodeLegacyParams(ramp(5))
	write := func(dir, name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A new directory: the safetensors files, even beside a legacy file.
	dir := t.TempDir()
	write(dir, FileParams, st)
	write(dir, FileBestParams, st)
	write(dir, FileLegacyParams, old)
	for _, name := range []string{FileParams, FileBestParams} {
		p, err := ReadParams(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Path != filepath.Join(dir, name) || !slices.Equal(p.Theta, theta) || p.Meta == nil || p.Meta.Replica != "r0007" {
			t.Errorf("%s: %+v", name, p)
		}
	}

	// An old directory: params.bin and init_params.bin.
	dir = t.TempDir()
	write(dir, FileLegacyParams, old)
	write(dir, FileLegacyInitParams, EncodeLegacyParams(ramp(6)))
	p, err := ReadParams(dir, FileParams)
	if err != nil {
		t.Fatal(err)
	}
	if p.Path != filepath.Join(dir, FileLegacyParams) || !slices.Equal(p.Theta, ramp(5)) || p.Meta != nil {
		t.Errorf("legacy params: %+v", p)
	}
	if p, err = ReadParams(dir, FileInitParams); err != nil || !slices.Equal(p.Theta, ramp(6)) {
		t.Errorf("legacy init params: %+v, %v", p, err)
	}
	// best_params has no legacy file.
	_, err = ReadParams(dir, FileBestParams)
	var fe *FileError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &fe) || fe.Path != filepath.Join(dir, FileBestParams) {
		t.Errorf("missing best params: %v", err)
	}

	// Neither file: not-exist, naming the current file.
	dir = t.TempDir()
	_, err = ReadParams(dir, FileParams)
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &fe) || fe.Path != filepath.Join(dir, FileParams) {
		t.Errorf("missing params: %v", err)
	}

	// A truncated file wraps ErrTruncated and names the file.
	write(dir, FileParams, st[:len(st)-3])
	_, err = ReadParams(dir, FileParams)
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), filepath.Join(dir, FileParams)+": ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("truncated params: %v", err)
	}
	// A corrupt legacy file names the legacy file.
	dir = t.TempDir()
	write(dir, FileLegacyParams, old[:20])
	if _, err = ReadParams(dir, FileParams); err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, FileLegacyParams)+": ") {
		t.Errorf("corrupt legacy params: %v", err)
	}

	if _, err = ReadParams(dir, FileGrid); err == nil {
		t.Error("grid.json read as a parameter file")
	}
}

func TestResultFiles(t *testing.T) {
	names := ResultFiles()
	if names[len(names)-1] != FileResult {
		t.Errorf("%v: result.json is not last", names)
	}
	if !slices.IsSorted(names[:len(names)-1]) {
		t.Errorf("%v: not sorted before result.json", names)
	}
	for _, want := range []string{FileParams, FileBestParams, FileInitParams, FilePredictions, FileGrid, FileInterp} {
		if !slices.Contains(names, want) {
			t.Errorf("%v lacks %s", names, want)
		}
	}
	names[0] = "changed"
	if ResultFiles()[0] == "changed" {
		t.Error("ResultFiles returns a shared slice")
	}
	if !OptionalResultFile(FileGrid) || OptionalResultFile(FileParams) {
		t.Error("OptionalResultFile: only grid.json is optional")
	}
}
