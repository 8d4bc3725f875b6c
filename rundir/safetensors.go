package rundir

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
)

// MaxSafetensorsHeader is the largest header length DecodeSafetensors
// accepts, in bytes: the limit of the reference implementation.
const MaxSafetensorsHeader = 100_000_000

// safetensorsMetadataKey is the header key of the string-to-string map.
const safetensorsMetadataKey = "__metadata__"

// dtypeF64 is the only element type this codec reads and writes.
const dtypeF64 = "F64"

// Tensor is one named float64 tensor of a safetensors file, the format of
// params.safetensors and its siblings.
//
// A safetensors file is
//
//	8 bytes   N, the header length, a little-endian uint64
//	N bytes   the header: a UTF-8 JSON object, padded with spaces to a multiple of 8
//	the rest  the data buffer
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets"}:
// dtype is the element type ("F64" here: little-endian IEEE 754 binary64),
// shape the dimensions outermost first (C order, row-major; [] is a scalar),
// and data_offsets = [begin, end] the tensor's bytes as a half-open range of
// the data buffer (offsets relative to the buffer's first byte, not to the
// file's). The optional key "__metadata__" maps strings to strings. The
// ranges tile the data buffer exactly: sorted by offset they start at 0,
// each begins where the previous one ends, and the last ends at the end of
// the file, so no byte is unreferenced or shared. This is the format of
// Hugging Face's reference implementation (github.com/huggingface/safetensors),
// whose reader also caps N at 100,000,000 bytes and rejects duplicate keys;
// PyTorch users read the files with that library or with the few lines of
// standard-library Python in train/testdata/torch_check.py.
type Tensor struct {
	// Name is the tensor's key in the header, e.g. "0.weight". It is not
	// empty and not "__metadata__".
	Name string
	// Shape lists the dimensions, outermost first; an empty Shape is a
	// scalar (one element).
	Shape []int
	// Data holds the elements in row-major order; its length is the
	// product of Shape.
	Data []float64
}

// tensorEntry is the header record of one tensor.
type tensorEntry struct {
	name       string
	shape      []int
	begin, end uint64
}

