package vault

import (
	"context"
	"crypto/tls"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// certAuth logs in with the TLS certificate method (auth.cert): the client
// presents the certificate of clientCert and secretRef (or, when both are
// omitted, that of spec.provider.vault.tls) during the TLS handshake and
// logs in at auth/<path>/login, naming vaultRole if set. Vault must be
// reached over https.
type certAuth struct {
	spec esv1.VaultCertAuth
}

// certificate reads the client certificate and key; nil when the method
// uses spec.provider.vault.tls.
func (a certAuth) certificate(ctx context.Context, c *Client) (*tls.Certificate, error) {
	if a.spec.ClientCert == nil {
		return nil, nil
	}
	return c.keyPairFrom(ctx, field+".auth.cert", "clientCert", *a.spec.ClientCert, "secretRef", *a.spec.SecretRef)
}

// login logs in with the certificate presented on the connection.
func (a certAuth) login(ctx context.Context, c *Client) (*vaultapi.SecretAuth, error) {
	var body map[string]any
	if a.spec.VaultRole != "" {
		body = map[string]any{"name": a.spec.VaultRole}
	}
	identity := "client certificate of spec.provider.vault.tls"
	if a.spec.ClientCert != nil {
		identity = "client certificate from Secret " + a.spec.ClientCert.Name
	}
	return loginRequest{
		method:   "cert",
		mount:    authMount(a.spec.PathOrDefault()),
		role:     a.spec.VaultRole,
		identity: identity,
		body:     body,
		hint: func(status int) string {
			if status == 400 || status == 403 {
				return "check that a role of the cert method trusts the certificate (and that Vault is reached over https)"
			}
			return ""
		},
	}.do(ctx, c)
}
