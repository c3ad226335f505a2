package azuretest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition.
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The client assertion type of certificate and federated credentials.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// principal is an application (service principal) or a managed identity.
type principal struct {
	clientID  string
	objectID  string
	secret    string
	certs     []*x509.Certificate
	federated []FederatedCredential
	managed   bool
	perms     map[string]map[Permission]bool // vault → permissions
}

// FederatedCredential is a federated identity credential of an
// application: tokens whose issuer, subject and audience match are
// accepted as client assertions.
type FederatedCredential struct {
	// Issuer is the token issuer; when empty, any issuer (the server
	// cannot know the test API server's issuer in advance).
	Issuer string
	// Subject is system:serviceaccount:<namespace>:<name>.
	Subject string
	// Audience is the audience the token must carry. When empty,
	// api://AzureADTokenExchange.
	Audience string
	// PublicKeyPEM, when set, is the issuer's public key (a PEM
	// certificate, PKCS#1 or PKIX key): the token's signature (RS256,
	// PS256 or ES256) is checked with it.
	PublicKeyPEM []byte
}

// AddApplication registers an application with a client secret and
// returns its client ID.
func (s *Server) AddApplication(secret string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.newPrincipalLocked()
	p.secret = secret
	return p.clientID
}

// ClientCertificate is a certificate credential of an application.
type ClientCertificate struct {
	// ClientID is the application's client ID.
	ClientID string
	// PEM holds the certificate and its PKCS#8 private key, as a client
	// certificate Secret does.
	PEM []byte
}

// AddCertificateApplication registers an application with a new
// certificate credential (RSA 2048).
func (s *Server) AddCertificateApplication() (ClientCertificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return ClientCertificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "secretbridge-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return ClientCertificate{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return ClientCertificate{}, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return ClientCertificate{}, err
	}
	s.mu.Lock()
	p := s.newPrincipalLocked()
	p.certs = append(p.certs, cert)
	s.mu.Unlock()
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
	return ClientCertificate{ClientID: p.clientID, PEM: out}, nil
}

// AddFederatedApplication registers an application that trusts the
// federated credentials fcs and returns its client ID.
func (s *Server) AddFederatedApplication(fcs ...FederatedCredential) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.newPrincipalLocked()
	p.federated = slices.Clone(fcs)
	return p.clientID
}

// AddManagedIdentity registers a managed identity assigned to "this
// machine" and returns its client ID. A request that names no identity is
// answered for the only one assigned (400 when there are several, as IMDS
// does for a missing system-assigned identity).
func (s *Server) AddManagedIdentity() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.newPrincipalLocked()
	p.managed = true
	return p.clientID
}

// newPrincipalLocked registers a principal with new IDs. s.mu is held.
func (s *Server) newPrincipalLocked() *principal {
	p := &principal{clientID: randomID(), objectID: randomID(), perms: map[string]map[Permission]bool{}}
	s.principals[p.clientID] = p
	return p
}

// Grant gives the principal with clientID the permissions on the named
// vault.
func (s *Server) Grant(vaultName, clientID string, perms ...Permission) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.principals[clientID]
	if !ok {
		panic("azuretest: Grant to unknown client " + clientID)
	}
	if p.perms[vaultName] == nil {
		p.perms[vaultName] = map[Permission]bool{}
	}
	for _, perm := range perms {
		p.perms[vaultName][perm] = true
	}
}

// Revoke removes permissions of the principal with clientID on the named
// vault.
func (s *Server) Revoke(vaultName, clientID string, perms ...Permission) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.principals[clientID]; ok {
		for _, perm := range perms {
			delete(p.perms[vaultName], perm)
		}
	}
}

// ObjectID returns the object ID of the principal with clientID.
func (s *Server) ObjectID(clientID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.principals[clientID]; ok {
		return p.objectID
	}
	return ""
}

// token is an access token the server issued.
type token struct {
	clientID string
	resource string
	expires  time.Time
}

// issueLocked issues an access token for p and resource. s.mu is held.
func (s *Server) issueLocked(p *principal, resource string) (string, time.Duration) {
	s.seq++
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := fmt.Sprintf("azt.%d.%s", s.seq, base64.RawURLEncoding.EncodeToString(b))
	s.tokens[tok] = &token{clientID: p.clientID, resource: resource, expires: s.now().Add(s.lifetime)}
	return tok, s.lifetime
}

// aadError writes an OAuth error as Entra ID does.
func aadError(w http.ResponseWriter, status int, code, aadsts, description string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": aadsts + ": " + description + "\r\nTrace ID: " + randomID() + "\r\nCorrelation ID: " + randomID() + "\r\nTimestamp: " + time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"error_codes":       []int{atoiCode(aadsts)},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          randomID(),
		"correlation_id":    randomID(),
	})
}

