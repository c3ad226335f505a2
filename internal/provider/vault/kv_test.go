package vault

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// kvFixture is a KV v2 folder and a KV v1 mount with a client that reads
// both.
type kvFixture struct {
	env    *testenv.Env
	folder string // under secret/
	v1     string // a KV v1 mount
	cl     *Client
}

func newKVFixture(t *testing.T, storePath *string) kvFixture {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	f := kvFixture{env: env, folder: unique("kv-"), v1: kvMount(t, env, "1")}
	pol := unique("kv-")
	policy(t, env, pol, `
path "secret/data/`+f.folder+`/*" { capabilities = ["read"] }
path "secret/metadata/`+f.folder+`/*" { capabilities = ["read", "list"] }
path "secret/metadata/`+f.folder+`" { capabilities = ["list"] }
path "`+f.v1+`/*" { capabilities = ["read", "list"] }`)
	spec, _ := tokenStore(t, env, ns, env.Vault.Addr, pol)
	spec.Path = storePath
	f.cl = newTestClient(t, t.Context(), namespacedStore(ns, spec), env, ns)
	return f
}

func (f kvFixture) writeV2(t *testing.T, rel string, data map[string]any) {
	t.Helper()
	f.env.Vault.Write(t, "POST", "secret/data/"+f.folder+"/"+rel, map[string]any{"data": data})
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestKVv2VersionsAndMetadata(t *testing.T) {
	f := newKVFixture(t, ptr("secret"))
	key := f.folder + "/versioned"
	f.writeV2(t, "versioned", map[string]any{"pw": "one"})
	f.writeV2(t, "versioned", map[string]any{"pw": "two", "port": 5432, "nested": map[string]any{"a": true}})
	f.env.Vault.Write(t, "POST", "secret/metadata/"+key, map[string]any{"custom_metadata": map[string]any{"team": "db", "env": "prod"}})

	raw, err := f.cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, raw, `{"pw":"two","port":5432,"nested":{"a":true}}`)

	raw, err = f.cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: key, Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, raw, `{"pw":"one"}`)

	_, err = f.cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: key, Version: "9"})
	if !provider.IsNotFound(err) {
		t.Errorf("version 9: %v, want not found", err)
	}
	var ce *provider.ConfigError
	if _, err = f.cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: key, Version: "latest"}); !errors.As(err, &ce) {
		t.Errorf("version latest: %v, want a configuration error", err)
	}

	m, err := f.cl.GetSecretMap(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if string(m["pw"]) != "two" || string(m["port"]) != "5432" || string(m["nested"]) != `{"a":true}` {
		t.Errorf("GetSecretMap = %q", m)
	}

	raw, err = f.cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: key, MetadataPolicy: esv1.MetadataPolicyFetch})
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	if meta["team"] != "db" || meta["env"] != "prod" || meta["current_version"] != "2" || meta["created_time"] == "" {
		t.Errorf("metadata = %s", raw)
	}
	if _, ok := meta["pw"]; ok {
		t.Errorf("metadata carries the secret's data: %s", raw)
	}
}

func TestKVv1(t *testing.T) {
	f := newKVFixture(t, nil)
	f.env.Vault.Write(t, "POST", f.v1+"/app/db", map[string]any{"user": "u1", "n": 3})
	raw, err := f.cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.v1 + "/app/db"})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, raw, `{"user":"u1","n":3}`)
	var ce *provider.ConfigError
	for name, ref := range map[string]esv1.ExternalSecretDataRemoteRef{
		"version":  {Key: f.v1 + "/app/db", Version: "1"},
		"metadata": {Key: f.v1 + "/app/db", MetadataPolicy: esv1.MetadataPolicyFetch},
	} {
		if _, err := f.cl.GetSecret(t.Context(), ref); !errors.As(err, &ce) || !strings.Contains(err.Error(), "KV v1 mount") {
			t.Errorf("%s on KV v1: %v, want a configuration error that names KV v1", name, err)
		}
	}
	if _, err := f.cl.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr(f.v1), Tags: map[string]string{"a": "b"}}); !errors.As(err, &ce) {
		t.Errorf("find by tags on KV v1: %v, want a configuration error", err)
	}
}

func TestFind(t *testing.T) {
	f := newKVFixture(t, ptr("secret"))
	for rel, data := range map[string]map[string]any{
		"db/primary":         {"pw": "p1"},
		"db/replica":         {"pw": "p2"},
		"db/deep/er/archive": {"pw": "p3"},
		"web/token":          {"tok": "t1"},
	} {
		f.writeV2(t, rel, data)
	}
	f.env.Vault.Write(t, "POST", "secret/metadata/"+f.folder+"/db/primary", map[string]any{"custom_metadata": map[string]any{"tier": "gold", "team": "db"}})
	f.env.Vault.Write(t, "POST", "secret/metadata/"+f.folder+"/web/token", map[string]any{"custom_metadata": map[string]any{"tier": "gold"}})
	// A secret whose current version is deleted is skipped.
	f.writeV2(t, "db/gone", map[string]any{"pw": "x"})
	f.env.Vault.Write(t, "DELETE", "secret/data/"+f.folder+"/db/gone", nil)

	names := func(m map[string][]byte) string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	p := f.folder
	for _, tc := range []struct {
		name string
		find esv1.ExternalSecretFind
		want string
	}{
		{"path, recursive", esv1.ExternalSecretFind{Path: ptr(p + "/db")}, p + "/db/deep/er/archive," + p + "/db/primary," + p + "/db/replica"},
		{"path spelled with the mount", esv1.ExternalSecretFind{Path: ptr("secret/" + p + "/web")}, p + "/web/token"},
		{"name regexp", esv1.ExternalSecretFind{Path: ptr(p), Name: &esv1.FindName{RegExp: "(primary|token)$"}}, p + "/db/primary," + p + "/web/token"},
		{"tags", esv1.ExternalSecretFind{Path: ptr(p), Tags: map[string]string{"tier": "gold"}}, p + "/db/primary," + p + "/web/token"},
		{"tags and name", esv1.ExternalSecretFind{Path: ptr(p), Tags: map[string]string{"tier": "gold"}, Name: &esv1.FindName{RegExp: "^" + p + "/db/"}}, p + "/db/primary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.cl.GetAllSecrets(t.Context(), tc.find)
			if err != nil {
				t.Fatal(err)
			}
			if names(got) != tc.want {
				t.Errorf("found %s, want %s", names(got), tc.want)
			}
		})
	}
	got, err := f.cl.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr(p + "/db"), Name: &esv1.FindName{RegExp: "primary"}})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, got[p+"/db/primary"], `{"pw":"p1"}`)

	if _, err := f.cl.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr(p + "/nothing-here")}); !provider.IsNotFound(err) {
		t.Errorf("find under a missing path: %v, want not found", err)
	}
	var ce *provider.ConfigError
	if _, err := f.cl.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr(p), Name: &esv1.FindName{RegExp: "("}}); !errors.As(err, &ce) {
		t.Errorf("bad regexp: %v, want a configuration error", err)
	}
}

func TestFindKVv1WithoutStorePath(t *testing.T) {
	f := newKVFixture(t, nil)
	f.env.Vault.Write(t, "POST", f.v1+"/a/one", map[string]any{"k": "1"})
	f.env.Vault.Write(t, "POST", f.v1+"/a/b/two", map[string]any{"k": "2"})
	got, err := f.cl.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr(f.v1 + "/a")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["a/one"]) != `{"k":"1"}` || string(got["a/b/two"]) != `{"k":"2"}` {
		t.Errorf("found %q", got)
	}
}
