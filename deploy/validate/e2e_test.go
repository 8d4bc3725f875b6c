package validate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tinySpec is a sweep of two short replicas.
const tinySpec = `name: deploy-tiny
data: {kind: spiral, train: 100, validation: 50, test: 100}
model: {hidden: [8]}
steps: 300
eval_every: 100
batch: 25
seeds: 2
methods:
  - {name: adam, lr: 0.005}
checkpoint: {every: 100}
`

// buildHeatbath builds the heatbath binary of this repository.
func buildHeatbath(t *testing.T) string {
	t.Helper()
	goTool := needTool(t, "go")
	bin := filepath.Join(t.TempDir(), "heatbath")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/heatbath")
	cmd.Dir = repoRoot(t) // built by the main module (with its build cache; the static build is the Dockerfile's)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestHeatbathOnSecuredNode runs the real binary against a node started
// from n1.conf: a worker with the worker's credentials, TLS and --health,
// and a submit with the coordinator's, as the compose file and the units
// run them. The sweep must finish (exit 0, every replica done) with the
// worker healthy, and the worker's credentials must not submit.
func TestHeatbathOnSecuredNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs heatbath")
	}
	certs := makeCerts(t)
	url := startNode(t, certs)
	bin := buildHeatbath(t)
	dir := t.TempDir()
	spec := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(spec, []byte(tinySpec), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(user string) []string {
		return append(os.Environ(), "HEATBATH_NATS_URL="+url, "HEATBATH_NATS_USER="+user,
			"HEATBATH_NATS_PASSWORD=heatbath_"+user+"_password-secret",
			"HEATBATH_NATS_TLS_CA="+filepath.Join(certs, "ca.pem"), "NO_COLOR=1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The coordinator sets up the streams; the worker binds to them.
	sub := exec.CommandContext(ctx, bin, "submit", spec, "--stream-replicas", "1", "--quiet", "--detach", "--out", filepath.Join(dir, "runs", "tiny"))
	sub.Env = env("coordinator")
	if out, err := sub.CombinedOutput(); err != nil {
		t.Fatalf("heatbath submit as coordinator: %v\n%s", err, out)
	}

	port := freePorts(t, 1)[0]
	health := fmt.Sprintf("127.0.0.1:%d", port)
	var wlog strings.Builder
	w := exec.CommandContext(ctx, bin, "worker", "--slots", "2", "--health", health)
	w.Env = env("worker")
	w.Stdout, w.Stderr = &wlog, &wlog
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = w.Process.Signal(os.Interrupt)
		_ = w.Wait()
		if t.Failed() {
			t.Logf("worker log:\n%s", wlog.String())
		}
	}()

	// Follow the sweep to its end: resume collects it into the run
	// directory and exits 0 when every replica is done.
	res := exec.CommandContext(ctx, bin, "resume", sweepID(t, bin, spec), "--quiet", "--no-report", "--out", filepath.Join(dir, "runs", "tiny"))
	res.Env = env("coordinator")
	if out, err := res.CombinedOutput(); err != nil {
		t.Fatalf("heatbath resume as coordinator: %v\n%s", err, out)
	}
	hc := exec.CommandContext(ctx, bin, "healthcheck", "http://"+health+"/readyz")
	if out, err := hc.CombinedOutput(); err != nil {
		t.Errorf("worker not ready after the sweep: %v\n%s", err, out)
	}
	if strings.Contains(strings.ToLower(wlog.String()), "permissions violation") {
		t.Errorf("the worker hit a permission violation:\n%s", wlog.String())
	}

	bad := exec.CommandContext(ctx, bin, "submit", spec, "--quiet", "--detach", "--out", filepath.Join(dir, "runs", "bad"))
	bad.Env = env("worker")
	if out, err := bad.CombinedOutput(); err == nil {
		t.Errorf("heatbath submit with the worker's credentials succeeded:\n%s", out)
	}
}

// sweepID returns the id of a spec's sweep (heatbath validate prints it).
func sweepID(t *testing.T, bin, spec string) string {
	t.Helper()
	out, err := exec.Command(bin, "validate", spec).CombinedOutput()
	if err != nil {
		t.Fatalf("heatbath validate: %v\n%s", err, out)
	}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "deploy-tiny-") {
			return strings.TrimSuffix(f, ",")
		}
	}
	t.Fatalf("no sweep id in %q", out)
	return ""
}
