package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestNoSweepSuggests: status, cancel, resume and delete of a sweep the
// server does not have name the closest sweep it has (the newest of that
// name, or the nearest id) and point to heatbath list, in one line
// without a package prefix; resume leaves no --out folder it created
// behind.
func TestNoSweepSuggests(t *testing.T) {
	s := startOpsServer(t)
	co := s.coordinator()
	sw := smallSweep(t, 300, 1, 100)
	if _, err := co.Submit(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	list := " (heatbath list shows the sweeps on the server)"
	newOut := filepath.Join(t.TempDir(), "new")
	typo := sw.ID[:len(sw.ID)-1]
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", sw.Name}, fmt.Sprintf("status: no sweep %q on this server; did you mean %q, the newest sweep named %s?", sw.Name, sw.ID, sw.Name) + list},
		{[]string{"status", typo}, fmt.Sprintf("status: no sweep %q on this server; did you mean %q?", typo, sw.ID) + list},
		{[]string{"cancel", typo}, fmt.Sprintf("cancel: no sweep %q on this server; did you mean %q?", typo, sw.ID) + list},
		{[]string{"resume", typo, "--out", newOut}, fmt.Sprintf("resume: no sweep %q on this server; did you mean %q?", typo, sw.ID) + list},
		{[]string{"delete", "xyzzy", "--yes"}, `delete: no sweep "xyzzy" on this server` + list},
	} {
		_, err := s.cli("", tc.args...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("heatbath %v: %v, want %q", tc.args, err, tc.want)
		}
		if code, _ := exitStatus(context.Background(), err); code != exitError {
			t.Errorf("heatbath %v: exit %d, want %d", tc.args, code, exitError)
		}
	}
	if _, err := os.Stat(newOut); err == nil {
		t.Errorf("resume of a sweep not on the server left its new --out %s behind", newOut)
	}
}