// EncodeSafetensors returns the safetensors encoding of ts with the header
// metadata meta (nil or empty: no "__metadata__" key). The tensors are
// stored in the order given, the first at data offset 0; metadata keys are
// written sorted, so the output is a function of the arguments. It reports
// an error for an empty, reserved or repeated name, a negative dimension,
// or a Data length that is not the product of Shape.
func EncodeSafetensors(ts []Tensor, meta map[string]string) ([]byte, error) {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	if len(meta) > 0 {
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		hdr.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				hdr.WriteByte(',')
			}
			writeJSONString(&hdr, k)
			hdr.WriteByte(':')
			writeJSONString(&hdr, meta[k])
		}
		hdr.WriteByte('}')
		first = false
	}
	seen := make(map[string]bool, len(ts))
	var off uint64
	for i, t := range ts {
		if t.Name == "" {
			return nil, fmt.Errorf("safetensors: tensor %d has an empty name", i)
		}
		if t.Name == safetensorsMetadataKey {
			return nil, fmt.Errorf("safetensors: tensor %d is named %q, a reserved key", i, t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("safetensors: tensor name %q appears twice", t.Name)
		}
		seen[t.Name] = true
		n, err := elements(t.Shape)
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %v", t.Name, err)
		}
		if n != uint64(len(t.Data)) {
			return nil, fmt.Errorf("safetensors: tensor %q has shape %v (%d elements) but %d values", t.Name, t.Shape, n, len(t.Data))
		}
		if !first {
			hdr.WriteByte(',')
		}
		first = false
		writeJSONString(&hdr, t.Name)
		hdr.WriteString(`:{"dtype":"F64","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				hdr.WriteByte(',')
			}
			hdr.WriteString(strconv.Itoa(d))
		}
		end := off + 8*n
		fmt.Fprintf(&hdr, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	if hdr.Len() > MaxSafetensorsHeader {
		return nil, fmt.Errorf("safetensors: header of %d bytes exceeds the limit of %d", hdr.Len(), MaxSafetensorsHeader)
	}
	out := make([]byte, 8, 8+hdr.Len()+int(off))
	binary.LittleEndian.PutUint64(out, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, t := range ts {
		for _, v := range t.Data {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
		}
	}
	return out, nil
}

// writeJSONString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// maxElements bounds a tensor's element count so that its byte size fits
// in an int on any platform.
const maxElements = math.MaxInt32 / 8

// elements returns the product of shape, or an error for a negative
// dimension or a product above maxElements (a zero dimension gives 0 even
// when the other dimensions are huge).
func elements(shape []int) (uint64, error) {
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d == 0 {
			return 0, nil
		}
	}
	n := uint64(1)
	for _, d := range shape {
		if uint64(d) > maxElements/n {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, maxElements)
		}
		n *= uint64(d)
	}
	return n, nil
}

// DecodeSafetensors parses a safetensors file whose tensors are all F64 and
// returns them in data-offset order with the header metadata (an empty,
// non-nil map when there is none). It is strict: besides a truncated file
// or a header that is not a JSON object, it rejects a header longer than
// MaxSafetensorsHeader or not valid UTF-8, duplicate keys, unknown fields,
// a dtype other than F64, a non-integer or negative number, offsets that
// disagree with the shape, leave a hole, overlap or do not end at the end
// of the file, and non-string metadata. Each error is one line naming the
// offending item; the errors of a file that ends early wrap ErrTruncated.
func DecodeSafetensors(b []byte) ([]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("safetensors: file is %d bytes, shorter than the 8-byte header length: %w", len(b), ErrTruncated)
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxSafetensorsHeader {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds the limit of %d", n, MaxSafetensorsHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d but only %d bytes follow: %w", n, len(b)-8, ErrTruncated)
	}
	hdr, buf := b[8:8+n], b[8+n:]
	if !utf8.Valid(hdr) {
		return nil, nil, errors.New("safetensors: header is not valid UTF-8")
	}
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, nil, errors.New("safetensors: header does not start with '{'")
	}
	entries, meta, err := parseHeader(hdr)
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(entries, func(a, b tensorEntry) int {
		if a.begin != b.begin {
			if a.begin < b.begin {
				return -1
			}
			return 1
		}
		if a.end != b.end {
			if a.end < b.end {
				return -1
			}
			return 1
		}
		return 0
	})
	var pos uint64
	for _, e := range entries {
		if e.begin != pos {
			what := "overlaps the previous tensor"
			if e.begin > pos {
				what = "leaves a hole after the previous tensor"
			}
			return nil, nil, fmt.Errorf("safetensors: tensor %q data_offsets [%d, %d] %s (expected begin %d)", e.name, e.begin, e.end, what, pos)
		}
		if e.end < e.begin {
			return nil, nil, fmt.Errorf("safetensors: tensor %q data_offsets [%d, %d] end before they begin", e.name, e.begin, e.end)
		}
		cnt, err := elements(e.shape)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %v", e.name, err)
		}
		if e.end-e.begin != 8*cnt {
			return nil, nil, fmt.Errorf("safetensors: tensor %q data_offsets [%d, %d] span %d bytes, shape %v of F64 needs %d", e.name, e.begin, e.end, e.end-e.begin, e.shape, 8*cnt)
		}
		if e.end > uint64(len(buf)) {
			return nil, nil, fmt.Errorf("safetensors: tensor %q data_offsets [%d, %d] run past the %d-byte data buffer: %w", e.name, e.begin, e.end, len(buf), ErrTruncated)
		}
		pos = e.end
	}
	if pos != uint64(len(buf)) {
		return nil, nil, fmt.Errorf("safetensors: tensors cover %d bytes of a %d-byte data buffer", pos, len(buf))
	}
	ts := make([]Tensor, len(entries))
	for i, e := range entries {
		data := make([]float64, (e.end-e.begin)/8)
		for j := range data {
			data[j] = math.Float64frombits(binary.LittleEndian.Uint64(buf[e.begin+8*uint64(j):]))
		}
		ts[i] = Tensor{Name: e.name, Shape: e.shape, Data: data}
	}
	return ts, meta, nil
}

// parseHeader reads the header object token by token, so that duplicate
// keys, unknown fields and non-integer numbers are seen (encoding/json's
// Unmarshal would silently keep the last duplicate and round floats).
func parseHeader(hdr []byte) ([]tensorEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if err := expectDelim(dec, '{', "header"); err != nil {
		return nil, nil, err
	}
	var entries []tensorEntry
	var meta map[string]string
	seen := make(map[string]bool)
	for dec.More() {
		key, err := stringToken(dec, "header key")
		if err != nil {
			return nil, nil, err
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("safetensors: header key %q appears twice", key)
		}
		seen[key] = true
		if key == safetensorsMetadataKey {
			if meta, err = parseMetadata(dec); err != nil {
				return nil, nil, err
			}
			continue
		}
		if key == "" {
			return nil, nil, errors.New("safetensors: header has a tensor with an empty name")
		}
		e, err := parseEntry(dec, key)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if err := expectDelim(dec, '}', "header"); err != nil {
		return nil, nil, err
	}
	for _, c := range hdr[dec.InputOffset():] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return nil, nil, fmt.Errorf("safetensors: header has %q after its closing brace, only space padding is allowed", c)
		}
	}
	if meta == nil {
		meta = map[string]string{}
	}
	return entries, meta, nil
}

// parseMetadata reads the "__metadata__" object: strings to strings.
func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	if err := expectDelim(dec, '{', "__metadata__"); err != nil {
		return nil, err
	}
	meta := make(map[string]string)
	for dec.More() {
		k, err := stringToken(dec, "__metadata__ key")
		if err != nil {
			return nil, err
		}
		if _, dup := meta[k]; dup {
			return nil, fmt.Errorf("safetensors: __metadata__ key %q appears twice", k)
		}
		v, err := stringToken(dec, fmt.Sprintf("__metadata__ value of %q", k))
		if err != nil {
			return nil, err
		}
		meta[k] = v
	}
	if err := expectDelim(dec, '}', "__metadata__"); err != nil {
		return nil, err
	}
	return meta, nil
}

// parseEntry reads one tensor record {"dtype", "shape", "data_offsets"}.
func parseEntry(dec *json.Decoder, name string) (tensorEntry, error) {
	e := tensorEntry{name: name}
	what := fmt.Sprintf("tensor %q", name)
	if err := expectDelim(dec, '{', what); err != nil {
		return e, err
	}
	var haveDtype, haveShape, haveOffsets bool
	for dec.More() {
		field, err := stringToken(dec, what+" field name")
		if err != nil {
			return e, err
		}
		switch field {
		case "dtype":
			if haveDtype {
				return e, fmt.Errorf("safetensors: %s has field %q twice", what, field)
			}
			haveDtype = true
			dt, err := stringToken(dec, what+" dtype")
			if err != nil {
				return e, err
			}
			if dt != dtypeF64 {
				return e, fmt.Errorf("safetensors: %s has dtype %q, only F64 is supported", what, dt)
			}
		case "shape":
			if haveShape {
				return e, fmt.Errorf("safetensors: %s has field %q twice", what, field)
			}
			haveShape = true
			dims, err := uintArray(dec, what+" shape")
			if err != nil {
				return e, err
			}
			e.shape = make([]int, len(dims))
			for i, d := range dims {
				if d > maxElements {
					return e, fmt.Errorf("safetensors: %s shape dimension %d is %d, above the limit of %d", what, i, d, maxElements)
				}
				e.shape[i] = int(d)
			}
		case "data_offsets":
			if haveOffsets {
				return e, fmt.Errorf("safetensors: %s has field %q twice", what, field)
			}
			haveOffsets = true
			offs, err := uintArray(dec, what+" data_offsets")
			if err != nil {
				return e, err
			}
			if len(offs) != 2 {
				return e, fmt.Errorf("safetensors: %s data_offsets has %d numbers, want 2", what, len(offs))
			}
			e.begin, e.end = offs[0], offs[1]
		default:
			return e, fmt.Errorf("safetensors: %s has unknown field %q", what, field)
		}
	}
	if err := expectDelim(dec, '}', what); err != nil {
		return e, err
	}
	switch {
	case !haveDtype:
		return e, fmt.Errorf("safetensors: %s has no dtype", what)
	case !haveShape:
		return e, fmt.Errorf("safetensors: %s has no shape", what)
	case !haveOffsets:
		return e, fmt.Errorf("safetensors: %s has no data_offsets", what)
	}
	return e, nil
}

// uintArray reads a JSON array of non-negative integers written without
// fraction or exponent.
func uintArray(dec *json.Decoder, what string) ([]uint64, error) {
	if err := expectDelim(dec, '[', what); err != nil {
		return nil, err
	}
	var out []uint64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(what, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("safetensors: %s holds %s, want a non-negative integer", what, describe(tok))
		}
		v, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("safetensors: %s holds %s, want a non-negative integer", what, num)
		}
		out = append(out, v)
	}
	if err := expectDelim(dec, ']', what); err != nil {
		return nil, err
	}
	return out, nil
}

// stringToken reads a JSON string.
func stringToken(dec *json.Decoder, what string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxError(what, err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("safetensors: %s is %s, want a string", what, describe(tok))
	}
	return s, nil
}

// expectDelim reads the delimiter want.
func expectDelim(dec *json.Decoder, want json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("safetensors: %s: got %s, want %q", what, describe(tok), string(want))
	}
	return nil
}

// syntaxError wraps a tokenizer error; a header that ends early is reported
// as such.
func syntaxError(what string, err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("safetensors: header ends inside %s", what)
	}
	return fmt.Errorf("safetensors: header is not valid JSON at %s: %v", what, err)
}

// describe names a JSON token for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + string(v)
	case bool:
		return fmt.Sprintf("%t", v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// ParamTensors splits a flat parameter vector in the layout of package nn
// into the tensors of torch.nn.Sequential(Linear, Act, Linear, Act, ...,
// Linear): widths lists the layer widths [inputs, hidden..., outputs], and
// the Linear layer l (from widths[l] to widths[l+1] units) becomes
// "<2l>.weight" of shape [out, in] and "<2l>.bias" of shape [out], the keys
// of that Sequential's state_dict. The tensors' Data alias theta. It
// reports an error when widths has fewer than two entries, a width below 1,
// or theta is not of the length widths imply.
func ParamTensors(widths []int, theta []float64) ([]Tensor, error) {
	n, err := paramCount(widths)
	if err != nil {
		return nil, err
	}
	if len(theta) != n {
		return nil, fmt.Errorf("params: %d values, widths %v need %d", len(theta), widths, n)
	}
	ts := make([]Tensor, 0, 2*(len(widths)-1))
	off := 0
	for l := 0; l+1 < len(widths); l++ {
		in, out := widths[l], widths[l+1]
		w, b := weightName(l), biasName(l)
		ts = append(ts,
			Tensor{Name: w, Shape: []int{out, in}, Data: theta[off : off+out*in : off+out*in]},
			Tensor{Name: b, Shape: []int{out}, Data: theta[off+out*in : off+out*in+out : off+out*in+out]},
		)
		off += out*in + out
	}
	return ts, nil
}

// FlatParams is the inverse of ParamTensors: it returns the flat parameter
// vector of package nn from the tensors of a Sequential with the given
// widths, in any order. It reports an error naming the tensor when one is
// missing, has the wrong shape, or is not part of that network.
func FlatParams(widths []int, ts []Tensor) ([]float64, error) {
	n, err := paramCount(widths)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]Tensor, len(ts))
	for _, t := range ts {
		if _, dup := byName[t.Name]; dup {
			return nil, fmt.Errorf("params: tensor %q appears twice", t.Name)
		}
		byName[t.Name] = t
	}
	theta := make([]float64, 0, n)
	for l := 0; l+1 < len(widths); l++ {
		in, out := widths[l], widths[l+1]
		for _, want := range []struct {
			name  string
			shape []int
			size  int
		}{{weightName(l), []int{out, in}, out * in}, {biasName(l), []int{out}, out}} {
			t, ok := byName[want.name]
			if !ok {
				return nil, fmt.Errorf("params: tensor %q is missing (widths %v)", want.name, widths)
			}
			if !slices.Equal(t.Shape, want.shape) {
				return nil, fmt.Errorf("params: tensor %q has shape %v, widths %v need %v", want.name, t.Shape, widths, want.shape)
			}
			if len(t.Data) != want.size {
				return nil, fmt.Errorf("params: tensor %q has %d values for shape %v", want.name, len(t.Data), t.Shape)
			}
			theta = append(theta, t.Data...)
			delete(byName, want.name)
		}
	}
	if len(byName) > 0 {
		extra := make([]string, 0, len(byName))
		for name := range byName {
			extra = append(extra, name)
		}
		sort.Strings(extra)
		return nil, fmt.Errorf("params: tensor %q is not part of a network with widths %v", extra[0], widths)
	}
	return theta, nil
}

// weightName and biasName are the state_dict keys of Linear layer l in a
// Sequential that alternates Linear and activation modules.
func weightName(l int) string { return strconv.Itoa(2*l) + ".weight" }
func biasName(l int) string   { return strconv.Itoa(2*l) + ".bias" }

// paramCount returns the number of parameters of the network with the
// given widths, or an error for invalid widths or an int overflow.
func paramCount(widths []int) (int, error) {
	if len(widths) < 2 {
		return 0, fmt.Errorf("params: widths %v, need at least inputs and outputs", widths)
	}
	for i, w := range widths {
		if w < 1 {
			return 0, fmt.Errorf("params: widths[%d] = %d, must be positive", i, w)
		}
	}
	n := 0
	for l := 0; l+1 < len(widths); l++ {
		in, out := widths[l], widths[l+1]
		if in+1 > (math.MaxInt-n)/out {
			return 0, fmt.Errorf("params: widths %v give more than %d parameters", widths, math.MaxInt)
		}
		n += (in + 1) * out
	}
	return n, nil
}
