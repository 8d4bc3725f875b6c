package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for name, m := range validMessages() {
		t.Run(name, func(t *testing.T) {
			b := mustEncode(t, m)
			if !bytes.HasPrefix(b, []byte(`{"v":2,`)) {
				t.Errorf("encoding does not start with the version: %.40s", b)
			}
			got, err := decodeAny(m, b)
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, b)
			}
			if !sameValue(got, m) {
				t.Errorf("round trip changed the message:\n got %+v\nwant %+v", got, m)
			}
			if b2 := mustEncode(t, got); !bytes.Equal(b, b2) {
				t.Errorf("re-encoding differs:\n%s\n%s", b, b2)
			}
		})
	}
}

func TestEncodeSetsVersion(t *testing.T) {
	m := validFailure()
	m.V = 7
	b := mustEncode(t, m)
	if m.V != Version {
		t.Errorf("Encode left V = %d", m.V)
	}
	var probe struct{ V int }
	if err := json.Unmarshal(b, &probe); err != nil || probe.V != Version {
		t.Errorf("encoded v = %d, %v", probe.V, err)
	}
}

func TestEncodeRejects(t *testing.T) {
	var nilTask *Task
	for _, m := range []Message{nil, nilTask} {
		if _, err := Encode(m); CodeOf(err) != CodeInvalid {
			t.Errorf("Encode(%#v) error = %v", m, err)
		}
	}
	m := validTask()
	m.Replica = "a b"
	_, err := Encode(m)
	e := checkCode(t, err, CodeInvalid)
	if want := `protocol: task: replica "a b" is not a valid token`; e.Message != want {
		t.Errorf("error %q, want %q", e.Message, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) = false")
	}

	big := validSweepRecord()
	big.Spec = strings.Repeat("x", MaxMessageSize-10)
	if _, err := Encode(big); CodeOf(err) != CodeInvalid || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Encode of an oversized record: %v", err)
	}
}

// encodeRaw encodes m with version v without validating it.
func encodeRaw(t *testing.T, m Message, v int) []byte {
	t.Helper()
	m.setVersion()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(b, []byte(`{"v":2,`), []byte(`{"v":`+itoa(v)+`,`), 1)
}

func TestVersionRejected(t *testing.T) {
	for name, m := range validMessages() {
		valid := mustEncode(t, m)
		body := valid[len(`{"v":2,`):] // the fields after v, with the closing brace
		tests := []struct {
			name string
			in   string
			want string
		}{
			{"v=0", `{"v":0,` + string(body), "protocol: message version 0, this build speaks version 2"},
			{"v=1", `{"v":1,` + string(body), "protocol: message version 1, this build speaks version 2"},
			{"v=3", `{"v":3,` + string(body), "protocol: message version 3, this build speaks version 2"},
			{"v=-1", `{"v":-1,` + string(body), "protocol: message version -1, this build speaks version 2"},
			{"v1 last", `{` + string(body[:len(body)-1]) + `,"v":1}`, "protocol: message version 1, this build speaks version 2"},
			{"v3 last", `{` + string(body[:len(body)-1]) + `,"v":3}`, "protocol: message version 3, this build speaks version 2"},
			{"missing", `{` + string(body), `protocol: message has no version (field "v"), this build speaks version 2`},
			{"null", `{"v":null,` + string(body), `protocol: message has no version (field "v"), this build speaks version 2`},
			{"string", `{"v":"2",` + string(body), `protocol: message version "2" is not an integer, this build speaks version 2`},
			{"float", `{"v":2.0,` + string(body), `protocol: message version 2.0 is not an integer, this build speaks version 2`},
			{"exponent", `{"v":2e0,` + string(body), `protocol: message version 2e0 is not an integer, this build speaks version 2`},
			{"object", `{"v":{"major":2},` + string(body), `protocol: message version {"major":2} is not an integer`},
			{"huge", `{"v":123456789012345678901234567890,` + string(body), `is not an integer`},
			// A message of another version is rejected before its fields
			// are looked at: an unknown field does not turn it into
			// CodeMalformed.
			{"v1 with old fields", `{"v":1,"old_field":[1,2],` + string(body), "protocol: message version 1, this build speaks version 2"},
			{"v3 with new fields", `{"v":3,"new_field":[1,2],` + string(body), "protocol: message version 3, this build speaks version 2"},
			{"v1 only", `{"v":1}`, "protocol: message version 1, this build speaks version 2"},
			{"v3 only", `{"v":3}`, "protocol: message version 3, this build speaks version 2"},
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				got, err := decodeAny(m, []byte(tt.in))
				if got != nil {
					t.Errorf("decoded %+v", got)
				}
				e := checkCode(t, err, CodeVersion)
				if !strings.Contains(e.Message, tt.want) {
					t.Errorf("error %q does not contain %q", e.Message, tt.want)
				}
				if !errors.Is(err, ErrVersion) {
					t.Error("errors.Is(err, ErrVersion) = false")
				}
			})
		}
	}
}

