// Package kubernetes implements the kubernetes provider: it reads the Secrets
// of one namespace (spec.provider.kubernetes.remoteNamespace, default
// "default") of a Kubernetes cluster, this one or a remote one.
//
// How a remote reference reads:
//
//   - key is the Secret's name. version is ignored: Secrets have no versions.
//   - GetSecret without property returns the Secret's data as a JSON object
//     of strings (a value that is not UTF-8 text must be selected with
//     property). With property, GetSecret resolves it itself (the client is
//     a provider.PropertyResolver) and returns the bytes as stored: an exact
//     data key first ("tls.crt"), else "<data key>.<gjson path>" into that
//     key's JSON value ("config.db.host" reads db.host of key "config"; data
//     keys that prefix the property are tried longest first), else a gjson
//     path over the JSON object of strings.
//   - metadataPolicy Fetch reads metadata instead of data: without property
//     {"labels": {...}, "annotations": {...}}; "labels" or "annotations"
//     selects one map as JSON; "labels.<key>" or "annotations.<key>" one
//     value (the key may contain dots: "labels.app.kubernetes.io/name").
//   - GetSecretMap returns the Secret's data (with property: the JSON
//     object property selects, split into its top-level keys); with
//     metadataPolicy Fetch, "labels" and "annotations" as JSON objects.
//   - find matches Secret names by name.regexp and path (a name prefix) and
//     labels by tags (every tag must match); each match becomes the JSON
//     object of its data, keyed by the Secret's name. A find must set at
//     least one of them.
//
// Authentication is one of auth.token (a bearer token from a Secret),
// auth.cert (a client certificate and key from Secrets),
// auth.serviceAccount (a short-lived token for that ServiceAccount, minted
// with the TokenRequest API and renewed before it expires) or authRef (a
// kubeconfig in a Secret; it must be self-contained: no file references, no
// exec or auth-provider plugins). Credentials and CA bundles are read from
// the store's own namespace for a SecretStore (namespace in a selector is
// ignored); for a ClusterSecretStore from the selector's namespace, else
// from the namespace of the ExternalSecret that uses the store.
//
// API errors are mapped: 404 becomes a provider.NotFoundError naming the
// namespace and name, 403 a *ForbiddenError naming the verb, resource,
// namespace and identity, a certificate signed by an unknown authority a
// hint to set server.caBundle or server.caProvider. Errors never carry
// Secret values or tokens.
package kubernetes

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// Name is the provider's name: its field under spec.provider.
const Name = "kubernetes"

// field is the path of the provider's configuration in a store.
const field = "spec.provider.kubernetes"

func init() {
	provider.Register(Name, Provider{}, func(p *esv1.SecretStoreProvider) bool { return p.Kubernetes != nil })
}

// Provider builds clients for spec.provider.kubernetes.
type Provider struct{}

// Capabilities reports that the provider only reads.
func (Provider) Capabilities() esv1.SecretStoreCapabilities { return esv1.SecretStoreReadOnly }

// ValidateStore checks spec.provider.kubernetes without any network call:
// exactly one of auth and authRef, exactly one auth method, the required
// names and keys of every reference, an https server URL and a caBundle that
// holds PEM certificates.
func (Provider) ValidateStore(store provider.Store) error {
	spec := store.StoreSpec().Provider.Kubernetes
	if spec == nil {
		return provider.NewConfigError(field, "the store configures no kubernetes provider")
	}
	if err := validateServer(spec.Server); err != nil {
		return err
	}
	switch {
	case spec.Auth != nil && spec.AuthRef != nil:
		return provider.NewConfigError(field, "set either auth or authRef (a kubeconfig), not both")
	case spec.AuthRef != nil:
		return requireSecretKey(field+".authRef", *spec.AuthRef)
	case spec.Auth == nil:
		return provider.NewConfigError(field+".auth", "is required: set auth.token, auth.cert or auth.serviceAccount, or authRef (a kubeconfig in a Secret)")
	}
	a := spec.Auth
	set := 0
	for _, isSet := range []bool{a.Token != nil, a.Cert != nil, a.ServiceAccount != nil} {
		if isSet {
			set++
		}
	}
	if set != 1 {
		return provider.NewConfigError(field+".auth", "sets %d methods; set exactly one of token, cert and serviceAccount", set)
	}
	switch {
	case a.Token != nil:
		return requireSecretKey(field+".auth.token.bearerToken", a.Token.BearerToken)
	case a.Cert != nil:
		if err := requireSecretKey(field+".auth.cert.clientCert", a.Cert.ClientCert); err != nil {
			return err
		}
		return requireSecretKey(field+".auth.cert.clientKey", a.Cert.ClientKey)
	default:
		if a.ServiceAccount.Name == "" {
			return provider.NewConfigError(field+".auth.serviceAccount.name", "is required")
		}
		return nil
	}
}

func validateServer(s *esv1.KubernetesServer) error {
	if s == nil {
		return nil
	}
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		if err != nil {
			return &provider.ConfigError{Field: field + ".server.url", Err: err}
		}
		if u.Scheme != "" && u.Scheme != "https" {
			return provider.NewConfigError(field+".server.url", "%q: use an https:// URL; credentials are never sent in clear text", s.URL)
		}
	}
	if len(s.CABundle) > 0 && !x509.NewCertPool().AppendCertsFromPEM(s.CABundle) {
		return provider.NewConfigError(field+".server.caBundle", "holds no PEM-encoded certificate")
	}
	if s.CABundle != nil && s.CAProvider != nil {
		return provider.NewConfigError(field+".server", "set either caBundle or caProvider, not both")
	}
	if p := s.CAProvider; p != nil {
		if p.Type != esv1.CAProviderTypeSecret && p.Type != esv1.CAProviderTypeConfigMap {
			return provider.NewConfigError(field+".server.caProvider.type", "%q: use Secret or ConfigMap", p.Type)
		}
		if p.Name == "" {
			return provider.NewConfigError(field+".server.caProvider.name", "is required")
		}
	}
	return nil
}

func requireSecretKey(path string, sel esv1.SecretKeySelector) error {
	if sel.Name == "" {
		return provider.NewConfigError(path+".name", "is required: the name of the Secret")
	}
	if sel.Key == "" {
		return provider.NewConfigError(path+".key", "is required: the key of Secret %q to read", sel.Name)
	}
	return nil
}

// NewClient builds a client for store. Credentials are read (and, for
// serviceAccount auth, a first token is requested) now, through kube; the
// remote API server is first contacted by the client's first call.
func (p Provider) NewClient(ctx context.Context, store provider.Store, kube client.Client, namespace string) (provider.Client, error) {
	if err := p.ValidateStore(store); err != nil {
		return nil, err
	}
	b := &builder{
		refs: refs{provider.Refs{Kube: kube, Store: store, Referent: namespace}},
		spec: store.StoreSpec().Provider.Kubernetes,
	}
	cfg, err := b.restConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("configuring access to the Kubernetes API server for %s %s: %w", store.StoreKind(), objectName(store.GetNamespace(), store.GetName()), err)
	}
	return newClient(cfg, b.spec.RemoteNamespaceOrDefault(), b.method)
}

// objectName is namespace/name, or name for a cluster-scoped object.
func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
