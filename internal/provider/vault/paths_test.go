package vault

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// Every spelling of a key reaches the same API path, the mount is never
// prefixed twice, and each reading that differs from upstream's is noted.
// The mounts are known in advance, so no Vault is needed.
func TestLocate(t *testing.T) {
	known := map[string]mountLookup{
		"secret":      {kv: true, mount: mount{path: "secret/", version: esv1.VaultKVStoreV2}},
		"kv1":         {kv: true, mount: mount{path: "kv1/", version: esv1.VaultKVStoreV1}},
		"kubernetes":  {},
		"prod/app-db": {},
	}
	cases := []struct {
		name    string
		path    *string
		version esv1.VaultKVStoreVersion
		key     string
		want    string // the data path
		note    string // part of the expected interpretation, "" for none
		hint    string // part of the expected hint, "" for none
	}{
		{name: "relative to path", path: ptr("secret"), key: "prod/app-db", want: "secret/data/prod/app-db"},
		{name: "mount repeated", path: ptr("secret"), key: "secret/prod/app-db", want: "secret/data/prod/app-db"},
		{name: "API path with path", path: ptr("secret"), key: "secret/data/prod/app-db", want: "secret/data/prod/app-db"},
		{name: "slashes around path", path: ptr("/secret/"), key: "/prod/app-db", want: "secret/data/prod/app-db"},
		{name: "mount in key", key: "secret/prod/app-db", want: "secret/data/prod/app-db"},
		{name: "API path in key", key: "secret/data/prod/app-db", want: "secret/data/prod/app-db"},
		{name: "seed: path is not a KV mount", path: ptr("kubernetes"), key: "secret/data/prod/app-db", want: "secret/data/prod/app-db", note: `spec.provider.vault.path "kubernetes" is not a KV mount`},
		{name: "folder inside mount", path: ptr("secret/team"), key: "app", want: "secret/data/team/app", note: "is a folder inside KV v2 mount"},
		{name: "folder repeated", path: ptr("secret/team"), key: "secret/team/app", want: "secret/data/team/app", note: "is a folder inside"},
		{name: "folder API path", path: ptr("secret/team"), key: "secret/data/team/app", want: "secret/data/team/app", note: "is a folder inside"},
		{name: "KV v1 relative", path: ptr("kv1"), key: "prod/app-db", want: "kv1/prod/app-db"},
		{name: "KV v1 mount in key", key: "kv1/prod/app-db", want: "kv1/prod/app-db"},
		{name: "KV v1 with v2 spelling (fallback at read)", key: "kv1/data/prod/app-db", want: "kv1/data/prod/app-db"},
		{name: "KV v1 store says v2", path: ptr("kv1"), version: esv1.VaultKVStoreV2, key: "a", want: "kv1/a", note: "version is v2 but kv1/ is KV v1"},
		{name: "KV v2 store says v1", path: ptr("secret"), version: esv1.VaultKVStoreV1, key: "a", want: "secret/data/a", note: "version is v1 but secret/ is KV v2"},
		{name: "nothing discoverable", path: ptr("kubernetes"), key: "prod/app-db", want: "kubernetes/data/prod/app-db", hint: "neither spec.provider.vault.path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{
				spec:   &esv1.VaultProvider{Path: tc.path, Version: tc.version},
				mounts: map[string]mountLookup{},
				keys:   map[string]*location{},
			}
			for k, v := range known {
				c.mounts[k] = v
			}
			l, err := c.resolve(t.Context(), tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.dataPath(); got != tc.want {
				t.Errorf("data path %q, want %q", got, tc.want)
			}
			notes := strings.Join(l.notes, "\n")
			if (tc.note == "") != (notes == "") || !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q, want one with %q", notes, tc.note)
			}
			if !strings.Contains(l.hint, tc.hint) || (tc.hint == "") != (l.hint == "") {
				t.Errorf("hint %q, want %q", l.hint, tc.hint)
			}
		})
	}
}

