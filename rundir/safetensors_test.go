package rundir

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/nn"
)

// sameTensors reports whether a and b hold the same names, shapes and
// bit-identical values (so NaN payloads and -0 count).
func sameTensors(a, b []Tensor) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !slices.Equal(a[i].Shape, b[i].Shape) || len(a[i].Data) != len(b[i].Data) {
			return false
		}
		for j := range a[i].Data {
			if math.Float64bits(a[i].Data[j]) != math.Float64bits(b[i].Data[j]) {
				return false
			}
		}
	}
	return true
}

func sampleTensors() ([]Tensor, map[string]string) {
	ts := []Tensor{
		{Name: "0.weight", Shape: []int{3, 2}, Data: []float64{1, -2, 3.5, 1e-300, math.MaxFloat64, math.SmallestNonzeroFloat64}},
		{Name: "0.bias", Shape: []int{3}, Data: []float64{math.Copysign(0, -1), math.Inf(1), math.NaN()}},
		{Name: "scalar", Shape: []int{}, Data: []float64{math.Pi}},
		{Name: "empty", Shape: []int{0, 4}, Data: []float64{}},
		{Name: "name with \"quotes\" and ünïcode\n", Shape: []int{1, 1, 2}, Data: []float64{-1, 1}},
	}
	meta := map[string]string{"format": "heatbath-params/1", "widths": "2,3,1", "quote\"key": "tab\tvalue ✓"}
	return ts, meta
}

func TestSafetensorsRoundTrip(t *testing.T) {
	ts, meta := sampleTensors()
	b, err := EncodeSafetensors(ts, meta)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	if (uint64(len(b))-8-n)%8 != 0 || uint64(len(b))-8-n != 8*(6+3+1+0+2) {
		t.Errorf("data buffer is %d bytes, want %d", uint64(len(b))-8-n, 8*12)
	}
	got, gotMeta, err := DecodeSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	if !sameTensors(got, ts) {
		t.Errorf("round trip changed the tensors:\n got %v\nwant %v", got, ts)
	}
	if len(gotMeta) != len(meta) {
		t.Errorf("metadata %v, want %v", gotMeta, meta)
	}
	for k, v := range meta {
		if gotMeta[k] != v {
			t.Errorf("metadata[%q] = %q, want %q", k, gotMeta[k], v)
		}
	}
	// The encoding is a function of its arguments (metadata keys sorted).
	b2, err := EncodeSafetensors(got, gotMeta)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Error("re-encoding the decoded file gives different bytes")
	}
}

func TestSafetensorsNoMetadata(t *testing.T) {
	b, err := EncodeSafetensors([]Tensor{{Name: "x", Shape: []int{1}, Data: []float64{2}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("__metadata__")) {
		t.Error("nil metadata wrote a __metadata__ key")
	}
	_, meta, err := DecodeSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	if meta == nil || len(meta) != 0 {
		t.Errorf("metadata = %#v, want an empty non-nil map", meta)
	}
}

// TestSafetensorsByteLayout checks the encoding against bytes written out
// by hand from the format description.
func TestSafetensorsByteLayout(t *testing.T) {
	header := `{"__metadata__":{"k":"v"},"ab":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}` + "       " // 81 + 7 spaces
	var want []byte
	want = append(want, 88, 0, 0, 0, 0, 0, 0, 0)
	want = append(want, header...)
	want = append(want, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f) // 1.0 = 0x3ff0000000000000
	want = append(want, 0, 0, 0, 0, 0, 0, 0x00, 0xc0) // -2.0 = 0xc000000000000000
	got, err := EncodeSafetensors([]Tensor{{Name: "ab", Shape: []int{2}, Data: []float64{1, -2}}}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoding:\n got %q\nwant %q", got, want)
	}
	ts, _, err := DecodeSafetensors(want)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Name != "ab" || !slices.Equal(ts[0].Data, []float64{1, -2}) {
		t.Errorf("decoded %v", ts)
	}

	// The reference implementation's own test vectors for an empty file,
	// without and with metadata.
	ref := []byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '}
	if got, _ := EncodeSafetensors(nil, nil); !bytes.Equal(got, ref) {
		t.Errorf("empty file: got %q, want %q", got, ref)
	}
	ref = append([]byte{40, 0, 0, 0, 0, 0, 0, 0}, `{"__metadata__":{"framework":"pt"}}     `...)
	if got, _ := EncodeSafetensors(nil, map[string]string{"framework": "pt"}); !bytes.Equal(got, ref) {
		t.Errorf("empty file with metadata: got %q, want %q", got, ref)
	}
	if _, meta, err := DecodeSafetensors(ref); err != nil || meta["framework"] != "pt" {
		t.Errorf("decoding the reference vector: %v, %v", meta, err)
	}
}

// file builds a safetensors file from a raw header (padded to 8) and a
// data buffer of n float64 zeros.
func file(header string, n int) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, 8*n)...)
}

