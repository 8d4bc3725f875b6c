package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsNodes are the node configs of deploy/nats.
var natsNodes = []string{"n1", "n2", "n3"}

// certPrefix is the folder the node configs read their certificates from.
const certPrefix = "/etc/nats/certs/"

// makeCerts runs deploy/nats/make-certs.sh into a temporary folder and
// returns it.
func makeCerts(t *testing.T) string {
	t.Helper()
	needTool(t, "openssl")
	bash := needTool(t, "bash")
	dir := t.TempDir()
	out, err := exec.Command(bash, repoFile(t, "deploy/nats/make-certs.sh"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make-certs.sh: %v\n%s", err, out)
	}
	return dir
}

// setPasswords sets the environment variables the configs read passwords
// from.
func setPasswords(t *testing.T) {
	for _, v := range []string{"HEATBATH_COORDINATOR_PASSWORD", "HEATBATH_WORKER_PASSWORD", "HEATBATH_OBSERVER_PASSWORD", "HEATBATH_SYS_PASSWORD"} {
		t.Setenv(v, strings.ToLower(v)+"-secret")
	}
}

// nodeConfig copies deploy/nats into a temporary folder with the
// certificate folder /etc/nats/certs/ replaced by node's certificates in
// certs, and returns the path of node's config. Nothing else changes.
func nodeConfig(t *testing.T, certs, node string) string {
	t.Helper()
	dir := t.TempDir()
	src := repoFile(t, "deploy/nats")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".conf") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), certPrefix, filepath.Join(certs, node)+"/")
		if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, node+".conf")
}

// TestNATSConfigsPassServerCheck runs the server's own config check (what
// nats-server -t does) on each node config and checks what the kit
// promises: TLS for clients and routes, a 3-node cluster, JetStream with a
// stated sync_interval, the monitoring port, the accounts and users.
func TestNATSConfigsPassServerCheck(t *testing.T) {
	certs := makeCerts(t)
	setPasswords(t)
	for _, node := range natsNodes {
		t.Run(node, func(t *testing.T) {
			opts, err := server.ProcessConfigFile(nodeConfig(t, certs, node))
			if err != nil {
				t.Fatalf("%s.conf: %v", node, err)
			}
			if opts.ServerName != node {
				t.Errorf("server_name %q, want %q", opts.ServerName, node)
			}
			if opts.TLSConfig == nil {
				t.Error("client TLS is not configured")
			}
			if opts.Cluster.TLSConfig == nil {
				t.Error("route TLS is not configured")
			}
			if opts.Cluster.Name != "heatbath" || len(opts.Routes) != 3 {
				t.Errorf("cluster %q with %d routes, want heatbath with 3", opts.Cluster.Name, len(opts.Routes))
			}
			if !opts.JetStream || opts.StoreDir == "" {
				t.Error("JetStream with a file store is not enabled")
			}
			if opts.SyncInterval != 10*time.Second {
				t.Errorf("sync_interval %v, want the stated 10s", opts.SyncInterval)
			}
			if opts.HTTPPort != 8222 {
				t.Errorf("monitoring port %d, want 8222", opts.HTTPPort)
			}
			if opts.SystemAccount != "SYS" {
				t.Errorf("system account %q, want SYS", opts.SystemAccount)
			}
			users := map[string]*server.User{}
			for _, u := range opts.Users {
				users[u.Username] = u
			}
			for _, name := range []string{"coordinator", "worker", "observer"} {
				u := users[name]
				if u == nil {
					t.Errorf("no user %s", name)
					continue
				}
				if u.Account == nil || u.Account.Name != "HEATBATH" {
					t.Errorf("user %s is not in account HEATBATH", name)
				}
				if u.Password != "heatbath_"+name+"_password-secret" {
					t.Errorf("user %s's password is not read from the environment: %q", name, u.Password)
				}
				if name != "coordinator" && (u.Permissions == nil || u.Permissions.Publish == nil || len(u.Permissions.Publish.Allow) == 0) {
					t.Errorf("user %s has no publish allow-list", name)
				}
			}
		})
	}
}

// TestNATSConfigNeedsPasswords checks that a config without its passwords
// in the environment fails the check instead of starting with empty ones.
func TestNATSConfigNeedsPasswords(t *testing.T) {
	certs := makeCerts(t)
	setPasswords(t)
	os.Unsetenv("HEATBATH_WORKER_PASSWORD")
	if _, err := server.ProcessConfigFile(nodeConfig(t, certs, "n1")); err == nil {
		t.Fatal("n1.conf passed the check without HEATBATH_WORKER_PASSWORD")
	}
}
