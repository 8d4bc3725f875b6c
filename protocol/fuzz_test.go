package protocol

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// The fuzz targets follow encoding/json's FuzzUnmarshalJSON: whatever the
// input, a decoder does not panic and returns either a message or an *Error
// of a decoding code; a message it returns encodes, and decoding that
// encoding gives a deeply equal message (NaN equal to NaN) whose encoding is
// the same bytes.

// fuzzSeeds adds the encoding of valid, and variants of it, to the corpus.
func fuzzSeeds(f *testing.F, valid Message, extra ...string) {
	b, err := Encode(valid)
	if err != nil {
		f.Fatal(err)
	}
	s := string(b)
	body := s[len(`{"v":2,`):]
	for _, seed := range []string{
		s,
		"  " + s + "\n",
		`{"v":1,` + body,
		`{"v":3,` + body,
		`{"v":0,` + body,
		`{"v":"2",` + body,
		`{"V":2,` + body,
		`{"v":2,"V":2,` + body,
		`{"v":3,"v":2,` + body,
		strings.ToUpper(s),
		`{` + body,
		s + `x`,
		s[:len(s)-1] + `,"bogus":true}`,
		s[:len(s)/2],
		`{"v":2}`,
		`{}`,
		`null`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	for _, seed := range extra {
		f.Add([]byte(seed))
	}
}

func fuzzDecoder[P Message](f *testing.F, decode func([]byte) (P, error)) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decode(data)
		if err != nil {
			if !reflect.ValueOf(m).IsNil() {
				t.Fatalf("decoder returned a message and the error %v", err)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %v is a %T, not an *Error", err, err)
			}
			if e.Code != CodeMalformed && e.Code != CodeVersion && e.Code != CodeInvalid {
				t.Fatalf("error %q has code %v", e, e.Code)
			}
			if !strings.HasPrefix(e.Message, "protocol: ") {
				t.Fatalf("error %q lacks the package prefix", e)
			}
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("a decoded message does not encode: %v\ninput:   %q", err, data)
		}
		m2, err := decode(enc)
		if err != nil {
			t.Fatalf("the encoding of a decoded message does not decode: %v\ninput:   %q\nencoded: %q", err, data, enc)
		}
		if !sameValue(m, m2) {
			t.Fatalf("round trip changed the message\ninput:   %q\nencoded: %q\nfirst:   %+v\nsecond:  %+v", data, enc, m, m2)
		}
		enc2, err := Encode(m2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding differs (%v)\nfirst:  %q\nsecond: %q", err, enc, enc2)
		}
	})
}

func FuzzDecodeTask(f *testing.F) {
	m := validTask()
	m.Config.Method = MethodConfig{Name: "partitioned", H: 0.1, Groups: []GroupConfig{
		{Tensors: []string{"hidden"}, Integrator: "adaptive", Tau: ptr(0.0), Schedule: ScheduleConfig{Kind: "piecewise", Steps: []int64{0, 100}, Values: []float64{1, 0.5}}},
		{Tensors: []string{"output"}, Integrator: "langevin", Gamma: ptr(1e300)},
	}}
	m.Config.Data = DataConfig{Kind: "mnist", Dir: "/data/mnist", Digits: []int{4, 9}}
	b, _ := Encode(m)
	fuzzSeeds(f, validTask(),
		string(b),
		strings.Replace(string(b), `"digits":[4,9]`, `"digits":[]`, 1),
		strings.Replace(string(b), `"h":0.1`, `"h":-0`, 1),
		strings.Replace(string(b), `"group":"method=adlala,tau=0.0001"`, `"group":"\ud800<>&\u2028"`, 1),
		`{"v":2,"sweep":"s","replica":"r","index":0,"group":"g","config":{"data":{"kind":"trig"},"model":{"hidden":null},"method":{"name":"sgd","h":1},"steps":1,"seed":0,"data_seed":0},"checkpoint_every":0,"checkpoint_seconds":0,"progress_every":0,"traj_chunk":0,"spec_hash":"h"}`,
	)
	fuzzDecoder(f, DecodeTask)
}

func FuzzDecodeProgress(f *testing.F) {
	fuzzSeeds(f, validProgress(),
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","step":0,"steps":1,"metrics":{}}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","step":0,"steps":1,"metrics":{"a":1,"a":2,"\u00e9":-0}}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","step":0,"steps":1,"metrics":{"a":null}}`,
	)
	fuzzDecoder(f, DecodeProgress)
}

