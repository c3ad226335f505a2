package azure

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// Client reads one Key Vault for one identity. It is safe for concurrent
// use; its tokens are cached and refreshed by the SDK.
type Client struct {
	vaultURL  string
	vault     string // the vault's name, for messages
	env       environment
	cred      credential
	secrets   *azsecrets.Client
	keys      *azkeys.Client
	certs     *azcore.Client
	transport *redirectTransport
}

// newClient builds the SDK clients of one vault. They share the
// credential, so one Entra ID token serves secrets, keys and certificates.
func newClient(vaultURL *url.URL, env environment, cred credential, opts azcore.ClientOptions, t *redirectTransport) (*Client, error) {
	base := vaultURL.Scheme + "://" + vaultURL.Host
	c := &Client{vaultURL: base, vault: vaultName(vaultURL), env: env, cred: cred, transport: t}
	var err error
	// The challenge check stays on: Key Vault's challenge must name a
	// resource the vault's host belongs to, else no token is sent.
	if c.secrets, err = azsecrets.NewClient(base, cred, &azsecrets.ClientOptions{ClientOptions: opts}); err != nil {
		return nil, fmt.Errorf("creating the Key Vault secrets client for %s: %w", base, err)
	}
	if c.keys, err = azkeys.NewClient(base, cred, &azkeys.ClientOptions{ClientOptions: opts}); err != nil {
		return nil, fmt.Errorf("creating the Key Vault keys client for %s: %w", base, err)
	}
	// Certificates are read with GET /certificates/{name}/{version} through
	// an azcore pipeline (the azcertificates module is not available to
	// this build). Its bearer policy asks for the cloud's Key Vault scope
	// up front instead of answering a challenge; the token is the one the
	// secrets client uses (same credential, scope and tenant).
	if c.certs, err = azcore.NewClient("secretbridge.azure", "v1.0.0", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{env.scope()}, nil)},
	}, &opts); err != nil {
		return nil, fmt.Errorf("creating the Key Vault certificates client for %s: %w", base, err)
	}
	return c, nil
}

// GetSecret returns the object ref names (ref.Property is applied by the
// caller): a secret's value, a certificate's DER bytes or a key's JWK JSON;
// under metadataPolicy Fetch its tags (and attributes) as a JSON object. A
// missing object or version is a *provider.NotFoundError.
func (c *Client) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	obj, err := parseKey(ref.Key)
	if err != nil {
		return nil, err
	}
	return c.get(ctx, obj, ref.Version, ref.MetadataPolicy == esv1.MetadataPolicyFetch)
}

// GetSecretMap returns the top-level keys of the JSON object ref selects
// (after ref.Property, when set): strings raw, other values as JSON.
func (c *Client) GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (map[string][]byte, error) {
	value, err := c.GetSecret(ctx, ref)
	if err != nil {
		return nil, err
	}
	if value, err = shape.Property(value, ref.Property); err != nil {
		return nil, fmt.Errorf("selecting property of %q in Key Vault %s: %w", ref.Key, c.vault, err)
	}
	m, err := shape.Extract(value)
	if err != nil {
		return nil, fmt.Errorf("splitting %q of Key Vault %s into keys: %w", ref.Key, c.vault, err)
	}
	return m, nil
}

// Validate proves the credential and read access with the cheapest read
// Key Vault offers: one page of secret properties (names and attributes,
// no value). A rejected credential fails the validation; a denied list only
// makes it Unknown, since the identity may still be allowed to read the
// secrets it is granted one by one (get without list).
func (c *Client) Validate(ctx context.Context) (provider.Validation, error) {
	pager := c.secrets.NewListSecretPropertiesPager(nil)
	_, err := pager.NextPage(ctx)
	if err == nil {
		return provider.Validation{Result: provider.ValidationReady, Identity: c.cred.identity}, nil
	}
	err = c.wrapError(err, call{op: opList, kind: kindSecret})
	var denied *AccessDeniedError
	if errors.As(err, &denied) {
		return provider.Validation{Result: provider.ValidationUnknown, Identity: c.cred.identity},
			fmt.Errorf("signed in as %s, but read access cannot be proven: %w", c.cred.identity, err)
	}
	return provider.Validation{Result: provider.ValidationFailed, Identity: c.cred.identity}, err
}

// Close releases the client's idle connections.
func (c *Client) Close(context.Context) error {
	c.transport.CloseIdleConnections()
	return nil
}
