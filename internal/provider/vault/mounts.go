package vault

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// mount is a KV secrets engine mount.
type mount struct {
	path    string // with a trailing slash, e.g. "secret/"
	version esv1.VaultKVStoreVersion
}

// mountLookup is what sys/internal/ui/mounts/<path> said about a path.
type mountLookup struct {
	kv    bool   // the path lies in a KV mount
	mount mount  // that mount, when kv
	other string // the type of a mount that is not KV ("" when none is visible)
	gen   uint64 // the token generation of a negative answer
}

// lookupMount asks Vault which mount path lies in, with
// sys/internal/ui/mounts/<path>. Answers are cached for the client's life;
// a path under a KV mount already discovered needs no call. A 403 (Vault's
// "preflight capability check", which is how a path outside any mount the
// token can use shows itself) or a 404 is a negative answer, cached for
// the current token only.
func (c *Client) lookupMount(ctx context.Context, path string) (mountLookup, error) {
	path = strings.Trim(path, "/")
	gen := c.tokenGen()
	c.mountsMu.Lock()
	if l, ok := c.mounts[path]; ok && (l.kv || l.gen == gen) {
		c.mountsMu.Unlock()
		return l, nil
	}
	for _, l := range c.mounts {
		if l.kv && strings.HasPrefix(path+"/", l.mount.path) {
			c.mountsMu.Unlock()
			return l, nil
		}
	}
	c.mountsMu.Unlock()
	if l, ok := knownMounts.find(c.mountScope(), path); ok {
		c.mountsMu.Lock()
		c.mounts[path] = l
		c.mountsMu.Unlock()
		return l, nil
	}

	// Concurrent first reads of one store share one lookup.
	v, err, _ := c.mountCalls.Do(path, func() (any, error) {
		if _, _, err := c.ensureToken(ctx); err != nil {
			return mountLookup{}, err
		}
		api := "sys/internal/ui/mounts/" + path
		sec, err := c.data.Logical().ReadWithContext(ctx, api)
		var l mountLookup
		switch status := statusOf(err); {
		case err == nil && sec != nil && sec.Data != nil:
			l = parseMount(sec.Data)
		case err == nil, status == 403, status == 404, status == 400:
			l = mountLookup{gen: gen}
		default:
			return mountLookup{}, fmt.Errorf("discovering the mount of %q: %w", path, c.callError("GET", api, err))
		}
		c.mountsMu.Lock()
		c.mounts[path] = l
		c.mountsMu.Unlock()
		if l.kv {
			knownMounts.add(c.mountScope(), l)
		}
		return l, nil
	})
	return v.(mountLookup), err
}

// mountScope names the Vault server and namespace whose mount table a
// lookup describes.
func (c *Client) mountScope() string {
	ns := ""
	if c.spec.Namespace != nil {
		ns = *c.spec.Namespace
	}
	return c.server + "\x00" + ns
}

// knownMountTTL is how long a discovered KV mount is trusted by clients
// other than the one that discovered it.
const knownMountTTL = 10 * time.Minute

// knownMounts shares discovered KV mounts between the clients of one Vault
// server: a KV mount's path and version belong to the server's mount table,
// not to a token, so the clients of a ClusterSecretStore (one per referent
// namespace) need not each ask. Only positive answers are shared; what a
// token cannot see stays per client.
var knownMounts = &mountTable{byScope: map[string][]knownMount{}}

type knownMount struct {
	lookup mountLookup
	seen   time.Time
}

// mountTable is a process-wide set of discovered KV mounts by scope.
type mountTable struct {
	mu      sync.Mutex
	byScope map[string][]knownMount
}

// find returns the KV mount that path lies in, if one was discovered in
// scope within knownMountTTL.
func (t *mountTable) find(scope, path string) (mountLookup, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.byScope[scope] {
		if time.Since(m.seen) <= knownMountTTL && strings.HasPrefix(path+"/", m.lookup.mount.path) {
			return m.lookup, true
		}
	}
	return mountLookup{}, false
}

