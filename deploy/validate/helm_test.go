package validate

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"sigs.k8s.io/yaml"
)

// The chart is not reachable from here, so its values are checked against
// the keys its documentation lists. Source: the official NATS Helm chart
// 1.x, nats-io/k8s, helm/charts/nats/values.yaml (documented with comments)
// and helm/charts/nats/README.md ("Values": the merge/patch table of
// config, config.cluster, config.cluster.tls, config.jetstream,
// config.jetstream.fileStore.pvc, config.nats.tls, container, podTemplate,
// natsBox ...), https://github.com/nats-io/k8s/tree/main/helm/charts/nats.
// The keys used by deploy/k8s/nats-values.yaml, with their values.yaml
// sections:
//
//	config.cluster.{enabled,replicas}            config.cluster
//	config.cluster.tls.{enabled,secretName,merge} config.cluster.tls
//	config.nats.tls.{enabled,secretName,merge}    config.nats.tls
//	config.monitor.{enabled,port}                 config.monitor
//	config.jetstream.{enabled,merge}              config.jetstream
//	config.jetstream.fileStore.{enabled,dir}      config.jetstream.fileStore
//	config.jetstream.fileStore.pvc.{enabled,size} config.jetstream.fileStore.pvc
//	config.jetstream.memoryStore.enabled          config.jetstream.memoryStore
//	config.merge (NATS config merged in; "<< $VAR >>" renders unquoted)
//	container.image.tag, container.env            container
//	podTemplate.topologySpreadConstraints         podTemplate
//	natsBox.enabled                               natsBox
//
// The structs below hold those keys (and their documented siblings); a
// strict decode rejects any other.
type helmTLS struct {
	Enabled    bool           `json:"enabled"`
	SecretName string         `json:"secretName,omitempty"`
	Dir        string         `json:"dir,omitempty"`
	Cert       string         `json:"cert,omitempty"`
	Key        string         `json:"key,omitempty"`
	Merge      map[string]any `json:"merge,omitempty"`
	Patch      []any          `json:"patch,omitempty"`
}

type helmValues struct {
	Config struct {
		Cluster struct {
			Enabled     bool           `json:"enabled"`
			Port        int            `json:"port,omitempty"`
			Replicas    int            `json:"replicas"`
			NoAdvertise bool           `json:"noAdvertise,omitempty"`
			TLS         helmTLS        `json:"tls"`
			RouteURLs   map[string]any `json:"routeURLs,omitempty"`
			Merge       map[string]any `json:"merge,omitempty"`
			Patch       []any          `json:"patch,omitempty"`
		} `json:"cluster"`
		NATS struct {
			Port int     `json:"port,omitempty"`
			TLS  helmTLS `json:"tls"`
		} `json:"nats"`
		Monitor struct {
			Enabled bool     `json:"enabled"`
			Port    int      `json:"port"`
			TLS     *helmTLS `json:"tls,omitempty"`
		} `json:"monitor"`
		JetStream struct {
			Enabled   bool `json:"enabled"`
			FileStore struct {
				Enabled bool   `json:"enabled"`
				Dir     string `json:"dir"`
				PVC     struct {
					Enabled          bool           `json:"enabled"`
					Size             string         `json:"size"`
					StorageClassName *string        `json:"storageClassName,omitempty"`
					Name             string         `json:"name,omitempty"`
					Merge            map[string]any `json:"merge,omitempty"`
					Patch            []any          `json:"patch,omitempty"`
				} `json:"pvc"`
				MaxSize string `json:"maxSize,omitempty"`
			} `json:"fileStore"`
			MemoryStore struct {
				Enabled bool   `json:"enabled"`
				MaxSize string `json:"maxSize,omitempty"`
			} `json:"memoryStore"`
			Merge map[string]any `json:"merge,omitempty"`
			Patch []any          `json:"patch,omitempty"`
		} `json:"jetstream"`
		ServerNamePrefix string         `json:"serverNamePrefix,omitempty"`
		Merge            map[string]any `json:"merge"`
		Patch            []any          `json:"patch,omitempty"`
	} `json:"config"`
	Container struct {
		Image struct {
			Repository string `json:"repository,omitempty"`
			Tag        string `json:"tag"`
			PullPolicy string `json:"pullPolicy,omitempty"`
			Registry   string `json:"registry,omitempty"`
		} `json:"image"`
		Env   map[string]any `json:"env"`
		Merge map[string]any `json:"merge,omitempty"`
		Patch []any          `json:"patch,omitempty"`
	} `json:"container"`
	PodTemplate struct {
		TopologySpreadConstraints map[string]map[string]any `json:"topologySpreadConstraints,omitempty"`
		Merge                     map[string]any            `json:"merge,omitempty"`
		Patch                     []any                     `json:"patch,omitempty"`
	} `json:"podTemplate"`
	NatsBox struct {
		Enabled bool `json:"enabled"`
	} `json:"natsBox"`
}

