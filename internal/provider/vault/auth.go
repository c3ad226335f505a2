package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// authMethod is one way of obtaining a Vault token. Each method lives in
// its own file (auth_<method>.go). login is called with Client.loginMu
// held, so a method may keep state between logins without a lock of its
// own.
type authMethod interface {
	// login logs in and returns the auth block of Vault's answer. Its
	// errors are *LoginError (or configuration errors) and never contain
	// the credential.
	login(ctx context.Context, c *Client) (*vaultapi.SecretAuth, error)
}

// staticToken is implemented by methods that read a token instead of
// logging in (tokenSecretRef). Such a token is never renewed or revoked.
type staticToken interface {
	token(ctx context.Context, c *Client) (string, error)
}

// clientCertificate is implemented by methods that authenticate with a TLS
// client certificate (cert). A nil certificate means "use spec.tls".
type clientCertificate interface {
	certificate(ctx context.Context, c *Client) (*tls.Certificate, error)
}

// selectAuth returns the first auth method configured, in upstream's
// order: tokenSecretRef, appRole, kubernetes, ldap, userPass, jwt, cert,
// iam, gcp. It checks what each method needs without any network call.
func selectAuth(a *esv1.VaultAuth, vaultPath *string) (authMethod, error) {
	const f = field + ".auth"
	if a == nil {
		return nil, provider.NewConfigError(f, "is empty: configure one of tokenSecretRef, appRole, kubernetes, jwt, cert or userPass")
	}
	switch {
	case a.TokenSecretRef != nil:
		if a.TokenSecretRef.Name == "" {
			return nil, provider.NewConfigError(f+".tokenSecretRef.name", "is empty")
		}
		return tokenAuth{ref: *a.TokenSecretRef}, nil
	case a.AppRole != nil:
		if a.AppRole.RoleID == "" && (a.AppRole.RoleRef == nil || a.AppRole.RoleRef.Name == "") {
			return nil, provider.NewConfigError(f+".appRole", "set roleId or roleRef")
		}
		if a.AppRole.SecretRef.Name == "" || a.AppRole.SecretRef.Key == "" {
			return nil, provider.NewConfigError(f+".appRole.secretRef", "name and key are required")
		}
		return appRoleAuth{spec: *a.AppRole}, nil
	case a.Kubernetes != nil:
		return newKubernetesAuth(*a.Kubernetes, vaultPath)
	case a.Ldap != nil:
		return nil, provider.NewConfigError(f+".ldap", "LDAP auth is not supported by secretbridge yet; use userPass, appRole, kubernetes, jwt, cert or tokenSecretRef")
	case a.UserPass != nil:
		if a.UserPass.Username == "" {
			return nil, provider.NewConfigError(f+".userPass.username", "is empty")
		}
		if a.UserPass.SecretRef == nil || a.UserPass.SecretRef.Name == "" || a.UserPass.SecretRef.Key == "" {
			return nil, provider.NewConfigError(f+".userPass.secretRef", "name and key of the Secret holding the password are required")
		}
		return userPassAuth{spec: *a.UserPass}, nil
	case a.Jwt != nil:
		return newJWTAuth(*a.Jwt)
	case a.Cert != nil:
		if (a.Cert.ClientCert == nil) != (a.Cert.SecretRef == nil) {
			return nil, provider.NewConfigError(f+".cert", "set both clientCert and secretRef, or neither (then the certificate of spec.provider.vault.tls is used)")
		}
		return certAuth{spec: *a.Cert}, nil
	case a.Iam != nil:
		return nil, provider.NewConfigError(f+".iam", "AWS IAM auth is not supported by secretbridge yet")
	case a.GCP != nil:
		return nil, provider.NewConfigError(f+".gcp", "GCP auth is not supported by secretbridge yet")
	}
	return nil, provider.NewConfigError(f, "configures no method: set one of tokenSecretRef, appRole, kubernetes, jwt, cert or userPass")
}

// authMount normalises an auth mount path: no surrounding slashes and no
// "auth/" prefix, so that "approle", "/approle/" and "auth/approle" all
// name auth/approle.
func authMount(path string) string {
	path = strings.Trim(path, "/")
	return strings.TrimPrefix(path, "auth/")
}

// loginRequest is one login call and how to describe it in errors.
type loginRequest struct {
	method   string         // "kubernetes"
	mount    string         // "kubernetes" (without auth/)
	suffix   string         // appended to auth/<mount>/login, e.g. "/<username>"
	role     string         // the Vault role, if any
	identity string         // who logs in, e.g. "ServiceAccount ns/name"
	body     map[string]any // the login payload
	secrets  []string       // credential strings to keep out of errors
	hint     func(status int) string
}

// do sends the login and returns the auth block.
func (r loginRequest) do(ctx context.Context, c *Client) (*vaultapi.SecretAuth, error) {
	path := "auth/" + r.mount + "/login" + r.suffix
	fail := func(err error) error {
		le := &LoginError{Method: r.method, Mount: "auth/" + r.mount, Role: r.role, Identity: r.identity, Address: c.server, Err: err}
		var ve *vaultError
		if r.hint != nil && !(errors.As(err, &ve) && ve.hint != "") {
			le.Hint = r.hint(statusOf(err))
		}
		return le
	}
	sec, err := c.login.Logical().WriteWithContext(ctx, path, r.body)
	if err != nil {
		return nil, fail(c.callError("PUT", path, err, r.secrets...))
	}
	switch {
	case sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "":
		return nil, fail(errors.New("vault answered without a token"))
	case sec.Auth.MFARequirement != nil:
		return nil, fail(errors.New("vault requires multi-factor authentication for this login, which secretbridge cannot provide"))
	}
	return sec.Auth, nil
}
