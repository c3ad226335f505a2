package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// The retry defaults for ResourceExhausted and Unavailable answers:
// exponential backoff from defaultBackoff, at most defaultRetries retries.
const (
	defaultBackoff = time.Second
	maxBackoff     = 30 * time.Second
	defaultRetries = 4
	// callTimeout bounds one call, retries included.
	callTimeout = time.Minute
)

// Client reads one Secret Manager store for one identity. It is safe for
// concurrent use; its access token is cached and refreshed before it
// expires.
type Client struct {
	project  string
	location string
	policy   esv1.SecretVersionSelectionPolicy
	creds    credentials
	conn     *grpc.ClientConn
	sm       *secretmanager.Client

	httpClient *http.Client
}

// newClient dials Secret Manager for project and sets the retry policy of
// every call this provider makes.
func (p Provider) newClient(ctx context.Context, spec *esv1.GCPSMProvider, project string, creds credentials, retries int, wait time.Duration) (*Client, error) {
	target, err := p.secretManagerTarget(spec.Location)
	if err != nil {
		return nil, err
	}
	// The connection is ours so that its TLS roots are explicit (the
	// system's, which honour SSL_CERT_FILE; a test CA in tests) and the
	// token is attached per call by authorize, where a failure to get one
	// keeps its type instead of becoming a transport error.
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(grpccreds.NewTLS(p.tlsConfig())), grpc.WithUserAgent("secretbridge"))
	if err != nil {
		return nil, fmt.Errorf("connecting to Secret Manager at %s: %w", target, err)
	}
	sm, err := secretmanager.NewClient(ctx, option.WithGRPCConn(conn))
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("creating the Secret Manager client: %w", err)
	}
	if retries < 0 {
		retries = defaultRetries
	}
	if wait == 0 {
		wait = defaultBackoff
		if p.hooks != nil && p.hooks.backoff > 0 {
			wait = p.hooks.backoff
		}
	}
	opts := []gax.CallOption{
		gax.WithTimeout(callTimeout),
		gax.WithRetry(func() gax.Retryer {
			return &limitedRetryer{left: retries, inner: gax.OnCodes([]codes.Code{codes.ResourceExhausted, codes.Unavailable},
				gax.Backoff{Initial: wait, Max: max(wait, maxBackoff), Multiplier: 2})}
		}),
	}
	sm.CallOptions.AccessSecretVersion = opts
	sm.CallOptions.GetSecret = opts
	sm.CallOptions.ListSecrets = opts
	sm.CallOptions.ListSecretVersions = opts
	return &Client{project: project, location: spec.Location, policy: spec.SecretVersionSelectionPolicyOrDefault(), creds: creds, conn: conn, sm: sm}, nil
}

// limitedRetryer stops retrying after a number of retries.
type limitedRetryer struct {
	left  int
	inner gax.Retryer
}

// Retry implements gax.Retryer.
func (r *limitedRetryer) Retry(err error) (time.Duration, bool) {
	if r.left <= 0 {
		return 0, false
	}
	r.left--
	return r.inner.Retry(err)
}

// authorize returns ctx carrying the bearer token and the token itself.
func (c *Client) authorize(ctx context.Context) (context.Context, string, error) {
	tok, err := c.creds.tokens.token(ctx)
	if err != nil {
		return ctx, "", err
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), tok, nil
}

// do runs one call with a bearer token; when Google answers
// Unauthenticated (the token expired early or was revoked) the token is
// dropped and the call made once more with a new one.
func do[T any](ctx context.Context, c *Client, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		actx, tok, err := c.authorize(ctx)
		if err != nil {
			return zero, err
		}
		v, err := fn(actx)
		if attempt == 0 && status.Code(err) == codes.Unauthenticated {
			c.creds.tokens.invalidate(tok)
			continue
		}
		return v, err
	}
}

// GetSecret returns the payload of the version ref names (version empty
// or "latest": the newest; "N" or "versions/N": that one) of the secret
// ref.Key names (a secret ID or a full resource name); under
// metadataPolicy Fetch the secret's labels and annotations as a JSON
// object {"annotations": {…}, "labels": {…}}. ref.Property is applied by
// the caller. A missing secret or version is a *provider.NotFoundError.
func (c *Client) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	name, err := c.secretName(ref.Key)
	if err != nil {
		return nil, err
	}
	if ref.MetadataPolicyOrDefault() == esv1.MetadataPolicyFetch {
		return c.metadata(ctx, ref.Key, name)
	}
	version, err := parseVersion(ref.Version)
	if err != nil {
		return nil, err
	}
	return c.access(ctx, ref.Key, name, version)
}

// GetSecretMap returns the top-level keys of the JSON object ref selects
// (after ref.Property, when set): strings raw, other values as JSON.
func (c *Client) GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (map[string][]byte, error) {
	value, err := c.GetSecret(ctx, ref)
	if err != nil {
		return nil, err
	}
	if value, err = shape.Property(value, ref.Property); err != nil {
		return nil, fmt.Errorf("selecting property of secret %q: %w", ref.Key, err)
	}
	m, err := shape.Extract(value)
	if err != nil {
		return nil, fmt.Errorf("splitting secret %q into keys: %w", ref.Key, err)
	}
	return m, nil
}

// GetAllSecrets returns the newest version of every secret of the project
// (and location) that find matches, keyed by secret ID: find.name.regexp
// must match the ID, find.path is an ID prefix, and every find.tags pair
// must be among the secret's labels.
func (c *Client) GetAllSecrets(ctx context.Context, find esv1.ExternalSecretFind) (map[string][]byte, error) {
	m, err := newFinder(find)
	if err != nil {
		return nil, err
	}
	return c.find(ctx, m)
}

// Validate gets an access token (proving the credentials) and lists one
// secret of the project (proving the identity may use Secret Manager
// there). Credentials that yield no token fail the validation; a denied
// list makes it Unknown, since an identity with only
// roles/secretmanager.secretAccessor may still read the secrets it is
// granted one by one.
func (c *Client) Validate(ctx context.Context) (provider.Validation, error) {
	id := c.creds.describe()
	if _, err := c.creds.tokens.token(ctx); err != nil {
		return provider.Validation{Result: provider.ValidationFailed}, err
	}
	if err := c.probe(ctx); err != nil {
		var denied *PermissionDeniedError
		if errors.As(err, &denied) {
			return provider.Validation{Result: provider.ValidationUnknown, Identity: id},
				fmt.Errorf("authenticated as %s, but read access cannot be proven: %w", id, err)
		}
		return provider.Validation{Result: provider.ValidationFailed, Identity: id}, err
	}
	return provider.Validation{Result: provider.ValidationReady, Identity: id}, nil
}

// Close closes the connection and the token client's idle connections.
func (c *Client) Close(context.Context) error {
	if c.httpClient != nil {
		c.httpClient.CloseIdleConnections()
	}
	return c.conn.Close()
}
