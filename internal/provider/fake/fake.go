// Package fake implements the fake provider: a store whose secrets are
// listed in its own spec (spec.provider.fake.data), served from memory. It
// exists for examples, documentation and tests of everything above the
// provider layer; it makes no network call.
//
// Semantics:
//   - An entry without version serves its key for any requested version;
//     an entry with version serves only that version. A request without
//     version is served by the entry without version.
//   - GetSecret returns the entry's value as it is (the caller applies
//     remoteRef.property). metadataPolicy Fetch is refused: fake entries
//     have no metadata.
//   - GetSecretMap parses the value (after property, if set) as a JSON
//     object and returns its top-level keys: strings raw, other values as
//     JSON text.
//   - GetAllSecrets matches find.path as a key prefix and find.name.regexp
//     against keys; each matched key serves its entry without version, or
//     else its last listed entry. find.tags is refused.
//   - Validate reports spec.provider.fake.validationResult.
package fake

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// Name is the provider's name: its field under spec.provider.
const Name = "fake"

func init() {
	provider.Register(Name, Provider{}, func(p *esv1.SecretStoreProvider) bool { return p.Fake != nil })
}

// Provider builds fake clients from spec.provider.fake.
type Provider struct{}

// Capabilities reports that fake stores can only be read.
func (Provider) Capabilities() esv1.SecretStoreCapabilities { return esv1.SecretStoreReadOnly }

// ValidateStore checks spec.provider.fake: every entry has a key, no key and
// version appear twice, and validationResult is 0, 1 or 2.
func (Provider) ValidateStore(store provider.Store) error {
	_, err := compile(store.StoreSpec().Provider.Fake)
	return err
}

// NewClient returns a client that serves a snapshot of the store's data.
// Neither kube nor namespace is used: fake stores have no credentials.
func (Provider) NewClient(_ context.Context, store provider.Store, _ client.Client, _ string) (provider.Client, error) {
	return compile(store.StoreSpec().Provider.Fake)
}

// entries are the values of one key.
type entries struct {
	anyVersion *string           // the entry without version, if any
	byVersion  map[string]string // the entries with a version
	current    string            // what find serves for this key
}

// Client serves the data of one fake store.
type Client struct {
	secrets    map[string]*entries
	keys       []string // sorted
	validation provider.ValidationResult
}

const field = "spec.provider.fake"

// compile checks spec and indexes its data.
func compile(spec *esv1.FakeProvider) (*Client, error) {
	if spec == nil {
		return nil, provider.NewConfigError(field, "the store configures no fake provider")
	}
	c := &Client{secrets: map[string]*entries{}}
	switch v := spec.ValidationResult; {
	case v == nil || *v == esv1.ValidationResultReady:
		c.validation = provider.ValidationReady
	case *v == esv1.ValidationResultUnknown:
		c.validation = provider.ValidationUnknown
	case *v == esv1.ValidationResultError:
		c.validation = provider.ValidationFailed
	default:
		return nil, provider.NewConfigError(field+".validationResult", "%d is not a validation result: use 0 (Ready), 1 (Unknown) or 2 (Error)", *v)
	}
	for i, d := range spec.Data {
		if d.Key == "" {
			return nil, provider.NewConfigError(fmt.Sprintf("%s.data[%d].key", field, i), "is empty: every entry needs a key")
		}
		e := c.secrets[d.Key]
		if e == nil {
			e = &entries{byVersion: map[string]string{}}
			c.secrets[d.Key] = e
			c.keys = append(c.keys, d.Key)
		}
		if d.Version == "" {
			if e.anyVersion != nil {
				return nil, provider.NewConfigError(fmt.Sprintf("%s.data[%d]", field, i), "key %q is listed twice without a version; keep one entry", d.Key)
			}
			e.anyVersion = &d.Value
		} else {
			if _, dup := e.byVersion[d.Version]; dup {
				return nil, provider.NewConfigError(fmt.Sprintf("%s.data[%d]", field, i), "key %q is listed twice with version %q; keep one entry", d.Key, d.Version)
			}
			e.byVersion[d.Version] = d.Value
		}
		if e.anyVersion != nil {
			e.current = *e.anyVersion
		} else {
			e.current = d.Value
		}
	}
	slices.Sort(c.keys)
	return c, nil
}

