package aws

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// defaultExpiryWindow is how long before they expire temporary credentials
// are refreshed, so that no request is signed with credentials about to
// lapse and refreshes happen off the hot path of most reconciles.
const defaultExpiryWindow = 5 * time.Minute

// sessionDuration is the lifetime requested for assumed-role sessions: one
// hour, the most a chained role may have and the least any role allows.
const sessionDuration = time.Hour

// sessionName is the RoleSessionName of every session this provider opens;
// it shows in CloudTrail next to the role.
const sessionName = "secretbridge"

// session is what an auth method produces: an SDK configuration with
// credentials, and words that say where the credentials come from (for
// error messages; never a credential).
type session struct {
	cfg aws.Config
	// source names the credentials, e.g. `static keys from Secret
	// "ns/aws" (keys "id", "secret")`.
	source string
	// staticToken is set when the credentials are a static session token
	// (they expire and only the user can replace them).
	staticToken bool
	// roleAssumed is set when the auth method itself assumed spec.role
	// (jwt without the role annotation), so it is not assumed again.
	roleAssumed bool
	// roles are the roles assumed on top of the base credentials, in
	// order, for messages.
	roles []string
	// transport is the HTTP transport of every SDK client of the session,
	// closed with the client.
	transport *http.Transport
}

// authMethod builds the base session of a store.
type authMethod interface {
	// session resolves the method's credentials (reading Secrets and the
	// ServiceAccount, never calling AWS) and returns the session.
	session(ctx context.Context, p Provider, base aws.Config, r refs, spec *esv1.AWSProvider) (session, error)
}

// selectAuth returns the auth method spec.auth configures, after checking
// it has what it needs.
func selectAuth(spec *esv1.AWSProvider) (authMethod, error) {
	a := spec.Auth
	switch {
	case a == nil || (a.SecretRef == nil && a.JWTAuth == nil):
		return defaultChainAuth{}, nil
	case a.SecretRef != nil && a.JWTAuth != nil:
		return nil, provider.NewConfigError(field+".auth", "set secretRef or jwt, not both")
	case a.SecretRef != nil:
		return newSecretRefAuth(*a.SecretRef)
	default:
		return newJWTAuth(*a.JWTAuth)
	}
}

// baseConfig returns the SDK configuration every client of a store starts
// from: region, HTTP client (its transport is returned to be closed with the
// client), retryer and, in tests, the endpoint. It holds no credentials and
// reads nothing from the environment.
func (p Provider) baseConfig(region string, rs *esv1.SecretStoreRetrySettings) (aws.Config, *http.Transport, error) {
	attempts, wait, err := retrySettings(rs)
	if err != nil {
		return aws.Config{}, nil, err
	}
	if p.hooks != nil && p.hooks.backoff > 0 && wait == 0 {
		wait = p.hooks.backoff
	}
	transport := awshttp.NewBuildableClient().GetTransport()
	cfg := aws.Config{
		Region:     region,
		HTTPClient: &http.Client{Transport: transport},
		AppID:      "secretbridge",
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				if attempts > 0 {
					o.MaxAttempts = attempts
				}
				if wait > 0 {
					o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return wait, nil })
				}
			})
		},
	}
	if ep := provider.EndpointOverride(endpointName); ep != "" {
		cfg.BaseEndpoint = aws.String(ep)
	}
	if p.hooks != nil && p.hooks.endpoint != "" {
		cfg.BaseEndpoint = aws.String(p.hooks.endpoint)
	}
	return cfg, transport, nil
}

// expiryWindow returns how long before expiry credentials are refreshed.
func (p Provider) expiryWindow() time.Duration {
	if p.hooks != nil && p.hooks.expiryWindow != nil {
		return *p.hooks.expiryWindow
	}
	return defaultExpiryWindow
}

// cached wraps a credentials provider in the SDK's cache, which refreshes
// the credentials expiryWindow before they expire and lets concurrent
// callers share one refresh.
func (p Provider) cached(cp aws.CredentialsProvider) aws.CredentialsProvider {
	window := p.expiryWindow()
	return aws.NewCredentialsCache(cp, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = window
		if window > 0 {
			o.ExpiryWindowJitterFrac = 0.2
		}
	})
}
