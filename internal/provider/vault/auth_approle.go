package vault

import (
	"context"
	"fmt"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// appRoleAuth logs in with AppRole (auth.appRole): the role ID from roleId
// or roleRef, the secret ID from secretRef, at auth/<path>/login.
type appRoleAuth struct {
	spec esv1.VaultAppRole
}

// login reads the role and secret IDs and logs in.
func (a appRoleAuth) login(ctx context.Context, c *Client) (*vaultapi.SecretAuth, error) {
	const f = field + ".auth.appRole"
	roleID := strings.TrimSpace(a.spec.RoleID)
	identity := "roleId from the spec"
	if roleID == "" {
		var err error
		if roleID, err = c.refs.secretValue(ctx, f+".roleRef", *a.spec.RoleRef, "", true); err != nil {
			return nil, err
		}
		identity = fmt.Sprintf("roleId from Secret %q key %q", a.spec.RoleRef.Name, a.spec.RoleRef.Key)
	}
	secretID, err := c.refs.secretValue(ctx, f+".secretRef", a.spec.SecretRef, "", true)
	if err != nil {
		return nil, err
	}
	return loginRequest{
		method:   "AppRole",
		mount:    authMount(a.spec.PathOrDefault()),
		identity: identity + fmt.Sprintf(", secretId from Secret %q key %q", a.spec.SecretRef.Name, a.spec.SecretRef.Key),
		body:     map[string]any{"role_id": roleID, "secret_id": secretID},
		secrets:  []string{secretID},
		hint: func(status int) string {
			if status == 400 || status == 403 {
				return "check that the role ID and secret ID belong together and that the secret ID has not expired or run out of uses"
			}
			return ""
		},
	}.do(ctx, c)
}
