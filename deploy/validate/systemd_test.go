package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// systemdUnits are the units of deploy/systemd and the unit names they
// are verified as (a template as one of its instances).
var systemdUnits = map[string]string{
	"nats-server.service":      "nats-server.service",
	"heatbath-worker@.service": "heatbath-worker@cpu.service",
}

// verifyUnits runs systemd-analyze verify on units (file name -> contents)
// in a throwaway root that holds the host's system units and stand-ins
// for the programs the units run (verify checks that they exist), and
// returns its output and error. Any output is a finding: systemd reports
// unknown keys and bad values as warnings with exit status 0.
func verifyUnits(t *testing.T, analyze string, units map[string][]byte) (string, error) {
	t.Helper()
	root := t.TempDir()
	sys := filepath.Join(root, "etc", "systemd", "system")
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(root, "usr", "lib", "systemd", "system"), os.DirFS("/usr/lib/systemd/system")); err != nil {
		t.Fatalf("copying the host's system units: %v", err)
	}
	var args []string
	for file, body := range units {
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok || !strings.HasPrefix(k, "Exec") {
				continue
			}
			prog := strings.Fields(strings.TrimLeft(v, "-@:+!"))[0]
			p := filepath.Join(root, prog)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(sys, file), body, 0o644); err != nil {
			t.Fatal(err)
		}
		name := systemdUnits[file]
		if name != file {
			if err := os.Symlink(file, filepath.Join(sys, name)); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, filepath.Join(sys, name))
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--man=no", "--root=" + root}, args...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// repoUnits returns the units of deploy/systemd.
func repoUnits(t *testing.T) map[string][]byte {
	t.Helper()
	units := map[string][]byte{}
	for f := range systemdUnits {
		units[f] = readRepoFile(t, "deploy/systemd/"+f)
	}
	return units
}

// TestSystemdUnitsVerify checks the units with systemd-analyze verify.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze := needTool(t, "systemd-analyze")
	if _, err := os.Stat("/usr/lib/systemd/system/sysinit.target"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd's units are not installed; CI must install Debian's systemd package")
		}
		t.Skip("systemd's units are not installed")
	}
	out, err := verifyUnits(t, analyze, repoUnits(t))
	if err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	w := string(readRepoFile(t, "deploy/systemd/heatbath-worker@.service"))
	for _, want := range []string{"%i", "KillSignal=SIGTERM", "ExecStart=/usr/local/bin/heatbath worker"} {
		if !strings.Contains(w, want) {
			t.Errorf("heatbath-worker@.service has no %q", want)
		}
	}
}

// TestSystemdVerifyFindsFaults checks that the verification as run here
// catches a misspelt key, a bad value and a missing program.
func TestSystemdVerifyFindsFaults(t *testing.T) {
	analyze := needTool(t, "systemd-analyze")
	if _, err := os.Stat("/usr/lib/systemd/system/sysinit.target"); err != nil {
		t.Skip("systemd's units are not installed")
	}
	for name, edit := range map[string][2]string{
		"misspelt key": {"Restart=on-failure", "Restartt=on-failure"},
		"bad value":    {"Restart=on-failure", "Restart=sometimes"},
		"bad signal":   {"KillSignal=SIGTERM", "KillSignal=SIGFOO"},
	} {
		t.Run(name, func(t *testing.T) {
			units := repoUnits(t)
			w := string(units["heatbath-worker@.service"])
			if !strings.Contains(w, edit[0]) {
				t.Fatalf("heatbath-worker@.service has no %q", edit[0])
			}
			units["heatbath-worker@.service"] = []byte(strings.Replace(w, edit[0], edit[1], 1))
			if out, err := verifyUnits(t, analyze, units); err == nil && out == "" {
				t.Errorf("a unit with a %s passes", name)
			}
		})
	}
}