// add records a discovered KV mount, replacing an older record of it.
func (t *mountTable) add(scope string, l mountLookup) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ms := t.byScope[scope]
	for i := range ms {
		if ms[i].lookup.mount.path == l.mount.path {
			ms[i] = knownMount{lookup: l, seen: time.Now()}
			return
		}
	}
	t.byScope[scope] = append(ms, knownMount{lookup: l, seen: time.Now()})
}

// parseMount reads the data of a sys/internal/ui/mounts answer.
func parseMount(d map[string]any) mountLookup {
	typ, _ := d["type"].(string)
	path, _ := d["path"].(string)
	if path == "" {
		return mountLookup{}
	}
	if typ != "kv" && typ != "generic" {
		return mountLookup{other: typ}
	}
	m := mount{path: strings.TrimLeft(path, "/"), version: esv1.VaultKVStoreV1}
	if !strings.HasSuffix(m.path, "/") {
		m.path += "/"
	}
	if opts, ok := d["options"].(map[string]any); ok {
		if v, _ := opts["version"].(string); v == "2" {
			m.version = esv1.VaultKVStoreV2
		}
	}
	return mountLookup{kv: true, mount: m}
}

// location is where a remote key lives: its KV mount and its path inside
// the mount, with the interpretations made to get there.
type location struct {
	key   string
	mount mount
	rel   string // the path inside the mount, without data/ for KV v2
	hint  string // added to not-found and permission errors when the mount was guessed

	mu    sync.Mutex
	notes []string // interpretations, reported on every read
	v1Alt bool     // KV v1: rel starts with data/, which is missing; read without it
}

// dataPath is the API path of the secret's data.
func (l *location) dataPath() string {
	if l.mount.version == esv1.VaultKVStoreV2 {
		return l.mount.path + "data/" + l.rel
	}
	return l.mount.path + l.v1Rel()
}

// v1Rel is the path read on a KV v1 mount (after the data/ fallback).
func (l *location) v1Rel() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.v1Alt {
		return strings.TrimPrefix(l.rel, "data/")
	}
	return l.rel
}

// metadataPath is the API path of the secret's metadata (KV v2).
func (l *location) metadataPath() string {
	return l.mount.path + "metadata/" + l.rel
}

// note records an interpretation.
func (l *location) note(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notes = append(l.notes, msg)
}

// report reports the location's interpretations on ctx.
func (l *location) report(ctx context.Context) {
	l.mu.Lock()
	notes := append([]string(nil), l.notes...)
	l.mu.Unlock()
	for _, n := range notes {
		provider.Warn(ctx, n)
	}
}

// describe names the mount for messages: `KV v2 mount "secret/"`.
func (m mount) describe() string {
	return fmt.Sprintf("KV %s mount %q", m.version, m.path)
}

// stripData removes the data/ segment of a KV v2 API path spelled into a
// key ("data/prod/app-db" → "prod/app-db"); KV v1 paths are kept.
func stripData(m mount, rest string) string {
	if m.version == esv1.VaultKVStoreV2 {
		return strings.TrimPrefix(rest, "data/")
	}
	return rest
}

// resolve returns where key lives, discovering mounts as needed. The
// answer is cached per key for the client's life.
func (c *Client) resolve(ctx context.Context, key string) (*location, error) {
	k := strings.Trim(key, "/")
	if k == "" {
		return nil, provider.NewConfigError("remoteRef.key", "is empty")
	}
	c.keysMu.Lock()
	l, ok := c.keys[k]
	c.keysMu.Unlock()
	if ok {
		return l, nil
	}
	l, err := c.locate(ctx, k)
	if err != nil {
		return nil, err
	}
	if l.hint != "" {
		// A guess is not kept: once the token can see the mount (a new
		// token, a changed policy), the key is located properly.
		return l, nil
	}
	c.keysMu.Lock()
	if prev, ok := c.keys[k]; ok {
		l = prev
	} else {
		c.keys[k] = l
	}
	c.keysMu.Unlock()
	return l, nil
}

// storePath returns spec.provider.vault.path without surrounding slashes.
func (c *Client) storePath() string {
	if c.spec.Path == nil {
		return ""
	}
	return strings.Trim(*c.spec.Path, "/")
}

// locate works out where key lives. The spellings "prod/app-db" (relative
// to path), "secret/prod/app-db" and "secret/data/prod/app-db" all lead to
// the same secret, and the mount is never prefixed twice:
//
//  1. When path lies in a KV mount, key is relative to path, unless it
//     starts with path (or with the mount) already, which is then removed,
//     with data/ after it on KV v2.
//  2. Otherwise (path not set, not a KV mount, or not visible to the
//     token), the key's own mount is discovered; a path that is not a KV
//     mount is then reported as an interpretation.
//  3. When no mount can be discovered, upstream's reading is used: path
//     (or the key's first segment) is the mount, spec.version its version.
//
// The mount's real KV version always wins over spec.version; a
// difference is reported.
func (c *Client) locate(ctx context.Context, k string) (*location, error) {
	p := c.storePath()
	var pl mountLookup
	if p != "" {
		var err error
		if pl, err = c.lookupMount(ctx, p); err != nil {
			return nil, err
		}
		if pl.kv {
			return c.locateUnderPath(k, p, pl.mount), nil
		}
	}
	kl, err := c.lookupMount(ctx, k)
	if err != nil {
		return nil, err
	}
	if kl.kv {
		l := &location{key: k, mount: kl.mount, rel: stripData(kl.mount, strings.TrimPrefix(k+"/", kl.mount.path))}
		l.rel = strings.TrimSuffix(l.rel, "/")
		if p != "" {
			what := "not a KV mount this token can read"
			if pl.other != "" {
				what = fmt.Sprintf("a %s mount, not a KV mount", pl.other)
			}
			l.note(fmt.Sprintf("spec.provider.vault.path %q is %s; key %q names %s, so it is read at %s", p, what, k, kl.mount.describe(), l.dataPath()))
		}
		c.noteVersion(l)
		return l, nil
	}
	// Nothing discovered: upstream's reading.
	version := c.spec.VersionOrDefault()
	if p != "" {
		m := mount{path: p + "/", version: version}
		rel := k
		if rest, ok := strings.CutPrefix(k, p+"/"); ok {
			rel = stripData(m, rest)
		}
		return &location{key: k, mount: m, rel: rel, hint: fmt.Sprintf("neither spec.provider.vault.path %q nor key %q lies in a KV mount this token can see", p, k)}, nil
	}
	first, rest, ok := strings.Cut(k, "/")
	if !ok {
		return nil, provider.NewConfigError("remoteRef.key", "%q names no KV mount: without spec.provider.vault.path the key starts with its mount, for example secret/%s", k, k)
	}
	m := mount{path: first + "/", version: version}
	return &location{key: k, mount: m, rel: stripData(m, rest), hint: fmt.Sprintf("key %q lies in no KV mount this token can see; %q was taken as the mount", k, m.path)}, nil
}

// locateUnderPath resolves k against a store path p that lies in KV
// mount m (p may be the mount itself or a folder inside it).
func (c *Client) locateUnderPath(k, p string, m mount) *location {
	sub := strings.TrimPrefix(p+"/", m.path) // "" when p is the mount
	var rel string
	switch {
	case strings.HasPrefix(k, p+"/"):
		rest := k[len(p)+1:]
		if sub == "" {
			rest = stripData(m, rest)
		}
		rel = sub + rest
	case sub != "" && strings.HasPrefix(k, m.path):
		rel = stripData(m, k[len(m.path):])
	default:
		rel = sub + k
	}
	l := &location{key: k, mount: m, rel: rel}
	if sub != "" && m.version == esv1.VaultKVStoreV2 {
		l.note(fmt.Sprintf("spec.provider.vault.path %q is a folder inside %s: key %q is read at %s (data/ follows the mount, not the folder)", p, m.describe(), k, l.dataPath()))
	}
	c.noteVersion(l)
	return l
}

// noteVersion reports a spec.version that differs from the mount's.
func (c *Client) noteVersion(l *location) {
	if c.spec.Version != "" && c.spec.Version != l.mount.version {
		l.note(fmt.Sprintf("spec.provider.vault.version is %s but %s is KV %s: read as KV %s", c.spec.Version, l.mount.path, l.mount.version, l.mount.version))
	}
}
