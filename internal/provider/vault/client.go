package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"golang.org/x/sync/singleflight"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// Client reads one Vault store for one identity. It is safe for concurrent
// use; it holds one token for its whole life (see token.go).
type Client struct {
	spec   *esv1.VaultProvider
	server string // spec.server without a trailing slash, for messages
	refs   refs
	ctrl   provider.Controller
	auth   authMethod

	transport *http.Transport
	data      *vaultapi.Client // reads: spec.namespace, our token
	login     *vaultapi.Client // logins: auth namespace, no token
	// newTokenAPI builds a client for a token's own endpoints (tokenState.api).
	newTokenAPI func(token string) (*vaultapi.Client, error)

	loginMu sync.Mutex // serialises logins and renewals; taken before tokenMu
	tokenMu sync.Mutex // guards tok, never held across a call to Vault
	tok     tokenState

	stopRenw  chan struct{} // closed by Close
	renwDone  chan struct{} // closed when the renewal loop ends; nil without one
	closeOnce sync.Once

	interpMu sync.Mutex
	interp   []string // interpretations the current token relies on
	pending  []string // interpretations of the login in progress (under loginMu)

	mountsMu   sync.Mutex
	mounts     map[string]mountLookup // sys/internal/ui/mounts answers by path
	mountCalls singleflight.Group     // lookups in flight, by path
	keysMu     sync.Mutex
	keys       map[string]*location // resolved keys
}

var _ provider.Client = (*Client)(nil)

// interpret records an interpretation made by the login in progress
// (auth methods call it with loginMu held). Once the login succeeds, it is
// reported on every read until the next login.
func (c *Client) interpret(msg string) {
	if !slices.Contains(c.pending, msg) {
		c.pending = append(c.pending, msg)
	}
}

// reportInterpretations reports the authentication interpretations on ctx.
func (c *Client) reportInterpretations(ctx context.Context) {
	c.interpMu.Lock()
	msgs := append([]string(nil), c.interp...)
	c.interpMu.Unlock()
	for _, m := range msgs {
		provider.Warn(ctx, m)
	}
}

// GetSecret returns the data of the secret ref.Key as a JSON object (for
// KV v2 the inner data.data object), or with metadataPolicy Fetch its
// metadata: custom_metadata plus created_time, current_version and
// delete_version_after, as strings (as upstream). ref.Property is applied
// if set, though the engine calls with it empty and applies it itself.
func (c *Client) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	c.reportInterpretations(ctx)
	loc, err := c.resolve(ctx, ref.Key)
	if err != nil {
		return nil, err
	}
	loc.report(ctx)
	var data map[string]any
	if ref.MetadataPolicyOrDefault() == esv1.MetadataPolicyFetch {
		if ref.Version != "" {
			return nil, provider.NewConfigError("remoteRef.version", "metadataPolicy Fetch reads the metadata of all versions; remove version %q", ref.Version)
		}
		meta, err := c.readMetadata(ctx, ref.Key, loc)
		if err != nil {
			return nil, err
		}
		data = make(map[string]any, len(meta))
		for k, v := range meta {
			data[k] = v
		}
	} else {
		if data, err = c.readData(ctx, ref.Key, ref.Version, loc); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encoding the data of key %q: %w", ref.Key, err)
	}
	if ref.Property == "" {
		return raw, nil
	}
	return shape.Property(raw, ref.Property)
}

// GetSecretMap returns the top-level keys of the secret ref.Key (after
// ref.Property, if set): strings raw, other values as JSON text.
func (c *Client) GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (map[string][]byte, error) {
	raw, err := c.GetSecret(ctx, ref)
	if err != nil {
		return nil, err
	}
	m, err := shape.Extract(raw)
	if err != nil {
		return nil, fmt.Errorf("splitting Vault secret %q into keys: %w", ref.Key, err)
	}
	return m, nil
}

// Validate proves that the token works by looking it up (lookup-self) and
// describes it: role, policies, TTL and, for Kubernetes logins, the
// ServiceAccount.
func (c *Client) Validate(ctx context.Context) (provider.Validation, error) {
	c.reportInterpretations(ctx)
	info, err := c.lookupSelf(ctx, true)
	if err != nil {
		return provider.Validation{Result: provider.ValidationFailed}, err
	}
	return provider.Validation{Result: provider.ValidationReady, Identity: info.String()}, nil
}

// Close stops the token renewal and revokes the token if this client
// created it by logging in; a token read from tokenSecretRef is left
// alone.
func (c *Client) Close(ctx context.Context) error {
	var err error
	c.closeOnce.Do(func() {
		close(c.stopRenw)
		if c.renwDone != nil {
			<-c.renwDone
		}
		// A login in flight finishes first, so its token is revoked too.
		c.loginMu.Lock()
		c.tokenMu.Lock()
		tok := c.tok
		c.tok = tokenState{}
		c.tokenMu.Unlock()
		c.loginMu.Unlock()
		if tok.created && tok.api != nil && !tok.expired(time.Now()) {
			err = c.revoke(ctx, tok)
		}
		c.data.ClearToken()
		c.closeIdle()
	})
	return err
}
