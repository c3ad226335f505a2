package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// Timeouts and retries of the HTTP client. A call (with its retries) is
// also bounded by the caller's context.
const (
	requestTimeout      = 30 * time.Second
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	defaultMaxRetries   = 2
	defaultMinRetryWait = 250 * time.Millisecond
	defaultMaxRetryWait = time.Second
)

// parseDuration parses an integer number of seconds or a Go duration.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// tlsConfig builds the TLS configuration from caBundle/caProvider (the only
// roots trusted when set; the system roots otherwise), the client
// certificate of spec.tls, and the certificate of the cert auth method
// (which, when set, is the one presented).
func (c *Client) tlsConfig(ctx context.Context) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var bundle []byte
	var from string
	switch {
	case len(c.spec.CABundle) > 0:
		bundle, from = c.spec.CABundle, field+".caBundle"
	case c.spec.CAProvider != nil:
		var err error
		if bundle, err = c.refs.caBundle(ctx, c.spec.CAProvider); err != nil {
			return nil, err
		}
		from = field + ".caProvider"
	}
	if bundle != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bundle) {
			return nil, provider.NewConfigError(from, "holds no PEM-encoded certificate")
		}
		cfg.RootCAs = pool
	}
	var cert *tls.Certificate
	if t := c.spec.ClientTLS; t != nil && t.CertSecretRef != nil {
		kp, err := c.keyPairFrom(ctx, field+".tls", "certSecretRef", *t.CertSecretRef, "keySecretRef", *t.KeySecretRef)
		if err != nil {
			return nil, err
		}
		cert = kp
	}
	if cc, ok := c.auth.(clientCertificate); ok {
		kp, err := cc.certificate(ctx, c)
		if err != nil {
			return nil, err
		}
		if kp != nil {
			cert = kp
		}
	}
	if cert != nil {
		// Present the certificate whatever CAs the server asks for: Vault's
		// cert auth trusts CAs the listener does not advertise.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return cfg, nil
}

// keyPairFrom reads a PEM certificate and its key from two Secret keys,
// referenced at path.certField and path.keyField.
func (c *Client) keyPairFrom(ctx context.Context, path, certField string, certRef esv1.SecretKeySelector, keyField string, keyRef esv1.SecretKeySelector) (*tls.Certificate, error) {
	certPEM, err := c.refs.secretValue(ctx, path+"."+certField, certRef, "", false)
	if err != nil {
		return nil, err
	}
	keyPEM, err := c.refs.secretValue(ctx, path+"."+keyField, keyRef, "", false)
	if err != nil {
		return nil, err
	}
	kp, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		// The error of X509KeyPair names PEM blocks, never key material.
		return nil, provider.NewConfigError(path, "the certificate and key do not form a key pair: %w", err)
	}
	return &kp, nil
}

// connect builds the HTTP client and the vault/api clients: one for reads
// (provider namespace, with the current token), one for logins (auth
// namespace, without a token) and, per token, one for the token's own
// endpoints (auth namespace; see tokenState.api). They share one
// connection pool.
func (c *Client) connect(ctx context.Context, rs *esv1.SecretStoreRetrySettings) error {
	tlsCfg, err := c.tlsConfig(ctx)
	if err != nil {
		return err
	}
	c.transport = &http.Transport{
		// Standard proxy variables are honoured like any HTTP client's;
		// VAULT_* variables are not.
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	hc := &http.Client{
		Transport: c.transport,
		// vault/api follows one redirect itself (to the active node) and
		// refuses a downgrade to http; the standard client must not.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	retries, minWait, maxWait := defaultMaxRetries, defaultMinRetryWait, defaultMaxRetryWait
	if rs != nil {
		n, interval, err := retrySettings(rs)
		if err != nil {
			return err
		}
		retries = n
		if interval != "" {
			d, _ := parseDuration(interval)
			minWait, maxWait = d, d
		}
	}
	newAPI := func(namespace string) (*vaultapi.Client, error) {
		return newAPIClient(&vaultapi.Config{
			Address:        c.server,
			HttpClient:     hc,
			Timeout:        requestTimeout,
			MaxRetries:     retries,
			MinRetryWait:   minWait,
			MaxRetryWait:   maxWait,
			Backoff:        retryablehttp.LinearJitterBackoff,
			CheckRetry:     checkRetry,
			ReadYourWrites: c.spec.ReadYourWrites,
		}, namespace, c.headers())
	}
	dataNS, authNS := c.namespaces()
	if c.data, err = newAPI(dataNS); err != nil {
		return err
	}
	if c.login, err = newAPI(authNS); err != nil {
		return err
	}
	c.newTokenAPI = func(token string) (*vaultapi.Client, error) {
		api, err := newAPI(authNS)
		if err != nil {
			return nil, err
		}
		api.SetToken(token)
		return api, nil
	}
	return nil
}

// checkRetry is vault/api's retry policy, except that a host name that
// does not resolve is not retried: the answer will not change within a call.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false, err
	}
	return vaultapi.DefaultRetryPolicy(ctx, resp, err)
}

// namespaces returns the Vault namespace of reads (spec.namespace) and of
// logins and token operations (spec.auth.namespace, else spec.namespace).
func (c *Client) namespaces() (data, auth string) {
	if c.spec.Namespace != nil {
		data = *c.spec.Namespace
	}
	auth = data
	if c.spec.Auth != nil && c.spec.Auth.Namespace != nil {
		auth = *c.spec.Auth.Namespace
	}
	return data, auth
}

// headers returns the headers sent with every request: Vault's SSRF
// protection header, spec.headers, and X-Vault-Inconsistent when
// readYourWrites and forwardInconsistent are both set (as upstream).
func (c *Client) headers() http.Header {
	h := http.Header{}
	h.Set(vaultapi.RequestHeaderName, "true")
	for k, v := range c.spec.Headers {
		h.Set(k, v)
	}
	if c.spec.ReadYourWrites && c.spec.ForwardInconsistent {
		h.Set(vaultapi.HeaderInconsistent, "forward-active-node")
	}
	return h
}

// errAmbientConfig explains a vault/api construction failure caused by the
// process environment.
var errAmbientConfig = errors.New("the vault/api client could not be created; vault/api parses the process's VAULT_* variables when it builds a client (secretbridge then ignores them), so check them for malformed values")

// newAPIClient builds a vault/api client from cfg and removes everything
// vault/api.NewClient takes from the environment: VAULT_TOKEN,
// VAULT_NAMESPACE, VAULT_HEADERS and the wrapping TTL of VAULT_WRAP_TTL.
// Address, TLS, retries, agent address, proxy address and SRV lookup come
// from cfg alone, so VAULT_ADDR and friends have no effect either.
func newAPIClient(cfg *vaultapi.Config, namespace string, headers http.Header) (*vaultapi.Client, error) {
	api, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errAmbientConfig, err)
	}
	api.ClearToken()
	api.SetHeaders(headers.Clone())
	api.SetWrappingLookupFunc(func(string, string) string { return "" })
	if namespace != "" {
		api.SetNamespace(namespace)
	} else {
		api.ClearNamespace()
	}
	return api, nil
}

// closeIdle closes the idle connections of the client's transport.
func (c *Client) closeIdle() {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
}
