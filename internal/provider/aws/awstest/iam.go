package awstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Credentials are AWS credentials the server issued.
type Credentials struct {
	// AccessKeyID is the access key ID (AKIA… for users, ASIA… for sessions).
	AccessKeyID string
	// SecretAccessKey is the secret access key.
	SecretAccessKey string
	// SessionToken is set for temporary credentials.
	SessionToken string
	// Expires is when temporary credentials stop working; zero for a
	// user's long-term keys.
	Expires time.Time
}

// Statement allows Actions on Resources. Both are IAM patterns: "*" and "?"
// are wildcards; actions match case-insensitively.
type Statement struct {
	// Actions are the allowed actions, e.g. "secretsmanager:GetSecretValue"
	// or "ssm:*".
	Actions []string
	// Resources are the ARNs the actions are allowed on, e.g.
	// "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/*".
	Resources []string
}

// Policy is an identity-based policy: a list of Allow statements. Anything
// no statement allows is denied; a nil Policy denies everything.
type Policy []Statement

// AllowAll is a policy that allows every action on every resource.
var AllowAll = Policy{{Actions: []string{"*"}, Resources: []string{"*"}}}

// Allow returns a policy with one statement.
func Allow(actions []string, resources ...string) Policy {
	return Policy{{Actions: actions, Resources: resources}}
}

// allows reports whether p allows action on resource.
func (p Policy) allows(action, resource string) bool {
	for _, st := range p {
		if matchAny(st.Actions, action, true) && matchAny(st.Resources, resource, false) {
			return true
		}
	}
	return false
}

// matchAny reports whether one of the IAM patterns matches s.
func matchAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if globMatch(p, s, fold) {
			return true
		}
	}
	return false
}

// globs caches compiled IAM patterns.
var globs sync.Map // "<fold>|<pattern>" -> *regexp.Regexp

// globMatch matches an IAM wildcard pattern.
func globMatch(pattern, s string, fold bool) bool {
	key := fmt.Sprintf("%t|%s", fold, pattern)
	if re, ok := globs.Load(key); ok {
		return re.(*regexp.Regexp).MatchString(s)
	}
	var b strings.Builder
	b.WriteString("^")
	if fold {
		b.WriteString("(?i)")
	}
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re := regexp.MustCompile(b.String())
	globs.Store(key, re)
	return re.MatchString(s)
}

// principal is an authenticated identity: an IAM user or a role session.
type principal struct {
	arn    string
	userID string
	policy Policy
	role   *roleState // for a role session
	tags   map[string]string
}

// accessKey is a credential the server issued.
type accessKey struct {
	id, secret, sessionToken string
	expires                  time.Time
	principal                *principal
}

// Role is an IAM role that AssumeRole or AssumeRoleWithWebIdentity can
// assume.
type Role struct {
	// Name is the role's name; its ARN is arn:aws:iam::<account>:role/<Name>.
	Name string
	// Policy is what the role's sessions may do.
	Policy Policy
	// TrustedPrincipals are the ARNs that may call sts:AssumeRole on the
	// role: a user ARN, a role ARN (its sessions), the account root
	// (arn:aws:iam::<account>:root: every principal of the account) or "*".
	TrustedPrincipals []string
	// ExternalID, when set, must be passed by AssumeRole callers.
	ExternalID string
	// AllowTagSession lets callers pass session tags (sts:TagSession).
	AllowTagSession bool
	// WebIdentity, when set, lets AssumeRoleWithWebIdentity assume the
	// role with a matching token.
	WebIdentity *WebIdentityTrust
	// SessionDuration, when positive, overrides the lifetime of the
	// credentials issued for the role (AWS would refuse less than 15 min;
	// tests use seconds to see refreshes).
	SessionDuration time.Duration
}

// WebIdentityTrust says which OIDC tokens may assume a role.
type WebIdentityTrust struct {
	// Audience is the aud claim the token must carry, usually
	// "sts.amazonaws.com".
	Audience string
	// Subject, when set, is the sub claim the token must carry, e.g.
	// "system:serviceaccount:<namespace>:<name>".
	Subject string
	// Issuer, when set, is the iss claim the token must carry.
	Issuer string
	// PublicKeyPEM, when set, verifies the token's signature (a PEM public
	// key or certificate); without it the signature is not checked.
	PublicKeyPEM []byte
}

// roleState is a role and its ARN.
type roleState struct {
	Role
	arn string
	id  string
}

