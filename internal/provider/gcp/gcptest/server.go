// Package gcptest is an in-process Google Cloud endpoint for tests and
// benchmarks. It speaks the real wire protocols, so that the official
// clients run unmodified against it:
//
//   - Secret Manager over gRPC: the server implements the SDK's own
//     generated interface (secretmanagerpb.SecretManagerServiceServer) on
//     TLS, on 127.0.0.1, with a certificate signed by a CA the server
//     generates (CAPEM, CAFile, RootCAs);
//   - over HTTPS, on a second listener with the same CA: the OAuth 2.0 token
//     endpoint of service-account JSON keys (POST /token, the JWT bearer
//     grant; keys from ServiceAccountKey name it as their token_uri), the
//     Security Token Service (POST /v1/token, RFC 8693 token exchange) and
//     IAM Credentials (POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken).
//
// What it checks, as Google does: every Secret Manager call carries an
// "authorization: Bearer" header with an access token this server issued and
// that has not expired (else Unauthenticated); the token's principal holds
// the role the call needs on the secret or its project (else
// PermissionDenied, with Google's message naming the permission and the
// resource). IAM is modelled simply: Grant gives a member a role on a
// project or a secret; AllowImpersonation lets a member mint tokens for a
// Google service account.
//
// Principals are IAM member strings: "serviceAccount:<email>" for a
// service-account key or an impersonated account,
// "serviceAccount:<project>.svc.id.goog[<namespace>/<name>]" for a GKE
// workload identity federated token, and
// "principal://iam.googleapis.com/<pool provider>/subject/<sub>" for other
// workload identity pools.
//
// Every call is counted per operation (Calls), faults can be injected per
// operation (FailNext), every token can be expired at once (ExpireTokens),
// and a latency can be added to every call (SetLatency) while the server
// records how many calls overlapped (MaxConcurrent).
package gcptest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	"github.com/secretbridge/secretbridge/internal/provider/providertest"
)

// The operations the server counts, as Calls, FailNext and Requests name
// them.
const (
	// OpAccessSecretVersion is Secret Manager's AccessSecretVersion.
	OpAccessSecretVersion = "AccessSecretVersion"
	// OpGetSecret is Secret Manager's GetSecret.
	OpGetSecret = "GetSecret"
	// OpListSecrets is Secret Manager's ListSecrets.
	OpListSecrets = "ListSecrets"
	// OpListSecretVersions is Secret Manager's ListSecretVersions.
	OpListSecretVersions = "ListSecretVersions"
	// OpOAuthToken is the OAuth 2.0 token endpoint (POST /token).
	OpOAuthToken = "oauth2.token"
	// OpSTSToken is the Security Token Service's token exchange (POST /v1/token).
	OpSTSToken = "sts.token"
	// OpGenerateAccessToken is IAM Credentials' generateAccessToken.
	OpGenerateAccessToken = "iamcredentials.generateAccessToken"
)

// The roles Grant gives.
const (
	// RoleSecretAccessor allows secretmanager.versions.access.
	RoleSecretAccessor = "roles/secretmanager.secretAccessor"
	// RoleViewer allows secretmanager.secrets.get, secrets.list,
	// versions.get and versions.list.
	RoleViewer = "roles/secretmanager.viewer"
)

// DefaultTokenLifetime is the lifetime of issued access tokens when
// Options.TokenLifetime is 0: Google's one hour.
const DefaultTokenLifetime = time.Hour

// Options configure a Server.
type Options struct {
	// TokenLifetime is the lifetime of every access token the server
	// issues. When 0, DefaultTokenLifetime.
	TokenLifetime time.Duration
}

