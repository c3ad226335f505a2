package vault

import (
	"context"
	"fmt"
	"net/url"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// userPassAuth logs in with userpass (auth.userPass): the user name from
// the spec, the password from secretRef, at auth/<path>/login/<username>.
type userPassAuth struct {
	spec esv1.VaultUserPassAuth
}

// login reads the password and logs in.
func (a userPassAuth) login(ctx context.Context, c *Client) (*vaultapi.SecretAuth, error) {
	password, err := c.refs.secretValue(ctx, field+".auth.userPass.secretRef", *a.spec.SecretRef, "", false)
	if err != nil {
		return nil, err
	}
	return loginRequest{
		method:   "userpass",
		mount:    authMount(a.spec.PathOrDefault()),
		suffix:   "/" + url.PathEscape(a.spec.Username),
		identity: fmt.Sprintf("user %q, password from Secret %q key %q", a.spec.Username, a.spec.SecretRef.Name, a.spec.SecretRef.Key),
		body:     map[string]any{"password": password},
		secrets:  []string{password},
		hint: func(status int) string {
			if status == 400 || status == 403 {
				return "check the user name and the password in the Secret"
			}
			return ""
		},
	}.do(ctx, c)
}
