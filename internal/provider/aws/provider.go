package aws

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// Name is the provider's name: its field under spec.provider.
const Name = "aws"

const field = "spec.provider.aws"

// endpointName is the --endpoint-override name of the base URL of every AWS
// service the provider calls (STS, Secrets Manager, SSM).
const endpointName = "aws"

func init() {
	provider.Register(Name, Provider{}, func(p *esv1.SecretStoreProvider) bool { return p.AWS != nil })
	provider.RegisterEndpoint(endpointName, "base URL of STS, Secrets Manager and SSM, e.g. a VPC endpoint")
}

// Provider builds AWS clients from spec.provider.aws.
type Provider struct {
	// hooks are seams for this package's tests; the registered Provider
	// has none.
	hooks *hooks
}

// hooks let tests point the SDK at an in-process server and shorten its
// waits, without environment variables (tests run in parallel).
type hooks struct {
	// endpoint is the BaseEndpoint of every AWS service.
	endpoint string
	// backoff replaces the retryer's exponential backoff.
	backoff time.Duration
	// expiryWindow, when set, replaces how long before expiry temporary
	// credentials are refreshed.
	expiryWindow *time.Duration
	// defaultChain are extra options for the SDK's default chain.
	defaultChain []func(*config.LoadOptions) error
}

// Capabilities reports that AWS stores are read only (PushSecret is not
// implemented yet).
func (Provider) Capabilities() esv1.SecretStoreCapabilities { return esv1.SecretStoreReadOnly }

var (
	// regionPattern is what an AWS region looks like (us-east-1,
	// us-gov-west-1, cn-north-1, eu-central-2…).
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// roleARNPattern is what an IAM role ARN looks like.
	roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`)
	// externalIDPattern is what sts:AssumeRole accepts as ExternalId.
	externalIDPattern = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// ValidateStore checks spec.provider.aws without any network call: the
// service, the region, the role ARNs, the external ID and session tags, the
// auth method, and spec.retrySettings.
func (Provider) ValidateStore(store provider.Store) error {
	spec := store.StoreSpec().Provider.AWS
	if spec == nil {
		return provider.NewConfigError(field, "the store configures no aws provider")
	}
	switch spec.Service {
	case esv1.AWSServiceSecretsManager, esv1.AWSServiceParameterStore:
	case esv1.AWSServiceCertificateManager:
		return provider.NewConfigError(field+".service", "CertificateManager is not supported by secretbridge yet: use SecretsManager or ParameterStore")
	case "":
		return provider.NewConfigError(field+".service", "is empty: set SecretsManager or ParameterStore")
	default:
		return provider.NewConfigError(field+".service", "%q is not an AWS service: use SecretsManager or ParameterStore", spec.Service)
	}
	if spec.Region == "" {
		return provider.NewConfigError(field+".region", "is empty: set the AWS region of the secrets, for example eu-west-1")
	}
	if !regionPattern.MatchString(spec.Region) {
		return provider.NewConfigError(field+".region", "%q is not an AWS region (for example eu-west-1)", spec.Region)
	}
	if spec.Role != "" && !roleARNPattern.MatchString(spec.Role) {
		return provider.NewConfigError(field+".role", "%q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", spec.Role)
	}
	for i, r := range spec.AdditionalRoles {
		if !roleARNPattern.MatchString(r) {
			return provider.NewConfigError(fmt.Sprintf("%s.additionalRoles[%d]", field, i), "%q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", r)
		}
	}
	if id := spec.ExternalID; id != "" && (len(id) < 2 || len(id) > 1224 || !externalIDPattern.MatchString(id)) {
		return provider.NewConfigError(field+".externalID", "must be 2 to 1224 characters of letters, digits and +=,.@:/-")
	}
	if err := checkSessionTags(spec); err != nil {
		return err
	}
	if _, err := selectAuth(spec); err != nil {
		return err
	}
	if _, _, err := retrySettings(store.StoreSpec().RetrySettings); err != nil {
		return err
	}
	return nil
}

// checkSessionTags checks sessionTags, sessionTagsPolicy, customSessionTags
// and transitiveTagKeys.
func checkSessionTags(spec *esv1.AWSProvider) error {
	switch spec.SessionTagsPolicyOrDefault() {
	case esv1.AWSSessionTagsPolicyNone, esv1.AWSSessionTagsPolicySimple, esv1.AWSSessionTagsPolicyCustom:
	default:
		return provider.NewConfigError(field+".sessionTagsPolicy", "%q is not a policy: use None, Simple or Custom", spec.SessionTagsPolicy)
	}
	seen := map[string]bool{}
	for i, t := range spec.SessionTags {
		if t.Key == "" {
			return provider.NewConfigError(fmt.Sprintf("%s.sessionTags[%d].key", field, i), "is empty")
		}
		if seen[t.Key] {
			return provider.NewConfigError(fmt.Sprintf("%s.sessionTags[%d].key", field, i), "%q is listed twice", t.Key)
		}
		seen[t.Key] = true
	}
	if len(spec.SessionTags)+len(spec.CustomSessionTags)+3 > 50 {
		return provider.NewConfigError(field+".sessionTags", "AWS accepts at most 50 session tags")
	}
	if (len(spec.SessionTags) > 0 || len(spec.TransitiveTagKeys) > 0 || spec.SessionTagsPolicyOrDefault() != esv1.AWSSessionTagsPolicyNone) && spec.Role == "" {
		return provider.NewConfigError(field+".sessionTags", "session tags are passed when assuming role: set role, or remove sessionTags, transitiveTagKeys and sessionTagsPolicy")
	}
	return nil
}

// retrySettings returns the SDK's maximum number of attempts (0: the SDK's
// default of 3) and a fixed wait between them (0: the SDK's exponential
// backoff) from spec.retrySettings.
func retrySettings(rs *esv1.SecretStoreRetrySettings) (attempts int, wait time.Duration, err error) {
	retries, wait, err := provider.RetrySettings(rs)
	if err != nil || retries < 0 {
		return 0, wait, err
	}
	return retries + 1, wait, nil
}

// NewClient builds a client for store as used from namespace (the
// ExternalSecret's namespace). Credential Secrets are read and the
// ServiceAccount is looked up now; AWS is called on first use. A
// ClusterSecretStore whose credentials resolve in the ExternalSecret's
// namespace cannot be built without one (provider.ErrNoReferentNamespace).
func (p Provider) NewClient(ctx context.Context, store provider.Store, kube client.Client, namespace string) (provider.Client, error) {
	if err := p.ValidateStore(store); err != nil {
		return nil, err
	}
	spec := store.StoreSpec().Provider.AWS
	auth, err := selectAuth(spec)
	if err != nil {
		return nil, err
	}
	base, transport, err := p.baseConfig(spec.Region, store.StoreSpec().RetrySettings)
	if err != nil {
		return nil, err
	}
	r := refs{provider.Refs{Kube: kube, Store: store, Referent: namespace}}
	sess, err := auth.session(ctx, p, base, r, spec)
	if err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	if sess.cfg.HTTPClient == base.HTTPClient {
		sess.transport = transport
	}
	sess = p.assumeRoles(sess, spec, store, namespace)
	return newClient(spec, sess), nil
}