// firstField names a field of each message type.
var firstField = map[string]string{
	"task": "sweep", "progress": "sweep", "traj chunk": "sweep", "result": "sweep", "failure": "sweep",
	"replica state": "state", "sweep record": "id",
}

func TestMalformed(t *testing.T) {
	for name, m := range validMessages() {
		valid := string(mustEncode(t, m))
		tests := []struct {
			name string
			in   string
			want string
		}{
			{"empty", ``, "not a JSON object"},
			{"spaces", " \n\t", "not a JSON object"},
			{"null", `null`, "not a JSON object"},
			{"array", `[` + valid + `]`, "not a JSON object"},
			{"string", `"x"`, "not a JSON object"},
			{"truncated", valid[:len(valid)-1], "unexpected end of JSON input"},
			{"syntax", `{"v":2,}`, "invalid character"},
			{"trailing garbage", valid + `x`, "data after the JSON object"},
			{"trailing object", valid + `{}`, "data after the JSON object"},
			{"two objects", valid + "\n" + valid, "data after the JSON object"},
			{"trailing NUL", valid + "\x00", "data after the JSON object"},
			{"two versions", `{"v":2,` + valid[1:], `more than one version field "v"`},
			{"two versions by case", `{"V":3,` + valid[1:], `more than one version field "v"`},
			{"missing comma", strings.Replace(valid, `,"`, ` "`, 1), "invalid character"},
			{"unquoted key", `{v:2}`, "invalid character"},
			{"control character", `{"v":2,"a":"` + "\x01" + `"}`, "invalid character"},
			{"unknown field", valid[:len(valid)-1] + `,"bogus":1}`, `unknown field "bogus"`},
			{"wrong type", strings.Replace(valid, `"v":2,`, `"v":2,"`+firstField[name]+`":[],`, 1), "cannot unmarshal array"},
			{"too large", `{"v":2,"x":"` + strings.Repeat("a", MaxMessageSize) + `"}`, "more than the limit"},
		}
		if name == "task" {
			tests = append(tests, struct{ name, in, want string }{"unknown nested field",
				strings.Replace(valid, `"steps":80000`, `"steps":80000,"stepz":1`, 1), `unknown field "stepz"`})
			tests = append(tests, struct{ name, in, want string }{"float index",
				strings.Replace(valid, `"index":3`, `"index":3.5`, 1), "cannot unmarshal"})
			tests = append(tests, struct{ name, in, want string }{"overflow",
				strings.Replace(valid, `"h":0.25`, `"h":1e400`, 1), "cannot unmarshal"})
		}
		if name == "traj chunk" {
			tests = append(tests, struct{ name, in, want string }{"bad value",
				strings.Replace(valid, `null`, `"NaN"`, 1), `not a number, null, "+Inf" or "-Inf"`})
			tests = append(tests, struct{ name, in, want string }{"bool value",
				strings.Replace(valid, `null`, `true`, 1), `not a number, null, "+Inf" or "-Inf"`})
			tests = append(tests, struct{ name, in, want string }{"overflowing value",
				strings.Replace(valid, `null`, `1e999`, 1), `value out of range`})
			tests = append(tests, struct{ name, in, want string }{"unknown field",
				strings.Replace(valid, `"seq":0`, `"seq":0,"sek":1`, 1), `unknown field "sek"`})
		}
		if name == "failure" {
			tests = append(tests, struct{ name, in, want string }{"unknown code",
				strings.Replace(valid, `"invalid_config"`, `"bogus"`, 1), `unknown error code "bogus"`})
			tests = append(tests, struct{ name, in, want string }{"numeric code",
				strings.Replace(valid, `"invalid_config"`, `4`, 1), `cannot unmarshal number`})
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				got, err := decodeAny(m, []byte(tt.in))
				if got != nil {
					t.Errorf("decoded %+v", got)
				}
				e := checkCode(t, err, CodeMalformed)
				if !strings.HasPrefix(e.Message, "protocol: "+name+": malformed message: ") || !strings.Contains(e.Message, tt.want) {
					t.Errorf("error %q does not contain %q", clip(e.Message), tt.want)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Error("errors.Is(err, ErrMalformed) = false")
				}
			})
		}
	}
}

