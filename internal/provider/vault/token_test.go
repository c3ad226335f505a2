package vault

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// appRoleStore enables AppRole at a unique mount with a role of the given
// token TTLs that reads the fixture's secret, and returns a SecretStore
// spec that logs in with it against addr.
func appRoleStore(t *testing.T, f authFixture, addr string, role map[string]any) *esv1.VaultProvider {
	t.Helper()
	env := f.env
	mount := unique("approle-")
	env.Vault.Write(t, "POST", "sys/auth/"+mount, map[string]any{"type": "approle"})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/auth/"+mount, nil)
	})
	role["token_policies"] = []string{f.policy}
	env.Vault.Write(t, "POST", "auth/"+mount+"/role/app", role)
	roleID := env.Vault.Write(t, "GET", "auth/"+mount+"/role/app/role-id", nil)["data"].(map[string]any)["role_id"].(string)
	secretID := env.Vault.Write(t, "POST", "auth/"+mount+"/role/app/secret-id", nil)["data"].(map[string]any)["secret_id"].(string)
	name := unique("approle-")
	createSecret(t, env, f.ns, name, map[string]string{"secret-id": secretID})
	return &esv1.VaultProvider{Server: addr, Auth: &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{
		Path: mount, RoleID: roleID, SecretRef: esv1.SecretKeySelector{Name: name, Key: "secret-id"},
	}}}
}

// tokenValid asks Vault (as root) whether tok is a live token.
func tokenValid(t *testing.T, env *testenv.Env, tok string) bool {
	t.Helper()
	_, err := env.Vault.Request(context.Background(), env.Vault.RootToken, "POST", "auth/token/lookup", map[string]any{"token": tok})
	return err == nil
}

// 50 reconciles of 20 ExternalSecrets, each reading its own key through
// the engine's client cache, log in exactly once.
func TestOneLoginFor50ReconcilesOf20Secrets(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	env.ServiceAccount(t, ns, "counted")
	env.AllowTokenReview(t, ns, "counted")
	folder := unique("count-")
	pol := unique("count-")
	policy(t, env, pol, `path "secret/data/`+folder+`/*" { capabilities = ["read"] }`)
	role := unique("count-")
	env.Vault.Write(t, "POST", "auth/kubernetes/role/"+role, map[string]any{
		"bound_service_account_names": []string{"counted"}, "bound_service_account_namespaces": []string{ns},
		"token_policies": []string{pol}, "token_ttl": "10m",
	})
	const secrets, reconciles = 20, 50
	for i := range secrets {
		env.Vault.Write(t, "POST", fmt.Sprintf("secret/data/%s/s%02d", folder, i), map[string]any{"data": map[string]any{"v": i}})
	}
	rec := newRecorder(t, env.Vault.Addr)
	store := namespacedStore(ns, &esv1.VaultProvider{
		Server: rec.URL,
		Path:   ptr("secret"),
		Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
			Role: role, ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "counted"},
		}},
	})
	cache := provider.NewCache(provider.CacheOptions{})
	t.Cleanup(cache.Close)

	began := time.Now()
	for r := range reconciles {
		var wg sync.WaitGroup
		errs := make(chan error, secrets)
		for i := range secrets {
			wg.Go(func() {
				cl, err := cache.Get(t.Context(), store, env.Client, ns)
				if err == nil {
					var raw []byte
					raw, err = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: fmt.Sprintf("%s/s%02d", folder, i)})
					if err == nil && string(raw) != fmt.Sprintf(`{"v":%d}`, i) {
						err = fmt.Errorf("secret %d read as %s", i, raw)
					}
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("reconcile %d: %v", r, err)
			}
		}
	}
	elapsed := time.Since(began)
	logins := rec.count("auth/kubernetes/login", "PUT", "POST")
	reads := countPrefix(rec, "secret/data/")
	t.Logf("%d reads in %s: %d login(s), %d Vault reads, %d mount lookups, %d requests in all",
		secrets*reconciles, elapsed.Round(time.Millisecond), logins, reads, countPrefix(rec, "sys/internal/ui/mounts/"), len(rec.requests()))
	if logins != 1 {
		t.Errorf("%d logins, want exactly 1", logins)
	}
	if n := countPrefix(rec, "sys/internal/ui/mounts/"); n > 1 {
		t.Errorf("%d mount lookups, want at most 1 (cached per client)", n)
	}
}

// countPrefix counts the requests whose path starts with prefix.
func countPrefix(rec *recorder, prefix string) int {
	n := 0
	for _, req := range rec.requests() {
		if strings.HasPrefix(req.Path, prefix) {
			n++
		}
	}
	return n
}

