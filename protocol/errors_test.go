package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestCodeValues pins the numeric value and the name of every code: they
// are stored and compared across builds and must never change. Add new
// codes at the end of this table; never edit an existing row.
func TestCodeValues(t *testing.T) {
	want := []struct {
		code  Code
		value int
		name  string
	}{
		{CodeUnknown, 0, "unknown"},
		{CodeMalformed, 1, "malformed"},
		{CodeVersion, 2, "version"},
		{CodeInvalid, 3, "invalid"},
		{CodeInvalidConfig, 4, "invalid_config"},
		{CodeDiverged, 5, "diverged"},
		{CodeCancelled, 6, "cancelled"},
		{CodeInternal, 7, "internal"},
		{CodeMaxDeliver, 8, "max_deliver"},
		{CodeStale, 9, "stale"},
	}
	if len(want) != len(codeNames) {
		t.Fatalf("%d codes are defined, the table pins %d: add the new code to the table", len(codeNames), len(want))
	}
	for _, w := range want {
		if int(w.code) != w.value {
			t.Errorf("%s = %d, want %d", w.name, int(w.code), w.value)
		}
		if got := w.code.String(); got != w.name {
			t.Errorf("Code(%d).String() = %q, want %q", w.value, got, w.name)
		}
		if !w.code.Valid() {
			t.Errorf("Code(%d).Valid() = false", w.value)
		}
		got, err := ParseCode(w.name)
		if err != nil || got != w.code {
			t.Errorf("ParseCode(%q) = %v, %v; want %v", w.name, got, err, w.code)
		}
	}
}

func TestCodeUndefined(t *testing.T) {
	for _, c := range []Code{-1, Code(len(codeNames)), 1000} {
		if c.Valid() {
			t.Errorf("Code(%d).Valid() = true", int(c))
		}
		if got, want := c.String(), fmt.Sprintf("Code(%d)", int(c)); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		if _, err := json.Marshal(c); err == nil {
			t.Errorf("json.Marshal(Code(%d)) succeeded", int(c))
		}
	}
	for _, s := range []string{"", "Invalid", "INVALID", "bogus", "3", " invalid"} {
		_, err := ParseCode(s)
		e := checkCode(t, err, CodeInvalid)
		if !strings.Contains(e.Message, fmt.Sprintf("%q", s)) {
			t.Errorf("ParseCode(%q) error %q does not quote the name", s, e.Message)
		}
	}
}

func TestCodeJSON(t *testing.T) {
	type wrapper struct {
		Code Code `json:"code"`
	}
	b, err := json.Marshal(wrapper{CodeInvalidConfig})
	if err != nil || string(b) != `{"code":"invalid_config"}` {
		t.Fatalf("json.Marshal = %s, %v", b, err)
	}
	var w wrapper
	if err := json.Unmarshal([]byte(`{"code":"max_deliver"}`), &w); err != nil || w.Code != CodeMaxDeliver {
		t.Fatalf("json.Unmarshal = %v, %v", w.Code, err)
	}
	for _, in := range []string{`{"code":"nope"}`, `{"code":4}`, `{"code":true}`, `{"code":""}`} {
		if err := json.Unmarshal([]byte(in), &w); err == nil {
			t.Errorf("json.Unmarshal(%s) succeeded with %v", in, w.Code)
		}
	}
}

func TestErrorIs(t *testing.T) {
	err := fmt.Errorf("worker: %w", &Error{Code: CodeVersion, Message: "protocol: message version 1, this build speaks version 2"})
	if !errors.Is(err, ErrVersion) {
		t.Error("errors.Is(wrapped version error, ErrVersion) = false")
	}
	if errors.Is(err, ErrMalformed) || errors.Is(err, ErrInvalid) {
		t.Error("a version error matches another sentinel")
	}
	if errors.Is(err, errors.New("protocol: unsupported message version")) {
		t.Error("a version error matches a plain error with the same text")
	}
	if !errors.Is(Errorf(CodeInvalid, "x"), ErrInvalid) || !errors.Is(Errorf(CodeMalformed, "x"), ErrMalformed) {
		t.Error("Errorf results do not match their sentinels")
	}
	if got := CodeOf(err); got != CodeVersion {
		t.Errorf("CodeOf = %v, want version", got)
	}
	if got := CodeOf(errors.New("plain")); got != CodeUnknown {
		t.Errorf("CodeOf(plain) = %v, want unknown", got)
	}
	if got := CodeOf(nil); got != CodeUnknown {
		t.Errorf("CodeOf(nil) = %v, want unknown", got)
	}
}

func TestErrorText(t *testing.T) {
	if got := (&Error{Code: CodeStale}).Error(); got != "protocol: stale" {
		t.Errorf("empty message: %q", got)
	}
	if got := Errorf(CodeInternal, "worker: %w", errors.New("disk full")).Error(); got != "worker: disk full" {
		t.Errorf("Errorf with %%w: %q", got)
	}
	f := validFailure()
	if e := f.Err(); e.Code != f.Code || e.Message != f.Message {
		t.Errorf("Failure.Err() = %+v", e)
	}
}

func TestDeterministic(t *testing.T) {
	for c := range Code(len(codeNames)) {
		want := c == CodeInvalidConfig || c == CodeDiverged
		if got := Deterministic(c); got != want {
			t.Errorf("Deterministic(%v) = %v, want %v", c, got, want)
		}
	}
}