// Server is a running Google Cloud endpoint. Its methods are safe for
// concurrent use.
type Server struct {
	// GRPCAddr is the Secret Manager gRPC address (127.0.0.1:port).
	GRPCAddr string
	// GRPCURL is GRPCAddr as an https URL, the form --endpoint-override
	// gcp.secretmanager takes.
	GRPCURL string
	// URL is the base URL of the REST endpoints (OAuth token, STS, IAM
	// Credentials): https://127.0.0.1:port.
	URL string
	// CAPEM is the PEM certificate of the CA that signed both listeners'
	// certificates.
	CAPEM []byte
	// CAFile is a file holding CAPEM, for SSL_CERT_FILE.
	CAFile string

	grpcSrv  *grpc.Server
	httpSrv  *http.Server
	roots    *x509.CertPool
	lifetime time.Duration
	cleanup  func()

	mu        sync.Mutex
	tokens    map[string]*issuedToken    // by access token
	accounts  map[string]*serviceAccount // by email
	pools     map[string]string          // STS audience → required subject-token audience
	grants    map[string]map[string]bool // member → role+"@"+resource
	imperson  map[string]map[string]bool // email → members allowed
	secrets   map[string]*secret         // by canonical name
	calls     map[string]int             // by operation
	faults    map[string][]fault         // by operation
	latency   time.Duration
	inFlight  int
	maxFlight int
}

type issuedToken struct {
	principal string
	expiry    time.Time
}

type serviceAccount struct {
	email string
	keyID string
	key   *rsa.PublicKey
}

type fault struct {
	code    codes.Code
	message string
	status  int // for REST operations
}

// New starts a Server that is closed when tb ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Start(opts)
	if err != nil {
		tb.Fatalf("starting gcptest server: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a Server; Close stops it and removes CAFile.
func Start(opts Options) (*Server, error) {
	s := &Server{
		lifetime: opts.TokenLifetime,
		tokens:   map[string]*issuedToken{},
		accounts: map[string]*serviceAccount{},
		pools:    map[string]string{},
		grants:   map[string]map[string]bool{},
		imperson: map[string]map[string]bool{},
		secrets:  map[string]*secret{},
		calls:    map[string]int{},
		faults:   map[string][]fault{},
	}
	if s.lifetime == 0 {
		s.lifetime = DefaultTokenLifetime
	}
	caPEM, cert, err := providertest.LoopbackTLS("gcptest")
	if err != nil {
		return nil, err
	}
	s.CAPEM = caPEM
	s.roots = x509.NewCertPool()
	s.roots.AppendCertsFromPEM(caPEM)
	dir, err := os.MkdirTemp("", "gcptest-")
	if err != nil {
		return nil, err
	}
	s.CAFile = filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(s.CAFile, caPEM, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = grpcLis.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.grpcSrv = grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsCfg)), grpc.UnaryInterceptor(s.intercept))
	secretmanagerpb.RegisterSecretManagerServiceServer(s.grpcSrv, &secretManager{s: s})
	s.httpSrv = &http.Server{Handler: s.restHandler(), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.grpcSrv.Serve(grpcLis) }()
	go func() { _ = s.httpSrv.ServeTLS(httpLis, "", "") }()
	s.GRPCAddr = grpcLis.Addr().String()
	s.GRPCURL = "https://" + s.GRPCAddr
	s.URL = "https://" + httpLis.Addr().String()
	s.cleanup = func() { _ = os.RemoveAll(dir) }
	return s, nil
}

// Close stops both listeners and removes CAFile.
func (s *Server) Close() {
	s.grpcSrv.Stop()
	_ = s.httpSrv.Close()
	s.cleanup()
}

// RootCAs returns a pool that trusts the server's CA.
func (s *Server) RootCAs() *x509.CertPool { return s.roots.Clone() }

// HTTPClient returns an HTTP client that trusts the server's CA.
func (s *Server) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.RootCAs(), MinVersion: tls.VersionTLS12}}}
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// issueToken mints an access token for principal.
func (s *Server) issueToken(principal string) (string, time.Duration) {
	tok := "ya29.gcptest-" + randomHex(24)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = &issuedToken{principal: principal, expiry: time.Now().Add(s.lifetime)}
	return tok, s.lifetime
}

