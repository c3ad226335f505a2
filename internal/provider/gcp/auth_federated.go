package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/secretbridge/secretbridge/internal/provider"
)

// tokenExpiration is the lifetime requested for ServiceAccount tokens (the
// TokenRequest API's minimum): a token is used once, in one exchange.
const tokenExpiration int64 = 600

// federation describes a token exchange shared by workloadIdentity and
// workloadIdentityFederation: a Kubernetes ServiceAccount token, requested
// with the TokenRequest API, is exchanged at STS for a federated access
// token, which is optionally exchanged at IAM Credentials for a token of a
// Google service account.
type federation struct {
	// audience is the STS audience (the pool provider).
	audience string
	// sa is the ServiceAccount whose token is exchanged.
	sa provider.ServiceAccount
	// tokenAudiences are the audiences of the ServiceAccount token.
	tokenAudiences []string
	// impersonate is the Google service account to impersonate, if any.
	impersonate string
	// member is the IAM member of the federated identity, for messages.
	member string
	// source names the method and the ServiceAccount, for messages.
	source string
}

// credentials returns credentials that perform the exchange with the
// oauth2 externalaccount package on first use and whenever the token is
// about to expire: one TokenRequest, one STS call and, when impersonating,
// one generateAccessToken call per token lifetime (an hour).
func (f federation) credentials(p Provider, hc *http.Client, r provider.Refs) credentials {
	conf := externalaccount.Config{
		Audience:             f.audience,
		SubjectTokenType:     "urn:ietf:params:oauth:token-type:jwt",
		TokenURL:             p.stsTokenURL(),
		Scopes:               []string{scope},
		SubjectTokenSupplier: &serviceAccountToken{refs: r, sa: f.sa, audiences: f.tokenAudiences},
	}
	if f.impersonate != "" {
		conf.ServiceAccountImpersonationURL = p.impersonationURL(f.impersonate)
	}
	fetch := func(ctx context.Context) (*oauth2.Token, error) {
		ts, err := externalaccount.NewTokenSource(withHTTPClient(ctx, hc), conf)
		if err == nil {
			var tok *oauth2.Token
			if tok, err = ts.Token(); err == nil {
				return tok, nil
			}
		}
		return nil, f.explain(err)
	}
	identity := f.member
	if f.impersonate != "" {
		identity = f.impersonate
	}
	return credentials{tokens: newTokenCache(p.expiryWindow(), fetch), source: f.source, identity: identity}
}

// serviceAccountToken supplies ServiceAccount tokens to the exchange.
type serviceAccountToken struct {
	refs      provider.Refs
	sa        provider.ServiceAccount
	audiences []string
}

// tokenRequestError means the ServiceAccount token could not be requested.
type tokenRequestError struct{ err error }

func (e *tokenRequestError) Error() string { return e.err.Error() }
func (e *tokenRequestError) Unwrap() error { return e.err }

// SubjectToken requests a token for the ServiceAccount.
func (s *serviceAccountToken) SubjectToken(ctx context.Context, _ externalaccount.SupplierOptions) (string, error) {
	tok, err := s.refs.RequestToken(ctx, s.sa, s.audiences, tokenExpiration)
	if err != nil {
		return "", &tokenRequestError{err: err}
	}
	return tok, nil
}

// statusBody parses the oauth2 package's "status code N: <body>" errors.
var statusBody = regexp.MustCompile(`status code (\d+): (.*)`)

// explain turns an exchange failure into a *CredentialsError that says
// which step failed and what to grant or fix.
func (f federation) explain(err error) error {
	e := &CredentialsError{Source: f.source, Err: err}
	var tre *tokenRequestError
	if errors.As(err, &tre) {
		e.Step = "requesting a token for ServiceAccount " + f.sa.String()
		var nf *provider.ServiceAccountNotFoundError
		if errors.As(err, &nf) {
			e.Hint = "create the ServiceAccount or fix serviceAccountRef"
		} else {
			e.Hint = "the controller needs permission to create serviceaccounts/token in namespace " + f.sa.Namespace
		}
		return e
	}
	m := statusBody.FindStringSubmatch(err.Error())
	if m == nil {
		e.Step = "exchanging the ServiceAccount token"
		return e
	}
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	_ = json.Unmarshal([]byte(m[2]), &body)
	if len(body.Error) > 0 && body.Error[0] == '{' {
		// IAM Credentials answers {"error": {code, message, status}}.
		e.Step = "impersonating " + f.impersonate + " with IAM Credentials generateAccessToken"
		if strings.Contains(m[2], "PERMISSION_DENIED") {
			e.Hint = fmt.Sprintf("grant %s roles/iam.workloadIdentityUser on the service account %s (it needs iam.serviceAccounts.getAccessToken)", f.member, f.impersonate)
		}
		return e
	}
	// STS answers {"error": "<code>", "error_description": …}.
	e.Step = "exchanging the ServiceAccount token at STS for audience " + f.audience
	switch {
	case strings.Contains(m[2], "invalid_target"):
		e.Hint = "STS knows no workload identity pool provider with this audience: check the cluster project, location and name (and that workload identity is enabled on the cluster)"
	case strings.Contains(m[2], "invalid_grant"):
		e.Hint = fmt.Sprintf("STS rejected the ServiceAccount token (requested with audiences %s): check the pool provider trusts the cluster's issuer and audience", strings.Join(f.tokenAudiences, ", "))
	}
	return e
}