func TestSafetensorsRejects(t *testing.T) {
	good, _ := EncodeSafetensors([]Tensor{{Name: "a", Shape: []int{2}, Data: []float64{1, 2}}}, nil)
	oversized := binary.LittleEndian.AppendUint64(nil, MaxSafetensorsHeader+1)
	oversized = append(oversized, "{}"...)
	longHeader := binary.LittleEndian.AppendUint64(nil, 1000)
	longHeader = append(longHeader, "{}      "...)
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter than the 8-byte header length"},
		{"oversized header", oversized, "exceeds the limit"},
		{"header past end", longHeader, "only 8 bytes follow"},
		{"data truncated", good[:len(good)-1], "run past the 15-byte data buffer"},
		{"trailing bytes", append(slices.Clone(good), 0, 0, 0, 0, 0, 0, 0, 0), "cover 16 bytes of a 24-byte data buffer"},
		{"overlap", file(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}`, 2), "overlaps the previous tensor"},
		{"hole", file(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1],"data_offsets":[16,24]}}`, 3), "leaves a hole"},
		{"not from zero", file(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}`, 2), "leaves a hole"},
		{"end before begin", file(`{"a":{"dtype":"F64","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"c":{"dtype":"F64","shape":[0],"data_offsets":[8,0]}}`, 1), "data_offsets [8, 0]"},
		{"size disagrees with shape", file(`{"a":{"dtype":"F64","shape":[3],"data_offsets":[0,16]}}`, 2), "shape [3] of F64 needs 24"},
		{"bad dtype", file(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 2), `dtype "F32", only F64`},
		{"dtype not a string", file(`{"a":{"dtype":64,"shape":[2],"data_offsets":[0,16]}}`, 2), "want a string"},
		{"duplicate tensor", file(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}`, 2), `"a" appears twice`},
		{"duplicate field", file(`{"a":{"dtype":"F64","shape":[1],"shape":[1],"data_offsets":[0,8]}}`, 1), `field "shape" twice`},
		{"duplicate metadata key", file(`{"__metadata__":{"k":"1","k":"2"}}`, 0), `__metadata__ key "k" appears twice`},
		{"two metadata", file(`{"__metadata__":{},"__metadata__":{}}`, 0), `"__metadata__" appears twice`},
		{"metadata not string", file(`{"__metadata__":{"k":1}}`, 0), "want a string"},
		{"metadata not object", file(`{"__metadata__":"x"}`, 0), `want "{"`},
		{"unknown field", file(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8],"x":1}}`, 1), `unknown field "x"`},
		{"missing offsets", file(`{"a":{"dtype":"F64","shape":[1]}}`, 1), "has no data_offsets"},
		{"missing shape", file(`{"a":{"dtype":"F64","data_offsets":[0,8]}}`, 1), "has no shape"},
		{"missing dtype", file(`{"a":{"shape":[1],"data_offsets":[0,8]}}`, 1), "has no dtype"},
		{"float shape", file(`{"a":{"dtype":"F64","shape":[1.0],"data_offsets":[0,8]}}`, 1), "holds 1.0"},
		{"negative offset", file(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[-8,0]}}`, 1), "holds -8"},
		{"three offsets", file(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8,8]}}`, 1), "has 3 numbers"},
		{"huge shape", file(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, 1), "above the limit"},
		{"product overflow", file(`{"a":{"dtype":"F64","shape":[100000,100000],"data_offsets":[0,8]}}`, 1), "more than"},
		{"empty name", file(`{"":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, 1), "empty name"},
		{"not an object", file(`[1]`, 0), "does not start with '{'"},
		{"leading space", file(` {}`, 0), "does not start with '{'"},
		{"garbage after object", file(`{}x`, 0), "after its closing brace"},
		{"second object", file(`{}{}`, 0), "after its closing brace"},
		{"unterminated", file(`{"a":{"dtype":"F64"`, 0), "header ends inside"},
		{"invalid json", file(`{"a":}`, 0), "not valid JSON"},
		{"invalid utf8", file("{\"\xff\":{}}", 0), "not valid UTF-8"},
		{"null padding", append(binary.LittleEndian.AppendUint64(nil, 8), '{', '}', 0, 0, 0, 0, 0, 0), "after its closing brace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeSafetensors(c.b)
			if err == nil {
				t.Fatalf("accepted %q", c.b)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not mention %q", msg, c.want)
			}
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "safetensors: ") {
				t.Errorf("error %q is not one line starting with the format's name", msg)
			}
		})
	}
}

// TestSafetensorsEveryPrefixRejected cuts a valid file at every length: a
// truncated file is never mistaken for a complete one.
func TestSafetensorsEveryPrefixRejected(t *testing.T) {
	ts, meta := sampleTensors()
	b, err := EncodeSafetensors(ts, meta)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, _, err := DecodeSafetensors(b[:n]); err == nil {
			t.Fatalf("a prefix of %d of %d bytes decoded without error", n, len(b))
		}
	}
}

func TestEncodeSafetensorsRejects(t *testing.T) {
	cases := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"empty name", []Tensor{{Name: "", Shape: []int{1}, Data: []float64{1}}}, "empty name"},
		{"reserved name", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float64{1}}}, "reserved"},
		{"duplicate", []Tensor{{Name: "a", Shape: []int{1}, Data: []float64{1}}, {Name: "a", Shape: []int{1}, Data: []float64{1}}}, "appears twice"},
		{"negative dimension", []Tensor{{Name: "a", Shape: []int{-1}, Data: nil}}, "negative dimension"},
		{"length mismatch", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: []float64{1, 2, 3}}}, "(4 elements) but 3 values"},
	}
	for _, c := range cases {
		if _, err := EncodeSafetensors(c.ts, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// FuzzDecodeSafetensors feeds arbitrary bytes to the decoder: it never
// panics, and whatever it accepts re-encodes to a file that decodes to the
// same tensors and metadata.
func FuzzDecodeSafetensors(f *testing.F) {
	ts, meta := sampleTensors()
	for _, seed := range [][]Tensor{nil, ts[:1], ts} {
		b, err := EncodeSafetensors(seed, meta)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		b, _ = EncodeSafetensors(seed, nil)
		f.Add(b)
	}
	theta := make([]float64, 2*3+3+3+1)
	for i := range theta {
		theta[i] = float64(i) - 0.5
	}
	pts, _ := ParamTensors([]int{2, 3, 1}, theta)
	b, _ := EncodeSafetensors(pts, map[string]string{"widths": "2,3,1"})
	f.Add(b)
	f.Add(file(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[0],"data_offsets":[8,8]}}`, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, meta, err := DecodeSafetensors(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		b2, err := EncodeSafetensors(ts, meta)
		if err != nil {
			t.Fatalf("decoded tensors do not re-encode: %v", err)
		}
		ts2, meta2, err := DecodeSafetensors(b2)
		if err != nil {
			t.Fatalf("re-encoded file does not decode: %v", err)
		}
		if !sameTensors(ts, ts2) || len(meta) != len(meta2) {
			t.Fatalf("re-encoding changed the content: %v %v -> %v %v", ts, meta, ts2, meta2)
		}
		for k, v := range meta {
			if meta2[k] != v {
				t.Fatalf("metadata[%q] %q -> %q", k, v, meta2[k])
			}
		}
	})
}

// TestParamTensorsMatchNN checks the names, shapes and slices against
// package nn's own description of its flat layout, for a deep multi-class
// net: layer l of nn is Sequential index 2l.
func TestParamTensorsMatchNN(t *testing.T) {
	cfg := nn.Config{Inputs: 3, Hidden: []int{4, 5}, Classes: 3, Activation: nn.Tanh}
	m, err := nn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	widths := []int{3, 4, 5, 3}
	theta := make([]float64, m.NumParams())
	for i := range theta {
		theta[i] = float64(i)
	}
	ts, err := ParamTensors(widths, theta)
	if err != nil {
		t.Fatal(err)
	}
	nts := m.Tensors()
	if len(ts) != len(nts) {
		t.Fatalf("%d tensors, nn has %d", len(ts), len(nts))
	}
	for i, nt := range nts {
		suffix := ".weight"
		shape := []int{nt.Rows, nt.Cols}
		if nt.Bias {
			suffix, shape = ".bias", []int{nt.Rows}
		}
		wantName := strings.TrimPrefix(nt.Name, "layer")
		wantName = wantName[:strings.IndexByte(wantName, '.')]
		if wantName != string(rune('0'+nt.Layer)) {
			t.Fatalf("unexpected nn name %q", nt.Name)
		}
		wantName = string(rune('0'+2*nt.Layer)) + suffix
		if ts[i].Name != wantName || !slices.Equal(ts[i].Shape, shape) || !slices.Equal(ts[i].Data, theta[nt.Off:nt.Off+nt.Len]) {
			t.Errorf("tensor %d = %s %v %v, want %s %v %v", i, ts[i].Name, ts[i].Shape, ts[i].Data, wantName, shape, theta[nt.Off:nt.Off+nt.Len])
		}
	}

	// FlatParams inverts it, whatever the order of the tensors.
	rev := slices.Clone(ts)
	slices.Reverse(rev)
	flat, err := FlatParams(widths, rev)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(flat, theta) {
		t.Errorf("FlatParams = %v, want %v", flat, theta)
	}
	// And through a file.
	b, err := EncodeSafetensors(ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	dec, _, err := DecodeSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	if flat, err = FlatParams(widths, dec); err != nil || !slices.Equal(flat, theta) {
		t.Errorf("through a file: %v, %v", flat, err)
	}
}

func TestParamTensorsRejects(t *testing.T) {
	if _, err := ParamTensors([]int{2}, nil); err == nil || !strings.Contains(err.Error(), "at least inputs and outputs") {
		t.Errorf("one width: %v", err)
	}
	if _, err := ParamTensors([]int{2, 0, 1}, nil); err == nil || !strings.Contains(err.Error(), "widths[1] = 0") {
		t.Errorf("zero width: %v", err)
	}
	if _, err := ParamTensors([]int{2, 3, 1}, make([]float64, 12)); err == nil || !strings.Contains(err.Error(), "12 values, widths [2 3 1] need 13") {
		t.Errorf("short theta: %v", err)
	}
	if _, err := ParamTensors([]int{math.MaxInt / 2, math.MaxInt / 2}, nil); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("overflow: %v", err)
	}
}

func TestFlatParamsRejects(t *testing.T) {
	widths := []int{2, 3, 1}
	theta := make([]float64, 13)
	good, _ := ParamTensors(widths, theta)
	mod := func(f func([]Tensor) []Tensor) []Tensor {
		ts := slices.Clone(good)
		return f(ts)
	}
	cases := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"missing", mod(func(ts []Tensor) []Tensor { return ts[:3] }), `"2.bias" is missing`},
		{"extra", mod(func(ts []Tensor) []Tensor {
			return append(ts, Tensor{Name: "4.weight", Shape: []int{1}, Data: []float64{0}})
		}), `"4.weight" is not part`},
		{"shape", mod(func(ts []Tensor) []Tensor { ts[0].Shape = []int{2, 3}; return ts }), `"0.weight" has shape [2 3], widths [2 3 1] need [3 2]`},
		{"data length", mod(func(ts []Tensor) []Tensor { ts[1].Data = ts[1].Data[:2]; return ts }), `"0.bias" has 2 values`},
		{"duplicate", mod(func(ts []Tensor) []Tensor { return append(ts, ts[0]) }), "appears twice"},
		{"torch names of another net", mod(func(ts []Tensor) []Tensor { ts[2].Name = "1.weight"; return ts }), `"2.weight" is missing`},
	}
	for _, c := range cases {
		if _, err := FlatParams(widths, c.ts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}
