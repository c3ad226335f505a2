// Package awstest is an in-process AWS endpoint for tests and benchmarks: one
// HTTP server that speaks the real wire protocols of AWS Secrets Manager and
// Systems Manager Parameter Store (AWS JSON 1.1: POST /, X-Amz-Target,
// application/x-amz-json-1.1) and of STS (the Query protocol with XML
// answers), so that the official aws-sdk-go-v2 clients can be pointed at it
// with their standard BaseEndpoint override and run unmodified.
//
// What it checks, as AWS does:
//
//   - every request but AssumeRoleWithWebIdentity carries a SigV4
//     Authorization header whose credential scope names the server's region
//     and the right signing name (secretsmanager, ssm, sts); the signature
//     is recomputed with the secret key the server issued, so a wrong secret
//     access key fails with InvalidSignatureException (SignatureDoesNotMatch
//     on STS), an unknown key with UnrecognizedClientException
//     (InvalidClientTokenId) and an expired session with
//     ExpiredTokenException (ExpiredToken);
//   - the caller's identity policy allows the action on the resource, else
//     AccessDeniedException with AWS's message ("User: <arn> is not
//     authorized to perform: <action> on resource: <arn> because no
//     identity-based policy allows the <action> action");
//   - roles' trust (principals, external ID, sts:TagSession, web identity
//     audience and subject, optionally the token's signature).
//
// What it serves: secrets with versions and staging labels (AWSCURRENT,
// AWSPREVIOUS, custom), SecretString or SecretBinary, tags and descriptions;
// parameters with versions, labels, types (SecureString answers ciphertext
// unless decrypted) and tags. Faults can be injected per operation
// (ThrottlingException with HTTP 400 and x-amz-retry-after, or any error),
// and every request is counted per operation, so tests can assert how many
// calls, logins and retries a client made.
//
// Operation names are the X-Amz-Target values ("secretsmanager.GetSecretValue",
// "AmazonSSM.GetParameter") and, for STS, "sts.<Action>" ("sts.AssumeRole").
package awstest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The operations the server implements, as Calls and Requests name them.
const (
	// OpGetSecretValue is Secrets Manager's GetSecretValue.
	OpGetSecretValue = "secretsmanager.GetSecretValue"
	// OpDescribeSecret is Secrets Manager's DescribeSecret.
	OpDescribeSecret = "secretsmanager.DescribeSecret"
	// OpListSecrets is Secrets Manager's ListSecrets.
	OpListSecrets = "secretsmanager.ListSecrets"
	// OpBatchGetSecretValue is Secrets Manager's BatchGetSecretValue.
	OpBatchGetSecretValue = "secretsmanager.BatchGetSecretValue"
	// OpGetParameter is SSM's GetParameter.
	OpGetParameter = "AmazonSSM.GetParameter"
	// OpGetParametersByPath is SSM's GetParametersByPath.
	OpGetParametersByPath = "AmazonSSM.GetParametersByPath"
	// OpListTagsForResource is SSM's ListTagsForResource.
	OpListTagsForResource = "AmazonSSM.ListTagsForResource"
	// OpAssumeRole is STS's AssumeRole.
	OpAssumeRole = "sts.AssumeRole"
	// OpAssumeRoleWithWebIdentity is STS's AssumeRoleWithWebIdentity.
	OpAssumeRoleWithWebIdentity = "sts.AssumeRoleWithWebIdentity"
	// OpGetCallerIdentity is STS's GetCallerIdentity.
	OpGetCallerIdentity = "sts.GetCallerIdentity"
)

// The defaults of Options.
const (
	// DefaultRegion is the region when Options.Region is empty.
	DefaultRegion = "eu-west-1"
	// DefaultAccountID is the account when Options.AccountID is empty.
	DefaultAccountID = "123456789012"
)

// Options configure a Server.
type Options struct {
	// Region is the region requests must be signed for. When empty,
	// DefaultRegion.
	Region string
	// AccountID is the account that owns every user, role, secret and
	// parameter. When empty, DefaultAccountID.
	AccountID string
}

// Server is a running AWS endpoint. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base endpoint of every service (http://127.0.0.1:port).
	URL string
	// Region is the region requests must be signed for.
	Region string
	// AccountID is the account that owns everything on the server.
	AccountID string

	srv    *httptest.Server
	signer *v4.Signer

	mu          sync.Mutex
	now         func() time.Time
	keys        map[string]*accessKey // by access key ID
	users       map[string]*principal // by name
	roles       map[string]*roleState // by ARN
	secrets     map[string]*secret    // by name
	params      map[string]*parameter // by name
	calls       map[string]int
	faults      map[string][]Fault
	requests    []Request
	assumed     []AssumeRoleCall
	latency     time.Duration
	inFlight    int
	maxInFlight int
}

