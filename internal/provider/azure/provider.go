package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// Name is the provider's name: its field under spec.provider.
const Name = "azurekv"

const field = "spec.provider.azurekv"

// The --endpoint-override names this provider reads.
const (
	// endpointLogin replaces the Entra ID authority host of every store.
	endpointLogin = "azure.login"
	// endpointVault is where Key Vault requests are sent instead of the
	// vault's own address; the vault's host name is kept in the Host
	// header and for the SDK's challenge check.
	endpointVault = "azure.vault"
	// endpointIMDS replaces the Instance Metadata Service's address for
	// ManagedIdentity.
	endpointIMDS = "azure.imds"
)

func init() {
	provider.Register(Name, Provider{}, func(p *esv1.SecretStoreProvider) bool { return p.AzureKV != nil })
	provider.RegisterEndpoint(endpointLogin, "Entra ID (Azure AD) authority host, e.g. https://login.microsoftonline.com")
	provider.RegisterEndpoint(endpointVault, "address every Key Vault request is sent to, keeping the vault's host name (a proxy or a test server)")
	provider.RegisterEndpoint(endpointIMDS, "Instance Metadata Service base URL for ManagedIdentity, e.g. http://169.254.169.254")
}

// Provider builds Azure Key Vault clients from spec.provider.azurekv.
type Provider struct {
	// hooks are seams for this package's tests; the registered Provider
	// has none.
	hooks *hooks
}

// hooks let tests point the SDK at an in-process server, trust its CA and
// shorten retries, without environment variables (tests run in
// parallel).
type hooks struct {
	// login, vault and imds are what the endpoint overrides of the same
	// names would be.
	login, vault, imds string
	// rootCAs, when set, are the only CAs trusted.
	rootCAs *x509.CertPool
	// retryDelay replaces the SDK's first retry delay.
	retryDelay time.Duration
}

// Capabilities reports that Azure stores are read only (PushSecret is not
// implemented yet).
func (Provider) Capabilities() esv1.SecretStoreCapabilities { return esv1.SecretStoreReadOnly }

// ValidateStore checks spec.provider.azurekv without any network call: the
// cloud, the vault URL, the auth type and what it needs, and
// spec.retrySettings.
func (Provider) ValidateStore(store provider.Store) error {
	spec := store.StoreSpec().Provider.AzureKV
	if spec == nil {
		return provider.NewConfigError(field, "the store configures no azurekv provider")
	}
	env, err := environmentOf(spec)
	if err != nil {
		return err
	}
	if _, err := checkVaultURL(spec.VaultURL, env); err != nil {
		return err
	}
	if _, err := selectAuth(spec); err != nil {
		return err
	}
	if _, err := retrySettings(store.StoreSpec().RetrySettings); err != nil {
		return err
	}
	return nil
}

// retry is what spec.retrySettings asks of the SDK's retry policy.
type retry struct {
	// maxRetries is how many times a request is retried; 0 means the
	// SDK's default (3), -1 none.
	maxRetries int32
	// delay is the first retry delay (0: the SDK's default, 800ms).
	delay time.Duration
}

// retrySettings reads spec.retrySettings.
func retrySettings(rs *esv1.SecretStoreRetrySettings) (retry, error) {
	var r retry
	if rs == nil {
		return r, nil
	}
	if rs.MaxRetries != nil {
		switch n := *rs.MaxRetries; {
		case n < 0:
			return r, provider.NewConfigError("spec.retrySettings.maxRetries", "%d is negative", n)
		case n == 0:
			r.maxRetries = -1 // the SDK reads 0 as its default
		default:
			r.maxRetries = n
		}
	}
	if rs.RetryInterval != nil {
		s := *rs.RetryInterval
		if n, err := strconv.Atoi(s); err == nil {
			r.delay = time.Duration(n) * time.Second
		} else if r.delay, err = time.ParseDuration(s); err != nil {
			return r, &provider.ConfigError{Field: "spec.retrySettings.retryInterval", Err: err}
		}
		if r.delay < 0 {
			return r, provider.NewConfigError("spec.retrySettings.retryInterval", "%q is negative", s)
		}
	}
	return r, nil
}

