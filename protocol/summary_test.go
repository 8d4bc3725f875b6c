package protocol

import (
	"bytes"
	"testing"
)

// TestResultWithoutSummary: a Result without the retired summary encodes
// without the key and decodes, and a version 2 Result that still carries
// one (sent before it was retired, replayed from the events stream)
// decodes too, its summary compacted.
func TestResultWithoutSummary(t *testing.T) {
	m := validResult()
	m.Summary = nil
	b, err := Encode(m)
	if err != nil {
		t.Fatalf("encode without summary: %v", err)
	}
	if bytes.Contains(b, []byte(`"summary"`)) {
		t.Errorf("encoded %s; want no summary key", b)
	}
	r, err := DecodeResult(b)
	if err != nil || r.Summary != nil || len(r.Artifacts) != 2 {
		t.Fatalf("decode without summary: %+v, %v", r, err)
	}

	legacy := []byte(`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","status":"done","summary":{ "status" : "done" }}`)
	r, err = DecodeResult(legacy)
	if err != nil || string(r.Summary) != `{"status":"done"}` {
		t.Fatalf("decode of a result with a summary: %+v, %v", r, err)
	}
	for _, bad := range []string{`null`, `[1]`, `"x"`} {
		in := []byte(`{"v":2,"sweep":"s","replica":"r","attempt":1,"worker":"w","status":"done","summary":` + bad + `}`)
		if _, err := DecodeResult(in); CodeOf(err) != CodeInvalid {
			t.Errorf("summary %s: %v; want it refused as invalid", bad, err)
		}
	}
}