// GetSecret returns the value of ref.Key in ref.Version, or a
// *provider.NotFoundError.
func (c *Client) GetSecret(_ context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	if ref.MetadataPolicyOrDefault() == esv1.MetadataPolicyFetch {
		return nil, provider.NewConfigError("remoteRef.metadataPolicy", "the fake provider holds no metadata for key %q; remove metadataPolicy: Fetch", ref.Key)
	}
	e, ok := c.secrets[ref.Key]
	if !ok {
		return nil, &provider.NotFoundError{Key: ref.Key, Detail: "no such key in " + field + ".data"}
	}
	if ref.Version != "" {
		if v, ok := e.byVersion[ref.Version]; ok {
			return []byte(v), nil
		}
	}
	if e.anyVersion != nil {
		return []byte(*e.anyVersion), nil
	}
	versions := make([]string, 0, len(e.byVersion))
	for v := range e.byVersion {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	want := "no version"
	if ref.Version != "" {
		want = fmt.Sprintf("version %q", ref.Version)
	}
	return nil, &provider.NotFoundError{Key: ref.Key, Detail: fmt.Sprintf("%s has no entry for %s; its versions are %s", field, want, strings.Join(versions, ", "))}
}

// GetSecretMap returns the top-level keys of the JSON object that ref
// selects.
func (c *Client) GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (map[string][]byte, error) {
	value, err := c.GetSecret(ctx, ref)
	if err != nil {
		return nil, err
	}
	if value, err = shape.Property(value, ref.Property); err != nil {
		return nil, fmt.Errorf("selecting property of fake secret %q: %w", ref.Key, err)
	}
	m, err := shape.Extract(value)
	if err != nil {
		return nil, fmt.Errorf("splitting fake secret %q into keys: %w", ref.Key, err)
	}
	return m, nil
}

// GetAllSecrets returns the current value of every key that matches
// find.path (a prefix) and find.name.regexp.
func (c *Client) GetAllSecrets(_ context.Context, find esv1.ExternalSecretFind) (map[string][]byte, error) {
	if len(find.Tags) > 0 {
		return nil, provider.NewConfigError("dataFrom[].find.tags", "the fake provider has no tags; match keys with find.name.regexp or find.path instead")
	}
	var re *regexp.Regexp
	if find.Name != nil && find.Name.RegExp != "" {
		var err error
		if re, err = regexp.Compile(find.Name.RegExp); err != nil {
			return nil, &provider.ConfigError{Field: "dataFrom[].find.name.regexp", Err: err}
		}
	}
	out := map[string][]byte{}
	for _, k := range c.keys {
		if find.Path != nil && !strings.HasPrefix(k, *find.Path) {
			continue
		}
		if re != nil && !re.MatchString(k) {
			continue
		}
		out[k] = []byte(c.secrets[k].current)
	}
	return out, nil
}

// ErrValidationResult is the cause Validate reports when the store's
// validationResult is 2 (Error).
var ErrValidationResult = errors.New(field + ".validationResult is 2 (Error)")

// Validate reports the store's validationResult. For 2 (Error) it also
// returns ErrValidationResult.
func (c *Client) Validate(context.Context) (provider.Validation, error) {
	v := provider.Validation{Result: c.validation, Identity: Name}
	if c.validation == provider.ValidationFailed {
		return v, ErrValidationResult
	}
	return v, nil
}

// Close does nothing: a fake client holds no resources.
func (c *Client) Close(context.Context) error { return nil }
