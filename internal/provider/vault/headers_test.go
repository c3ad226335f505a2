package vault

import (
	"encoding/base64"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// spec.namespace and auth.namespace are sent as X-Vault-Namespace:
// auth.namespace on the login and on the token's own endpoints,
// spec.namespace on reads. The dev server is Vault Community, which
// ignores the header, so the test asserts what is sent; what Vault
// Enterprise does with it is its documented namespace semantics.
// spec.headers go on every request, and readYourWrites with
// forwardInconsistent send X-Vault-Inconsistent and echo X-Vault-Index.
func TestHeaders(t *testing.T) {
	f := newAuthFixture(t)
	rec := newRecorder(t, f.env.Vault.Addr)
	state := base64.StdEncoding.EncodeToString([]byte("v1:cluster-a:10:20:00"))
	rec.injectResponseHeader("X-Vault-Index", state)
	// Vault Community refuses forwarding requests; Enterprise standbys
	// honour them. The header is recorded, then removed.
	rec.stripRequestHeader("X-Vault-Inconsistent")
	spec := appRoleStore(t, f, rec.URL, map[string]any{"token_ttl": "10m"})
	spec.Namespace = ptr("team-a")
	spec.Auth.Namespace = ptr("admin")
	spec.Headers = map[string]string{"X-Custom": "custom-value"}
	spec.ReadYourWrites = true
	spec.ForwardInconsistent = true
	cl := newTestClient(t, t.Context(), namespacedStore(f.ns, spec), f.env, "")
	for range 2 {
		if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.key}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := cl.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	reads := 0
	for _, req := range rec.requests() {
		ns := req.Header.Get("X-Vault-Namespace")
		switch {
		case strings.HasPrefix(req.Path, "auth/"+spec.Auth.AppRole.Path+"/login"):
			seen["login"] = true
			if ns != "admin" {
				t.Errorf("login sent namespace %q, want auth.namespace admin", ns)
			}
		case strings.HasPrefix(req.Path, "auth/token/"):
			seen[req.Path] = true
			if ns != "admin" {
				t.Errorf("%s sent namespace %q, want admin (where the token was created)", req.Path, ns)
			}
		default:
			if ns != "team-a" {
				t.Errorf("%s %s sent namespace %q, want team-a", req.Method, req.Path, ns)
			}
			if strings.HasPrefix(req.Path, "secret/data/") {
				if reads++; reads > 1 && req.Header.Get("X-Vault-Index") != state {
					t.Errorf("read %d did not send back X-Vault-Index (readYourWrites)", reads)
				}
			}
		}
		if req.Header.Get("X-Custom") != "custom-value" {
			t.Errorf("%s %s lacks spec.headers", req.Method, req.Path)
		}
		if req.Header.Get("X-Vault-Inconsistent") != "forward-active-node" {
			t.Errorf("%s %s lacks X-Vault-Inconsistent (forwardInconsistent)", req.Method, req.Path)
		}
	}
	for _, want := range []string{"login", "auth/token/lookup-self", "auth/token/revoke-self"} {
		if !seen[want] {
			t.Errorf("no %s request was recorded", want)
		}
	}
	if reads != 2 {
		t.Errorf("%d reads recorded, want 2", reads)
	}
}
