package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// tokenExpiration is the lifetime requested for ServiceAccount tokens (the
// TokenRequest API's minimum): a token is used once, to call
// AssumeRoleWithWebIdentity.
const tokenExpiration int64 = 600

// refs resolves what a store refers to in the cluster under the namespace
// rules of its kind: a SecretStore reads only its own namespace; a
// ClusterSecretStore reads the selector's namespace, else the namespace of
// the ExternalSecret that uses it (referent).
type refs struct {
	kube     client.Client
	store    provider.Store
	referent string
}

// namespaced reports whether the store is a namespaced SecretStore.
func (r refs) namespaced() bool {
	return r.store.StoreKind() == string(esv1.SecretStoreKindSecretStore)
}

// namespaceFor returns the namespace a reference at path resolves in.
func (r refs) namespaceFor(path, selected string) (string, error) {
	if r.namespaced() {
		return r.store.GetNamespace(), nil
	}
	if selected != "" {
		return selected, nil
	}
	if r.referent != "" {
		return r.referent, nil
	}
	return "", fmt.Errorf("%s has no namespace: %w", path, provider.ErrNoReferentNamespace)
}

// secretValue returns the value of the Secret key sel points at, with
// surrounding white space removed, and the Secret as namespace/name. Errors
// name the Secret and key, never the value.
func (r refs) secretValue(ctx context.Context, path string, sel esv1.SecretKeySelector) (value, secret string, err error) {
	ns, err := r.namespaceFor(path, sel.Namespace)
	if err != nil {
		return "", "", err
	}
	if sel.Name == "" || sel.Key == "" {
		return "", "", provider.NewConfigError(path, "name and key are required")
	}
	secret = ns + "/" + sel.Name
	var s corev1.Secret
	if err := r.kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: sel.Name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", secret, provider.NewConfigError(path, "Secret %s not found", secret)
		}
		return "", secret, fmt.Errorf("%s: reading Secret %s: %w", path, secret, err)
	}
	v, ok := s.Data[sel.Key]
	if !ok {
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return "", secret, provider.NewConfigError(path, "Secret %s has no key %q (its keys: %s)", secret, sel.Key, strings.Join(keys, ", "))
	}
	value = strings.TrimSpace(string(v))
	if value == "" {
		return "", secret, provider.NewConfigError(path, "key %q of Secret %s is empty", sel.Key, secret)
	}
	return value, secret, nil
}

// serviceAccount is a ServiceAccount a token is requested for.
type serviceAccount struct {
	Namespace, Name string
}

// String returns namespace/name.
func (sa serviceAccount) String() string { return sa.Namespace + "/" + sa.Name }

// getServiceAccount reads sa; a missing ServiceAccount is a ConfigError of
// the field at path.
func (r refs) getServiceAccount(ctx context.Context, path string, sa serviceAccount) (*corev1.ServiceAccount, error) {
	var obj corev1.ServiceAccount
	if err := r.kube.Get(ctx, client.ObjectKey{Namespace: sa.Namespace, Name: sa.Name}, &obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, provider.NewConfigError(path, "ServiceAccount %s not found", sa)
		}
		return nil, fmt.Errorf("%s: reading ServiceAccount %s: %w", path, sa, err)
	}
	return &obj, nil
}

// requestToken asks the TokenRequest API for a short-lived token of sa with
// the given audiences.
func (r refs) requestToken(ctx context.Context, sa serviceAccount, audiences []string) (string, error) {
	obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: sa.Namespace, Name: sa.Name}}
	expiration := tokenExpiration
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         slices.Clone(audiences),
		ExpirationSeconds: &expiration,
	}}
	if err := r.kube.SubResource("token").Create(ctx, obj, tr); err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s: %w", sa, err)
	}
	if tr.Status.Token == "" {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s: the API server returned no token", sa)
	}
	return tr.Status.Token, nil
}