func FuzzDecodeTrajChunk(f *testing.F) {
	fuzzSeeds(f, validTrajChunk(),
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"seq":0,"columns":["a"],"rows":[[null],["+Inf"],["-Inf"],[-0],[5e-324]]}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"seq":0,"columns":["a"],"rows":[["NaN"]]}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"seq":0,"columns":["a"],"rows":[[1e400]]}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"seq":0,"columns":["a","b"],"rows":[[1],null,[]]}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"seq":0,"columns":[],"rows":[[]]}`,
	)
	fuzzDecoder(f, DecodeTrajChunk)
}

func FuzzDecodeResult(f *testing.F) {
	// Frames: valid ones, and ones whose bytes after the JSON object do not
	// match the declared sizes.
	b, err := Encode(resultWithFiles())
	if err != nil {
		f.Fatal(err)
	}
	frame := string(b)
	end := objectEnd(b)
	head, contents := frame[:end], frame[end+1:]
	small := `{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","status":"done","summary":{},"files":[{"file":"a","size":3},{"file":"b","size":0},{"file":"c","size":2}]}`
	fuzzSeeds(f, validResult(),
		frame,
		" \n"+frame,
		frame[:len(frame)-1],
		frame+"\n",
		head,
		head+"\n",
		head+contents,
		head+"\r\n"+contents,
		`{"v":1,`+frame[len(`{"v":2,`):],
		`{"v":3,`+frame[len(`{"v":2,`):],
		strings.Replace(head, `"size":2}`, `"size":-1}`, 1)+"\n"+contents,
		strings.Replace(head, `"size":2}`, `"size":3}`, 1)+"\n"+contents,
		strings.Replace(head, `"size":2}`, `"size":2,"data":"fQo="}`, 1)+"\n"+contents,
		small+"\n{}\n}\"",
		small+"\n{}\n}",
		small+"\n",
		strings.Replace(small, `"size":3`, `"size":9223372036854775807`, 1)+"\nabcde",
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","status":"done","summary":{},"files":[]}`+"\n\x00",
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","status":"done","summary":{},"files":[{"file":"a"}]}`+"\n",
		`{"v":1,"sweep":"s","replica":"r","attempt":1,"worker":"w","status":"done","summary":{},"files":[{"file":"a","data":"e30K"}]}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","status":"diverged","summary":{ "a" : [1, {"b":"<&>"}] },"artifacts":[]}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","status":"done","summary":[]}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","status":"done","summary":{"\xff":"\u2028"}}`,
	)
	fuzzDecoder(f, DecodeResult)
}

func FuzzDecodeFailure(f *testing.F) {
	fuzzSeeds(f, validFailure(),
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","code":"unknown","message":"m","step":0}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","code":"nope","message":"m","step":0}`,
		`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","code":7,"message":"m","step":0}`,
	)
	fuzzDecoder(f, DecodeFailure)
}

func FuzzDecodeReplicaState(f *testing.F) {
	fuzzSeeds(f, validReplicaState(),
		`{"v":2,"state":"pending","attempt":0,"step":0,"steps":0,"updated":"2026-01-01T00:00:00+01:00"}`,
		`{"v":2,"state":"failed","attempt":0,"step":0,"steps":0,"error_code":"max_deliver","error":"e","updated":"0001-01-01T00:30:00+01:00"}`,
		`{"v":2,"state":"done","attempt":1,"step":0,"steps":0,"error_code":"unknown","updated":"9999-12-31T23:30:00-01:00"}`,
	)
	fuzzDecoder(f, DecodeReplicaState)
}

func FuzzDecodeSweepRecord(f *testing.F) {
	fuzzSeeds(f, validSweepRecord(),
		`{"v":2,"id":"s","name":"","spec":"x","spec_hash":"h","replicas":1,"created":"2026-11-25T19:50:44.5-00:00","status":"done"}`,
	)
	fuzzDecoder(f, DecodeSweepRecord)
}

func FuzzDecodePruneDecision(f *testing.F) {
	fuzzSeeds(f, &PruneDecision{Sweep: "s1", Replica: "r0002", Seq: 3, Cohort: "group=method=adlala", Milestone: 1, Step: 30,
		Value: 0.25, Reached: 4, Rank: 3, Kept: 2, Prune: true},
		`{"v":2,"sweep":"s","replica":"r","seq":0,"cohort":"all","milestone":0,"step":0,"value":0,"nan":true,"reached":1,"rank":1,"kept":1,"prune":false}`,
		`{"v":2,"sweep":"s","replica":"r","seq":0,"cohort":"","milestone":0,"step":0,"value":1e400,"reached":1,"rank":1,"kept":1,"prune":false}`,
		`{"v":2,"sweep":"s","replica":"r","seq":-1,"cohort":"all","milestone":0,"step":0,"value":0,"reached":0,"rank":0,"kept":0,"prune":true}`,
	)
	fuzzDecoder(f, DecodePruneDecision)
}
