package azure

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// refs resolves what a store refers to in the cluster under the namespace
// rules of its kind (provider.Refs).
type refs struct {
	provider.Refs
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

// serviceAccount reads the ServiceAccount sa; a missing one is a
// ConfigError of the field at path.
func (r refs) serviceAccount(ctx context.Context, path string, sa provider.ServiceAccount) (*corev1.ServiceAccount, error) {
	var obj corev1.ServiceAccount
	if err := r.Get(ctx, path, sa.Namespace, sa.Name, &obj); err != nil {
		return nil, err
	}
	return &obj, nil
}