// unauthenticated is what Google answers for a missing, unknown or
// expired access token.
const unauthenticated = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."

// principalOf returns the principal of a bearer token.
func (s *Server) principalOf(authorization string) (string, bool) {
	tok, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok || !time.Now().Before(t.expiry) {
		return "", false
	}
	return t.principal, true
}

// ExpireTokens makes every access token issued so far expired, as when
// credentials lapse or are revoked: calls with them fail Unauthenticated.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, t := range s.tokens {
		t.expiry = past
	}
}

// Grant gives member role (RoleSecretAccessor or RoleViewer) on resource:
// a project ("projects/<id>") or a secret ("projects/<id>/secrets/<id>",
// "projects/<id>/locations/<l>/secrets/<id>").
func (s *Server) Grant(member, role, resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grants[member] == nil {
		s.grants[member] = map[string]bool{}
	}
	s.grants[member][role+"@"+resource] = true
}

// Revoke removes every role of member.
func (s *Server) Revoke(member string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.grants, member)
}

// allowed reports whether member holds role on the secret (or its project).
func (s *Server) allowed(member, role, project, secretName string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grants[member]
	return g[role+"@projects/"+project] || (secretName != "" && g[role+"@"+secretName])
}

// AllowImpersonation lets member mint access tokens for the Google service
// account email with generateAccessToken (roles/iam.workloadIdentityUser
// or roles/iam.serviceAccountTokenCreator on the account).
func (s *Server) AllowImpersonation(member, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.imperson[email] == nil {
		s.imperson[email] = map[string]bool{}
	}
	s.imperson[email][member] = true
}

// TrustPool makes the STS accept exchanges for stsAudience (a GKE
// "identitynamespace:<pool>:<provider>" or a workload identity pool
// provider "//iam.googleapis.com/projects/…/providers/…") of subject
// tokens (JWTs) whose aud claim contains tokenAudience. The subject token's
// signature is not checked: the test server trusts the issuer.
func (s *Server) TrustPool(stsAudience, tokenAudience string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pools[stsAudience] = tokenAudience
}

// FailNext makes the next n calls of op fail with code and message (for
// REST operations code is turned into the HTTP status Google uses).
func (s *Server) FailNext(op string, n int, code codes.Code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[op] = append(s.faults[op], fault{code: code, message: message, status: httpStatus(code)})
	}
}

// Calls returns how many calls of op the server received (failed ones
// included).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// TotalCalls returns how many calls the server received.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// ResetCalls zeroes every counter, including MaxConcurrent.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.maxFlight = s.inFlight
}

// SetLatency delays every call by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// MaxConcurrent returns the most calls that were in progress at once.
func (s *Server) MaxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFlight
}

// enter counts a call of op, applies the latency and returns the fault to
// answer with, if one was injected.
func (s *Server) enter(op string) (*fault, func()) {
	s.mu.Lock()
	s.calls[op]++
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
	latency := s.latency
	var f *fault
	if q := s.faults[op]; len(q) > 0 {
		f = &q[0]
		s.faults[op] = q[1:]
	}
	s.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	return f, func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}
}

// httpStatus is the HTTP status Google's REST APIs use for code.
func httpStatus(code codes.Code) int {
	switch code {
	case codes.NotFound:
		return http.StatusNotFound
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.InvalidArgument, codes.FailedPrecondition:
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// Member returns the IAM member of a Google service account.
func Member(email string) string { return "serviceAccount:" + email }

// GKEMember returns the IAM member of a Kubernetes ServiceAccount under
// GKE workload identity in pool ("<project>.svc.id.goog").
func GKEMember(pool, namespace, name string) string {
	return fmt.Sprintf("serviceAccount:%s[%s/%s]", pool, namespace, name)
}