// atoiCode returns the number of an AADSTS code.
func atoiCode(aadsts string) int {
	var n int
	_, _ = fmt.Sscanf(strings.TrimPrefix(aadsts, "AADSTS"), "%d", &n)
	return n
}

// writeFault answers an AAD or IMDS request with f.
func writeAADFault(w http.ResponseWriter, f Fault) {
	writeRetryAfter(w, f)
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	code := f.Code
	if code == "" {
		code = "temporarily_unavailable"
	}
	writeJSON(w, status, map[string]any{"error": code, "error_description": f.Message})
}

// tenantOf returns the first path segment (the tenant of AAD URLs).
func tenantOf(path string) string {
	path = strings.TrimPrefix(path, "/")
	tenant, _, _ := strings.Cut(path, "/")
	return tenant
}

// serveOpenIDConfiguration answers the tenant's OpenID configuration.
func (s *Server) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.count(OpOpenIDConfiguration); ok {
		writeAADFault(w, f)
		return
	}
	tenant := tenantOf(r.URL.Path)
	if tenant != s.TenantID && tenant != "organizations" && tenant != "common" {
		aadError(w, http.StatusBadRequest, "invalid_tenant", "AADSTS90002", fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := s.URL + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                s.URL + "/" + s.TenantID + "/v2.0",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"tenant_region_scope":                   "EU",
	})
}

// serveInstanceDiscovery answers AAD instance discovery with the server as
// its own only alias.
func (s *Server) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.count(OpInstanceDiscovery); ok {
		writeAADFault(w, f)
		return
	}
	host := strings.TrimPrefix(s.URL, "https://")
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": s.URL + "/" + s.TenantID + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  []any{map[string]any{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}},
	})
}

// serveToken answers POST /{tenant}/oauth2/v2.0/token for the
// client_credentials grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.count(OpToken); ok {
		writeAADFault(w, f)
		return
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		aadError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144", "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	tenant := tenantOf(r.URL.Path)
	if tenant != s.TenantID {
		aadError(w, http.StatusBadRequest, "invalid_request", "AADSTS90002", fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		aadError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003", fmt.Sprintf("The app requested an unsupported grant type '%s'.", g))
		return
	}
	// MSAL adds the OIDC scopes (openid, profile, offline_access) to the
	// resource's .default scope.
	scope := r.PostForm.Get("scope")
	var resource string
	ok := false
	for _, sc := range strings.Fields(scope) {
		if res, isDefault := strings.CutSuffix(sc, "/.default"); isDefault {
			resource, ok = res, true
		}
	}
	if !ok {
		aadError(w, http.StatusBadRequest, "invalid_scope", "AADSTS1002012", fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	}
	clientID := r.PostForm.Get("client_id")
	s.mu.Lock()
	p, known := s.principals[clientID]
	s.mu.Unlock()
	if !known || p.managed {
		aadError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016", fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant))
		return
	}
	switch {
	case r.PostForm.Get("client_secret") != "":
		if p.secret == "" || r.PostForm.Get("client_secret") != p.secret {
			aadError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215", "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'.")
			return
		}
	case r.PostForm.Get("client_assertion_type") == jwtBearer:
		if status, code, aadsts, msg := s.checkAssertion(p, r.PostForm.Get("client_assertion"), s.URL+r.URL.Path); status != 0 {
			aadError(w, status, code, aadsts, msg)
			return
		}
	default:
		aadError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000218", "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	s.mu.Lock()
	tok, life := s.issueLocked(p, resource)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(life / time.Second),
		"ext_expires_in": int(life / time.Second),
		"access_token":   tok,
	})
}

