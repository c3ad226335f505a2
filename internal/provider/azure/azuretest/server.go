// Package azuretest is an in-process Azure endpoint for tests and benchmarks:
// one HTTPS server on 127.0.0.1 (its certificate signed by a CA generated at
// start) that speaks the real wire protocols of
//
//   - Azure Key Vault's data plane (REST with the api-version query): GET and
//     list of secrets, keys and certificates, with versions, tags and
//     attributes, and the bearer-challenge flow the SDK's Key Vault clients
//     start with (an unauthenticated request answered 401 with
//     `WWW-Authenticate: Bearer authorization="<authority>/<tenant>",
//     resource="https://vault.azure.net"`);
//   - Microsoft Entra ID (Azure AD) v2.0: the OpenID configuration and
//     instance-discovery documents MSAL reads and the token endpoint
//     (POST /{tenant}/oauth2/v2.0/token, grant client_credentials) with a
//     client secret, a certificate-signed client assertion (PS256 or RS256,
//     checked against the registered certificate) or a federated assertion
//     (a Kubernetes ServiceAccount token, matched on issuer, subject and
//     audience as a federated identity credential is);
//   - the managed-identity endpoint of the Instance Metadata Service
//     (GET /metadata/identity/oauth2/token, header Metadata: true),
//
// so that the official azidentity, azsecrets and azkeys clients run
// unmodified against it. Vaults are told apart by the first label of the
// request's Host header ("myvault" for myvault.vault.azure.net): clients keep
// the vault's real host name and only connect to the server (see
// VaultURL).
//
// Access is modelled simply: a principal holds permissions per vault
// (Grant), either as an access policy ("secrets/get") or, when the vault uses
// RBAC, the same permissions reported with Azure RBAC's messages. Every
// request is counted per operation (Calls), faults can be injected per
// operation (Inject: not found, forbidden, throttling with Retry-After, any
// status), tokens can be expired at will (ExpireTokens) and a latency can be
// added to vault calls (SetLatency), so tests can assert how many logins,
// reads and retries a client made and whether calls overlap.
package azuretest

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretbridge/secretbridge/internal/provider/providertest"
)

// The operations the server counts and accepts faults for.
const (
	// OpToken is a token request to POST /{tenant}/oauth2/v2.0/token.
	OpToken = "aad.token"
	// OpOpenIDConfiguration is GET /{tenant}/v2.0/.well-known/openid-configuration.
	OpOpenIDConfiguration = "aad.openid-configuration"
	// OpInstanceDiscovery is GET /common/discovery/instance.
	OpInstanceDiscovery = "aad.instance-discovery"
	// OpIMDSToken is a managed-identity token request.
	OpIMDSToken = "imds.token"
	// OpChallenge counts vault requests without a bearer token (answered
	// with the challenge).
	OpChallenge = "vault.challenge"
	// OpGetSecret is GET /secrets/{name}[/{version}].
	OpGetSecret = "secrets.get"
	// OpListSecrets is GET /secrets.
	OpListSecrets = "secrets.list"
	// OpGetKey is GET /keys/{name}[/{version}].
	OpGetKey = "keys.get"
	// OpGetCertificate is GET /certificates/{name}[/{version}].
	OpGetCertificate = "certificates.get"
)

// Permission is a Key Vault data-plane permission as access policies name
// it ("secrets/get"). The server applies the same permissions to vaults that
// use RBAC and words its errors as RBAC does.
type Permission string

// The permissions the server checks.
const (
	SecretsGet      Permission = "secrets/get"
	SecretsList     Permission = "secrets/list"
	KeysGet         Permission = "keys/get"
	CertificatesGet Permission = "certificates/get"
)

// AllPermissions is every permission the server checks.
var AllPermissions = []Permission{SecretsGet, SecretsList, KeysGet, CertificatesGet}

// KeyVaultResource is the resource (audience) of Key Vault tokens in the
// public cloud, which the challenge names.
const KeyVaultResource = "https://vault.azure.net"

// DefaultTenantID is the tenant when Options.TenantID is empty.
const DefaultTenantID = "8f1c2a3b-0000-4000-8000-00000000a2e1"

// Options configure a Server.
type Options struct {
	// TenantID is the only tenant the token endpoint knows. When empty,
	// DefaultTenantID.
	TenantID string
	// TokenLifetime is the lifetime of the access tokens issued. When 0,
	// one hour.
	TokenLifetime time.Duration
}