func TestDecodeAcceptsWhitespace(t *testing.T) {
	for name, m := range validMessages() {
		b := mustEncode(t, m)
		var indented bytes.Buffer
		if err := json.Indent(&indented, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		in := append(append([]byte(" \n"), indented.Bytes()...), "\r\n\t "...)
		got, err := decodeAny(m, in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !sameValue(got, m) {
			t.Errorf("%s: indented decode differs: %+v", name, got)
		}
	}
}

// TestDecodeValidates checks that every decoder validates: an encoding of an
// invalid message (bypassing Encode) decodes to CodeInvalid.
func TestDecodeValidates(t *testing.T) {
	m := validResult()
	m.Status = "finished"
	_, err := DecodeResult(encodeRaw(t, m, Version))
	e := checkCode(t, err, CodeInvalid)
	if want := `protocol: result: status "finished" is not "done" or "diverged"`; e.Message != want {
		t.Errorf("error %q, want %q", e.Message, want)
	}
}

func TestTrajChunkWire(t *testing.T) {
	m := validTrajChunk()
	b := mustEncode(t, m)
	want := `"rows":[[0,0.69,null,0.0001],[800,0.61,null,"+Inf"],[1600,-0,null,"-Inf"]]`
	if !bytes.Contains(b, []byte(want)) {
		t.Fatalf("encoding %s\ndoes not contain %s", b, want)
	}
	got, err := DecodeTrajChunk(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got.Rows {
		for j, x := range r {
			w := m.Rows[i][j]
			if math.Float64bits(x) != math.Float64bits(w) && !(math.IsNaN(x) && math.IsNaN(w)) {
				t.Errorf("row %d column %d: got %v (%#x), want %v (%#x)", i, j, x, math.Float64bits(x), w, math.Float64bits(w))
			}
		}
	}
	// Extreme values survive bit for bit.
	m.Rows = [][]float64{{math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64, 0.1 + 0.2}}
	got, err = DecodeTrajChunk(mustEncode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Rows, m.Rows) {
		t.Errorf("got %v, want %v", got.Rows, m.Rows)
	}
	// Escaped forms of "+Inf" are the same JSON string.
	in := bytes.Replace(mustEncode(t, validTrajChunk()), []byte(`"+Inf"`), []byte(`"\u002bInf"`), 1)
	if got, err := DecodeTrajChunk(in); err != nil || !math.IsInf(got.Rows[1][3], 1) {
		t.Errorf("escaped +Inf: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	// Empty and absent arrays and objects decode alike (nil).
	m := validProgress()
	m.Metrics = map[string]float64{}
	b := mustEncode(t, m)
	if bytes.Contains(b, []byte("metrics")) {
		t.Errorf("empty metrics encoded: %s", b)
	}
	for _, in := range []string{
		strings.Replace(string(b), `}`, `,"metrics":{}}`, 1),
		strings.Replace(string(b), `}`, `,"metrics":null}`, 1),
		string(b),
	} {
		got, err := DecodeProgress([]byte(in))
		if err != nil || got.Metrics != nil {
			t.Errorf("DecodeProgress(%s) = %+v, %v; want nil metrics", in, got, err)
		}
	}
	task := validTask()
	task.Config.Data.Digits = []int{}
	got, err := DecodeTask(encodeRaw(t, task, Version))
	if err != nil || got.Config.Data.Digits != nil {
		t.Errorf("empty digits: %v, %v", got, err)
	}

	// Times become UTC.
	rs := validReplicaState()
	rs.Updated = time.Date(2026, 11, 25, 20, 50, 44, 5, time.FixedZone("CET", 3600))
	b = mustEncode(t, rs)
	if !bytes.Contains(b, []byte(`"updated":"2026-11-25T20:50:44.000000005+01:00"`)) {
		t.Errorf("encoding %s", b)
	}
	st, err := DecodeReplicaState(b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Updated.Location() != time.UTC || !st.Updated.Equal(rs.Updated) {
		t.Errorf("decoded time %v, want %v in UTC", st.Updated, rs.Updated)
	}

	// The summary is compacted.
	res := validResult()
	res.Summary = json.RawMessage("{ \"status\" : \"done\",\n \"html\": \"<b>&</b>\" }")
	b = mustEncode(t, res)
	if !bytes.Contains(b, []byte(`"summary":{"status":"done","html":"<b>&</b>"}`)) {
		t.Errorf("summary not compacted or escaped: %s", b)
	}
	in := bytes.Replace(b, []byte(`"summary":{`), []byte(`"summary":  {  `), 1)
	r, err := DecodeResult(in)
	if err != nil || string(r.Summary) != `{"status":"done","html":"<b>&</b>"}` {
		t.Errorf("decoded summary %s, %v", r.Summary, err)
	}
}
