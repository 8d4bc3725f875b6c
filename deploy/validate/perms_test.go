package validate

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/heatbath/heatbath/protocol"
)

var update = flag.Bool("update", false, "rewrite the generated permission blocks of deploy/nats/accounts.conf and deploy/k8s/nats-values.yaml from protocol.PermissionsFor")

// generatedRoles are the roles whose permissions the configs list (the
// coordinator has every subject of the account, as PermissionsFor says).
var generatedRoles = []protocol.Role{protocol.RoleWorker, protocol.RoleObserver}

// rolePerms are a role's subjects as the configs list them.
type rolePerms struct {
	Publish, PublishDeny, Subscribe []string
}

// rolePermissions returns protocol.PermissionsFor(r). PublishDeny is read
// by name so that this module builds with protocol versions with and
// without the field.
func rolePermissions(t *testing.T, r protocol.Role) rolePerms {
	t.Helper()
	p, err := protocol.PermissionsFor(r)
	if err != nil {
		t.Fatal(err)
	}
	rp := rolePerms{Publish: p.Publish, Subscribe: p.Subscribe}
	if f := reflect.ValueOf(p).FieldByName("PublishDeny"); f.IsValid() {
		rp.PublishDeny, _ = f.Interface().([]string)
	}
	return rp
}

// quoted writes a list of subjects, one a line, quoted.
func quoted(b *strings.Builder, indent string, list []string, comma bool) {
	for i, s := range list {
		sep := ""
		if comma && i < len(list)-1 {
			sep = ","
		}
		fmt.Fprintf(b, "%s%q%s\n", indent, s, sep)
	}
}

// confBlock is the generated part of accounts.conf.
func confBlock(t *testing.T) string {
	var b strings.Builder
	for _, r := range generatedRoles {
		p := rolePermissions(t, r)
		fmt.Fprintf(&b, "%s_PERMISSIONS = {\n  publish: {\n    allow: [\n", strings.ToUpper(string(r)))
		quoted(&b, "      ", p.Publish, true)
		b.WriteString("    ]\n")
		if len(p.PublishDeny) > 0 {
			b.WriteString("    deny: [\n")
			quoted(&b, "      ", p.PublishDeny, true)
			b.WriteString("    ]\n")
		}
		b.WriteString("  }\n  subscribe: {\n    allow: [\n")
		quoted(&b, "      ", p.Subscribe, true)
		b.WriteString("    ]\n  }\n}\n")
	}
	return b.String()
}

// helmBlock is the generated part of nats-values.yaml: the users of
// account HEATBATH.
func helmBlock(t *testing.T) string {
	var b strings.Builder
	b.WriteString("        users:\n          - user: coordinator\n            password: << $HEATBATH_COORDINATOR_PASSWORD >>\n")
	for _, r := range generatedRoles {
		p := rolePermissions(t, r)
		fmt.Fprintf(&b, "          - user: %s\n            password: << $HEATBATH_%s_PASSWORD >>\n            permissions:\n", r, strings.ToUpper(string(r)))
		b.WriteString("              publish:\n                allow:\n")
		quoted(&b, "                  - ", p.Publish, false)
		if len(p.PublishDeny) > 0 {
			b.WriteString("                deny:\n")
			quoted(&b, "                  - ", p.PublishDeny, false)
		}
		b.WriteString("              subscribe:\n                allow:\n")
		quoted(&b, "                  - ", p.Subscribe, false)
	}
	return b.String()
}

// replaceGenerated replaces what lies between the "BEGIN generated" line
// and the "END generated" line of a file.
func replaceGenerated(t *testing.T, rel, block string) {
	t.Helper()
	s := string(readRepoFile(t, rel))
	i := strings.Index(s, "# BEGIN generated")
	j := strings.Index(s, "# END generated")
	if i < 0 || j < i {
		t.Fatalf("%s has no BEGIN/END generated markers", rel)
	}
	i += strings.IndexByte(s[i:], '\n') + 1
	j = strings.LastIndexByte(s[:j], '\n') + 1
	if err := os.WriteFile(repoFile(t, rel), []byte(s[:i]+block+s[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAccountsMatchProtocol checks that the users of accounts.conf, as the
// server parses them, have exactly protocol.PermissionsFor's subjects: the
// cluster grants what the embedded server grants. With -update it first
// rewrites the generated blocks.
func TestAccountsMatchProtocol(t *testing.T) {
	if *update {
		replaceGenerated(t, "deploy/nats/accounts.conf", confBlock(t))
		replaceGenerated(t, "deploy/k8s/nats-values.yaml", helmBlock(t))
	}
	setPasswords(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), readRepoFile(t, "deploy/nats/accounts.conf"), 0o600); err != nil {
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
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	if u := users["coordinator"]; u == nil || u.Permissions != nil {
		t.Errorf("coordinator: want every subject of the account (no permissions), got %+v", u)
	}
	for _, r := range generatedRoles {
		want := rolePermissions(t, r)
		u := users[string(r)]
		if u == nil || u.Permissions == nil || u.Permissions.Publish == nil || u.Permissions.Subscribe == nil {
			t.Errorf("%s: no publish and subscribe permissions", r)
			continue
		}
		for _, c := range []struct {
			what      string
			got, want []string
		}{
			{"publish allow", u.Permissions.Publish.Allow, want.Publish},
			{"publish deny", u.Permissions.Publish.Deny, want.PublishDeny},
			{"subscribe allow", u.Permissions.Subscribe.Allow, want.Subscribe},
		} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("%s %s: accounts.conf %q, protocol.PermissionsFor %q", r, c.what, c.got, c.want)
			}
		}
	}
}
