package azure

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// credential is what an auth method produces: an azidentity credential and
// words that say who it is (for messages; never a credential).
type credential struct {
	azcore.TokenCredential
	// source says where the credential comes from, e.g. `service
	// principal 1111… (client secret from Secret "ns/azure")`.
	source string
	// identity names the principal: "client <id> in tenant <id>" or
	// "managed identity <id>".
	identity string
	// kind is the auth type, for hints.
	kind esv1.AzureAuthType
}

// credentialOptions are the SDK options every credential is built with.
type credentialOptions struct {
	client azcore.ClientOptions
	// disableInstanceDiscovery skips Entra ID instance discovery, which
	// always asks login.microsoftonline.com: with an authority override,
	// the override is authoritative.
	disableInstanceDiscovery bool
}

// authMethod builds the credential of a store.
type authMethod interface {
	// credential resolves the method's inputs (reading Secrets and the
	// ServiceAccount, never calling Azure) and returns the credential.
	credential(ctx context.Context, r refs, spec *esv1.AzureKVProvider, env environment, opts credentialOptions) (credential, error)
}

// selectAuth returns the auth method authType configures, after checking
// the store has what it needs.
func selectAuth(spec *esv1.AzureKVProvider) (authMethod, error) {
	switch t := spec.AuthTypeOrDefault(); t {
	case esv1.AzureServicePrincipal:
		return newServicePrincipalAuth(spec)
	case esv1.AzureWorkloadIdentity:
		return newWorkloadIdentityAuth(spec)
	case esv1.AzureManagedIdentity:
		return newManagedIdentityAuth(spec)
	default:
		return nil, provider.NewConfigError(field+".authType", "%q is not an auth type: use ServicePrincipal, WorkloadIdentity or ManagedIdentity", t)
	}
}

// clientOptions returns the SDK options of every client of a store: the
// shared transport, retries per spec.retrySettings (the SDK honours
// Retry-After on 429 and 503) and, in tests, short retry delays.
func (p Provider) clientOptions(t *redirectTransport, rs retry) azcore.ClientOptions {
	o := azcore.ClientOptions{Transport: t}
	// MaxRetryDelay stays the SDK's 60s: a Retry-After longer than that is
	// not waited for in a reconcile; the engine's backoff takes over.
	o.Retry = policy.RetryOptions{MaxRetries: rs.maxRetries, RetryDelay: rs.delay}
	if p.hooks != nil && p.hooks.retryDelay > 0 && rs.delay == 0 {
		o.Retry.RetryDelay = p.hooks.retryDelay
	}
	// Telemetry names the caller in Azure's logs.
	o.Telemetry.ApplicationID = "secretbridge"
	return o
}

// tokenLifetime is the lifetime requested for ServiceAccount tokens (the
// TokenRequest API's minimum): a token is used once, as the client
// assertion of one Entra ID token request.
const tokenLifetime int64 = 600

// assertionTimeout bounds one TokenRequest, so that a stuck API server does
// not hold a Key Vault read for the SDK's whole timeout.
const assertionTimeout = 30 * time.Second