// checkAssertion checks a client assertion: a JWT signed with one of p's
// certificates, or a token matching one of p's federated credentials. It
// returns a zero status when the assertion is accepted.
func (s *Server) checkAssertion(p *principal, assertion, tokenEndpoint string) (int, string, string, string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return http.StatusBadRequest, "invalid_request", "AADSTS50027", "JWT token is invalid or malformed."
	}
	var header map[string]any
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
		Nbf int64           `json:"nbf"`
	}
	if decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &claims) != nil {
		return http.StatusBadRequest, "invalid_request", "AADSTS50027", "JWT token is invalid or malformed."
	}
	var auds []string
	if json.Unmarshal(claims.Aud, &auds) != nil {
		var one string
		_ = json.Unmarshal(claims.Aud, &one)
		auds = []string{one}
	}
	now := s.clock()
	if claims.Exp != 0 && now.Unix() > claims.Exp {
		return http.StatusBadRequest, "invalid_client", "AADSTS700024", "Client assertion is not within its valid time range."
	}
	if len(p.federated) > 0 {
		for _, fc := range p.federated {
			aud := fc.Audience
			if aud == "" {
				aud = "api://AzureADTokenExchange"
			}
			if (fc.Issuer == "" || fc.Issuer == claims.Iss) && fc.Subject == claims.Sub && slices.Contains(auds, aud) {
				if fc.PublicKeyPEM != nil && !verifySignature(fc.PublicKeyPEM, parts) {
					return http.StatusBadRequest, "invalid_client", "AADSTS700211", "No matching federated identity record found for presented assertion issuer: the signature does not verify with the issuer's keys."
				}
				return 0, "", "", ""
			}
		}
		return http.StatusBadRequest, "invalid_request", "AADSTS70021", fmt.Sprintf("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.", claims.Iss, claims.Sub, strings.Join(auds, ","))
	}
	if claims.Iss != p.clientID || claims.Sub != p.clientID || !slices.Contains(auds, tokenEndpoint) {
		return http.StatusUnauthorized, "invalid_client", "AADSTS700023", "Client assertion audience claim does not match Realm issuer."
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return http.StatusUnauthorized, "invalid_client", "AADSTS700027", "Client assertion contains an invalid signature."
	}
	signed := []byte(parts[0] + "." + parts[1])
	for _, c := range p.certs {
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			continue
		}
		switch header["alg"] {
		case "PS256":
			sum := sha256.Sum256(c.Raw)
			if header["x5t#S256"] != base64.StdEncoding.EncodeToString(sum[:]) && header["x5t#S256"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
				continue
			}
			h := sha256.Sum256(signed)
			if rsa.VerifyPSS(pub, crypto.SHA256, h[:], sig, nil) == nil {
				return 0, "", "", ""
			}
		case "RS256":
			sum := sha1.Sum(c.Raw) //nolint:gosec // x5t is defined as SHA-1.
			if header["x5t"] != base64.StdEncoding.EncodeToString(sum[:]) && header["x5t"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
				continue
			}
			h := sha256.Sum256(signed)
			if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil {
				return 0, "", "", ""
			}
		}
	}
	if len(p.certs) == 0 {
		return http.StatusUnauthorized, "invalid_client", "AADSTS700027", "The certificate with identifier used to sign the client assertion is not registered on application."
	}
	return http.StatusUnauthorized, "invalid_client", "AADSTS700027", fmt.Sprintf("Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%v']", header["x5t#S256"])
}

// clock returns the server's time.
func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// decodeSegment decodes one base64url JWT segment as JSON.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// serveIMDS answers a managed-identity token request as the Instance
// Metadata Service does.
func (s *Server) serveIMDS(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.count(OpIMDSToken); ok {
		writeAADFault(w, f)
		return
	}
	if r.Header.Get("Metadata") != "true" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Required metadata header not specified"})
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"})
		return
	}
	resource := strings.TrimSuffix(q.Get("resource"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*principal
	for _, p := range s.principals {
		if !p.managed {
			continue
		}
		switch id := q.Get("client_id"); {
		case id != "" && p.clientID == id, q.Get("object_id") != "" && p.objectID == q.Get("object_id"):
			found = append(found, p)
		case id == "" && q.Get("object_id") == "" && q.Get("msi_res_id") == "" && q.Get("mi_res_id") == "":
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Identity not found"})
		return
	}
	tok, life := s.issueLocked(found[0], resource)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":   tok,
		"client_id":      found[0].clientID,
		"expires_in":     fmt.Sprint(int(life / time.Second)),
		"expires_on":     fmt.Sprint(s.now().Add(life).Unix()),
		"ext_expires_in": fmt.Sprint(int(life / time.Second)),
		"not_before":     fmt.Sprint(s.now().Unix()),
		"resource":       resource,
		"token_type":     "Bearer",
	})
}

// verifySignature checks a JWT's signature (RS256, PS256 or ES256, as
// Kubernetes may sign ServiceAccount tokens) with a PEM certificate,
// PKCS#1 or PKIX public key.
func verifySignature(keyPEM []byte, parts []string) bool {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return false
	}
	var pub any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = c.PublicKey
		}
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return false
	}
	jws, err := jose.ParseSignedCompact(strings.Join(parts, "."), []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256})
	if err != nil {
		return false
	}
	_, err = jws.Verify(pub)
	return err == nil
}
