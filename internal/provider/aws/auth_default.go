package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// defaultChainAuth uses the SDK's default credential chain (neither
// auth.secretRef nor auth.jwt set): environment variables, the shared
// config and credentials files, web identity (IRSA's
// AWS_WEB_IDENTITY_TOKEN_FILE), EKS Pod Identity and container
// credentials, then the instance role. It is the only method that reads the
// process environment and the shared files, and so the only one that
// honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>.
type defaultChainAuth struct{}

// defaultChainSource names the default chain in messages.
const defaultChainSource = "the SDK default credential chain of the controller (environment, shared config, IRSA, Pod Identity, instance role)"

// session loads the default configuration with the store's region and
// retryer. The HTTP client stays the SDK's own, which honours
// AWS_CA_BUNDLE like the rest of the default configuration.
func (defaultChainAuth) session(ctx context.Context, p Provider, base aws.Config, _ refs, _ *esv1.AWSProvider) (session, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(base.Region),
		config.WithRetryer(base.Retryer),
		config.WithAppID(base.AppID),
	}
	if p.hooks != nil {
		opts = append(opts, p.hooks.defaultChain...)
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return session{}, fmt.Errorf("loading %s: %w", defaultChainSource, err)
	}
	if base.BaseEndpoint != nil {
		cfg.BaseEndpoint = base.BaseEndpoint
	}
	cfg.Credentials = p.cached(labelled{source: defaultChainSource, provider: cfg.Credentials})
	return session{cfg: cfg, source: defaultChainSource}, nil
}

// labelled names the source of credentials in the errors of a provider.
type labelled struct {
	source   string
	provider aws.CredentialsProvider
}

// Retrieve returns the wrapped provider's credentials.
func (l labelled) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if l.provider == nil {
		return aws.Credentials{}, &SourceError{Source: l.source, Err: errNoCredentials}
	}
	c, err := l.provider.Retrieve(ctx)
	if err != nil {
		return c, &SourceError{Source: l.source, Err: err}
	}
	return c, nil
}
