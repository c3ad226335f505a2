package vault

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// unique returns prefix followed by 8 random hex characters, for Vault
// mounts, roles and policies that must not collide between tests (one
// Vault serves the whole package).
var unique = testenv.Unique

// recordedRequest is one request a recorder saw.
type recordedRequest struct {
	Method string
	Path   string // without /v1/
	Query  url.Values
	Header http.Header
}

// recorder is a reverse proxy in front of a Vault that records every
// request and can add headers to every response.
type recorder struct {
	URL string

	mu     sync.Mutex
	reqs   []recordedRequest
	inject http.Header
	strip  []string // request headers recorded but not forwarded
}

// newRecorder starts a recorder in front of target; it stops with the test.
func newRecorder(t testing.TB, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for k, vs := range rec.inject {
			for _, v := range vs {
				resp.Header.Add(k, v)
			}
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recordedRequest{
			Method: r.Method,
			Path:   strings.TrimPrefix(r.URL.Path, "/v1/"),
			Query:  r.URL.Query(),
			Header: r.Header.Clone(),
		})
		for _, h := range rec.strip {
			r.Header.Del(h)
		}
		rec.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

// requests returns what the recorder has seen so far.
func (r *recorder) requests() []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedRequest(nil), r.reqs...)
}

// count counts the requests to path (without /v1/) with one of methods.
func (r *recorder) count(path string, methods ...string) int {
	n := 0
	for _, req := range r.requests() {
		if req.Path != path {
			continue
		}
		for _, m := range methods {
			if req.Method == m {
				n++
				break
			}
		}
	}
	return n
}

// injectResponseHeader adds a header to every later response.
func (r *recorder) injectResponseHeader(k, v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inject == nil {
		r.inject = http.Header{}
	}
	r.inject.Set(k, v)
}

// stripRequestHeader makes the recorder record header h but not forward it.
func (r *recorder) stripRequestHeader(h string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.strip = append(r.strip, h)
}

// namespacedStore returns a SecretStore in ns with spec.
func namespacedStore(ns string, spec *esv1.VaultProvider) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "vault", Namespace: ns, UID: types.UID(unique("uid-")), Generation: 1},
		Spec:       esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Vault: spec}},
	}
}

// clusterStore returns a ClusterSecretStore with spec.
func clusterStore(spec *esv1.VaultProvider) *esv1.ClusterSecretStore {
	return &esv1.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: unique("vault-"), UID: types.UID(unique("uid-")), Generation: 1},
		Spec:       esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Vault: spec}},
	}
}

// createSecret creates a Secret in ns.
func createSecret(t testing.TB, env *testenv.Env, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	if err := env.Client.Create(t.Context(), s); err != nil {
		t.Fatalf("creating Secret %s/%s: %v", ns, name, err)
	}
}

// policy writes a Vault ACL policy and deletes it when the test ends.
func policy(t testing.TB, env *testenv.Env, name, hcl string) {
	t.Helper()
	env.Vault.Write(t, "PUT", "sys/policies/acl/"+name, map[string]any{"policy": hcl})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/policies/acl/"+name, nil)
	})
}

// childToken creates a token with policies (and the default policy).
func childToken(t testing.TB, env *testenv.Env, ttl string, meta map[string]string, policies ...string) string {
	t.Helper()
	out := env.Vault.Write(t, "POST", "auth/token/create", map[string]any{"policies": policies, "ttl": ttl, "meta": meta})
	auth, _ := out["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if tok == "" {
		t.Fatalf("auth/token/create answered without a token")
	}
	return tok
}

// kvMount enables a KV mount of the given version ("1" or "2") at a
// unique path and returns the path (without slash).
func kvMount(t testing.TB, env *testenv.Env, version string) string {
	t.Helper()
	path := unique("kv" + version + "-")
	env.Vault.Write(t, "POST", "sys/mounts/"+path, map[string]any{"type": "kv", "options": map[string]any{"version": version}})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/mounts/"+path, nil)
	})
	return path
}

// tokenStore creates a token with policies, puts it in a Secret in ns and
// returns a SecretStore spec that uses it, for server addr.
func tokenStore(t testing.TB, env *testenv.Env, ns, addr string, policies ...string) (*esv1.VaultProvider, string) {
	t.Helper()
	tok := childToken(t, env, "1h", map[string]string{"role": "test"}, policies...)
	name := unique("token-")
	createSecret(t, env, ns, name, map[string]string{"token": tok})
	return &esv1.VaultProvider{
		Server: addr,
		Auth:   &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: name, Key: "token"}},
	}, tok
}

// newTestClient builds a client and closes it when the test ends.
func newTestClient(t testing.TB, ctx context.Context, store provider.Store, env *testenv.Env, ns string) *Client {
	t.Helper()
	cl, err := Provider{}.NewClient(ctx, store, env.Client, ns)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = cl.Close(context.Background()) })
	return cl.(*Client)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// warnCtx returns a context that collects warnings.
func warnCtx(ctx context.Context) (context.Context, *provider.Warnings) {
	w := &provider.Warnings{}
	return provider.WithWarnings(ctx, w), w
}

// containsAll reports the first of subs that s lacks, or "".
func containsAll(s string, subs ...string) string {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return sub
		}
	}
	return ""
}

// currentToken returns the client's token, for tests that check its fate.
func (c *Client) currentToken() string {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	return c.tok.token
}
