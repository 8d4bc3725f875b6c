package protocol

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// resultWithFiles returns a valid Result with inline files: an empty file,
// binary data holding the bytes the framing and JSON care about, and text.
func resultWithFiles() *Result {
	m := validResult()
	m.Files = []InlineFile{
		{File: "grid.json", Data: []byte(`{"x":[0,0.5,1],"y":[0,1],"final":[[0.1,0.9]]}` + "\n")},
		{File: "empty.txt", Data: []byte{}},
		{File: "init_params.bin", Data: []byte("HBPARAM1\n{\x00\xff}\"\\\n\n}{\r\n")},
		{File: "interp.csv", Data: []byte("}\n")},
		{File: "result.json", Data: []byte(`{"version":1,"status":"done","steps":80000}`)},
	}
	return m
}

// framed builds the frame of m by hand, without validating it and with the
// sizes as they are: json.Marshal of m, '\n', the contents of the files.
func framed(t testing.TB, m *Result) []byte {
	t.Helper()
	m.setVersion()
	head, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) == 0 {
		return head
	}
	b := append(head, '\n')
	for _, f := range m.Files {
		b = append(b, f.Data...)
	}
	return b
}

// withSizes sets each file's Size to the length of its Data.
func withSizes(m *Result) *Result {
	for i := range m.Files {
		m.Files[i].Size = len(m.Files[i].Data)
	}
	return m
}

func TestResultFrameRoundTrip(t *testing.T) {
	m := resultWithFiles()
	b := mustEncode(t, m)

	// The frame is the JSON object, '\n' and the raw contents, not base64.
	var contents []byte
	for i, f := range m.Files {
		if f.Size != len(f.Data) {
			t.Errorf("Encode left file %d size %d, want %d", i, f.Size, len(f.Data))
		}
		contents = append(contents, f.Data...)
	}
	end := objectEnd(b)
	if end < 0 {
		t.Fatalf("no JSON object at the start of %q", b)
	}
	head := b[:end]
	if len(b) != len(head)+1+len(contents) {
		t.Errorf("frame is %d bytes, want %d (head) + 1 + %d (contents)", len(b), len(head), len(contents))
	}
	if !bytes.Equal(b[end:], append([]byte("\n"), contents...)) {
		t.Errorf("after the JSON object: %q\nwant '\\n' and %q", b[end:], contents)
	}
	if !json.Valid(head) {
		t.Errorf("head is not JSON: %s", head)
	}
	if !bytes.HasPrefix(head, []byte(`{"v":2,`)) {
		t.Errorf("head does not start with the version: %.40s", head)
	}
	wantFiles := `"files":[{"file":"grid.json","size":46},{"file":"empty.txt","size":0},{"file":"init_params.bin","size":21},{"file":"interp.csv","size":2},{"file":"result.json","size":43}]}`
	if !bytes.HasSuffix(head, []byte(wantFiles)) {
		t.Errorf("head %s\ndoes not end with %s", head, wantFiles)
	}
	if bytes.Contains(head, []byte(`"data"`)) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(m.Files[2].Data))) {
		t.Errorf("frame carries the data in the JSON or as base64: %q", b)
	}

	got, err := DecodeResult(b)
	if err != nil {
		t.Fatalf("decode: %v\n%q", err, b)
	}
	if len(got.Files) != len(m.Files) {
		t.Fatalf("decoded %d files, want %d", len(got.Files), len(m.Files))
	}
	for i, f := range got.Files {
		w := m.Files[i]
		if f.File != w.File || f.Size != w.Size || !bytes.Equal(f.Data, w.Data) {
			t.Errorf("file %d: got %s size %d %q, want %s size %d %q", i, f.File, f.Size, f.Data, w.File, w.Size, w.Data)
		}
		if f.Size == 0 && f.Data != nil {
			t.Errorf("file %d: empty file decodes to %#v, want nil", i, f.Data)
		}
		if cap(f.Data) != len(f.Data) {
			t.Errorf("file %d: capacity %d beyond its length %d", i, cap(f.Data), len(f.Data))
		}
	}
	got.Files = nil
	want := resultWithFiles()
	want.V, want.Files = Version, nil
	if !sameValue(got, want) {
		t.Errorf("fields other than the files differ:\n got %+v\nwant %+v", got, want)
	}

	// Decoding, then encoding gives the same bytes.
	got, _ = DecodeResult(b)
	if b2 := mustEncode(t, got); !bytes.Equal(b, b2) {
		t.Errorf("re-encoding differs:\n%q\n%q", b, b2)
	}
	// Data aliases the input; appending to one file does not touch the next.
	got.Files[3].Data = append(got.Files[3].Data, 'X')
	if got.Files[4].Data[0] != '{' || b[len(b)-len(m.Files[4].Data)] != '{' {
		t.Error("appending to a decoded file overwrote the next one")
	}
}

