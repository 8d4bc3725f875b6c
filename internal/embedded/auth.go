package embedded

import (
	"crypto/rand"
	"fmt"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/heatbath/heatbath/protocol"
)

// Credential is a user of the server with the permissions of its role.
type Credential struct {
	Role     protocol.Role
	User     string
	Password string
	// InProcessOnly lets the user connect only in-process (the embedded
	// coordinator), never over the network.
	InProcessOnly bool
}

// NewCredential returns a credential of the role named after it, with a
// random password (crypto/rand, 130 bits).
func NewCredential(role protocol.Role) Credential {
	return Credential{Role: role, User: string(role), Password: rand.Text()}
}

// Users turns credentials into nats-server users with their roles'
// permissions (protocol.PermissionsFor; pools as there). It is the one place
// where Heatbath's roles become server permissions.
func Users(creds []Credential, pools ...string) ([]*server.User, error) {
	users := make([]*server.User, 0, len(creds))
	seen := map[string]bool{}
	for _, c := range creds {
		if c.User == "" || c.Password == "" {
			return nil, fmt.Errorf("embedded: %s user %q: empty user name or password", c.Role, c.User)
		}
		if seen[c.User] {
			return nil, fmt.Errorf("embedded: user %q given twice", c.User)
		}
		seen[c.User] = true
		p, err := protocol.PermissionsFor(c.Role, pools...)
		if err != nil {
			return nil, fmt.Errorf("embedded: user %q: %w", c.User, err)
		}
		u := &server.User{Username: c.User, Password: c.Password, Permissions: serverPermissions(p)}
		if c.InProcessOnly {
			u.AllowedConnectionTypes = map[string]struct{}{jwt.ConnectionTypeInProcess: {}}
		}
		users = append(users, u)
	}
	return users, nil
}

// serverPermissions converts a role's subject lists; nil lists allow
// everything, so a role without restrictions gets no permissions at all.
func serverPermissions(p protocol.Permissions) *server.Permissions {
	if p.Publish == nil && p.Subscribe == nil {
		return nil
	}
	sp := &server.Permissions{}
	if p.Publish != nil {
		sp.Publish = &server.SubjectPermission{Allow: append([]string(nil), p.Publish...), Deny: append([]string(nil), p.PublishDeny...)}
	}
	if p.Subscribe != nil {
		sp.Subscribe = &server.SubjectPermission{Allow: append([]string(nil), p.Subscribe...)}
	}
	return sp
}