// AssumeRoleCall is one AssumeRole or AssumeRoleWithWebIdentity the server
// answered successfully.
type AssumeRoleCall struct {
	// Op is OpAssumeRole or OpAssumeRoleWithWebIdentity.
	Op string
	// RoleARN is the assumed role.
	RoleARN string
	// Caller is the ARN of the principal that assumed it (AssumeRole), or
	// the token's subject (AssumeRoleWithWebIdentity).
	Caller string
	// SessionName is the RoleSessionName.
	SessionName string
	// ExternalID is the external ID passed.
	ExternalID string
	// Tags are the session tags passed.
	Tags map[string]string
	// TransitiveTagKeys are the transitive tag keys passed.
	TransitiveTagKeys []string
	// DurationSeconds is the requested lifetime (0 when not passed).
	DurationSeconds int
	// Audience is the web identity token's audience.
	Audience []string
	// Credentials are the credentials issued.
	Credentials Credentials
}

// AssumeRoleCalls returns the successful AssumeRole and
// AssumeRoleWithWebIdentity calls, oldest first.
func (s *Server) AssumeRoleCalls() []AssumeRoleCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AssumeRoleCall(nil), s.assumed...)
}

// AddUser creates an IAM user with long-term access keys and returns them.
func (s *Server) AddUser(name string, policy Policy) Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &principal{
		arn:    fmt.Sprintf("arn:aws:iam::%s:user/%s", s.AccountID, name),
		userID: "AIDA" + randomID(16),
		policy: policy,
	}
	s.users[name] = p
	k := s.issueLocked(p, "AKIA", time.Time{}, false)
	return Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret}
}

// UserARN returns the ARN of the user name.
func (s *Server) UserARN(name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:user/%s", s.AccountID, name)
}

// SessionCredentials issues temporary credentials (with a session token)
// for the user name, valid for d, as sts:GetSessionToken would.
func (s *Server) SessionCredentials(name string, d time.Duration) Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.users[name]
	if p == nil {
		panic(fmt.Sprintf("awstest: no user %q", name))
	}
	k := s.issueLocked(p, "ASIA", s.now().Add(d), true)
	return k.credentials()
}

// ExpireCredentials makes the credentials with this access key ID expired.
func (s *Server) ExpireCredentials(accessKeyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[accessKeyID]; k != nil {
		k.expires = s.now().Add(-time.Second)
	}
}

// AddRole creates a role and returns its ARN.
func (s *Server) AddRole(r Role) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &roleState{Role: r, arn: fmt.Sprintf("arn:aws:iam::%s:role/%s", s.AccountID, r.Name), id: "AROA" + randomID(16)}
	s.roles[st.arn] = st
	return st.arn
}

// issueLocked creates an access key for p.
func (s *Server) issueLocked(p *principal, prefix string, expires time.Time, session bool) *accessKey {
	k := &accessKey{
		id:        prefix + randomID(16),
		secret:    randomID(40),
		expires:   expires,
		principal: p,
	}
	if session {
		k.sessionToken = "IQoJb3JpZ2luX2Vj" + randomID(64)
	}
	s.keys[k.id] = k
	return k
}

// credentials returns k as Credentials.
func (k *accessKey) credentials() Credentials {
	return Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret, SessionToken: k.sessionToken, Expires: k.expires}
}

// trusts reports whether the role's trust policy lets p call sts:AssumeRole.
func (r *roleState) trusts(p *principal, account string) bool {
	for _, t := range r.TrustedPrincipals {
		switch {
		case t == "*", t == p.arn, t == fmt.Sprintf("arn:aws:iam::%s:root", account):
			return true
		case p.role != nil && t == p.role.arn:
			return true
		}
	}
	return false
}

// authorize returns AccessDeniedException unless p's policy allows action
// on resource ("*" for actions that are not about one resource).
func authorize(p *principal, action, resource string) *apiError {
	if p.policy.allows(action, resource) {
		return nil
	}
	if resource == "*" {
		return newError(400, "AccessDeniedException",
			"User: %s is not authorized to perform: %s because no identity-based policy allows the %s action", p.arn, action, action)
	}
	return newError(400, "AccessDeniedException",
		"User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action", p.arn, action, resource, action)
}

// randomID returns n random characters of [A-Z2-7], like the body of an
// access key ID.
func randomID(n int) string { return randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", n) }

// randomAlnum returns n random characters of [A-Za-z0-9], like the suffix
// of a secret's ARN.
func randomAlnum(n int) string {
	return randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n)
}

// randomFrom returns n random characters of alphabet.
func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