func TestResultFrameEdges(t *testing.T) {
	// No files (nil or empty): plain JSON, no '\n'.
	for _, files := range [][]InlineFile{nil, {}} {
		m := validResult()
		m.Files = files
		b := mustEncode(t, m)
		if !json.Valid(b) || bytes.HasSuffix(b, []byte("\n")) {
			t.Errorf("result without files encodes as %q", b)
		}
	}
	// Only empty files: the JSON object and '\n'.
	m := validResult()
	m.Files = []InlineFile{{File: "a.txt"}, {File: "b.txt", Data: []byte{}}}
	b := mustEncode(t, m)
	if !bytes.HasSuffix(b, []byte(`{"file":"a.txt","size":0},{"file":"b.txt","size":0}]}`+"\n")) {
		t.Errorf("empty files encode as %q", b)
	}
	got, err := DecodeResult(b)
	if err != nil || len(got.Files) != 2 || got.Files[0].Data != nil || got.Files[1].Data != nil {
		t.Errorf("DecodeResult(%q) = %+v, %v", b, got, err)
	}
	// White space before the object and inside it is accepted.
	b = mustEncode(t, resultWithFiles())
	end := objectEnd(b)
	var indented bytes.Buffer
	if err := json.Indent(&indented, b[:end], "", "  "); err != nil {
		t.Fatal(err)
	}
	in := append(append([]byte(" \r\n\t"), indented.Bytes()...), b[end:]...)
	got, err = DecodeResult(in)
	if err != nil {
		t.Fatalf("indented frame: %v", err)
	}
	if b2 := mustEncode(t, got); !bytes.Equal(b, b2) {
		t.Errorf("indented frame re-encodes as\n%q\nwant\n%q", b2, b)
	}
	// The limit applies to the whole frame: here the JSON object is within
	// it, the frame 50 bytes over it.
	m = resultWithFiles()
	m.Summary = json.RawMessage(`{"x":""}`)
	over := MaxMessageSize + 50 - len(framed(t, withSizes(m)))
	m.Summary = json.RawMessage(`{"x":"` + strings.Repeat("a", over) + `"}`)
	if f := framed(t, withSizes(m)); len(f) != MaxMessageSize+50 || objectEnd(f) > MaxMessageSize {
		t.Fatalf("frame of %d bytes, JSON object of %d", len(f), objectEnd(f))
	}
	if _, err := Encode(m); CodeOf(err) != CodeInvalid || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("Encode of a frame over the limit: %v", err)
	}
	if _, err := DecodeResult(framed(t, withSizes(m))); CodeOf(err) != CodeMalformed || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("DecodeResult of a frame over the limit: %v", err)
	}
}

func TestResultFrameMalformed(t *testing.T) {
	valid := string(mustEncode(t, resultWithFiles()))
	end := objectEnd([]byte(valid))
	head, contents := valid[:end], valid[end+1:]
	total := len(contents) // 112
	noFiles := string(mustEncode(t, validResult()))
	size := func(old, new string) string {
		if !strings.Contains(head, `"size":`+old+`}`) {
			t.Fatalf("no size %s in %s", old, head)
		}
		return strings.Replace(head, `"size":`+old+`}`, `"size":`+new+`}`, 1)
	}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"truncated tail", valid[:len(valid)-1], "files declare 112 bytes, 111 follow the JSON"},
		{"tail missing", head + "\n", "files declare 112 bytes, 0 follow the JSON"},
		{"nothing after the JSON", head, `files declare 112 bytes, but nothing follows the JSON (want '\n' and the files' data)`},
		{"extra byte", valid + "x", "files declare 112 bytes, 113 follow the JSON"},
		{"extra newline", valid + "\n", "files declare 112 bytes, 113 follow the JSON"},
		{"size too large", size("46", "47") + "\n" + contents, "files declare 113 bytes, 112 follow the JSON"},
		{"size too small", size("2", "1") + "\n" + contents, "files declare 111 bytes, 112 follow the JSON"},
		{"negative size", size("2", "-1") + "\n" + contents, `file 3 "interp.csv" size -1 is negative`},
		{"huge size", size("2", "9223372036854775807") + "\n" + contents, `file 3 "interp.csv" size 9223372036854775807 is more than the limit`},
		{"float size", size("2", "2.0") + "\n" + contents, "cannot unmarshal number 2.0"},
		{"string size", size("2", `"2"`) + "\n" + contents, "cannot unmarshal string"},
		{"missing separator", head + contents, `files declare 112 bytes, but the JSON is followed by "{\"x\":[0,", not by '\n'`},
		{"CRLF separator", head + "\r\n" + contents, `but the JSON is followed by "\r\n{\"x\":[", not by '\n'`},
		{"space before separator", head + " \n" + contents, `but the JSON is followed by " \n{\"x\":[", not by '\n'`},
		{"tail without files", noFiles + "\n" + contents, "data after the JSON object (113 bytes), but it lists no files"},
		{"newline and byte without files", noFiles + "\nx", "data after the JSON object (2 bytes), but it lists no files"},
		{"data in the JSON", strings.Replace(head, `"size":2}`, `"size":2,"data":"fQo="}`, 1) + "\n" + contents, `unknown field "data"`},
		{"unknown file field", strings.Replace(head, `"size":2}`, `"size":2,"mode":420}`, 1) + "\n" + contents, `unknown field "mode"`},
		{"truncated head", head[:len(head)-1] + "\n" + contents, "invalid character"},
		{"unbalanced head", head[:len(head)-2] + "\n" + contents, "invalid character"},
		{"unclosed head", head[:len(head)-2], "unexpected end of JSON input"},
		{"too large", head + "\n" + strings.Repeat("a", MaxMessageSize), "more than the limit"},
	}
	if total != 112 {
		t.Fatalf("the contents are %d bytes; update the expected messages", total)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResult([]byte(tt.in))
			if got != nil {
				t.Errorf("decoded %+v", got)
			}
			e := checkCode(t, err, CodeMalformed)
			if !strings.HasPrefix(e.Message, "protocol: result: malformed message: ") || !strings.Contains(e.Message, tt.want) {
				t.Errorf("error %q does not contain %q", e.Message[:min(len(e.Message), 200)], tt.want)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Error("errors.Is(err, ErrMalformed) = false")
			}
		})
	}
}

