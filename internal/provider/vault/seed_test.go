package vault

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// seedManifests decodes the seed's two manifests, with the store's server
// replaced by addr.
func seedManifests(t *testing.T, env *testenv.Env, addr string) (*esv1.ClusterSecretStore, *esv1.ExternalSecret) {
	t.Helper()
	dir := filepath.Join(env.RepoRoot, "test", "testdata", "seed")
	var css esv1.ClusterSecretStore
	var es esv1.ExternalSecret
	for name, into := range map[string]any{"clustersecretstore.yaml": &css, "externalsecret.yaml": &es} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(raw, into); err != nil {
			t.Fatalf("decoding %s: %v", name, err)
		}
	}
	if css.Spec.Provider.Vault == nil || css.Spec.Provider.Vault.Server != "https://vault.example.com:8200" {
		t.Fatalf("the seed store is not the article's: %+v", css.Spec.Provider)
	}
	css.Spec.Provider.Vault.Server = addr
	css.UID = types.UID(unique("seed-"))
	css.Generation = 1
	return &css, &es
}

// seedVault prepares Vault and the cluster as DESIGN.md §2 says: the
// secret at secret/prod/app-db, role external-secrets-role bound to
// ServiceAccount external-secrets in the controller's namespace, a read
// policy on secret/data/prod/*. It returns the controller's namespace and
// the secret's password.
func seedVault(t *testing.T, env *testenv.Env) (ctrlNS, password string) {
	t.Helper()
	ctrlNS = env.Namespace(t)
	env.ServiceAccount(t, ctrlNS, "external-secrets")
	env.AllowTokenReview(t, ctrlNS, "external-secrets")
	env.VaultKubernetesRole(t, "external-secrets-role", ctrlNS, "external-secrets", map[string]string{
		"read-prod": `path "secret/data/prod/*" { capabilities = ["read"] }`,
	})
	password = unique("s3cr3t-")
	env.Vault.Write(t, "POST", "secret/data/prod/app-db", map[string]any{"data": map[string]any{"username": "app", "password": password}})
	return ctrlNS, password
}

// The seed article's manifests, verbatim but for the server: the store
// logs in as the controller's ServiceAccount, finds the KV v2 mount from
// the key, returns the secret's own data, and says what it interpreted, on
// every read.
func TestSeedScenario(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS, password := seedVault(t, env)
	esNS := env.Namespace(t)
	css, es := seedManifests(t, env, env.Vault.Addr)

	ctx := provider.WithController(t.Context(), provider.Controller{Namespace: ctrlNS, ServiceAccount: "external-secrets"})
	buildCtx, _ := warnCtx(ctx)
	cl := newTestClient(t, buildCtx, css, env, esNS)

	want := map[string]string{"username": "app", "password": password}
	for round := range 2 {
		readCtx, w := warnCtx(ctx)
		for _, d := range es.Spec.Data {
			ref := d.RemoteRef
			ref.Property = "" // the engine asks for the whole secret
			raw, err := cl.GetSecret(readCtx, ref)
			if err != nil {
				t.Fatalf("round %d: GetSecret(%q): %v", round, ref.Key, err)
			}
			var got map[string]string
			if err := json.Unmarshal(raw, &got); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: GetSecret(%q) = %s (%v), want the secret's own data {username, password}", round, ref.Key, raw, err)
			}
			// What the engine then does with the article's property.
			rest := strings.TrimPrefix(d.RemoteRef.Property, "data.")
			if v, err := shape.Property(raw, rest); err != nil || string(v) != want[d.SecretKey] {
				t.Errorf("property %q of the secret: %q, %v", rest, v, err)
			}
		}
		warnings := strings.Join(w.List(), "\n")
		for _, sub := range []string{
			`mountPath "/var/run/secrets/kubernetes.io/serviceaccount" is a file-system path`,
			"logged in at auth/kubernetes",
			`serviceAccountRef "external-secrets" has no namespace`,
			"the controller's ServiceAccount " + ctrlNS + "/external-secrets",
			`spec.provider.vault.path "kubernetes" is not a KV mount`,
			`names KV v2 mount "secret/", so it is read at secret/data/prod/app-db`,
		} {
			if !strings.Contains(warnings, sub) {
				t.Errorf("round %d: no warning says %q; warnings:\n%s", round, sub, warnings)
			}
		}
	}

	v, err := cl.Validate(ctx)
	if err != nil || v.Result != provider.ValidationReady {
		t.Fatalf("Validate: %+v, %v", v, err)
	}
	if miss := containsAll(v.Identity, "role external-secrets-role", "policies [default read-prod]", "ttl 10m", "ServiceAccount "+ctrlNS+"/external-secrets"); miss != "" {
		t.Errorf("identity %q lacks %q", v.Identity, miss)
	}
}

// The seed store validated without an ExternalSecret (the store
// controller's call): the same controller fallback applies.
func TestSeedStoreValidatesWithoutNamespace(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS, _ := seedVault(t, env)
	css, _ := seedManifests(t, env, env.Vault.Addr)
	ctx := provider.WithController(t.Context(), provider.Controller{Namespace: ctrlNS, ServiceAccount: "external-secrets"})
	ctx, w := warnCtx(ctx)
	cl := newTestClient(t, ctx, css, env, "")
	if v, err := cl.Validate(ctx); err != nil || v.Result != provider.ValidationReady {
		t.Fatalf("Validate: %+v, %v", v, err)
	}
	if !strings.Contains(strings.Join(w.List(), "\n"), "no ExternalSecret namespace applies: logged in as the controller's ServiceAccount") {
		t.Errorf("warnings do not say which identity was used: %q", w.List())
	}
}

// When the ExternalSecret's namespace has a ServiceAccount of that name,
// upstream's meaning wins: that ServiceAccount logs in, and nothing is
// interpreted about the identity.
func TestSeedServiceAccountInExternalSecretNamespace(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS, password := seedVault(t, env)
	esNS := env.Namespace(t)
	env.ServiceAccount(t, esNS, "external-secrets")
	env.AllowTokenReview(t, esNS, "external-secrets")
	role := unique("es-ns-role-")
	env.VaultKubernetesRole(t, role, esNS, "external-secrets", map[string]string{
		role: `path "secret/data/prod/*" { capabilities = ["read"] }`,
	})
	css, _ := seedManifests(t, env, env.Vault.Addr)
	css.Spec.Provider.Vault.Auth.Kubernetes.Role = role

	ctx := provider.WithController(t.Context(), provider.Controller{Namespace: ctrlNS, ServiceAccount: "external-secrets"})
	ctx, w := warnCtx(ctx)
	cl := newTestClient(t, ctx, css, env, esNS)
	raw, err := cl.GetSecret(ctx, esv1.ExternalSecretDataRemoteRef{Key: "secret/data/prod/app-db"})
	if err != nil || !strings.Contains(string(raw), password) {
		t.Fatalf("GetSecret: %s, %v", raw, err)
	}
	v, err := cl.Validate(ctx)
	if err != nil || !strings.Contains(v.Identity, "ServiceAccount "+esNS+"/external-secrets") {
		t.Errorf("logged in as %q (%v), want the ExternalSecret namespace's ServiceAccount", v.Identity, err)
	}
	if ws := strings.Join(w.List(), "\n"); strings.Contains(ws, "logged in as the controller") {
		t.Errorf("warned about a controller fallback that did not happen:\n%s", ws)
	}
}

// A serviceAccountRef without namespace that names neither a
// ServiceAccount of the ExternalSecret's namespace nor the controller's is
// a configuration error that says where it looked.
func TestSeedUnknownServiceAccount(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS, _ := seedVault(t, env)
	esNS := env.Namespace(t)
	css, _ := seedManifests(t, env, env.Vault.Addr)
	css.Spec.Provider.Vault.Auth.Kubernetes.ServiceAccountRef.Name = "nobody"
	ctx := provider.WithController(t.Context(), provider.Controller{Namespace: ctrlNS, ServiceAccount: "external-secrets"})
	_, err := Provider{}.NewClient(ctx, css, env.Client, esNS)
	var ce *provider.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("NewClient: %v, want a *provider.ConfigError", err)
	}
	if miss := containsAll(err.Error(), "ServiceAccount "+esNS+"/nobody not found", "ExternalSecret's namespace", "controller runs as ServiceAccount "+ctrlNS+"/external-secrets"); miss != "" {
		t.Errorf("error %q lacks %q", err, miss)
	}
}

// With a token directory as mountPath, the auth mount is
// spec.provider.vault.path when Vault accepts a login there, else
// "kubernetes".
func TestSeedTokenDirectoryAuthMount(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS, password := seedVault(t, env)
	ctx := provider.WithController(t.Context(), provider.Controller{Namespace: ctrlNS, ServiceAccount: "external-secrets"})

	t.Run("path is a KV mount", func(t *testing.T) {
		css, _ := seedManifests(t, env, env.Vault.Addr)
		css.Spec.Provider.Vault.Path = ptr("secret")
		ctx, w := warnCtx(ctx)
		cl := newTestClient(t, ctx, css, env, "")
		raw, err := cl.GetSecret(ctx, esv1.ExternalSecretDataRemoteRef{Key: "prod/app-db"})
		if err != nil || !strings.Contains(string(raw), password) {
			t.Fatalf("GetSecret: %s, %v", raw, err)
		}
		if ws := strings.Join(w.List(), "\n"); !strings.Contains(ws, `logged in at auth/kubernetes (spec.provider.vault.path "secret" is no Kubernetes auth mount, so the default)`) {
			t.Errorf("warnings:\n%s", ws)
		}
	})
	t.Run("path is a Kubernetes auth mount", func(t *testing.T) {
		mount := unique("k8s-")
		env.Vault.Write(t, "POST", "sys/auth/"+mount, map[string]any{"type": "kubernetes"})
		t.Cleanup(func() {
			_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/auth/"+mount, nil)
		})
		env.Vault.Write(t, "POST", "auth/"+mount+"/config", map[string]any{
			"kubernetes_host": env.APIServerURL, "kubernetes_ca_cert": string(env.APIServerCA), "disable_local_ca_jwt": true,
		})
		env.Vault.Write(t, "POST", "auth/"+mount+"/role/external-secrets-role", map[string]any{
			"bound_service_account_names": []string{"external-secrets"}, "bound_service_account_namespaces": []string{ctrlNS},
			"token_policies": []string{"read-prod"},
		})
		css, _ := seedManifests(t, env, env.Vault.Addr)
		css.Spec.Provider.Vault.Path = ptr(mount)
		ctx, w := warnCtx(ctx)
		cl := newTestClient(t, ctx, css, env, "")
		raw, err := cl.GetSecret(ctx, esv1.ExternalSecretDataRemoteRef{Key: "secret/data/prod/app-db"})
		if err != nil || !strings.Contains(string(raw), password) {
			t.Fatalf("GetSecret: %s, %v", raw, err)
		}
		ws := strings.Join(w.List(), "\n")
		for _, sub := range []string{
			"logged in at auth/" + mount + ` (spec.provider.vault.path "` + mount + `" names that auth mount)`,
			`spec.provider.vault.path "` + mount + `" is not a KV mount`,
		} {
			if !strings.Contains(ws, sub) {
				t.Errorf("no warning says %q:\n%s", sub, ws)
			}
		}
	})
}
