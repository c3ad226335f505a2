package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// systemMetadataKeys are the KV v2 metadata fields metadataPolicy Fetch
// returns besides custom_metadata (as upstream).
var systemMetadataKeys = []string{"created_time", "current_version", "delete_version_after"}

// call sends one read (GET) or LIST with the client's token. A 403 is
// diagnosed (see diagnose); when the token was replaced meanwhile or Vault
// no longer accepts it, the call is retried once with a fresh token. A 404
// is a nil secret and no error.
func (c *Client) call(ctx context.Context, method, path string, params map[string][]string, hint string) (*vaultapi.Secret, error) {
	for attempt := 0; ; attempt++ {
		_, gen, err := c.ensureToken(ctx)
		if err != nil {
			return nil, err
		}
		var sec *vaultapi.Secret
		if method == "LIST" {
			sec, err = c.data.Logical().ListWithContext(ctx, path)
		} else {
			sec, err = c.data.Logical().ReadWithDataWithContext(ctx, path, params)
		}
		if err == nil {
			return sec, nil
		}
		if statusOf(err) != 403 {
			return nil, c.callError(method, path, err)
		}
		if attempt == 0 && c.tokenGen() != gen {
			continue // the token changed while the call was in flight
		}
		derr := c.diagnose(ctx, method, path, hint)
		if attempt == 0 && errors.Is(derr, errTokenRejected) {
			rerr := c.relogin(ctx, gen)
			if rerr == nil {
				continue
			}
			if errors.Is(rerr, errStaticTokenRejected) {
				return nil, c.staticTokenRejected()
			}
			return nil, rerr
		}
		return nil, derr
	}
}

// notFound builds the not-found error of key after a 404 on path.
func notFound(key, method, path string, l *location, extra string) error {
	detail := fmt.Sprintf("%s %s answered 404", method, path)
	if l != nil {
		detail += "; " + l.mount.describe()
		if l.hint != "" {
			detail += "; " + l.hint
		}
	}
	if extra != "" {
		detail += "; " + extra
	}
	return &provider.NotFoundError{Key: key, Detail: detail}
}

// readData returns the data of the secret at l (version: KV v2 only).
// On KV v1 a path spelled with KV v2's data/ that does not exist is read
// without data/, and the interpretation is reported.
func (c *Client) readData(ctx context.Context, key, version string, l *location) (map[string]any, error) {
	v, err := kvVersionParam(version)
	if err != nil {
		return nil, err
	}
	if l.mount.version == esv1.VaultKVStoreV1 {
		return c.readV1(ctx, key, v, l)
	}
	var params map[string][]string
	if v != "" {
		params = map[string][]string{"version": {v}}
	}
	path := l.dataPath()
	sec, err := c.call(ctx, "GET", path, params, l.hint)
	if err != nil {
		return nil, err
	}
	if sec == nil || sec.Data == nil {
		return nil, notFound(key, "GET", path, l, "")
	}
	raw, ok := sec.Data["data"]
	if !ok {
		return nil, fmt.Errorf("GET %s: the answer has no data field, which KV v2 always sends; is %s really KV v2?", path, l.mount.path)
	}
	if raw == nil {
		return nil, notFound(key, "GET", path, l, deletedVersion(sec.Data["metadata"], v))
	}
	data, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("GET %s: the data field is not a JSON object", path)
	}
	return data, nil
}

// deletedVersion describes the metadata of a KV v2 version without data.
func deletedVersion(meta any, version string) string {
	which := "the current version"
	if version != "" {
		which = "version " + version
	}
	if m, ok := meta.(map[string]any); ok {
		if d, _ := m["destroyed"].(bool); d {
			return which + " was destroyed"
		}
		if t, _ := m["deletion_time"].(string); t != "" {
			return which + " was deleted at " + t
		}
	}
	return which + " has no data"
}

// readV1 reads a KV v1 secret, with the data/ fallback.
func (c *Client) readV1(ctx context.Context, key, version string, l *location) (map[string]any, error) {
	if version != "" {
		return nil, provider.NewConfigError("remoteRef.version", "%s keeps no versions; remove version %q", l.mount.describe(), version)
	}
	path := l.dataPath()
	sec, err := c.call(ctx, "GET", path, nil, l.hint)
	if err != nil {
		return nil, err
	}
	if sec != nil && sec.Data != nil {
		return sec.Data, nil
	}
	l.mu.Lock()
	tryAlt := !l.v1Alt && strings.HasPrefix(l.rel, "data/")
	l.mu.Unlock()
	if !tryAlt {
		return nil, notFound(key, "GET", path, l, "")
	}
	alt := l.mount.path + strings.TrimPrefix(l.rel, "data/")
	sec, err = c.call(ctx, "GET", alt, nil, l.hint)
	if err != nil {
		return nil, err
	}
	if sec == nil || sec.Data == nil {
		return nil, notFound(key, "GET", path, l, "GET "+alt+" (without KV v2's data/) answered 404 too")
	}
	msg := fmt.Sprintf("key %q: %s has no %s; read %s instead (data/ belongs to KV v2 paths)", key, l.mount.describe(), path, alt)
	l.mu.Lock()
	if !l.v1Alt {
		l.v1Alt = true
		l.notes = append(l.notes, msg)
	}
	l.mu.Unlock()
	provider.Warn(ctx, msg)
	return sec.Data, nil
}

// readMetadata returns the KV v2 metadata of the secret at l: its
// custom_metadata and the fields of systemMetadataKeys, as strings.
func (c *Client) readMetadata(ctx context.Context, key string, l *location) (map[string]string, error) {
	if l.mount.version != esv1.VaultKVStoreV2 {
		return nil, provider.NewConfigError("remoteRef.metadataPolicy", "%s keeps no metadata; metadataPolicy Fetch needs KV v2", l.mount.describe())
	}
	path := l.metadataPath()
	sec, err := c.call(ctx, "GET", path, nil, l.hint)
	if err != nil {
		return nil, err
	}
	if sec == nil || sec.Data == nil {
		return nil, notFound(key, "GET", path, l, "")
	}
	out := map[string]string{}
	for _, k := range systemMetadataKeys {
		if v, ok := sec.Data[k]; ok && v != nil {
			out[k] = fmt.Sprint(v)
		}
	}
	if custom, ok := sec.Data["custom_metadata"].(map[string]any); ok {
		for k, v := range custom {
			if s, ok := v.(string); ok {
				out[k] = s
			} else {
				out[k] = fmt.Sprint(v)
			}
		}
	}
	return out, nil
}
