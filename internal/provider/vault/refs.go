package vault

import (
	"context"
	"errors"
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

// defaultTokenExpiration is the lifetime requested for ServiceAccount tokens
// (the TokenRequest API's minimum). A token is only used to log in.
const defaultTokenExpiration int64 = 600

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

// secretValue returns the value of the Secret key sel points at (key
// defaultKey when sel.Key is empty), with surrounding white space removed
// when trim is set. Errors name the Secret and key, never the value.
func (r refs) secretValue(ctx context.Context, path string, sel esv1.SecretKeySelector, defaultKey string, trim bool) (string, error) {
	ns, err := r.namespaceFor(path, sel.Namespace)
	if err != nil {
		return "", err
	}
	key := sel.Key
	if key == "" {
		key = defaultKey
	}
	if sel.Name == "" || key == "" {
		return "", provider.NewConfigError(path, "name and key are required")
	}
	var s corev1.Secret
	if err := r.kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: sel.Name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", provider.NewConfigError(path, "Secret %s/%s not found", ns, sel.Name)
		}
		return "", fmt.Errorf("%s: reading Secret %s/%s: %w", path, ns, sel.Name, err)
	}
	v, ok := s.Data[key]
	if !ok {
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return "", provider.NewConfigError(path, "Secret %s/%s has no key %q (its keys: %s)", ns, sel.Name, key, strings.Join(keys, ", "))
	}
	if trim {
		return strings.TrimSpace(string(v)), nil
	}
	return strings.TrimRight(string(v), "\r\n"), nil
}

// caBundle reads the PEM bundle a caProvider points at: a SecretStore reads
// its own namespace, a ClusterSecretStore caProvider.namespace, else the
// ExternalSecret's namespace.
func (r refs) caBundle(ctx context.Context, p *esv1.CAProvider) ([]byte, error) {
	path := field + ".caProvider"
	ns, err := r.namespaceFor(path, p.Namespace)
	if err != nil {
		return nil, err
	}
	key := client.ObjectKey{Namespace: ns, Name: p.Name}
	switch p.Type {
	case esv1.CAProviderTypeSecret:
		var s corev1.Secret
		if err := r.kube.Get(ctx, key, &s); err != nil {
			return nil, wrapGetError(path, "Secret", key, err)
		}
		if v, ok := s.Data[p.Key]; ok {
			return v, nil
		}
		return nil, provider.NewConfigError(path, "Secret %s has no key %q", key, p.Key)
	default:
		var cm corev1.ConfigMap
		if err := r.kube.Get(ctx, key, &cm); err != nil {
			return nil, wrapGetError(path, "ConfigMap", key, err)
		}
		if v, ok := cm.Data[p.Key]; ok {
			return []byte(v), nil
		}
		if v, ok := cm.BinaryData[p.Key]; ok {
			return v, nil
		}
		return nil, provider.NewConfigError(path, "ConfigMap %s has no key %q", key, p.Key)
	}
}

// wrapGetError turns a failed read of a referenced object into a
// ConfigError when the object is missing.
func wrapGetError(path, kind string, key client.ObjectKey, err error) error {
	if apierrors.IsNotFound(err) {
		return provider.NewConfigError(path, "%s %s not found", kind, key)
	}
	return fmt.Errorf("%s: reading %s %s: %w", path, kind, key, err)
}

// serviceAccount is a ServiceAccount a token is requested for.
type serviceAccount struct {
	Namespace, Name string
}

// String returns namespace/name.
func (sa serviceAccount) String() string { return sa.Namespace + "/" + sa.Name }

// serviceAccountNotFoundError is what requestToken returns when the
// ServiceAccount does not exist.
type serviceAccountNotFoundError struct{ sa serviceAccount }

// Error implements error.
func (e *serviceAccountNotFoundError) Error() string {
	return fmt.Sprintf("ServiceAccount %s not found", e.sa)
}

// requestToken asks the TokenRequest API for a short-lived token of sa with
// the given audiences (none: the API server's own).
func (r refs) requestToken(ctx context.Context, sa serviceAccount, audiences []string, expiration int64) (string, error) {
	obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: sa.Namespace, Name: sa.Name}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         slices.Clone(audiences),
		ExpirationSeconds: &expiration,
	}}
	if err := r.kube.SubResource("token").Create(ctx, obj, tr); err != nil {
		if apierrors.IsNotFound(err) {
			return "", &serviceAccountNotFoundError{sa: sa}
		}
		return "", fmt.Errorf("requesting a token for ServiceAccount %s: %w", sa, err)
	}
	if tr.Status.Token == "" {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s: the API server returned no token", sa)
	}
	return tr.Status.Token, nil
}

// tokenRequestError makes a missing ServiceAccount a configuration error of
// the field at path; other failures (RBAC, the API server) stay as they are.
func tokenRequestError(path string, err error) error {
	var nf *serviceAccountNotFoundError
	if errors.As(err, &nf) {
		return &provider.ConfigError{Field: path, Err: err}
	}
	return fmt.Errorf("%s: %w", path, err)
}
