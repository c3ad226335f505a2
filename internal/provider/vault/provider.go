package vault

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// Name is the provider's name: its field under spec.provider.
const Name = "vault"

const field = "spec.provider.vault"

func init() {
	provider.Register(Name, Provider{}, func(p *esv1.SecretStoreProvider) bool { return p.Vault != nil })
}

// Provider builds Vault clients from spec.provider.vault.
type Provider struct{}

// Capabilities reports that Vault stores are read only (PushSecret is not
// implemented yet).
func (Provider) Capabilities() esv1.SecretStoreCapabilities { return esv1.SecretStoreReadOnly }

// ValidateStore checks spec.provider.vault without any network call: the
// server URL, the KV version, that an auth method this provider supports is
// configured with what it needs, the CA and client TLS references, and the
// headers.
func (Provider) ValidateStore(store provider.Store) error {
	spec := store.StoreSpec().Provider.Vault
	if spec == nil {
		return provider.NewConfigError(field, "the store configures no vault provider")
	}
	if err := checkServer(spec.Server); err != nil {
		return err
	}
	switch spec.Version {
	case "", esv1.VaultKVStoreV1, esv1.VaultKVStoreV2:
	default:
		return provider.NewConfigError(field+".version", "%q is not a KV version: use v1 or v2", spec.Version)
	}
	if _, err := selectAuth(spec.Auth, spec.Path); err != nil {
		return err
	}
	if a := spec.Auth; a.Cert != nil && a.TokenSecretRef == nil && a.AppRole == nil && a.Kubernetes == nil && a.UserPass == nil && a.Jwt == nil &&
		a.Cert.ClientCert == nil && (spec.ClientTLS == nil || spec.ClientTLS.CertSecretRef == nil) {
		return provider.NewConfigError(field+".auth.cert", "set clientCert and secretRef, or a client certificate in spec.provider.vault.tls")
	}
	if p := spec.CAProvider; p != nil {
		if p.Type != esv1.CAProviderTypeSecret && p.Type != esv1.CAProviderTypeConfigMap {
			return provider.NewConfigError(field+".caProvider.type", "%q is not a CA provider type: use Secret or ConfigMap", p.Type)
		}
		if p.Name == "" || p.Key == "" {
			return provider.NewConfigError(field+".caProvider", "name and key are required")
		}
	}
	if t := spec.ClientTLS; t != nil && (t.CertSecretRef == nil) != (t.KeySecretRef == nil) {
		return provider.NewConfigError(field+".tls", "set both certSecretRef and keySecretRef, or neither")
	}
	for name := range spec.Headers {
		switch strings.ToLower(name) {
		case "x-vault-token", "x-vault-namespace":
			return provider.NewConfigError(field+".headers", "header %q is set by secretbridge; use auth or namespace instead", name)
		}
	}
	if rs := store.StoreSpec().RetrySettings; rs != nil {
		if _, _, err := retrySettings(rs); err != nil {
			return err
		}
	}
	return nil
}

// checkServer checks spec.provider.vault.server: an http or https URL with
// a host.
func checkServer(server string) error {
	if server == "" {
		return provider.NewConfigError(field+".server", "is empty: set the address of Vault, for example https://vault.example.com:8200")
	}
	u, err := url.Parse(server)
	if err != nil {
		return provider.NewConfigError(field+".server", "%q is not a URL: %w", server, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return provider.NewConfigError(field+".server", "%q is not an http:// or https:// address with a host", server)
	}
	return nil
}

// NewClient builds a client for store as used from namespace (the
// ExternalSecret's namespace) and logs in. Credential references are
// resolved under the store kind's namespace rules; a ClusterSecretStore
// that resolves them in the ExternalSecret's namespace cannot be built
// without one (provider.ErrNoReferentNamespace).
func (p Provider) NewClient(ctx context.Context, store provider.Store, kube client.Client, namespace string) (provider.Client, error) {
	if err := p.ValidateStore(store); err != nil {
		return nil, err
	}
	spec := store.StoreSpec().Provider.Vault
	c := &Client{
		spec:     spec,
		server:   strings.TrimRight(spec.Server, "/"),
		refs:     refs{provider.Refs{Kube: kube, Store: store, Referent: namespace}},
		ctrl:     provider.ControllerFrom(ctx),
		mounts:   map[string]mountLookup{},
		keys:     map[string]*location{},
		stopRenw: make(chan struct{}),
	}
	var err error
	if c.auth, err = selectAuth(spec.Auth, spec.Path); err != nil {
		return nil, err
	}
	if err := c.connect(ctx, store.StoreSpec().RetrySettings); err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		c.closeIdle()
		return nil, err
	}
	c.reportInterpretations(ctx)
	return c, nil
}

// retrySettings returns the vault/api retry count and wait from
// spec.retrySettings, as upstream does: when the block is set, maxRetries
// defaults to 0 (the engine retries) and retryInterval is both the minimum
// and the maximum wait.
func retrySettings(rs *esv1.SecretStoreRetrySettings) (int, string, error) {
	retries := 0
	if rs.MaxRetries != nil {
		retries = int(*rs.MaxRetries)
		if retries < 0 {
			return 0, "", provider.NewConfigError("spec.retrySettings.maxRetries", "%d is negative", retries)
		}
	}
	interval := ""
	if rs.RetryInterval != nil {
		interval = *rs.RetryInterval
		if _, err := parseDuration(interval); err != nil {
			return 0, "", &provider.ConfigError{Field: "spec.retrySettings.retryInterval", Err: err}
		}
	}
	return retries, interval, nil
}

// errNoVersionNumber is the cause when remoteRef.version is not a KV v2
// version number.
var errNoVersionNumber = errors.New("KV v2 versions are positive integers")

// kvVersionParam checks remoteRef.version: empty, or a positive integer.
func kvVersionParam(version string) (string, error) {
	if version == "" {
		return "", nil
	}
	n, err := strconv.Atoi(version)
	if err != nil || n <= 0 {
		return "", &provider.ConfigError{Field: "remoteRef.version", Err: fmt.Errorf("%q: %w", version, errNoVersionNumber)}
	}
	return strconv.Itoa(n), nil
}
