package main

import (
	"strings"
	"testing"
)

// TestSweepArgument: status, cancel, resume and delete without a sweep id,
// with two, or with one that cannot be an id are usage errors (exit 2) of
// one line that point to heatbath list, before any connection is tried
// (the --nats given would refuse it, exit 1).
func TestSweepArgument(t *testing.T) {
	nats := "nats://127.0.0.1:1"
	for _, verb := range []string{"status", "cancel", "resume", "delete"} {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{nil, verb + ": which sweep? give its id: heatbath " + verb + " SWEEP_ID (heatbath list shows the sweeps on the server)"},
			{[]string{"a", "b"}, verb + ": want one sweep id, got 2 arguments (a b)"},
			{[]string{"a.b"}, verb + `: "a.b" is not a sweep id (heatbath list shows the sweeps on the server)`},
		} {
			args := append([]string{verb, "--nats", nats}, tc.args...)
			r := runArgs(t, args...)
			if r.code != exitUsage || r.stderr != "heatbath: "+tc.want+"\n" {
				t.Errorf("heatbath %v: exit %d, stderr %q; want exit %d and the one line %q", args, r.code, r.stderr, exitUsage, tc.want)
			}
			if strings.Contains(r.stdout, "USAGE") {
				t.Errorf("heatbath %v printed the usage text: %q", args, r.stdout)
			}
		}
	}
}

// TestUISweepFlag: ui --sweep with a value that cannot be a sweep id is a
// usage error of one line, before anything listens or connects (the --nats
// given would refuse it, exit 1).
func TestUISweepFlag(t *testing.T) {
	r := runArgs(t, "ui", "--nats", "nats://127.0.0.1:1", "--addr", "127.0.0.1:0", "--sweep", "a.b")
	want := "heatbath: ui: --sweep \"a.b\" is not a sweep id (heatbath list shows the sweeps on the server)\n"
	if r.code != exitUsage || r.stderr != want {
		t.Errorf("ui --sweep a.b: exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, exitUsage, want)
	}
}