// Server is a running Azure endpoint. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL (https://127.0.0.1:port): the authority
	// host for --endpoint-override azure.login, the address vault requests
	// are sent to (azure.vault) and the IMDS endpoint (azure.imds).
	URL string
	// TenantID is the tenant the token endpoint serves.
	TenantID string
	// CAPEM is the PEM certificate of the CA that signed the server's
	// certificate.
	CAPEM []byte

	srv *httptest.Server

	mu          sync.Mutex
	now         func() time.Time
	lifetime    time.Duration
	principals  map[string]*principal // by client ID
	tokens      map[string]*token     // by access token
	vaults      map[string]*vault     // by name
	calls       map[string]int
	faults      map[string][]Fault
	latency     time.Duration
	inFlight    int
	maxInFlight int
	seq         int
}

// New starts a server and stops it when the test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Start(opts)
	if err != nil {
		tb.Fatalf("azuretest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server; Close stops it.
func Start(opts Options) (*Server, error) {
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = time.Hour
	}
	caPEM, cert, err := providertest.LoopbackTLS("azuretest")
	if err != nil {
		return nil, err
	}
	s := &Server{
		TenantID:   opts.TenantID,
		CAPEM:      caPEM,
		now:        time.Now,
		lifetime:   opts.TokenLifetime,
		principals: map[string]*principal{},
		tokens:     map[string]*token{},
		vaults:     map[string]*vault{},
		calls:      map[string]int{},
		faults:     map[string][]Fault{},
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.srv.StartTLS()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// CertPool returns a pool that trusts the server's CA.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.CAPEM)
	return p
}

// WriteCAFile writes the CA certificate to dir and returns its path, for
// SSL_CERT_FILE of a process that must trust the server.
func (s *Server) WriteCAFile(dir string) (string, error) {
	path := filepath.Join(dir, "azuretest-ca.pem")
	return path, os.WriteFile(path, s.CAPEM, 0o600)
}

// VaultURL returns the vaultUrl of the named vault
// (https://<name>.vault.azure.net). Clients keep that host name (the Key
// Vault SDK checks that the challenge's resource matches it) and connect to
// the server instead: through the provider's azure.vault endpoint override.
func VaultURL(name string) string { return "https://" + name + ".vault.azure.net" }

// AuthorityHost is the authority host clients use (the server's URL with a
// trailing slash, as azidentity expects it).
func (s *Server) AuthorityHost() string { return s.URL + "/" }

// SetClock replaces the server's clock (token expiry, attributes).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetLatency delays every vault response by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// MaxInFlight returns the most vault requests that were being served at
// once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// Calls returns how many requests of op the server received, faults and
// failures included.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// ResetCalls zeroes every counter.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.maxInFlight = 0
}

// Fault is an error the server answers instead of serving a request.
type Fault struct {
	// Status is the HTTP status. When 0, 500.
	Status int
	// Code is the error code of the JSON body (Key Vault's error.code, or
	// the OAuth error of AAD and IMDS).
	Code string
	// Message is the error message (error_description for AAD).
	Message string
	// RetryAfter, when set, is sent as Retry-After (whole seconds) and
	// retry-after-ms.
	RetryAfter time.Duration
	// Times is how many requests the fault answers. When 0, one.
	Times int
}

// Throttled is the fault Key Vault answers when a vault's request rate is
// exceeded.
func Throttled(retryAfter time.Duration, times int) Fault {
	return Fault{Status: http.StatusTooManyRequests, Code: "Throttled", Message: "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached", RetryAfter: retryAfter, Times: times}
}

// Inject makes the next requests of op fail with f (faults queue in order).
func (s *Server) Inject(op string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults[op] = append(s.faults[op], f)
}

// takeFault returns the fault to answer for op, if any. s.mu is held.
func (s *Server) takeFault(op string) (Fault, bool) {
	q := s.faults[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	f.Times--
	if f.Times <= 0 {
		s.faults[op] = q[1:]
	} else {
		q[0] = f
	}
	return f, true
}

// ExpireTokens makes every access token issued so far expired: the vault
// answers them 401 as Key Vault answers an expired token.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Minute)
	for _, t := range s.tokens {
		t.expires = past
	}
}

// serve routes a request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/metadata/identity/oauth2/token":
		s.serveIMDS(w, r)
	case p == "/common/discovery/instance":
		s.serveInstanceDiscovery(w, r)
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration"):
		s.serveOpenIDConfiguration(w, r)
	case strings.HasSuffix(p, "/oauth2/v2.0/token"):
		s.serveToken(w, r)
	default:
		s.serveVault(w, r)
	}
}

// count counts one request of op and returns the fault to answer, if any.
func (s *Server) count(op string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	return s.takeFault(op)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeRetryAfter sets the Retry-After headers of f.
func writeRetryAfter(w http.ResponseWriter, f Fault) {
	if f.RetryAfter <= 0 {
		return
	}
	w.Header().Set("Retry-After", fmt.Sprint(int((f.RetryAfter+time.Second-1)/time.Second)))
	w.Header().Set("retry-after-ms", fmt.Sprint(f.RetryAfter.Milliseconds()))
}

// randomID returns a random GUID-shaped string.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
