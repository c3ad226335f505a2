package gcp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"golang.org/x/oauth2/google"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// Name is the provider's name: its field under spec.provider.
const Name = "gcpsm"

const field = "spec.provider.gcpsm"

// The --endpoint-override names this provider reads.
const (
	// endpointSecretManager replaces Secret Manager's gRPC address.
	endpointSecretManager = "gcp.secretmanager"
	// endpointSTS replaces the Security Token Service's base URL.
	endpointSTS = "gcp.sts"
	// endpointIAMCredentials replaces IAM Credentials' base URL.
	endpointIAMCredentials = "gcp.iamcredentials"
)

// The Google endpoints used when no override is given.
const (
	defaultSecretManager  = "secretmanager.googleapis.com:443"
	defaultSTS            = "https://sts.googleapis.com"
	defaultIAMCredentials = "https://iamcredentials.googleapis.com"
)

// scope is the OAuth scope of every token: Secret Manager accepts only
// cloud-platform.
const scope = "https://www.googleapis.com/auth/cloud-platform"

func init() {
	provider.Register(Name, Provider{}, func(p *esv1.SecretStoreProvider) bool { return p.GCPSM != nil })
	provider.RegisterEndpoint(endpointSecretManager, "Secret Manager gRPC endpoint, https://host:port; default secretmanager.googleapis.com:443 or the location's regional endpoint")
	provider.RegisterEndpoint(endpointSTS, "base URL of Google's Security Token Service (workload identity), default https://sts.googleapis.com")
	provider.RegisterEndpoint(endpointIAMCredentials, "base URL of IAM Credentials (service account impersonation), default https://iamcredentials.googleapis.com")
}

// Provider builds Secret Manager clients from spec.provider.gcpsm.
type Provider struct {
	// hooks are seams for this package's tests; the registered Provider
	// has none.
	hooks *hooks
}

// hooks point the clients at an in-process server and shorten waits in
// this package's tests, without environment variables (tests run in
// parallel).
type hooks struct {
	// secretManager is the gRPC address (host:port) of Secret Manager.
	secretManager string
	// sts and iamCredentials are base URLs.
	sts, iamCredentials string
	// roots, when set, are the only CAs trusted by every connection.
	roots *x509.CertPool
	// backoff replaces the initial retry backoff.
	backoff time.Duration
	// expiryWindow, when set, replaces how long before expiry access
	// tokens are refreshed.
	expiryWindow *time.Duration
	// defaultCredentials replaces the search for Application Default
	// Credentials.
	defaultCredentials func(ctx context.Context) (*google.Credentials, error)
}

// Capabilities reports that Secret Manager stores are read only
// (PushSecret is not implemented yet).
func (Provider) Capabilities() esv1.SecretStoreCapabilities { return esv1.SecretStoreReadOnly }

