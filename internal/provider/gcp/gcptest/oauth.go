package gcptest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"google.golang.org/grpc/codes"
)

// The grant and token types of the OAuth 2.0 and STS endpoints.
const (
	grantJWTBearer     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

// restHandler serves the OAuth 2.0 token endpoint, STS and IAM Credentials.
func (s *Server) restHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.serveOAuthToken)
	mux.HandleFunc("POST /v1/token", s.serveSTSToken)
	mux.HandleFunc("POST /v1/projects/-/serviceAccounts/{action}", s.serveGenerateAccessToken)
	return mux
}

// ServiceAccountKey creates a Google service account email in project with
// a new RSA key and returns its JSON key file, whose token_uri is this
// server's /token.
func (s *Server) ServiceAccountKey(email, project string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyID := randomHex(20)
	s.mu.Lock()
	s.accounts[email] = &serviceAccount{email: email, keyID: keyID, key: &key.PublicKey}
	s.mu.Unlock()
	return json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     project,
		"private_key_id": keyID,
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   email,
		"client_id":      "1" + randomHex(10),
		"auth_uri":       "https://accounts.google.com/o/oauth2/auth",
		"token_uri":      s.URL + "/token",
	})
}

// oauthError answers like Google's OAuth endpoints.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// writeToken answers with an access token for principal.
func (s *Server) writeToken(w http.ResponseWriter, principal string, exchange bool) {
	tok, lifetime := s.issueToken(principal)
	body := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(lifetime / time.Second)}
	if exchange {
		body["issued_token_type"] = tokenTypeAccess
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// injected answers with an injected fault, if any, and reports whether it
// did.
func injected(w http.ResponseWriter, f *fault) bool {
	if f == nil {
		return false
	}
	if f.code == codes.Unauthenticated || f.code == codes.InvalidArgument {
		oauthError(w, f.status, "invalid_grant", f.message)
		return true
	}
	googleError(w, f.status, f.code, f.message)
	return true
}

// serveOAuthToken is the token endpoint of service-account keys: the JWT
// bearer grant (RFC 7523) with an RS256 assertion signed by a key from
// ServiceAccountKey, whose aud is this endpoint.
func (s *Server) serveOAuthToken(w http.ResponseWriter, r *http.Request) {
	f, leave := s.enter(OpOAuthToken)
	defer leave()
	if injected(w, f) {
		return
	}
	if r.PostFormValue("grant_type") != grantJWTBearer {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+r.PostFormValue("grant_type"))
		return
	}
	tok, err := jwt.ParseSigned(r.PostFormValue("assertion"), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: "+err.Error())
		return
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: "+err.Error())
		return
	}
	s.mu.Lock()
	acct := s.accounts[unverified.Issuer]
	s.mu.Unlock()
	if acct == nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid grant: account not found")
		return
	}
	var claims jwt.Claims
	if err := tok.Claims(acct.key, &claims); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{s.URL + "/token"}, Time: time.Now()}, time.Minute); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: "+err.Error())
		return
	}
	s.writeToken(w, Member(acct.email), false)
}

// serveSTSToken is the Security Token Service's token exchange: a JWT
// subject token for an audience registered with TrustPool.
func (s *Server) serveSTSToken(w http.ResponseWriter, r *http.Request) {
	f, leave := s.enter(OpSTSToken)
	defer leave()
	if injected(w, f) {
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	form := r.PostForm
	switch {
	case form.Get("grant_type") != grantTokenExchange:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid value for \"grant_type\".")
		return
	case form.Get("subject_token_type") != tokenTypeJWT:
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"subject_token_type\".")
		return
	case form.Get("requested_token_type") != tokenTypeAccess:
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"requested_token_type\".")
		return
	}
	audience := form.Get("audience")
	s.mu.Lock()
	tokenAudience, ok := s.pools[audience]
	s.mu.Unlock()
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_target", fmt.Sprintf("The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist: %s", audience))
		return
	}
	tok, err := jwt.ParseSigned(form.Get("subject_token"), []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256})
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid subject token: "+err.Error())
		return
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid subject token: "+err.Error())
		return
	}
	if claims.Expiry != nil && time.Now().After(claims.Expiry.Time()) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The subject token has expired.")
		return
	}
	if !slices.Contains(claims.Audience, tokenAudience) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", fmt.Sprintf("The audience in ID Token [%v] does not match the expected audience %s.", []string(claims.Audience), tokenAudience))
		return
	}
	s.writeToken(w, federatedMember(audience, claims.Subject), true)
}

// federatedMember is the IAM member of a federated token for subject.
func federatedMember(audience, subject string) string {
	if rest, ok := strings.CutPrefix(audience, "identitynamespace:"); ok {
		pool, _, _ := strings.Cut(rest, ":")
		// Kubernetes subjects are system:serviceaccount:<namespace>:<name>.
		if parts := strings.Split(subject, ":"); len(parts) == 4 && parts[0] == "system" && parts[1] == "serviceaccount" {
			return GKEMember(pool, parts[2], parts[3])
		}
		return "principal://iam.googleapis.com/" + pool + "/subject/" + subject
	}
	return "principal://iam.googleapis.com/" + strings.TrimPrefix(audience, "//iam.googleapis.com/") + "/subject/" + subject
}

// googleError answers like Google's JSON REST APIs.
func googleError(w http.ResponseWriter, status int, code codes.Code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": status, "message": message, "status": strings.ToUpper(toSnake(code.String())),
	}})
}

// toSnake turns a gRPC code name (PermissionDenied) into Google's status
// (PERMISSION_DENIED, after upper-casing).
func toSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// serveGenerateAccessToken is IAM Credentials' generateAccessToken: the
// caller's token must belong to a member allowed (AllowImpersonation) to
// impersonate the account.
func (s *Server) serveGenerateAccessToken(w http.ResponseWriter, r *http.Request) {
	f, leave := s.enter(OpGenerateAccessToken)
	defer leave()
	if f != nil {
		googleError(w, f.status, f.code, f.message)
		return
	}
	email, ok := strings.CutSuffix(r.PathValue("action"), ":generateAccessToken")
	if !ok {
		googleError(w, http.StatusNotFound, codes.NotFound, "Method not found.")
		return
	}
	caller, ok := s.principalOf(r.Header.Get("Authorization"))
	if !ok {
		googleError(w, http.StatusUnauthorized, codes.Unauthenticated, unauthenticated)
		return
	}
	var body struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Scope) == 0 {
		googleError(w, http.StatusBadRequest, codes.InvalidArgument, "Invalid JSON payload or no scope.")
		return
	}
	s.mu.Lock()
	allowed := s.imperson[email][caller]
	s.mu.Unlock()
	if !allowed {
		googleError(w, http.StatusForbidden, codes.PermissionDenied, "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
		return
	}
	tok, lifetime := s.issueToken(Member(email))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"accessToken": tok,
		"expireTime":  time.Now().Add(lifetime).UTC().Format(time.RFC3339),
	})
}