// New starts a server and stops it when the test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := Start(opts)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server; Close stops it.
func Start(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	s := &Server{
		Region:    opts.Region,
		AccountID: opts.AccountID,
		signer:    v4.NewSigner(),
		now:       time.Now,
		keys:      map[string]*accessKey{},
		users:     map[string]*principal{},
		roles:     map[string]*roleState{},
		secrets:   map[string]*secret{},
		params:    map[string]*parameter{},
		calls:     map[string]int{},
		faults:    map[string][]Fault{},
	}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Request is one request the server received.
type Request struct {
	// Op is the operation, e.g. "secretsmanager.GetSecretValue".
	Op string
	// Principal is the ARN of the authenticated caller; empty for an
	// anonymous request or one that failed authentication.
	Principal string
	// AccessKeyID is the access key the request was signed with.
	AccessKeyID string
	// Input is the request's JSON body (JSON protocols) or its form
	// parameters encoded as a JSON object of strings (STS).
	Input json.RawMessage
}

// Calls returns how many requests for op the server received (including
// those that failed, and each retry).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// TotalCalls returns how many requests the server received.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// ResetCalls sets every counter to zero and forgets the recorded requests.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.requests = nil
	s.assumed = nil
}

// Requests returns the requests for op received so far (every operation
// when op is empty), oldest first.
func (s *Server) Requests(op string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if op == "" || r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// SetLatency delays every answer by d, to make concurrent calls overlap.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// MaxConcurrent returns the largest number of requests that were being
// served at the same time.
func (s *Server) MaxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// SetClock replaces the server's clock (credential expiry, timestamps).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Fault is an error the server answers instead of serving a request.
type Fault struct {
	// Status is the HTTP status. When 0, 400.
	Status int
	// Code is the error code (the JSON __type or the XML Code).
	Code string
	// Message is the error message.
	Message string
	// RetryAfter, when positive, is sent as x-amz-retry-after (milliseconds),
	// which the SDK's retryer honours.
	RetryAfter time.Duration
}

// Throttling is the fault AWS answers when a caller exceeds the request
// rate: ThrottlingException, HTTP 400, "Rate exceeded".
func Throttling(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded", RetryAfter: retryAfter}
}

// FailNext makes the next n requests for op fail with f.
func (s *Server) FailNext(op string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[op] = append(s.faults[op], f)
	}
}

// apiError is an error answer.
type apiError struct {
	status  int
	code    string
	message string
	header  http.Header
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// ServeHTTP routes a request to Secrets Manager, SSM or STS.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.enter()
	defer s.leave()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "secretsmanager."):
		s.serveJSON(w, r, body, "secretsmanager", target, s.secretsManagerOp)
	case strings.HasPrefix(target, "AmazonSSM."):
		s.serveJSON(w, r, body, "ssm", target, s.ssmOp)
	case r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		s.serveSTS(w, r, body)
	default:
		writeJSONError(w, newError(http.StatusBadRequest, "UnknownOperationException", "unknown operation %q", target), "Message")
	}
}

// enter waits out the configured latency and tracks concurrency.
func (s *Server) enter() {
	s.mu.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	d := s.latency
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
}

func (s *Server) leave() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

// record counts a request and returns the fault to answer, if any.
func (s *Server) record(op string, req Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	s.requests = append(s.requests, req)
	q := s.faults[op]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	s.faults[op] = q[1:]
	status := f.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	e := &apiError{status: status, code: f.Code, message: f.Message}
	if f.RetryAfter > 0 {
		e.header = http.Header{"X-Amz-Retry-After": {strconv.FormatInt(f.RetryAfter.Milliseconds(), 10)}}
	}
	return e
}

// setPrincipal fills in the caller of the last recorded request for op.
func (s *Server) setPrincipal(op string, p *principal, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.requests) - 1; i >= 0; i-- {
		if s.requests[i].Op == op && s.requests[i].Principal == "" {
			s.requests[i].Principal = p.arn
			s.requests[i].AccessKeyID = key
			return
		}
	}
}

// jsonHandler serves one JSON operation for an authenticated caller.
type jsonHandler func(op string, caller *principal, in json.RawMessage) (any, *apiError)

// serveJSON serves an AWS JSON 1.1 request.
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, body []byte, service, op string, handle jsonHandler) {
	messageField := "Message"
	if service == "ssm" {
		messageField = "message"
	}
	if fault := s.record(op, Request{Op: op, Input: json.RawMessage(bytes.Clone(body))}); fault != nil {
		writeJSONError(w, fault, messageField)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		writeJSONError(w, newError(http.StatusBadRequest, "SerializationException", "unexpected Content-Type %q", ct), messageField)
		return
	}
	caller, key, aerr := s.authenticate(r, body, service, false)
	if aerr != nil {
		writeJSONError(w, aerr, messageField)
		return
	}
	s.setPrincipal(op, caller, key)
	out, aerr := handle(op, caller, body)
	if aerr != nil {
		writeJSONError(w, aerr, messageField)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeJSONError(w, newError(http.StatusInternalServerError, "InternalServiceError", "%v", err), messageField)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID())
	_, _ = w.Write(b)
}

