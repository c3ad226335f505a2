package vault

import (
	"context"
	"fmt"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// jwtAuth logs in with the JWT/OIDC method (auth.jwt) at auth/<path>/login:
// the JWT comes from secretRef, or from a ServiceAccount token requested
// with the TokenRequest API (kubernetesServiceAccountToken: audiences from
// its audiences, else serviceAccountRef.audiences, else "vault"; lifetime
// expirationSeconds, else 600 s).
type jwtAuth struct {
	spec esv1.VaultJwtAuth
}

// newJWTAuth checks auth.jwt.
func newJWTAuth(spec esv1.VaultJwtAuth) (authMethod, error) {
	const f = field + ".auth.jwt"
	switch {
	case spec.SecretRef != nil:
		if spec.SecretRef.Name == "" || spec.SecretRef.Key == "" {
			return nil, provider.NewConfigError(f+".secretRef", "name and key are required")
		}
	case spec.KubernetesServiceAccountToken != nil:
		if spec.KubernetesServiceAccountToken.ServiceAccountRef.Name == "" {
			return nil, provider.NewConfigError(f+".kubernetesServiceAccountToken.serviceAccountRef.name", "is empty")
		}
		if e := spec.KubernetesServiceAccountToken.ExpirationSeconds; e != nil && *e < defaultTokenExpiration {
			return nil, provider.NewConfigError(f+".kubernetesServiceAccountToken.expirationSeconds", "%d is below the TokenRequest API's minimum of %d", *e, defaultTokenExpiration)
		}
	default:
		return nil, provider.NewConfigError(f, "set secretRef or kubernetesServiceAccountToken as the source of the JWT")
	}
	return jwtAuth{spec: spec}, nil
}

// login obtains the JWT and logs in.
func (a jwtAuth) login(ctx context.Context, c *Client) (*vaultapi.SecretAuth, error) {
	const f = field + ".auth.jwt"
	var jwt, identity string
	if ref := a.spec.SecretRef; ref != nil {
		var err error
		if jwt, err = c.refs.secretValue(ctx, f+".secretRef", *ref, "", true); err != nil {
			return nil, err
		}
		identity = fmt.Sprintf("JWT from Secret %q key %q", ref.Name, ref.Key)
	} else {
		k := a.spec.KubernetesServiceAccountToken
		ns, err := c.refs.namespaceFor(f+".kubernetesServiceAccountToken.serviceAccountRef", k.ServiceAccountRef.Namespace)
		if err != nil {
			return nil, err
		}
		audiences := k.Audiences
		if len(audiences) == 0 {
			audiences = k.ServiceAccountRef.Audiences
		}
		if len(audiences) == 0 {
			audiences = []string{"vault"}
		}
		expiration := defaultTokenExpiration
		if k.ExpirationSeconds != nil {
			expiration = *k.ExpirationSeconds
		}
		sa := serviceAccount{Namespace: ns, Name: k.ServiceAccountRef.Name}
		if jwt, err = c.refs.requestToken(ctx, sa, audiences, expiration); err != nil {
			return nil, tokenRequestError(f+".kubernetesServiceAccountToken.serviceAccountRef", err)
		}
		identity = fmt.Sprintf("ServiceAccount %s (audiences %v)", sa, audiences)
	}
	return loginRequest{
		method:   "JWT",
		mount:    authMount(a.spec.PathOrDefault()),
		role:     a.spec.Role,
		identity: identity,
		body:     map[string]any{"role": a.spec.Role, "jwt": jwt},
		secrets:  []string{jwt},
		hint: func(status int) string {
			if status == 400 || status == 403 {
				return "check the role's bound_audiences, bound_subject/bound_claims and the method's issuer and keys against the JWT"
			}
			return ""
		},
	}.do(ctx, c)
}
