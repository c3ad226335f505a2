package vault

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// This file is the diagnostic API `secretbridge doctor` uses: it explains,
// with the client's own identity and path resolution, who the client is and
// where and how a remote key is read. Nothing here returns a secret value.

// Identity is who a Vault client's token belongs to (auth/token/lookup-self).
type Identity struct {
	// Role is the role the token was issued for, when known.
	Role string `json:"role,omitempty"`
	// User is the user name of userpass logins.
	User string `json:"user,omitempty"`
	// DisplayName is the token's display name.
	DisplayName string `json:"displayName,omitempty"`
	// Policies are the token's policies, sorted.
	Policies []string `json:"policies"`
	// TTL is the TTL the token was created with (0: it does not expire).
	TTL time.Duration `json:"ttl"`
	// ServiceAccount is namespace/name for Kubernetes logins.
	ServiceAccount string `json:"serviceAccount,omitempty"`
}

// String describes the identity, for example
// "role external-secrets-role, policies [default read-prod], ttl 10m".
func (i Identity) String() string {
	return tokenInfo(i).String()
}

// Address returns the Vault address the client talks to.
func (c *Client) Address() string { return c.server }

// Whoami looks the client's token up (lookup-self) and describes it.
func (c *Client) Whoami(ctx context.Context) (Identity, error) {
	info, err := c.lookupSelf(ctx, true)
	if err != nil {
		return Identity{}, err
	}
	pol := info.Policies
	if pol == nil {
		pol = []string{}
	}
	return Identity{Role: info.Role, User: info.User, DisplayName: info.DisplayName, Policies: pol, TTL: info.TTL, ServiceAccount: info.ServiceAccount}, nil
}

// KeyExplanation is where and how a remote key is read, and what the
// client's token may do there. It holds key names, never values.
type KeyExplanation struct {
	// Key is the remote key as written in the ExternalSecret.
	Key string `json:"key"`
	// Mount is the KV mount, for example "secret/".
	Mount string `json:"mount,omitempty"`
	// KVVersion is "v1" or "v2".
	KVVersion string `json:"kvVersion,omitempty"`
	// Path is the exact API path read, for example "secret/data/prod/app-db".
	Path string `json:"path,omitempty"`
	// Guessed says why the mount could not be discovered and was guessed.
	Guessed string `json:"guessed,omitempty"`
	// Interpretations are the readings made on the user's behalf.
	Interpretations []string `json:"interpretations,omitempty"`
	// Capabilities are the token's capabilities on Path (sys/capabilities-self).
	Capabilities []string `json:"capabilities,omitempty"`
	// Need is the capability a read needs on Path.
	Need string `json:"need,omitempty"`
	// Exists is true when the secret could be read.
	Exists bool `json:"exists"`
	// Keys are the secret's top-level keys (names only).
	Keys []string `json:"keys,omitempty"`
	// Raw is the secret as the engine receives it (for property checks by
	// the caller). It is never serialised.
	Raw []byte `json:"-"`
	// Err is why the secret could not be read, when it could not.
	Err error `json:"-"`
}

// CanRead reports whether the capabilities include the one a read needs.
func (k *KeyExplanation) CanRead() bool {
	return slices.Contains(k.Capabilities, k.Need) || slices.Contains(k.Capabilities, "root")
}

// PolicyLine is the Vault policy rule that would grant the read.
func (k *KeyExplanation) PolicyLine() string {
	return (&PermissionDeniedError{Path: k.Path, Need: k.Need}).PolicyLine()
}

// ExplainKey resolves ref's key exactly as a read does (mount discovery, KV
// version, data/ handling), asks Vault what the token may do on the
// resulting path, and reads the secret once to tell whether it exists and
// which keys it has. Read failures are reported in Err, not returned.
func (c *Client) ExplainKey(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (*KeyExplanation, error) {
	var w provider.Warnings
	ctx = provider.WithWarnings(ctx, &w)
	ex := &KeyExplanation{Key: ref.Key, Need: "read"}
	if _, _, err := c.ensureToken(ctx); err != nil {
		return nil, err
	}
	loc, err := c.resolve(ctx, ref.Key)
	if err != nil {
		return nil, err
	}
	ex.Mount, ex.KVVersion, ex.Guessed = loc.mount.path, string(loc.mount.version), loc.hint
	// Read first: on KV v1 the read may switch to the path without data/,
	// and the capabilities must be those of the path really read.
	ref.Property = ""
	raw, readErr := c.GetSecret(ctx, ref)
	ex.Path = loc.dataPath()
	if ref.MetadataPolicyOrDefault() == esv1.MetadataPolicyFetch && loc.mount.version == esv1.VaultKVStoreV2 {
		ex.Path = loc.metadataPath()
	}
	caps, err := c.data.Sys().CapabilitiesSelfWithContext(ctx, ex.Path)
	if err != nil {
		return nil, c.callError("POST", "sys/capabilities-self", err)
	}
	slices.Sort(caps)
	ex.Capabilities = caps
	ex.Interpretations = w.List()
	if readErr != nil {
		ex.Err = readErr
		return ex, nil
	}
	ex.Exists, ex.Raw = true, raw
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		for k := range m {
			ex.Keys = append(ex.Keys, k)
		}
		slices.Sort(ex.Keys)
	}
	return ex, nil
}

// IsPermissionDenied reports whether err is a 403 on a read, explained.
func IsPermissionDenied(err error) bool {
	var pd *PermissionDeniedError
	return errors.As(err, &pd)
}

// TLSConfig returns the TLS configuration a client of store uses to reach
// Vault (caBundle or caProvider, client certificates), for connection
// checks that run before any login. namespace is the ExternalSecret's.
func TLSConfig(ctx context.Context, store provider.Store, kube client.Client, namespace string) (*tls.Config, error) {
	spec := store.StoreSpec().Provider.Vault
	if spec == nil {
		return nil, provider.NewConfigError(field, "the store configures no vault provider")
	}
	c := &Client{spec: spec, server: strings.TrimRight(spec.Server, "/"), refs: refs{provider.Refs{Kube: kube, Store: store, Referent: namespace}}}
	auth, err := selectAuth(spec.Auth, spec.Path)
	if err != nil {
		return nil, err
	}
	c.auth = auth
	return c.tlsConfig(ctx)
}

// NetworkKind returns the kind of network failure err carries, if any.
func NetworkKind(err error) (NetworkErrorKind, bool) {
	var ne *NetworkError
	if errors.As(err, &ne) {
		return ne.Kind, true
	}
	return "", false
}

// ClassifyNetwork describes a transport failure to addr the way the client
// does (DNS, refused, timeout, TLS unknown CA…); nil when err is nil.
func ClassifyNetwork(addr, op string, err error) *NetworkError {
	return classifyNetwork(addr, op, err)
}
