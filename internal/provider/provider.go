// Package provider declares what the sync engine needs from a secret manager
// and how providers plug in: a Provider turns a store into a Client for one
// identity; a Client reads secrets. Providers register themselves by the name
// of their field under spec.provider (vault, aws, gcpsm, azurekv, kubernetes,
// fake). SDK clients are built only inside the provider packages.
package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// Store is a SecretStore or a ClusterSecretStore.
type Store interface {
	client.Object
	// StoreSpec returns the store's spec.
	StoreSpec() *esv1.SecretStoreSpec
	// StoreStatus returns the store's status.
	StoreStatus() *esv1.SecretStoreStatus
	// StoreKind returns "SecretStore" or "ClusterSecretStore".
	StoreKind() string
}

// Client reads secrets from one store for one identity. Implementations are
// safe for concurrent use; the engine shares one client between reconciles.
type Client interface {
	// GetSecret returns the raw value of one remote secret (for a structured
	// secret, its JSON; the caller applies ref.Property, unless the client
	// is a PropertyResolver that reports it applies it itself).
	GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error)
	// GetSecretMap returns the top-level keys of one remote secret as a map.
	// When ref.Property is set, the provider first selects that property
	// and splits the JSON object it selects.
	GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (map[string][]byte, error)
	// GetAllSecrets returns every remote secret matching find, keyed by name.
	GetAllSecrets(ctx context.Context, find esv1.ExternalSecretFind) (map[string][]byte, error)
	// Validate checks that the client can reach the provider and authenticate.
	Validate(ctx context.Context) (Validation, error)
	// Close releases the client's resources (tokens, connections).
	Close(ctx context.Context) error
}

// PropertyResolver is implemented by clients whose GetSecret applies
// ref.Property itself, because the provider gives property a meaning of its
// own (kubernetes: a data key, or "<data key>.<gjson path>" into its value;
// metadata: "labels.<key>"). The caller then uses what GetSecret returns as
// it is and must not apply ref.Property again.
type PropertyResolver interface {
	// ResolvesProperty reports whether GetSecret applies ref.Property.
	ResolvesProperty() bool
}

// ResolvesProperty reports whether c's GetSecret applies ref.Property itself
// (see PropertyResolver); when false the caller applies it to the returned
// value.
func ResolvesProperty(c Client) bool {
	r, ok := c.(PropertyResolver)
	return ok && r.ResolvesProperty()
}

// Validation is what Validate learned.
type Validation struct {
	// Result is the outcome.
	Result ValidationResult
	// Identity describes who the client is authenticated as (never a credential).
	Identity string
}

// ValidationResult is the outcome of validating a store.
type ValidationResult int

// The validation results.
const (
	// ValidationReady means the provider answered and accepted the identity.
	ValidationReady ValidationResult = iota
	// ValidationUnknown means the provider cannot be validated without reading a secret.
	ValidationUnknown
	// ValidationFailed means the provider refused or could not be reached.
	ValidationFailed
)

// Provider builds clients for the stores of one provider kind.
type Provider interface {
	// ValidateStore checks the store's provider configuration without any
	// network call. Its error names the field and the fix.
	ValidateStore(store Store) error
	// NewClient builds a client for store as used from namespace (the
	// ExternalSecret's namespace: referent credentials of a ClusterSecretStore
	// resolve there). kube reads credential Secrets and requests tokens.
	NewClient(ctx context.Context, store Store, kube client.Client, namespace string) (Client, error)
	// Capabilities says whether the provider can read, write or both.
	Capabilities() esv1.SecretStoreCapabilities
}

var (
	registryMu sync.RWMutex
	registry   = map[string]registration{}
)

type registration struct {
	provider Provider
	selected func(*esv1.SecretStoreProvider) bool
}

// Register adds a provider under its spec.provider field name. selected says
// whether a store's provider block configures this provider.
func Register(name string, p Provider, selected func(*esv1.SecretStoreProvider) bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("provider %q registered twice", name))
	}
	registry[name] = registration{provider: p, selected: selected}
}

// ErrNoProvider means a store configures no provider this build knows.
var ErrNoProvider = errors.New("no supported provider configured")

// ForStore returns the provider a store configures and its name.
func ForStore(spec *esv1.SecretStoreSpec) (Provider, string, error) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	var names []string
	for name, r := range registry {
		if r.selected(&spec.Provider) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return nil, "", fmt.Errorf("spec.provider: %w (supported: %v)", ErrNoProvider, registeredLocked())
	case 1:
		return registry[names[0]].provider, names[0], nil
	default:
		return nil, "", fmt.Errorf("spec.provider configures %v; keep exactly one", names)
	}
}

// Registered lists the registered provider names, sorted.
func Registered() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registeredLocked()
}

// registeredLocked is Registered for callers that hold registryMu.
func registeredLocked() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
