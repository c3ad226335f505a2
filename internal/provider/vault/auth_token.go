package vault

import (
	"context"
	"errors"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// tokenAuth uses the token held in a Secret (auth.tokenSecretRef; key
// "token" when omitted). The token belongs to the user: it is never
// renewed or revoked by secretbridge.
type tokenAuth struct {
	ref esv1.SecretKeySelector
}

// token reads the token from the Secret.
func (a tokenAuth) token(ctx context.Context, c *Client) (string, error) {
	return c.refs.secretValue(ctx, field+".auth.tokenSecretRef", a.ref, "token", true)
}

// errNoLogin is what login reports for a method that does not log in.
var errNoLogin = errors.New("tokenSecretRef does not log in")

// login is never called for a static token (see staticToken).
func (tokenAuth) login(context.Context, *Client) (*vaultapi.SecretAuth, error) {
	return nil, errNoLogin
}