func TestResultFrameVersion(t *testing.T) {
	valid := string(mustEncode(t, resultWithFiles()))
	body := valid[len(`{"v":2,`):]
	// A version 1 result carried its files in base64 inside the JSON.
	v1 := resultWithFiles()
	v1.V = 1
	type v1File struct {
		File string `json:"file"`
		Data []byte `json:"data"`
	}
	var files []v1File
	for _, f := range v1.Files {
		files = append(files, v1File{File: f.File, Data: f.Data})
	}
	v1.Files = nil
	old, err := json.Marshal(v1)
	if err != nil {
		t.Fatal(err)
	}
	rawFiles, _ := json.Marshal(files)
	old = append(old[:len(old)-1], `,"files":`+string(rawFiles)+`}`...)

	for _, tt := range []struct{ name, in, want string }{
		{"v1 with base64 files", string(old), "protocol: message version 1, this build speaks version 2"},
		{"v1 frame", `{"v":1,` + body, "protocol: message version 1, this build speaks version 2"},
		{"v3 frame", `{"v":3,` + body, "protocol: message version 3, this build speaks version 2"},
		{"v3 with a broken tail", `{"v":3,` + body[:len(body)-5], "protocol: message version 3, this build speaks version 2"},
		{"v3 with another tail", `{"v":3,` + body + "\x00\x01", "protocol: message version 3, this build speaks version 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResult([]byte(tt.in))
			if got != nil {
				t.Errorf("decoded %+v", got)
			}
			if e := checkCode(t, err, CodeVersion); e.Message != tt.want {
				t.Errorf("error %q, want %q", e.Message, tt.want)
			}
		})
	}
}

func TestResultFilesValidate(t *testing.T) {
	// Validate checks the sizes; Encode sets them first.
	m := withSizes(resultWithFiles())
	m.Files[2].Size = 3
	e := checkCode(t, m.Validate(), CodeInvalid)
	if want := `protocol: result: file 2 "init_params.bin" size 3, but it holds 21 bytes`; e.Message != want {
		t.Errorf("error %q, want %q", e.Message, want)
	}
	mustEncode(t, m)
	if m.Files[2].Size != 21 {
		t.Errorf("Encode left size %d", m.Files[2].Size)
	}

	// A frame that decodes but fails validation is CodeInvalid.
	tests := []struct {
		name   string
		change func(m *Result)
		want   string
	}{
		{"file name", func(m *Result) { m.Files[1].File = "../x" }, `file 1 name "../x" is not a valid file name`},
		{"duplicate file", func(m *Result) { m.Files[3].File = "grid.json" }, `file 3 "grid.json" is a duplicate`},
		{"file of an artifact", func(m *Result) { m.Files[2].File = "params.bin" }, `file 2 "params.bin" is a duplicate`},
		{"too large", func(m *Result) {
			m.Files = append(m.Files, InlineFile{File: "big.bin", Data: make([]byte, MaxInlineFiles)})
		}, "inline files hold 524400 bytes, more than 524288"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := resultWithFiles()
			tt.change(m)
			want := "protocol: result: " + tt.want
			if _, err := Encode(m); err == nil || err.Error() != want {
				t.Errorf("Encode error %v, want %q", err, want)
			}
			got, err := DecodeResult(framed(t, withSizes(m)))
			if got != nil {
				t.Errorf("decoded %+v", got)
			}
			if e := checkCode(t, err, CodeInvalid); e.Message != want {
				t.Errorf("decode error %q, want %q", e.Message, want)
			}
		})
	}
}

func TestObjectEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{`{}`, 2},
		{` {}` + "\n{", 3},
		{`{"a":"}"}x`, 9},
		{`{"a":"\"}"}x`, 11},
		{`{"a":"\\"}x`, 10},
		{`{"a":[{"b":"]"}]}` + "\n}", 17},
		{`{"a":]`, 6}, // not JSON; the strict decode rejects it
		{`{"a":"}`, -1},
		{`{"a":{}`, -1},
		{`{"a":"\`, -1},
		{`[]`, -1},
		{``, -1},
		{` `, -1},
	} {
		if got := objectEnd([]byte(tc.in)); got != tc.want {
			t.Errorf("objectEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