var (
	// projectPattern is a project ID (optionally domain-scoped, as
	// "example.com:project") or a project number.
	projectPattern = regexp.MustCompile(`^(([a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})$`)
	// locationPattern is a Google Cloud region (europe-west1,
	// northamerica-northeast2…).
	locationPattern = regexp.MustCompile(`^[a-z]+(-[a-z]+)+[0-9]+$`)
	// gsaPattern is a Google service account email.
	gsaPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.iam\.gserviceaccount\.com$`)
)

// ValidateStore checks spec.provider.gcpsm without any network call: the
// project, the location, the version selection policy, the auth method and
// spec.retrySettings.
func (Provider) ValidateStore(store provider.Store) error {
	spec := store.StoreSpec().Provider.GCPSM
	if spec == nil {
		return provider.NewConfigError(field, "the store configures no gcpsm provider")
	}
	if spec.ProjectID != "" && !projectPattern.MatchString(spec.ProjectID) {
		return provider.NewConfigError(field+".projectID", "%q is not a Google Cloud project ID (6 to 30 lower-case letters, digits and hyphens, starting with a letter) or project number", spec.ProjectID)
	}
	if spec.Location != "" && !locationPattern.MatchString(spec.Location) {
		return provider.NewConfigError(field+".location", "%q is not a Google Cloud region (for example europe-west1); leave it empty for the global endpoint", spec.Location)
	}
	switch spec.SecretVersionSelectionPolicyOrDefault() {
	case esv1.SecretVersionSelectionPolicyLatestOrFail, esv1.SecretVersionSelectionPolicyLatestOrFetch:
	default:
		return provider.NewConfigError(field+".secretVersionSelectionPolicy", "%q is not a policy: use LatestOrFail or LatestOrFetch", spec.SecretVersionSelectionPolicy)
	}
	if _, err := selectAuth(spec); err != nil {
		return err
	}
	if _, _, err := provider.RetrySettings(store.StoreSpec().RetrySettings); err != nil {
		return err
	}
	return nil
}

// NewClient builds a client for store as used from namespace (the
// ExternalSecret's namespace). Credential Secrets, ConfigMaps and
// ServiceAccounts are read now; Google is called on first use. A
// ClusterSecretStore whose credentials resolve in the ExternalSecret's
// namespace cannot be built without one (provider.ErrNoReferentNamespace).
func (p Provider) NewClient(ctx context.Context, store provider.Store, kube client.Client, namespace string) (provider.Client, error) {
	if err := p.ValidateStore(store); err != nil {
		return nil, err
	}
	spec := store.StoreSpec().Provider.GCPSM
	auth, err := selectAuth(spec)
	if err != nil {
		return nil, err
	}
	hc := p.httpClient()
	creds, err := auth.credentials(ctx, p, hc, provider.Refs{Kube: kube, Store: store, Referent: namespace}, spec)
	if err != nil {
		hc.CloseIdleConnections()
		return nil, err
	}
	project := spec.ProjectID
	if project == "" {
		project = creds.project
	}
	if project == "" {
		hc.CloseIdleConnections()
		return nil, provider.NewConfigError(field+".projectID", "is empty and %s names no project: set the project that holds the secrets", creds.source)
	}
	retries, wait, err := provider.RetrySettings(store.StoreSpec().RetrySettings)
	if err != nil {
		hc.CloseIdleConnections()
		return nil, err
	}
	c, err := p.newClient(ctx, spec, project, creds, retries, wait)
	if err != nil {
		hc.CloseIdleConnections()
		return nil, err
	}
	c.httpClient = hc
	return c, nil
}

// httpClient returns the HTTP client of token requests: its own transport
// (closed with the client), trusting the system roots (which honour
// SSL_CERT_FILE) or, in tests, the test CA.
func (p Provider) httpClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if p.hooks != nil && p.hooks.roots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: p.hooks.roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// tlsConfig returns the TLS configuration of the gRPC connection.
func (p Provider) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.hooks != nil && p.hooks.roots != nil {
		cfg.RootCAs = p.hooks.roots
	}
	return cfg
}

// secretManagerTarget returns the gRPC address of Secret Manager for
// location ("" = global).
func (p Provider) secretManagerTarget(location string) (string, error) {
	if p.hooks != nil && p.hooks.secretManager != "" {
		return p.hooks.secretManager, nil
	}
	if ep := provider.EndpointOverride(endpointSecretManager); ep != "" {
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("--endpoint-override %s=%q: not a URL with a host", endpointSecretManager, ep)
		}
		host := u.Host
		if u.Port() == "" {
			host += ":443"
		}
		return host, nil
	}
	if location != "" {
		return "secretmanager." + location + ".rep.googleapis.com:443", nil
	}
	return defaultSecretManager, nil
}

// stsTokenURL returns the STS token exchange URL.
func (p Provider) stsTokenURL() string {
	base := defaultSTS
	if ep := provider.EndpointOverride(endpointSTS); ep != "" {
		base = ep
	}
	if p.hooks != nil && p.hooks.sts != "" {
		base = p.hooks.sts
	}
	return base + "/v1/token"
}

// impersonationURL returns the generateAccessToken URL of the Google
// service account email.
func (p Provider) impersonationURL(email string) string {
	base := defaultIAMCredentials
	if ep := provider.EndpointOverride(endpointIAMCredentials); ep != "" {
		base = ep
	}
	if p.hooks != nil && p.hooks.iamCredentials != "" {
		base = p.hooks.iamCredentials
	}
	return base + "/v1/projects/-/serviceAccounts/" + url.PathEscape(email) + ":generateAccessToken"
}
