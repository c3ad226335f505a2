package awstest

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// serveSTS serves an STS Query-protocol request.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeXMLError(w, newError(http.StatusBadRequest, "MalformedInput", "%v", err))
		return
	}
	action := form.Get("Action")
	op := "sts." + action
	input, _ := json.Marshal(flatten(form))
	if fault := s.record(op, Request{Op: op, Input: input}); fault != nil {
		writeXMLError(w, fault)
		return
	}
	if form.Get("Version") != "2011-06-15" {
		writeXMLError(w, newError(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, form.Get("Version")))
		return
	}
	var (
		result any
		aerr   *apiError
	)
	switch action {
	case "AssumeRoleWithWebIdentity":
		result, aerr = s.assumeRoleWithWebIdentity(form)
	case "AssumeRole", "GetCallerIdentity":
		caller, key, authErr := s.authenticate(r, body, "sts", true)
		if authErr != nil {
			writeXMLError(w, authErr)
			return
		}
		s.setPrincipal(op, caller, key)
		if action == "AssumeRole" {
			result, aerr = s.assumeRole(caller, form)
		} else {
			result = getCallerIdentityResponse{
				Result: callerIdentity{Arn: caller.arn, UserID: caller.userID, Account: s.AccountID},
			}
		}
	default:
		aerr = newError(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version 2011-06-15", action)
	}
	if aerr != nil {
		writeXMLError(w, aerr)
		return
	}
	b, err := xml.Marshal(result)
	if err != nil {
		writeXMLError(w, newError(http.StatusInternalServerError, "InternalFailure", "%v", err))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", requestID())
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

// flatten keeps the first value of each form field.
func flatten(form url.Values) map[string]string {
	out := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// The STS wire shapes.
type (
	stsError struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}
	stsCredentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	assumedRoleUser struct {
		Arn           string `xml:"Arn"`
		AssumedRoleID string `xml:"AssumedRoleId"`
	}
	responseMetadata struct {
		RequestID string `xml:"RequestId"`
	}
	assumeRoleResponse struct {
		XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
		Result  struct {
			AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
			Credentials      stsCredentials  `xml:"Credentials"`
			PackedPolicySize int             `xml:"PackedPolicySize,omitempty"`
		} `xml:"AssumeRoleResult"`
		Metadata responseMetadata `xml:"ResponseMetadata"`
	}
	assumeRoleWithWebIdentityResponse struct {
		XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
		Result  struct {
			SubjectFromWebIdentityToken string          `xml:"SubjectFromWebIdentityToken"`
			Audience                    string          `xml:"Audience"`
			AssumedRoleUser             assumedRoleUser `xml:"AssumedRoleUser"`
			Credentials                 stsCredentials  `xml:"Credentials"`
			Provider                    string          `xml:"Provider"`
		} `xml:"AssumeRoleWithWebIdentityResult"`
		Metadata responseMetadata `xml:"ResponseMetadata"`
	}
	callerIdentity struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}
	getCallerIdentityResponse struct {
		XMLName  xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
		Result   callerIdentity   `xml:"GetCallerIdentityResult"`
		Metadata responseMetadata `xml:"ResponseMetadata"`
	}
)

// writeXMLError answers e in the Query protocol's shape.
func writeXMLError(w http.ResponseWriter, e *apiError) {
	for k, vs := range e.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	id := requestID()
	b, _ := xml.Marshal(stsError{Type: typ, Code: e.code, Message: e.message, RequestID: id})
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", id)
	w.WriteHeader(e.status)
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

// sessionNamePattern is what RoleSessionName must match.
var sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// sessionParams are the parameters AssumeRole and
// AssumeRoleWithWebIdentity share.
type sessionParams struct {
	roleARN, sessionName string
	duration             int
}

// parseSessionParams validates RoleArn, RoleSessionName and DurationSeconds.
func parseSessionParams(form url.Values) (sessionParams, *apiError) {
	p := sessionParams{roleARN: form.Get("RoleArn"), sessionName: form.Get("RoleSessionName")}
	if p.roleARN == "" {
		return p, newError(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if !sessionNamePattern.MatchString(p.sessionName) {
		return p, newError(http.StatusBadRequest, "ValidationError",
			"1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", p.sessionName)
	}
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return p, newError(http.StatusBadRequest, "ValidationError",
				"1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", d)
		}
		p.duration = n
	}
	return p, nil
}

// issueSessionLocked creates a role session and its credentials.
func (s *Server) issueSessionLocked(role *roleState, p sessionParams, tags map[string]string) (*accessKey, assumedRoleUser) {
	d := time.Duration(p.duration) * time.Second
	if d == 0 {
		d = time.Hour
	}
	if role.SessionDuration > 0 {
		d = role.SessionDuration
	}
	arn := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", s.AccountID, role.Name, p.sessionName)
	session := &principal{arn: arn, userID: role.id + ":" + p.sessionName, policy: role.Policy, role: role, tags: tags}
	k := s.issueLocked(session, "ASIA", s.now().Add(d), true)
	return k, assumedRoleUser{Arn: arn, AssumedRoleID: session.userID}
}

// wireCredentials returns k in the STS shape.
func wireCredentials(k *accessKey) stsCredentials {
	return stsCredentials{
		AccessKeyID:     k.id,
		SecretAccessKey: k.secret,
		SessionToken:    k.sessionToken,
		Expiration:      k.expires.UTC().Format(time.RFC3339),
	}
}

// assumeRole serves AssumeRole.
func (s *Server) assumeRole(caller *principal, form url.Values) (any, *apiError) {
	p, aerr := parseSessionParams(form)
	if aerr != nil {
		return nil, aerr
	}
	tags := map[string]string{}
	for i := 1; ; i++ {
		k := form.Get(fmt.Sprintf("Tags.member.%d.Key", i))
		if k == "" {
			break
		}
		tags[k] = form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	var transitive []string
	for i := 1; ; i++ {
		k := form.Get(fmt.Sprintf("TransitiveTagKeys.member.%d", i))
		if k == "" {
			break
		}
		transitive = append(transitive, k)
	}
	denied := func(action string) *apiError {
		return newError(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: %s on resource: %s", caller.arn, action, p.roleARN)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	role := s.roles[p.roleARN]
	if role == nil || !role.trusts(caller, s.AccountID) || form.Get("ExternalId") != role.ExternalID {
		return nil, denied("sts:AssumeRole")
	}
	if len(tags) > 0 && !role.AllowTagSession {
		return nil, denied("sts:TagSession")
	}
	if caller.role != nil && p.duration > 3600 {
		return nil, newError(http.StatusBadRequest, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	k, user := s.issueSessionLocked(role, p, tags)
	s.assumed = append(s.assumed, AssumeRoleCall{
		Op: OpAssumeRole, RoleARN: role.arn, Caller: caller.arn, SessionName: p.sessionName,
		ExternalID: form.Get("ExternalId"), Tags: tags, TransitiveTagKeys: transitive,
		DurationSeconds: p.duration, Credentials: k.credentials(),
	})
	var out assumeRoleResponse
	out.Result.AssumedRoleUser = user
	out.Result.Credentials = wireCredentials(k)
	out.Metadata.RequestID = requestID()
	return out, nil
}

// jwtClaims are the claims of a web identity token the server reads.
type jwtClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	Expiry   int64    `json:"exp"`
}

// audience is a JWT aud claim: a string or a list of strings.
type audience []string

// UnmarshalJSON accepts a string or a list of strings.
func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// parseJWT returns a token's claims; with key set it verifies the
// signature first.
func parseJWT(token string, keyPEM []byte) (jwtClaims, error) {
	var claims jwtClaims
	var payload []byte
	if len(keyPEM) > 0 {
		key, err := parsePublicKey(keyPEM)
		if err != nil {
			return claims, err
		}
		jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256})
		if err != nil {
			return claims, err
		}
		if payload, err = jws.Verify(key); err != nil {
			return claims, err
		}
	} else {
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			return claims, errors.New("not a JWT")
		}
		var err error
		if payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
			return claims, err
		}
	}
	err := json.Unmarshal(payload, &claims)
	return claims, err
}

// parsePublicKey reads a PEM public key or certificate.
func parsePublicKey(b []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return x509.ParsePKIXPublicKey(block.Bytes)
	}
}

// assumeRoleWithWebIdentity serves AssumeRoleWithWebIdentity (unsigned).
func (s *Server) assumeRoleWithWebIdentity(form url.Values) (any, *apiError) {
	p, aerr := parseSessionParams(form)
	if aerr != nil {
		return nil, aerr
	}
	token := form.Get("WebIdentityToken")
	s.mu.Lock()
	defer s.mu.Unlock()
	role := s.roles[p.roleARN]
	if role == nil || role.WebIdentity == nil {
		return nil, newError(http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}
	trust := role.WebIdentity
	claims, err := parseJWT(token, trust.PublicKeyPEM)
	if err != nil {
		return nil, newError(http.StatusBadRequest, "InvalidIdentityToken", "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.")
	}
	if trust.Issuer != "" && claims.Issuer != trust.Issuer {
		return nil, newError(http.StatusBadRequest, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for %s", claims.Issuer)
	}
	now := s.now()
	if claims.Expiry != 0 && now.Unix() >= claims.Expiry {
		return nil, newError(http.StatusBadRequest, "ExpiredTokenException", "Token expired: current date/time %d must be before the expiration date/time%d", now.Unix(), claims.Expiry)
	}
	if trust.Audience != "" && !slices.Contains(claims.Audience, trust.Audience) {
		return nil, newError(http.StatusBadRequest, "InvalidIdentityToken", "Incorrect token audience")
	}
	if trust.Subject != "" && claims.Subject != trust.Subject {
		return nil, newError(http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}
	k, user := s.issueSessionLocked(role, p, nil)
	s.assumed = append(s.assumed, AssumeRoleCall{
		Op: OpAssumeRoleWithWebIdentity, RoleARN: role.arn, Caller: claims.Subject, SessionName: p.sessionName,
		DurationSeconds: p.duration, Audience: slices.Clone(claims.Audience), Tags: map[string]string{},
		Credentials: k.credentials(),
	})
	var out assumeRoleWithWebIdentityResponse
	out.Result.SubjectFromWebIdentityToken = claims.Subject
	if len(claims.Audience) > 0 {
		out.Result.Audience = claims.Audience[0]
	}
	out.Result.Provider = claims.Issuer
	out.Result.AssumedRoleUser = user
	out.Result.Credentials = wireCredentials(k)
	out.Metadata.RequestID = requestID()
	return out, nil
}