// NewClient builds a client for store as used from namespace (the
// ExternalSecret's namespace). Credential Secrets and the ServiceAccount are
// read now; Entra ID and Key Vault are called on first use. A
// ClusterSecretStore whose credentials resolve in the ExternalSecret's
// namespace cannot be built without one (provider.ErrNoReferentNamespace).
func (p Provider) NewClient(ctx context.Context, store provider.Store, kube client.Client, namespace string) (provider.Client, error) {
	if err := p.ValidateStore(store); err != nil {
		return nil, err
	}
	spec := store.StoreSpec().Provider.AzureKV
	env, _ := environmentOf(spec)
	if login := p.endpoint(endpointLogin); login != "" {
		env.authority = login + "/"
	}
	vaultURL, _ := checkVaultURL(spec.VaultURL, env)
	rs, _ := retrySettings(store.StoreSpec().RetrySettings)
	auth, _ := selectAuth(spec)
	transport := p.transport(vaultURL.Host)
	opts := p.clientOptions(transport, rs)
	r := refs{provider.Refs{Kube: kube, Store: store, Referent: namespace}}
	// Instance discovery asks login.microsoftonline.com about the authority;
	// an overridden or Azure Stack authority is not Microsoft's to vouch for.
	noDiscovery := p.endpoint(endpointLogin) != "" || env.name == esv1.AzureEnvironmentAzureStackCloud
	cred, err := auth.credential(ctx, r, spec, env, credentialOptions{client: opts, disableInstanceDiscovery: noDiscovery})
	if err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	c, err := newClient(vaultURL, env, cred, opts, transport)
	if err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	return c, nil
}

// endpoint returns the override of the named endpoint: the test hook, else
// --endpoint-override, else "".
func (p Provider) endpoint(name string) string {
	if p.hooks != nil {
		switch name {
		case endpointLogin:
			return p.hooks.login
		case endpointVault:
			return p.hooks.vault
		case endpointIMDS:
			return p.hooks.imds
		}
	}
	return provider.EndpointOverride(name)
}

// transport returns the HTTP transport of a new client for the vault at
// vaultHost: the default one (proxy settings from the environment, system
// CAs, which SSL_CERT_FILE can extend) with requests redirected to the
// vault and IMDS overrides.
func (p Provider) transport(vaultHost string) *redirectTransport {
	base := http.DefaultTransport.(*http.Transport).Clone()
	if p.hooks != nil && p.hooks.rootCAs != nil {
		base.TLSClientConfig = &tls.Config{RootCAs: p.hooks.rootCAs, MinVersion: tls.VersionTLS12}
	}
	t := &redirectTransport{base: base, vaultHost: vaultHost}
	if v := p.endpoint(endpointVault); v != "" {
		t.vault, _ = url.Parse(v)
	}
	if v := p.endpoint(endpointIMDS); v != "" {
		t.imds, _ = url.Parse(v)
	}
	t.client = &http.Client{Transport: t}
	return t
}

// imdsHost is the address azidentity sends IMDS requests to.
const imdsHost = "169.254.169.254"

// redirectTransport sends requests for the store's vault to the azure.vault
// override and requests for IMDS to the azure.imds override. A redirected
// vault request keeps the vault's host name in its Host header, so the SDK
// (which checks that Key Vault's challenge names a resource the vault's host
// belongs to) and the server both see the vault the store names. Entra ID
// needs no redirection: its authority host is an SDK option.
type redirectTransport struct {
	base        *http.Transport
	client      *http.Client
	vaultHost   string
	vault, imds *url.URL
}

// RoundTrip implements http.RoundTripper.
func (t *redirectTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var target *url.URL
	switch {
	case t.imds != nil && req.URL.Hostname() == imdsHost:
		target = t.imds
	case t.vault != nil && req.URL.Host == t.vaultHost:
		target = t.vault
	default:
		return t.base.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.Host = req.URL.Host
	out.URL.Scheme, out.URL.Host = target.Scheme, target.Host
	return t.base.RoundTrip(out)
}

// Do implements policy.Transporter, so the SDK sends through the transport.
func (t *redirectTransport) Do(req *http.Request) (*http.Response, error) { return t.client.Do(req) }

// CloseIdleConnections closes the transport's idle connections.
func (t *redirectTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }
