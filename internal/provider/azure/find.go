package azure

import (
	"context"
	"fmt"
	"regexp"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// GetAllSecrets returns the value of every enabled secret of the vault
// whose name matches find.name.regexp and that carries every find.tags
// pair, keyed by name. Secrets are listed (secrets/list) and read one by
// one (secrets/get); find.path is not supported, since Key Vault has no
// hierarchy.
func (c *Client) GetAllSecrets(ctx context.Context, find esv1.ExternalSecretFind) (map[string][]byte, error) {
	if find.Path != nil {
		return nil, provider.NewConfigError("dataFrom[].find.path", "Key Vault names have no hierarchy: use name.regexp (e.g. ^app-) instead")
	}
	var name *regexp.Regexp
	if find.Name != nil && find.Name.RegExp != "" {
		re, err := regexp.Compile(find.Name.RegExp)
		if err != nil {
			return nil, &provider.ConfigError{Field: "dataFrom[].find.name.regexp", Err: err}
		}
		name = re
	}
	if name == nil && len(find.Tags) == 0 {
		return nil, provider.NewConfigError("dataFrom[].find", "set name.regexp or tags: a find without either would read every secret of the vault")
	}
	out := map[string][]byte{}
	pager := c.secrets.NewListSecretPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, c.wrapError(err, call{op: opList, kind: kindSecret})
		}
		for _, p := range page.Value {
			if p.ID == nil || (p.Attributes != nil && p.Attributes.Enabled != nil && !*p.Attributes.Enabled) {
				continue
			}
			n := p.ID.Name()
			if name != nil && !name.MatchString(n) {
				continue
			}
			if !hasTags(p.Tags, find.Tags) {
				continue
			}
			v, err := c.get(ctx, object{kind: kindSecret, name: n, key: n}, "", false)
			if err != nil {
				return nil, fmt.Errorf("find matched secret %q: %w", n, err)
			}
			out[n] = v
		}
	}
	return out, nil
}

// hasTags reports whether every wanted tag is in tags with its value.
func hasTags(tags map[string]*string, want map[string]string) bool {
	for k, v := range want {
		if got, ok := tags[k]; !ok || got == nil || *got != v {
			return false
		}
	}
	return true
}