// Against Vault: the spellings of DESIGN.md §2 read the same secret on KV
// v2 and on KV v1, and on KV v1 the article's data/ spelling falls back to
// the real path with a warning, on every read.
func TestKeySpellings(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	folder := unique("spell-")
	v1 := kvMount(t, env, "1")
	pol := unique("spell-")
	policy(t, env, pol, `
path "secret/data/`+folder+`/*" { capabilities = ["read"] }
path "`+v1+`/`+folder+`/*" { capabilities = ["read"] }
path "`+v1+`/data/*" { capabilities = ["read"] }`)
	env.Vault.Write(t, "POST", "secret/data/"+folder+"/app-db", map[string]any{"data": map[string]any{"username": "v2user"}})
	env.Vault.Write(t, "POST", v1+"/"+folder+"/app-db", map[string]any{"username": "v1user"})
	spec, _ := tokenStore(t, env, ns, env.Vault.Addr, pol)

	read := func(t *testing.T, path *string, key string) (map[string]string, []string) {
		t.Helper()
		s := *spec
		s.Path = path
		cl := newTestClient(t, t.Context(), namespacedStore(ns, &s), env, ns)
		var got map[string]string
		var warnings []string
		for range 2 {
			ctx, w := warnCtx(t.Context())
			raw, err := cl.GetSecret(ctx, esv1.ExternalSecretDataRemoteRef{Key: key})
			if err != nil {
				t.Fatalf("GetSecret(%q) with path %v: %v", key, deref(path), err)
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if warnings != nil && !reflect.DeepEqual(w.List(), warnings) {
				t.Errorf("second read warned %q, first %q", w.List(), warnings)
			}
			warnings = w.List()
		}
		return got, warnings
	}
	for _, tc := range []struct {
		path *string
		key  string
		want string
		warn string
	}{
		{ptr("secret"), folder + "/app-db", "v2user", ""},
		{ptr("secret"), "secret/" + folder + "/app-db", "v2user", ""},
		{ptr("secret"), "secret/data/" + folder + "/app-db", "v2user", ""},
		{nil, "secret/" + folder + "/app-db", "v2user", ""},
		{nil, "secret/data/" + folder + "/app-db", "v2user", ""},
		{ptr("kubernetes"), "secret/data/" + folder + "/app-db", "v2user", "is not a KV mount"},
		{ptr(v1), folder + "/app-db", "v1user", ""},
		{ptr(v1), v1 + "/" + folder + "/app-db", "v1user", ""},
		{nil, v1 + "/" + folder + "/app-db", "v1user", ""},
		{nil, v1 + "/data/" + folder + "/app-db", "v1user", "read " + v1 + "/" + folder + "/app-db instead"},
		{ptr("kubernetes"), v1 + "/data/" + folder + "/app-db", "v1user", "read " + v1 + "/" + folder + "/app-db instead"},
	} {
		t.Run(deref(tc.path)+"+"+tc.key, func(t *testing.T) {
			got, warnings := read(t, tc.path, tc.key)
			if got["username"] != tc.want {
				t.Errorf("read %v, want username %q", got, tc.want)
			}
			ws := strings.Join(warnings, "\n")
			if (tc.warn == "") != (ws == "") || !strings.Contains(ws, tc.warn) {
				t.Errorf("warnings %q, want one with %q", ws, tc.warn)
			}
		})
	}
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// A key that exists nowhere is a *provider.NotFoundError naming the API
// path; on KV v1 both paths tried are named.
func TestNotFound(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	v1 := kvMount(t, env, "1")
	pol := unique("nf-")
	policy(t, env, pol, `
path "secret/data/*" { capabilities = ["read"] }
path "`+v1+`/*" { capabilities = ["read"] }`)
	spec, _ := tokenStore(t, env, ns, env.Vault.Addr, pol)
	cl := newTestClient(t, t.Context(), namespacedStore(ns, spec), env, ns)
	for key, want := range map[string][]string{
		"secret/data/nf/missing":    {"GET secret/data/nf/missing answered 404", `KV v2 mount "secret/"`},
		v1 + "/data/nf/missing":     {"GET " + v1 + "/data/nf/missing answered 404", "GET " + v1 + "/nf/missing (without KV v2's data/) answered 404 too"},
		"secret/" + unique("nf/x-"): {"answered 404"},
	} {
		_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: key})
		if !provider.IsNotFound(err) {
			t.Fatalf("GetSecret(%q): %v, want not found", key, err)
		}
		if miss := containsAll(err.Error(), want...); miss != "" {
			t.Errorf("GetSecret(%q): %q lacks %q", key, err, miss)
		}
	}
}
