package protocol

import "testing"

// TestScanVersion: the fast version scan accepts only unambiguous messages
// and reads the right value; everything else falls back to the token scan.
func TestScanVersion(t *testing.T) {
	cases := []struct {
		in  string
		raw string
		ok  bool
	}{
		{`{"v":1}`, "1", true},
		{`{ "v" : 1 , "a": 2 }`, "1", true},
		{`{"a":{"v":2},"v":1}`, "1", true},       // nested keys are not the version
		{`{"a":"\"v\":2","v":1}`, "1", true},     // neither are quoted strings
		{`{"a":["v",{"v":3}],"V":1}`, "1", true}, // "V" is matched as encoding/json does
		{`{"v":1,"V":2}`, "", false},             // two version keys
		{`{"\u0076":2,"v":1}`, "", false},        // an escaped key: fall back
		{`{"a":1}`, "", false},                   // none
		{`{"v":1`, "", false},                    // unbalanced
		{`{"v":"1"}`, `"1"`, true},               // found; checkVersion rejects it
	}
	for _, tc := range cases {
		raw, ok := scanVersion([]byte(tc.in))
		if ok != tc.ok || (ok && string(raw) != tc.raw) {
			t.Errorf("scanVersion(%s) = %q, %v; want %q, %v", tc.in, raw, ok, tc.raw, tc.ok)
		}
	}
	// Whatever the path, duplicate and escaped version keys are refused.
	for _, in := range []string{`{"v":1,"V":1,"sweep":"s"}`, `{"\u0076":2,"v":1}`} {
		if _, err := DecodeTask([]byte(in)); err == nil {
			t.Errorf("DecodeTask(%s) accepted", in)
		}
	}
}
