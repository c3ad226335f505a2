package aws

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// Client reads one AWS store for one identity. It is safe for concurrent
// use; its credentials are cached and refreshed by the SDK.
type Client struct {
	service string // "Secrets Manager" or "Parameter Store", for messages
	noun    string // "secret" or "parameter", for messages
	region  string
	prefix  string
	sess    session
	sts     *sts.Client
	reader  reader
}

// reader is what differs between Secrets Manager and Parameter Store.
type reader interface {
	// get returns one remote secret's value, or its tags as a JSON object
	// under metadataPolicy Fetch.
	get(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error)
	// find returns every remote secret that m matches, keyed by name.
	find(ctx context.Context, m finder) (map[string][]byte, error)
	// probe makes the cheapest read that proves the identity may read
	// the store.
	probe(ctx context.Context) error
}

// newClient builds the SDK clients of a session for spec.service.
func newClient(spec *esv1.AWSProvider, sess session) *Client {
	c := &Client{region: spec.Region, prefix: spec.Prefix, sess: sess, sts: sts.NewFromConfig(sess.cfg)}
	if spec.Service == esv1.AWSServiceParameterStore {
		c.service, c.noun = "Parameter Store", "parameter"
		c.reader = &parameterStore{c: c, api: ssm.NewFromConfig(sess.cfg)}
	} else {
		c.service, c.noun = "Secrets Manager", "secret"
		c.reader = &secretsManager{c: c, api: secretsmanager.NewFromConfig(sess.cfg)}
	}
	return c
}

// GetSecret returns the whole remote secret ref names (ref.Property is
// applied by the caller): a SecretString or parameter value as it is, a
// SecretBinary as its bytes; under metadataPolicy Fetch its tags as a JSON
// object. A missing secret or version is a *provider.NotFoundError.
func (c *Client) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	return c.reader.get(ctx, ref)
}

// GetSecretMap returns the top-level keys of the JSON object ref selects
// (after ref.Property, when set): strings raw, other values as JSON.
func (c *Client) GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (map[string][]byte, error) {
	value, err := c.GetSecret(ctx, ref)
	if err != nil {
		return nil, err
	}
	if value, err = shape.Property(value, ref.Property); err != nil {
		return nil, fmt.Errorf("selecting property of %s %q: %w", c.noun, ref.Key, err)
	}
	m, err := shape.Extract(value)
	if err != nil {
		return nil, fmt.Errorf("splitting %s %q into keys: %w", c.noun, ref.Key, err)
	}
	return m, nil
}

// GetAllSecrets returns every remote secret that find matches, keyed by its
// full name: find.path (after the store's prefix) is a name prefix for
// Secrets Manager and a hierarchy for Parameter Store, find.name.regexp
// must match the name, and every find.tags pair must be on the secret.
func (c *Client) GetAllSecrets(ctx context.Context, find esv1.ExternalSecretFind) (map[string][]byte, error) {
	m, err := newFinder(find, c.prefix)
	if err != nil {
		return nil, err
	}
	return c.reader.find(ctx, m)
}

// Validate proves the credentials with sts:GetCallerIdentity (which needs
// no permission) and then read access with the cheapest list call of the
// service. Rejected credentials fail the validation; a denied list call
// only makes it Unknown, since the identity may still read the secrets it
// is granted one by one.
func (c *Client) Validate(ctx context.Context) (provider.Validation, error) {
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return provider.Validation{Result: provider.ValidationFailed}, c.wrapError(err, call{service: "STS", action: "sts:GetCallerIdentity", id: "*"})
	}
	id := aws.ToString(out.Arn)
	if err := c.reader.probe(ctx); err != nil {
		var denied *AccessDeniedError
		if errors.As(err, &denied) {
			return provider.Validation{Result: provider.ValidationUnknown, Identity: id},
				fmt.Errorf("authenticated as %s, but read access cannot be proven: %w", id, err)
		}
		return provider.Validation{Result: provider.ValidationFailed, Identity: id}, err
	}
	return provider.Validation{Result: provider.ValidationReady, Identity: id}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close(context.Context) error {
	if c.sess.transport != nil {
		c.sess.transport.CloseIdleConnections()
	}
	return nil
}

// payload returns a secret's SecretString, else its SecretBinary.
func payload(str *string, bin []byte) ([]byte, bool) {
	switch {
	case str != nil:
		return []byte(*str), true
	case bin != nil:
		return bin, true
	default:
		return nil, false
	}
}
