package provider

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// Refs reads what a store refers to in the cluster (credential Secrets, CA
// bundles, ServiceAccounts) under the namespace rules of its kind, the one
// place those rules live: a SecretStore reads only its own namespace (a
// namespace in a selector is ignored); a ClusterSecretStore reads the
// selector's namespace, else the namespace of the ExternalSecret using it
// (the referent namespace).
type Refs struct {
	// Kube reads Secrets, ConfigMaps and ServiceAccounts and requests tokens.
	Kube client.Client
	// Store is the store whose references are resolved.
	Store Store
	// Referent is the namespace of the ExternalSecret using the store ("" when
	// the store is validated on its own).
	Referent string
}

// Namespaced reports whether the store is a namespaced SecretStore.
func (r Refs) Namespaced() bool {
	return r.Store.StoreKind() == string(esv1.SecretStoreKindSecretStore)
}

// NamespaceFor returns the namespace the reference at path resolves in, given
// the namespace its selector names (selected, possibly empty).
func (r Refs) NamespaceFor(path, selected string) (string, error) {
	if r.Namespaced() {
		return r.Store.GetNamespace(), nil
	}
	if selected != "" {
		return selected, nil
	}
	if r.Referent != "" {
		return r.Referent, nil
	}
	return "", fmt.Errorf("%s has no namespace: %w", path, ErrNoReferentNamespace)
}

// SecretKey returns the bytes under the key sel points at (defaultKey when
// sel.Key is empty) and the Secret as namespace/name for messages. Errors
// name the Secret and the key, never the value.
func (r Refs) SecretKey(ctx context.Context, path string, sel esv1.SecretKeySelector, defaultKey string) ([]byte, string, error) {
	ns, err := r.NamespaceFor(path, sel.Namespace)
	if err != nil {
		return nil, "", err
	}
	key := sel.Key
	if key == "" {
		key = defaultKey
	}
	if sel.Name == "" || key == "" {
		return nil, "", NewConfigError(path, "name and key are required")
	}
	name := ns + "/" + sel.Name
	var s corev1.Secret
	if err := r.Get(ctx, path, ns, sel.Name, &s); err != nil {
		return nil, name, err
	}
	v, ok := s.Data[key]
	if !ok {
		return nil, name, NewConfigError(path+".key", "Secret %s has no key %q (its keys: %s)", name, key, KeyList(s.Data))
	}
	return v, name, nil
}

// DefaultCAKey is the key a caProvider reads when it names none.
const DefaultCAKey = "ca.crt"

// CABundle reads the PEM bundle a caProvider points at and checks that it
// holds a certificate.
func (r Refs) CABundle(ctx context.Context, path string, p esv1.CAProvider) ([]byte, error) {
	ns, err := r.NamespaceFor(path, p.Namespace)
	if err != nil {
		return nil, err
	}
	key := p.Key
	if key == "" {
		key = DefaultCAKey
	}
	name := ns + "/" + p.Name
	var data map[string][]byte
	switch p.Type {
	case esv1.CAProviderTypeSecret:
		var s corev1.Secret
		if err := r.Get(ctx, path, ns, p.Name, &s); err != nil {
			return nil, err
		}
		data = s.Data
	default:
		var cm corev1.ConfigMap
		if err := r.Get(ctx, path, ns, p.Name, &cm); err != nil {
			return nil, err
		}
		data = make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			data[k] = v
		}
	}
	ca, ok := data[key]
	if !ok {
		return nil, NewConfigError(path+".key", "%s %s has no key %q (its keys: %s)", p.Type, name, key, KeyList(data))
	}
	if !x509.NewCertPool().AppendCertsFromPEM(ca) {
		return nil, NewConfigError(path, "key %q of %s %s holds no PEM-encoded certificate", key, p.Type, name)
	}
	return ca, nil
}

// Get reads one object for the reference at path. A missing object is a
// *ConfigError: creating it (or fixing the reference) is the fix.
func (r Refs) Get(ctx context.Context, path, ns, name string, obj client.Object) error {
	kind := "Secret"
	switch obj.(type) {
	case *corev1.ConfigMap:
		kind = "ConfigMap"
	case *corev1.ServiceAccount:
		kind = "ServiceAccount"
	}
	if r.Kube == nil {
		return fmt.Errorf("reading %s %s/%s for %s: no Kubernetes client was given", kind, ns, name, path)
	}
	err := r.Kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return NewConfigError(path, "%s %s/%s not found", kind, ns, name)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("reading %s %s/%s for %s: the controller may not read it (check its RBAC): %w", kind, ns, name, path, err)
	default:
		return fmt.Errorf("reading %s %s/%s for %s: %w", kind, ns, name, path, err)
	}
}

// KeyList lists the keys of data for a message (names only, at most 20).
func KeyList(data map[string][]byte) string {
	if len(data) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	slices.Sort(keys)
	const maxKeys = 20
	if len(keys) > maxKeys {
		keys = append(keys[:maxKeys], fmt.Sprintf("and %d more", len(keys)-maxKeys))
	}
	return strings.Join(keys, ", ")
}

// ServiceAccount names a ServiceAccount a token is requested for.
type ServiceAccount struct {
	Namespace, Name string
}

// String returns namespace/name.
func (sa ServiceAccount) String() string { return sa.Namespace + "/" + sa.Name }

// ServiceAccountNotFoundError is what RequestToken returns when the
// ServiceAccount does not exist.
type ServiceAccountNotFoundError struct{ SA ServiceAccount }

// Error implements error.
func (e *ServiceAccountNotFoundError) Error() string {
	return fmt.Sprintf("ServiceAccount %s not found", e.SA)
}

// RequestToken asks the TokenRequest API for a short-lived token of sa with
// the given audiences (none: the API server's own) and lifetime in seconds.
func (r Refs) RequestToken(ctx context.Context, sa ServiceAccount, audiences []string, expiration int64) (string, error) {
	obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: sa.Namespace, Name: sa.Name}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         slices.Clone(audiences),
		ExpirationSeconds: &expiration,
	}}
	if err := r.Kube.SubResource("token").Create(ctx, obj, tr); err != nil {
		if apierrors.IsNotFound(err) {
			return "", &ServiceAccountNotFoundError{SA: sa}
		}
		return "", fmt.Errorf("requesting a token for ServiceAccount %s: %w", sa, err)
	}
	if tr.Status.Token == "" {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s: the API server returned no token", sa)
	}
	return tr.Status.Token, nil
}