// helmPerms is a user's permissions in the values' config.merge.accounts.
type helmPerms struct {
	Publish   map[string][]string `json:"publish"`
	Subscribe map[string][]string `json:"subscribe"`
}

type helmAccounts struct {
	Accounts map[string]struct {
		JetStream string `json:"jetstream,omitempty"`
		Users     []struct {
			User        string     `json:"user"`
			Password    string     `json:"password"`
			Permissions *helmPerms `json:"permissions,omitempty"`
		} `json:"users"`
	} `json:"accounts"`
	SystemAccount string `json:"system_account"`
}

// TestHelmValues decodes nats-values.yaml strictly into the chart's
// documented keys and checks the cluster it asks for.
func TestHelmValues(t *testing.T) {
	var v helmValues
	if err := yaml.UnmarshalStrict(readRepoFile(t, "deploy/k8s/nats-values.yaml"), &v); err != nil {
		t.Fatalf("nats-values.yaml: %v", err)
	}
	c := v.Config
	if !c.Cluster.Enabled || c.Cluster.Replicas != 3 {
		t.Errorf("cluster enabled %v with %d replicas, want a 3-node cluster", c.Cluster.Enabled, c.Cluster.Replicas)
	}
	if !c.Cluster.TLS.Enabled || !c.NATS.TLS.Enabled {
		t.Errorf("TLS for routes %v, for clients %v: want both", c.Cluster.TLS.Enabled, c.NATS.TLS.Enabled)
	}
	js := c.JetStream
	if !js.Enabled || !js.FileStore.Enabled || !js.FileStore.PVC.Enabled || js.FileStore.PVC.Size == "" {
		t.Errorf("JetStream %v with file store %v on a PVC %v of %q: want all", js.Enabled, js.FileStore.Enabled, js.FileStore.PVC.Enabled, js.FileStore.PVC.Size)
	}
	if js.Merge["sync_interval"] == nil {
		t.Error("sync_interval is not stated")
	}
	if !c.Monitor.Enabled || c.Monitor.Port != 8222 {
		t.Errorf("monitoring %v on %d, want 8222", c.Monitor.Enabled, c.Monitor.Port)
	}
}

// TestHelmPermissionsMatchAccountsConf checks that the users and
// permissions of the Helm values are those of deploy/nats/accounts.conf,
// as the server parses it.
func TestHelmPermissionsMatchAccountsConf(t *testing.T) {
	var v struct {
		Config struct {
			Merge helmAccounts `json:"merge"`
		} `json:"config"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/k8s/nats-values.yaml"), &v); err != nil {
		t.Fatal(err)
	}
	setPasswords(t)
	dir := t.TempDir()
	b := readRepoFile(t, "deploy/nats/accounts.conf")
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "only-accounts.conf")
	if err := os.WriteFile(conf, []byte("include ./accounts.conf\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("accounts.conf: %v", err)
	}
	want := map[string]*server.User{}
	for _, u := range opts.Users {
		want[u.Account.Name+"/"+u.Username] = u
	}
	if v.Config.Merge.SystemAccount != opts.SystemAccount {
		t.Errorf("system account %q, accounts.conf has %q", v.Config.Merge.SystemAccount, opts.SystemAccount)
	}
	got := 0
	for acc, a := range v.Config.Merge.Accounts {
		for _, u := range a.Users {
			got++
			w := want[acc+"/"+u.User]
			if w == nil {
				t.Errorf("user %s/%s is not in accounts.conf", acc, u.User)
				continue
			}
			if (w.Permissions == nil) != (u.Permissions == nil) {
				t.Errorf("user %s/%s: permissions set in one file only", acc, u.User)
				continue
			}
			if w.Permissions == nil {
				continue
			}
			cmp := func(what string, gotList []string, wp *server.SubjectPermission, deny bool) {
				var wl []string
				if wp != nil {
					wl = wp.Allow
					if deny {
						wl = wp.Deny
					}
				}
				if !slices.Equal(gotList, wl) {
					t.Errorf("user %s/%s %s: values %q, accounts.conf %q", acc, u.User, what, gotList, wl)
				}
			}
			cmp("publish allow", u.Permissions.Publish["allow"], w.Permissions.Publish, false)
			cmp("publish deny", u.Permissions.Publish["deny"], w.Permissions.Publish, true)
			cmp("subscribe allow", u.Permissions.Subscribe["allow"], w.Permissions.Subscribe, false)
			cmp("subscribe deny", u.Permissions.Subscribe["deny"], w.Permissions.Subscribe, true)
		}
	}
	if got != len(want) {
		t.Errorf("values have %d users, accounts.conf %d", got, len(want))
	}
}
