package kubernetes

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// Settings of every client this provider builds.
const (
	userAgent      = "secretbridge (kubernetes provider)"
	requestTimeout = 30 * time.Second
	clientQPS      = 50
	clientBurst    = 100
	// defaultCAKey is the key read from a caProvider that names none.
	defaultCAKey = "ca.crt"
	// inClusterCAFile is the CA of the cluster the controller runs in, used
	// when server is omitted and no CA is configured.
	inClusterCAFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// builder turns a store's kubernetes block into a rest.Config.
type builder struct {
	refs refs
	spec *esv1.KubernetesProvider
	// method says how the client authenticates and where its credentials
	// come from, for messages; never a credential.
	method string
}

// restConfig returns the configuration of the remote API server and its
// credentials.
func (b *builder) restConfig(ctx context.Context) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if b.spec.AuthRef != nil {
		cfg, err = b.kubeconfigAuth(ctx, *b.spec.AuthRef)
	} else {
		cfg, err = b.serverConfig(ctx)
		if err == nil {
			switch a := b.spec.Auth; {
			case a.Token != nil:
				err = b.tokenAuth(ctx, a.Token, cfg)
			case a.Cert != nil:
				err = b.certAuth(ctx, a.Cert, cfg)
			case a.ServiceAccount != nil:
				err = b.serviceAccountAuth(ctx, a.ServiceAccount, cfg)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = userAgent
	cfg.Timeout = requestTimeout
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	return cfg, nil
}

// serverConfig returns the address and CA of server, without credentials.
func (b *builder) serverConfig(ctx context.Context) (*rest.Config, error) {
	server := esv1.KubernetesServer{}
	if b.spec.Server != nil {
		server = *b.spec.Server
	}
	host := server.URLOrDefault()
	if !strings.Contains(host, "://") {
		// Without a scheme client-go would pick plain http when no CA or
		// client certificate is set, and send the credentials in clear text.
		host = "https://" + host
	}
	cfg := &rest.Config{Host: host}
	switch {
	case len(server.CABundle) > 0:
		cfg.CAData = server.CABundle
	case server.CAProvider != nil:
		ca, err := b.refs.caBundle(ctx, field+".server.caProvider", *server.CAProvider)
		if err != nil {
			return nil, err
		}
		cfg.CAData = ca
	case server.URL == "":
		// The in-cluster API server: trust the cluster's CA when it is
		// mounted, else the system roots.
		if ca, err := os.ReadFile(inClusterCAFile); err == nil {
			cfg.CAData = ca
		}
	}
	return cfg, nil
}

// refs reads what a store refers to, under the namespace rules of its kind.
type refs struct {
	kube     client.Client
	store    provider.Store
	referent string // the namespace of the ExternalSecret using the store
}

// namespaceFor returns the namespace a reference at path resolves in: the
// store's own for a SecretStore; for a ClusterSecretStore the selector's
// namespace (selected), else the referent namespace.
func (r refs) namespaceFor(path, selected string) (string, error) {
	if r.store.StoreKind() == string(esv1.SecretStoreKindSecretStore) {
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

// secretValue reads the key sel points at. It also returns the Secret's
// namespace/name for messages.
func (r refs) secretValue(ctx context.Context, path string, sel esv1.SecretKeySelector) ([]byte, string, error) {
	ns, err := r.namespaceFor(path, sel.Namespace)
	if err != nil {
		return nil, "", err
	}
	name := objectName(ns, sel.Name)
	var secret corev1.Secret
	if err := r.get(ctx, path, ns, sel.Name, &secret); err != nil {
		return nil, name, err
	}
	value, ok := secret.Data[sel.Key]
	if !ok {
		return nil, name, provider.NewConfigError(path+".key", "Secret %s has no key %q (its keys: %s)", name, sel.Key, keyList(secret.Data))
	}
	if len(value) == 0 {
		return nil, name, provider.NewConfigError(path+".key", "key %q of Secret %s is empty", sel.Key, name)
	}
	return value, name, nil
}

// caBundle reads the PEM bundle a caProvider points at.
func (r refs) caBundle(ctx context.Context, path string, p esv1.CAProvider) ([]byte, error) {
	ns, err := r.namespaceFor(path, p.Namespace)
	if err != nil {
		return nil, err
	}
	key := p.Key
	if key == "" {
		key = defaultCAKey
	}
	name := objectName(ns, p.Name)
	var data map[string][]byte
	switch p.Type {
	case esv1.CAProviderTypeSecret:
		var s corev1.Secret
		if err := r.get(ctx, path, ns, p.Name, &s); err != nil {
			return nil, err
		}
		data = s.Data
	default:
		var cm corev1.ConfigMap
		if err := r.get(ctx, path, ns, p.Name, &cm); err != nil {
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
		return nil, provider.NewConfigError(path+".key", "%s %s has no key %q (its keys: %s)", p.Type, name, key, keyList(data))
	}
	if !x509.NewCertPool().AppendCertsFromPEM(ca) {
		return nil, provider.NewConfigError(path, "key %q of %s %s holds no PEM-encoded certificate", key, p.Type, name)
	}
	return ca, nil
}

// get reads one object for the reference at path. A missing object is a
// *provider.ConfigError: creating it (or fixing the reference) is the fix.
func (r refs) get(ctx context.Context, path, ns, name string, obj client.Object) error {
	kind := "Secret"
	if _, ok := obj.(*corev1.ConfigMap); ok {
		kind = "ConfigMap"
	}
	if r.kube == nil {
		return fmt.Errorf("reading %s %s for %s: no Kubernetes client was given", kind, objectName(ns, name), path)
	}
	err := r.kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return provider.NewConfigError(path, "%s %s not found", kind, objectName(ns, name))
	case apierrors.IsForbidden(err):
		return fmt.Errorf("reading %s %s for %s: the controller may not read it (check its RBAC): %w", kind, objectName(ns, name), path, err)
	default:
		return fmt.Errorf("reading %s %s for %s: %w", kind, objectName(ns, name), path, err)
	}
}

// keyList lists the keys of data for a message (names only).
func keyList(data map[string][]byte) string {
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