// writeJSONError answers e in the AWS JSON protocol's shape.
func writeJSONError(w http.ResponseWriter, e *apiError, messageField string) {
	for k, vs := range e.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(e.status)
	b, _ := json.Marshal(map[string]string{"__type": e.code, messageField: e.message})
	_, _ = w.Write(b)
}

// requestID returns a random request ID in AWS's format.
func requestID() string { return newUUID() }

// sigV4 is a parsed Authorization header.
type sigV4 struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/20060102/region/service/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (sigV4, bool) {
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(h, algo) {
		return sigV4{}, false
	}
	var out sigV4
	for part := range strings.SplitSeq(strings.TrimPrefix(h, algo), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return sigV4{}, false
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return sigV4{}, false
			}
			out.accessKeyID, out.date, out.region, out.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			out.signedHeaders = strings.Split(v, ";")
		case "Signature":
			out.signature = v
		}
	}
	if out.accessKeyID == "" || out.signature == "" || len(out.signedHeaders) == 0 {
		return sigV4{}, false
	}
	return out, true
}

// authenticate checks a request's SigV4 signature and returns the caller.
// query selects the STS (Query protocol) error codes.
func (s *Server) authenticate(r *http.Request, body []byte, service string, query bool) (*principal, string, *apiError) {
	code := func(jsonCode, queryCode string) string {
		if query {
			return queryCode
		}
		return jsonCode
	}
	status := func(jsonStatus, queryStatus int) int {
		if query {
			return queryStatus
		}
		return jsonStatus
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, "", newError(status(http.StatusBadRequest, http.StatusForbidden), code("MissingAuthenticationTokenException", "MissingAuthenticationToken"), "Missing Authentication Token")
	}
	sig, ok := parseAuthorization(h)
	if !ok {
		return nil, "", newError(http.StatusBadRequest, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters in the AWS4-HMAC-SHA256 format")
	}
	if sig.region != s.Region {
		return nil, "", newError(status(http.StatusBadRequest, http.StatusForbidden), code("InvalidSignatureException", "SignatureDoesNotMatch"),
			"Credential should be scoped to a valid region, not '%s'. ", sig.region)
	}
	if sig.service != service {
		return nil, "", newError(status(http.StatusBadRequest, http.StatusForbidden), code("InvalidSignatureException", "SignatureDoesNotMatch"),
			"Credential should be scoped to correct service: '%s'. ", service)
	}
	s.mu.Lock()
	key := s.keys[sig.accessKeyID]
	now := s.now()
	s.mu.Unlock()
	invalidToken := newError(status(http.StatusBadRequest, http.StatusForbidden), code("UnrecognizedClientException", "InvalidClientTokenId"), "The security token included in the request is invalid.")
	if key == nil {
		return nil, "", invalidToken
	}
	if r.Header.Get("X-Amz-Security-Token") != key.sessionToken {
		return nil, "", invalidToken
	}
	if !key.expires.IsZero() && !now.Before(key.expires) {
		return nil, "", newError(http.StatusBadRequest, code("ExpiredTokenException", "ExpiredToken"), "The security token included in the request is expired")
	}
	signingTime, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || signingTime.Format("20060102") != sig.date {
		return nil, "", newError(http.StatusBadRequest, "IncompleteSignatureException", "Date must be in ISO-8601 'basic format' and match the credential scope")
	}
	if !s.signatureMatches(r, body, sig, key, signingTime) {
		return nil, "", newError(status(http.StatusBadRequest, http.StatusForbidden), code("InvalidSignatureException", "SignatureDoesNotMatch"),
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return key.principal, key.id, nil
}

// signatureMatches signs a copy of r (its signed headers only) with the
// key's secret and compares the signatures.
func (s *Server) signatureMatches(r *http.Request, body []byte, sig sigV4, key *accessKey, at time.Time) bool {
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	clone, err := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	clone.Host = r.Host
	clone.Header = http.Header{}
	for _, name := range sig.signedHeaders {
		switch name {
		case "host", "content-length":
			continue
		}
		clone.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
	}
	clone.ContentLength = int64(len(body))
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key.id, SecretAccessKey: key.secret, SessionToken: key.sessionToken}
	if err := s.signer.SignHTTP(context.Background(), creds, clone, hex.EncodeToString(sum[:]), sig.service, sig.region, at); err != nil {
		return false
	}
	want, ok := parseAuthorization(clone.Header.Get("Authorization"))
	return ok && hmac.Equal([]byte(want.signature), []byte(sig.signature))
}