// A token is renewed (renew-self) before it expires, without logging in
// again, and reads go on working past its first TTL.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	f := newAuthFixture(t)
	rec := newRecorder(t, f.env.Vault.Addr)
	spec := appRoleStore(t, f, rec.URL, map[string]any{"token_ttl": "3s", "token_max_ttl": "1h"})
	cl := newTestClient(t, t.Context(), namespacedStore(f.ns, spec), f.env, "")
	first := cl.currentToken()
	deadline := time.Now().Add(7 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.key}); err != nil {
			t.Fatalf("read at %s: %v", time.Until(deadline), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	renewals := rec.count("auth/token/renew-self", "PUT", "POST")
	logins := countPrefix(rec, "auth/"+spec.Auth.AppRole.Path+"/login")
	t.Logf("7s with a 3s token: %d renewal(s), %d login(s)", renewals, logins)
	if renewals < 2 || logins != 1 {
		t.Errorf("%d renewals and %d logins, want at least 2 renewals and exactly 1 login", renewals, logins)
	}
	if cl.currentToken() != first {
		t.Errorf("the token changed although it could be renewed")
	}
}

// A token whose max TTL is reached is replaced by a new login before it
// expires; the old one is revoked and reads never fail.
func TestReloginAtMaxTTL(t *testing.T) {
	f := newAuthFixture(t)
	rec := newRecorder(t, f.env.Vault.Addr)
	spec := appRoleStore(t, f, rec.URL, map[string]any{"token_ttl": "2s", "token_max_ttl": "3s"})
	cl := newTestClient(t, t.Context(), namespacedStore(f.ns, spec), f.env, "")
	first := cl.currentToken()
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.key}); err != nil {
			t.Fatalf("read: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	logins := countPrefix(rec, "auth/"+spec.Auth.AppRole.Path+"/login")
	if logins < 2 {
		t.Errorf("%d logins in 6s with a max TTL of 3s, want a new login before the max TTL", logins)
	}
	if tokenValid(t, f.env, first) {
		t.Errorf("the first token is still valid after it was replaced")
	}
}

// Close revokes a token the client obtained by logging in, and leaves a
// tokenSecretRef token alone.
func TestCloseRevokesOnlyOwnTokens(t *testing.T) {
	f := newAuthFixture(t)
	spec := appRoleStore(t, f, f.env.Vault.Addr, map[string]any{"token_ttl": "10m"})
	cl, err := Provider{}.NewClient(t.Context(), namespacedStore(f.ns, spec), f.env.Client, "")
	if err != nil {
		t.Fatal(err)
	}
	tok := cl.(*Client).currentToken()
	if !tokenValid(t, f.env, tok) {
		t.Fatal("the login token is not valid")
	}
	if err := cl.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if tokenValid(t, f.env, tok) {
		t.Error("Close left the login token valid")
	}
	if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.key}); err == nil {
		t.Error("a closed client still reads")
	}

	static, staticTok := tokenStore(t, f.env, f.ns, f.env.Vault.Addr, f.policy)
	cl, err = Provider{}.NewClient(t.Context(), namespacedStore(f.ns, static), f.env.Client, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.key}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !tokenValid(t, f.env, staticTok) {
		t.Error("Close revoked the tokenSecretRef token, which belongs to the user")
	}
}

// The process's VAULT_* environment is ignored: a valid VAULT_TOKEN and a
// VAULT_ADDR pointing elsewhere are neither used nor revoked, by a store
// that fails to log in nor by one that works; VAULT_NAMESPACE,
// VAULT_HEADERS and VAULT_WRAP_TTL add nothing to the requests.
func TestNoAmbientCredentials(t *testing.T) {
	f := newAuthFixture(t)
	env := f.env
	var decoyHits atomic.Int64
	decoy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		decoyHits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(decoy.Close)
	ambient := childToken(t, env, "1h", nil, "default", f.policy)
	t.Setenv("VAULT_TOKEN", ambient)
	t.Setenv("VAULT_ADDR", decoy.URL)
	t.Setenv("VAULT_AGENT_ADDR", decoy.URL)
	t.Setenv("VAULT_NAMESPACE", "ambient-ns")
	t.Setenv("VAULT_HEADERS", `{"X-Ambient": "yes"}`)
	t.Setenv("VAULT_WRAP_TTL", "5m")
	t.Setenv("VAULT_MAX_RETRIES", "7")
	rec := newRecorder(t, env.Vault.Addr)
	env.ServiceAccount(t, f.ns, "no-role")
	env.AllowTokenReview(t, f.ns, "no-role")

	failing := map[string]*esv1.VaultProvider{
		"kubernetes login refused": {Server: rec.URL, Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
			Role: unique("no-such-role-"), ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "no-role"},
		}}},
		"token Secret missing": {Server: rec.URL, Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "missing", Key: "token"}}},
	}
	for name, spec := range failing {
		cl, err := Provider{}.NewClient(t.Context(), namespacedStore(f.ns, spec), env.Client, "")
		if err == nil {
			_, err = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.key})
			_ = cl.Close(t.Context())
		}
		if err == nil {
			t.Fatalf("%s: the store worked, so the ambient token must have been used", name)
		}
		if strings.Contains(err.Error(), ambient) {
			t.Errorf("%s: the error shows the ambient token", name)
		}
	}
	working := appRoleStore(t, f, rec.URL, map[string]any{"token_ttl": "10m"})
	cl, err := Provider{}.NewClient(t.Context(), namespacedStore(f.ns, working), env.Client, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.key}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := cl.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	if n := decoyHits.Load(); n != 0 {
		t.Errorf("VAULT_ADDR's server got %d requests", n)
	}
	for _, req := range rec.requests() {
		switch {
		case req.Header.Get("X-Vault-Token") == ambient:
			t.Errorf("%s %s carried VAULT_TOKEN", req.Method, req.Path)
		case req.Header.Get("X-Vault-Namespace") != "":
			t.Errorf("%s %s carried a namespace", req.Method, req.Path)
		case req.Header.Get("X-Ambient") != "" || req.Header.Get("X-Vault-Wrap-TTL") != "":
			t.Errorf("%s %s carried VAULT_HEADERS or VAULT_WRAP_TTL", req.Method, req.Path)
		}
	}
	if len(rec.requests()) == 0 {
		t.Fatal("the recorder saw nothing")
	}
	if !tokenValid(t, env, ambient) {
		t.Error("the ambient VAULT_TOKEN was revoked")
	}
}
