package gcp

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// defaultExpiryWindow is how long before they expire access tokens are
// refreshed, so that no call carries a token about to lapse and refreshes
// happen off the hot path of most reconciles.
const defaultExpiryWindow = 5 * time.Minute

// credentials is what an auth method produces: a cached access token
// source, and words that say where the tokens come from (for messages;
// never a credential).
type credentials struct {
	tokens *tokenCache
	// source names the credentials, e.g. `the service account key in
	// Secret "ns/gcp" (key "sa.json")`.
	source string
	// identity is who the tokens act as: a Google service account email
	// or an IAM principal, when known.
	identity string
	// project is the project the credentials name (a key's project_id,
	// ADC's project), used when spec.projectID is empty.
	project string
}

// describe returns who the credentials act as, for messages.
func (c credentials) describe() string {
	if c.identity != "" {
		return c.identity + " (" + c.source + ")"
	}
	return c.source
}

// authMethod builds the credentials of a store.
type authMethod interface {
	// credentials reads what the method needs from the cluster (never
	// calling Google) and returns credentials that request tokens on
	// first use.
	credentials(ctx context.Context, p Provider, hc *http.Client, r provider.Refs, spec *esv1.GCPSMProvider) (credentials, error)
}

// selectAuth returns the auth method spec.auth configures, after checking
// that it has what it needs.
func selectAuth(spec *esv1.GCPSMProvider) (authMethod, error) {
	a := spec.Auth
	if a == nil {
		return defaultAuth{}, nil
	}
	n := 0
	for _, set := range []bool{a.SecretRef != nil, a.WorkloadIdentity != nil, a.WorkloadIdentityFederation != nil} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, provider.NewConfigError(field+".auth", "set one of secretRef, workloadIdentity or workloadIdentityFederation")
	case a.SecretRef != nil:
		return newKeyAuth(*a.SecretRef)
	case a.WorkloadIdentity != nil:
		return newWorkloadIdentityAuth(*a.WorkloadIdentity, spec)
	case a.WorkloadIdentityFederation != nil:
		return newFederationAuth(*a.WorkloadIdentityFederation)
	default:
		return defaultAuth{}, nil
	}
}

// expiryWindow returns how long before expiry tokens are refreshed.
func (p Provider) expiryWindow() time.Duration {
	if p.hooks != nil && p.hooks.expiryWindow != nil {
		return *p.hooks.expiryWindow
	}
	return defaultExpiryWindow
}

// withHTTPClient returns ctx carrying hc for the oauth2 package, which
// takes its HTTP client from the context.
func withHTTPClient(ctx context.Context, hc *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// tokenCache holds one store identity's access token and fetches a new one
// when it is within the expiry window of its expiry (or half its lifetime,
// for short-lived tokens) or was rejected. The lock is the store's own:
// stores never wait for each other.
type tokenCache struct {
	fetch  func(ctx context.Context) (*oauth2.Token, error)
	window time.Duration

	mu        sync.Mutex
	tok       *oauth2.Token
	refreshAt time.Time
	fetches   int
}

// newTokenCache caches the tokens fetch returns.
func newTokenCache(window time.Duration, fetch func(ctx context.Context) (*oauth2.Token, error)) *tokenCache {
	return &tokenCache{fetch: fetch, window: window}
}

// token returns a valid access token, fetching one when needed. When a
// refresh fails while the current token is still valid, the current one
// is used and the refresh is tried again on the next call.
func (c *tokenCache) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.tok != nil && (c.tok.Expiry.IsZero() || now.Before(c.refreshAt)) {
		return c.tok.AccessToken, nil
	}
	c.fetches++
	tok, err := c.fetch(ctx)
	if err != nil {
		if c.tok != nil && now.Before(c.tok.Expiry) {
			return c.tok.AccessToken, nil
		}
		return "", err
	}
	c.tok = tok
	if !tok.Expiry.IsZero() {
		window := min(c.window, tok.Expiry.Sub(now)/2)
		c.refreshAt = tok.Expiry.Add(-window)
	}
	return tok.AccessToken, nil
}

// invalidate drops tok if it is the cached token, after Google rejected it.
func (c *tokenCache) invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && c.tok.AccessToken == tok {
		c.tok = nil
	}
}
