package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// maxFindSecrets bounds how many secrets one find may list.
const maxFindSecrets = 10000

// GetAllSecrets returns every secret under find.path (recursively listed
// with LIST <mount>/metadata/<path> on KV v2, <mount>/<path> on KV v1)
// whose name matches find.name.regexp and whose custom_metadata carries
// all of find.tags (KV v2 only), keyed by name: the path relative to
// spec.provider.vault.path (which is the mount in the usual case), with
// "/" kept as upstream does; the engine's conversionStrategy makes it a
// valid Secret key. Unlike upstream, name and tags together must both
// match (upstream ignores tags when name is set). Each value is the
// secret's data as a JSON object.
func (c *Client) GetAllSecrets(ctx context.Context, find esv1.ExternalSecretFind) (map[string][]byte, error) {
	c.reportInterpretations(ctx)
	m, base, strip, err := c.findBase(ctx, find.Path)
	if err != nil {
		return nil, err
	}
	if len(find.Tags) > 0 && m.version != esv1.VaultKVStoreV2 {
		return nil, provider.NewConfigError("dataFrom[].find.tags", "%s keeps no custom metadata to match tags against; tags need KV v2", m.describe())
	}
	var re *regexp.Regexp
	if find.Name != nil && find.Name.RegExp != "" {
		if re, err = regexp.Compile(find.Name.RegExp); err != nil {
			return nil, &provider.ConfigError{Field: "dataFrom[].find.name.regexp", Err: err}
		}
	}
	var rels []string
	if err := c.listTree(ctx, m, base, &rels); err != nil {
		return nil, err
	}
	if rels == nil {
		what := "LIST " + c.listPath(m, base)
		return nil, &provider.NotFoundError{Key: base, Detail: what + " answered 404: no secrets under find.path in " + m.describe()}
	}
	out := map[string][]byte{}
	for _, rel := range rels {
		name := strings.TrimPrefix(rel, strip)
		if re != nil && !re.MatchString(name) {
			continue
		}
		l := &location{key: name, mount: m, rel: rel}
		if len(find.Tags) > 0 {
			meta, err := c.readMetadata(ctx, name, l)
			if provider.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if !hasTags(meta, find.Tags) {
				continue
			}
		}
		data, err := c.readData(ctx, name, "", l)
		if provider.IsNotFound(err) {
			continue // deleted since it was listed, or its current version is deleted
		}
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("encoding the data of %q: %w", name, err)
		}
		out[name] = raw
	}
	return out, nil
}

// hasTags reports whether meta carries every tag with its value.
func hasTags(meta, tags map[string]string) bool {
	for k, v := range tags {
		if got, ok := meta[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// findBase works out the mount and the folder inside it that a find lists,
// and the prefix removed from the paths found to make names: names are
// relative to spec.provider.vault.path when it lies in a KV mount, else
// relative to the mount that find.path starts with.
func (c *Client) findBase(ctx context.Context, findPath *string) (m mount, base, strip string, err error) {
	fp := ""
	if findPath != nil {
		fp = strings.Trim(*findPath, "/")
	}
	p := c.storePath()
	if p != "" {
		pl, err := c.lookupMount(ctx, p)
		if err != nil {
			return mount{}, "", "", err
		}
		if pl.kv {
			m = pl.mount
			strip = strings.TrimPrefix(p+"/", m.path)
			rel := fp
			if rest, ok := strings.CutPrefix(fp+"/", p+"/"); ok {
				rel = strings.TrimSuffix(rest, "/")
				if strip == "" && m.version == esv1.VaultKVStoreV2 {
					rel = strings.TrimPrefix(strings.TrimPrefix(rel+"/", "data/"), "metadata/")
				}
			}
			return m, folder(strip + rel), strip, nil
		}
	}
	if fp == "" {
		return mount{}, "", "", provider.NewConfigError("dataFrom[].find.path", "find needs spec.provider.vault.path to be a KV mount, or find.path to start with one (for example secret/team)")
	}
	kl, err := c.lookupMount(ctx, fp)
	if err != nil {
		return mount{}, "", "", err
	}
	if !kl.kv {
		return mount{}, "", "", provider.NewConfigError("dataFrom[].find.path", "%q lies in no KV mount this token can see, and spec.provider.vault.path %q is no KV mount either", fp, p)
	}
	m = kl.mount
	rel := strings.TrimPrefix(fp+"/", m.path)
	if m.version == esv1.VaultKVStoreV2 {
		rel = strings.TrimPrefix(strings.TrimPrefix(rel, "data/"), "metadata/")
	}
	if p != "" {
		provider.Warn(ctx, fmt.Sprintf("spec.provider.vault.path %q is not a KV mount this token can read; find.path %q names %s, so it is listed there", p, fp, m.describe()))
	}
	return m, folder(rel), "", nil
}

// folder returns p with one trailing slash, or "" for the mount's root.
func folder(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// listPath is the API path that lists folder dir of m.
func (c *Client) listPath(m mount, dir string) string {
	if m.version == esv1.VaultKVStoreV2 {
		return m.path + "metadata/" + dir
	}
	return m.path + dir
}

// listTree appends to out the paths (inside m) of every secret under dir,
// recursively. out stays nil when dir itself does not exist.
func (c *Client) listTree(ctx context.Context, m mount, dir string, out *[]string) error {
	path := c.listPath(m, dir)
	sec, err := c.call(ctx, "LIST", path, nil, "")
	if err != nil {
		return err
	}
	if sec == nil || sec.Data == nil {
		return nil
	}
	if *out == nil {
		*out = []string{}
	}
	keys, _ := sec.Data["keys"].([]any)
	for _, k := range keys {
		name, _ := k.(string)
		if name == "" {
			continue
		}
		if strings.HasSuffix(name, "/") {
			if err := c.listTree(ctx, m, dir+name, out); err != nil {
				return err
			}
			continue
		}
		if len(*out) >= maxFindSecrets {
			return fmt.Errorf("find under %s lists more than %d secrets; narrow find.path", path, maxFindSecrets)
		}
		*out = append(*out, dir+name)
	}
	return nil
}
