package azure

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/secretbridge/secretbridge/internal/provider"
)

// objectKind is what a remote key names: a secret, a certificate or a key.
type objectKind string

// The object kinds and their key prefixes.
const (
	kindSecret objectKind = "secret"
	kindCert   objectKind = "cert"
	kindKey    objectKind = "key"
)

// object is a parsed remote key.
type object struct {
	kind objectKind
	name string
	// key is the remote key as the ExternalSecret names it.
	key string
}

// namePattern is what Key Vault accepts as an object name.
var namePattern = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// parseKey parses "[secret/|cert/|key/]name".
func parseKey(key string) (object, error) {
	o := object{kind: kindSecret, name: key, key: key}
	if prefix, name, ok := strings.Cut(key, "/"); ok {
		switch objectKind(prefix) {
		case kindSecret, kindCert, kindKey:
			o.kind, o.name = objectKind(prefix), name
		default:
			return object{}, provider.NewConfigError("remoteRef.key", "%q: the prefix %q is not secret/, cert/ or key/", key, prefix+"/")
		}
	}
	if !namePattern.MatchString(o.name) {
		return object{}, provider.NewConfigError("remoteRef.key", "%q: a Key Vault %s name is 1 to 127 letters, digits and dashes", key, o.kind.noun())
	}
	return o, nil
}

// noun names the kind in messages.
func (k objectKind) noun() string {
	switch k {
	case kindCert:
		return "certificate"
	case kindKey:
		return "key"
	default:
		return "secret"
	}
}

// get reads one version (the latest when version is "") of obj: its value,
// or with metadata its tags and attributes.
func (c *Client) get(ctx context.Context, obj object, version string, metadata bool) ([]byte, error) {
	cl := call{op: opGet, kind: obj.kind, key: obj.key, name: obj.name, version: version}
	var (
		value []byte
		tags  map[string]*string
		attrs attributes
	)
	switch obj.kind {
	case kindSecret:
		resp, err := c.secrets.GetSecret(ctx, obj.name, version, nil)
		if err != nil {
			return nil, c.wrapError(err, cl)
		}
		tags = resp.Tags
		if a := resp.Attributes; a != nil {
			attrs = attributes{Enabled: a.Enabled, Created: a.Created, Updated: a.Updated, Expires: a.Expires, NotBefore: a.NotBefore, RecoveryLevel: a.RecoveryLevel}
		}
		attrs.ContentType = resp.ContentType
		if resp.Value == nil {
			if metadata {
				break
			}
			return nil, fmt.Errorf("reading secret %q from Key Vault %s: the answer has no value", obj.name, c.vault)
		}
		value = []byte(*resp.Value)
	case kindKey:
		resp, err := c.keys.GetKey(ctx, obj.name, version, nil)
		if err != nil {
			return nil, c.wrapError(err, cl)
		}
		tags = resp.Tags
		if a := resp.Attributes; a != nil {
			attrs = attributes{Enabled: a.Enabled, Created: a.Created, Updated: a.Updated, Expires: a.Expires, NotBefore: a.NotBefore, RecoveryLevel: a.RecoveryLevel}
		}
		if !metadata {
			if resp.Key == nil {
				return nil, fmt.Errorf("reading key %q from Key Vault %s: the answer has no key", obj.name, c.vault)
			}
			// The SDK's JSONWebKey marshals to the JWK format Key Vault
			// sends (base64url fields).
			b, err := json.Marshal(resp.Key)
			if err != nil {
				return nil, fmt.Errorf("encoding key %q of Key Vault %s as JWK: %w", obj.name, c.vault, err)
			}
			value = b
		}
	case kindCert:
		cert, err := c.getCertificate(ctx, obj.name, version)
		if err != nil {
			return nil, c.wrapError(err, cl)
		}
		tags, attrs = cert.Tags, cert.Attributes.attributes()
		if !metadata {
			der, err := decodeCER(cert.CER)
			if err != nil {
				return nil, fmt.Errorf("decoding certificate %q of Key Vault %s: %w", obj.name, c.vault, err)
			}
			value = der
		}
	}
	if metadata {
		return metadataJSON(tags, attrs)
	}
	return value, nil
}

// attributes are an object's attributes as metadataPolicy Fetch returns
// them.
type attributes struct {
	Enabled       *bool      `json:"enabled,omitempty"`
	Created       *time.Time `json:"created,omitempty"`
	Updated       *time.Time `json:"updated,omitempty"`
	Expires       *time.Time `json:"expires,omitempty"`
	NotBefore     *time.Time `json:"notBefore,omitempty"`
	RecoveryLevel *string    `json:"recoveryLevel,omitempty"`
	ContentType   *string    `json:"contentType,omitempty"`
}

// metadataJSON returns the tags as a JSON object (so that property names a
// tag, as in External Secrets Operator) with the attributes under
// "attributes", unless a tag has that name.
func metadataJSON(tags map[string]*string, attrs attributes) ([]byte, error) {
	out := make(map[string]any, len(tags)+1)
	for k, v := range tags {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	if _, taken := out["attributes"]; !taken {
		out["attributes"] = attrs
	}
	return json.Marshal(out)
}

// certificateBundle is the part of GET /certificates/{name}/{version} the
// provider reads.
type certificateBundle struct {
	CER        string                `json:"cer"`
	Tags       map[string]*string    `json:"tags"`
	Attributes certificateAttributes `json:"attributes"`
}

// certificateAttributes are a certificate's attributes as Key Vault sends
// them (times in Unix seconds).
type certificateAttributes struct {
	Enabled       *bool   `json:"enabled"`
	Created       *int64  `json:"created"`
	Updated       *int64  `json:"updated"`
	Expires       *int64  `json:"exp"`
	NotBefore     *int64  `json:"nbf"`
	RecoveryLevel *string `json:"recoveryLevel"`
}

// certificateAPIVersion is the Key Vault REST version of certificate reads.
const certificateAPIVersion = "7.5"

// getCertificate reads one certificate version through the certificates
// pipeline (retries, bearer token, telemetry).
func (c *Client) getCertificate(ctx context.Context, name, version string) (*certificateBundle, error) {
	u := c.vaultURL + "/certificates/" + url.PathEscape(name)
	if version != "" {
		u += "/" + url.PathEscape(version)
	}
	req, err := runtime.NewRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", certificateAPIVersion)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := c.certs.Pipeline().Do(req)
	if err != nil {
		return nil, err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return nil, runtime.NewResponseError(resp)
	}
	var b certificateBundle
	if err := runtime.UnmarshalAsJSON(resp, &b); err != nil {
		return nil, fmt.Errorf("decoding Key Vault's answer: %w", err)
	}
	return &b, nil
}

// attributes converts the certificate's attributes.
func (a certificateAttributes) attributes() attributes {
	unix := func(p *int64) *time.Time {
		if p == nil {
			return nil
		}
		t := time.Unix(*p, 0).UTC()
		return &t
	}
	return attributes{Enabled: a.Enabled, Created: unix(a.Created), Updated: unix(a.Updated), Expires: unix(a.Expires), NotBefore: unix(a.NotBefore), RecoveryLevel: a.RecoveryLevel}
}

// decodeCER decodes the cer field: base64 (standard, as Key Vault sends
// it; base64url accepted).
func decodeCER(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("the answer has no cer")
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
