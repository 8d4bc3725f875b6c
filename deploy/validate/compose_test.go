package validate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeEnv is the environment the compose file is loaded with: the
// passwords deploy/compose/env.example asks for.
func composeEnv() map[string]string {
	return map[string]string{
		"HEATBATH_COORDINATOR_PASSWORD": "c", "HEATBATH_WORKER_PASSWORD": "w",
		"HEATBATH_OBSERVER_PASSWORD": "o", "HEATBATH_SYS_PASSWORD": "s",
		"HEATBATH_WORKERS": "5",
	}
}

// loadCompose loads a compose file with compose-go's loader: the compose
// specification's schema validation, interpolation, normalization and the
// consistency check all on.
func loadCompose(t *testing.T, path string, env map[string]string) (*types.Project, error) {
	t.Helper()
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("heatbath", true); o.ResolvePaths = true })
}

// TestComposeLoads loads deploy/compose/compose.yaml and checks the
// cluster it describes.
func TestComposeLoads(t *testing.T) {
	p, err := loadCompose(t, repoFile(t, "deploy/compose/compose.yaml"), composeEnv())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	natsConf := repoFile(t, "deploy/nats")
	for _, n := range natsNodes {
		s, ok := p.Services[n]
		if !ok {
			t.Errorf("no service %s", n)
			continue
		}
		if !strings.HasPrefix(s.Image, "nats:") {
			t.Errorf("%s: image %q is not the official nats image", n, s.Image)
		}
		if s.HealthCheck == nil || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), ":8222/healthz") {
			t.Errorf("%s: no healthcheck on the monitoring port's /healthz", n)
		}
		mounts := map[string]string{}
		for _, v := range s.Volumes {
			mounts[v.Target] = v.Source
		}
		if got, want := mounts["/etc/nats/nats-server.conf"], filepath.Join(natsConf, n+".conf"); got != want {
			t.Errorf("%s: config mounted from %q, want %q", n, got, want)
		}
		if got, want := mounts["/etc/nats/accounts.conf"], filepath.Join(natsConf, "accounts.conf"); got != want {
			t.Errorf("%s: accounts mounted from %q, want %q", n, got, want)
		}
		if mounts["/data"] == "" {
			t.Errorf("%s: no volume for the JetStream store /data", n)
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind && !strings.Contains(v.Source, "/certs") {
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("%s: mounts %s, which does not exist", n, v.Source)
				}
			}
		}
	}
	w, ok := p.Services["worker"]
	if !ok {
		t.Fatal("no service worker")
	}
	if w.Deploy == nil || w.Deploy.Replicas == nil || *w.Deploy.Replicas != 5 {
		t.Errorf("worker: deploy.replicas does not follow HEATBATH_WORKERS=5: %+v", w.Deploy)
	}
	cmd := strings.Join(w.Command, " ")
	if !strings.HasPrefix(cmd, "worker ") || !strings.Contains(cmd, "--health :8080") {
		t.Errorf("worker: command %q does not run a worker with --health :8080", cmd)
	}
	if w.HealthCheck == nil || !slices.Contains(w.HealthCheck.Test, "http://127.0.0.1:8080/readyz") {
		t.Errorf("worker: healthcheck does not probe its health endpoint")
	}
	if w.StopGracePeriod == nil || *w.StopGracePeriod < types.Duration(60e9) {
		t.Errorf("worker: stop_grace_period too short to hand replicas back: %v", w.StopGracePeriod)
	}
	if w.Environment["HEATBATH_NATS_USER"] == nil || *w.Environment["HEATBATH_NATS_USER"] != "worker" {
		t.Error("worker: does not connect as user worker")
	}
	s, ok := p.Services["submit"]
	if !ok {
		t.Fatal("no service submit")
	}
	if s.Restart != "no" {
		t.Errorf("submit: restart %q, want \"no\" (one-shot)", s.Restart)
	}
	if len(s.Command) == 0 || s.Command[0] != "submit" {
		t.Errorf("submit: command %q does not submit", s.Command)
	}
	for _, svc := range []types.ServiceConfig{w, s} {
		for _, n := range natsNodes {
			if d, ok := svc.DependsOn[n]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: does not wait for %s to be healthy", svc.Name, n)
			}
		}
		if svc.Build == nil || filepath.Join(svc.Build.Context, svc.Build.Dockerfile) != repoFile(t, "Dockerfile") {
			t.Errorf("%s: not built from the repository's Dockerfile: %+v", svc.Name, svc.Build)
		}
	}
}

// TestComposeNeedsPasswords checks that the compose file refuses to load
// without the passwords instead of starting a cluster with empty ones.
func TestComposeNeedsPasswords(t *testing.T) {
	env := composeEnv()
	delete(env, "HEATBATH_WORKER_PASSWORD")
	if _, err := loadCompose(t, repoFile(t, "deploy/compose/compose.yaml"), env); err == nil {
		t.Fatal("compose.yaml loads without HEATBATH_WORKER_PASSWORD")
	}
}

// TestComposeLoaderIsStrict checks that the loader as used here rejects
// an unknown key, so that TestComposeLoads is a schema check.
func TestComposeLoaderIsStrict(t *testing.T) {
	b := readRepoFile(t, "deploy/compose/compose.yaml")
	bad := strings.Replace(string(b), "    stop_signal: SIGTERM\n", "    stop_signal: SIGTERM\n    stop_signall: SIGTERM\n", 1)
	if bad == string(b) {
		t.Fatal("compose.yaml has no stop_signal line to break")
	}
	path := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadCompose(t, path, composeEnv()); err == nil {
		t.Fatal("a compose file with the unknown key stop_signall loads")
	}
}
