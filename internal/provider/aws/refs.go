package aws

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// tokenExpiration is the lifetime requested for ServiceAccount tokens (the
// TokenRequest API's minimum): a token is used once, to call
// AssumeRoleWithWebIdentity.
const tokenExpiration int64 = 600

// refs resolves what a store refers to in the cluster under the namespace
// rules of its kind (provider.Refs).
type refs struct {
	provider.Refs
}

// serviceAccount is a ServiceAccount a token is requested for.
type serviceAccount = provider.ServiceAccount

func (r refs) namespaceFor(path, selected string) (string, error) {
	return r.NamespaceFor(path, selected)
}

// secretValue returns the value of the Secret key sel points at, with
// surrounding white space removed, and the Secret as namespace/name. Errors
// name the Secret and key, never the value.
func (r refs) secretValue(ctx context.Context, path string, sel esv1.SecretKeySelector) (value, secret string, err error) {
	v, secret, err := r.SecretKey(ctx, path, sel, "")
	if err != nil {
		return "", secret, err
	}
	value = strings.TrimSpace(string(v))
	if value == "" {
		return "", secret, provider.NewConfigError(path, "key %q of Secret %s is empty", sel.Key, secret)
	}
	return value, secret, nil
}

// getServiceAccount reads sa; a missing ServiceAccount is a ConfigError of
// the field at path.
func (r refs) getServiceAccount(ctx context.Context, path string, sa serviceAccount) (*corev1.ServiceAccount, error) {
	var obj corev1.ServiceAccount
	if err := r.Get(ctx, path, sa.Namespace, sa.Name, &obj); err != nil {
		return nil, err
	}
	return &obj, nil
}

// requestToken asks the TokenRequest API for a short-lived token of sa with
// the given audiences.
func (r refs) requestToken(ctx context.Context, sa serviceAccount, audiences []string) (string, error) {
	return r.RequestToken(ctx, sa, audiences, tokenExpiration)
}
