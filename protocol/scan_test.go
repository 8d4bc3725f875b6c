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
		{`{"v":2}`, "2", true},
		{`{ "v" : 2 , "a": 3 }`, "2", true},
		{`{"a":{"v":3},"v":2}`, "2", true},       // nested keys are not the version
		{`{"a":"\"v\":3","v":2}`, "2", true},     // neither are quoted strings
		{`{"a":["v",{"v":3}],"V":2}`, "2", true}, // "V" is matched as encoding/json does
		{`{"v":2,"V":3}`, "", false},             // two version keys
		{`{"\u0076":3,"v":2}`, "", false},        // an escaped key: fall back
		{`{"a":1}`, "", false},                   // none
		{`{"v":2`, "", false},                    // unbalanced
		{`{"v":"2"}`, `"2"`, true},               // found; checkVersion rejects it
	}
	for _, tc := range cases {
		raw, ok := scanVersion([]byte(tc.in))
		if ok != tc.ok || (ok && string(raw) != tc.raw) {
			t.Errorf("scanVersion(%s) = %q, %v; want %q, %v", tc.in, raw, ok, tc.raw, tc.ok)
		}
	}
	// Whatever the path, duplicate and escaped version keys are refused.
	for _, in := range []string{`{"v":2,"V":2,"sweep":"s"}`, `{"\u0076":3,"v":2}`} {
		if _, err := DecodeTask([]byte(in)); err == nil {
			t.Errorf("DecodeTask(%s) accepted", in)
		}
	}
}
