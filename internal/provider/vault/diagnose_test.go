package vault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// A read Vault refuses names the exact path, the role, the token's
// policies, the capability it lacks and the policy rule that grants it.
func TestPermissionDeniedDiagnosis(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	env.ServiceAccount(t, ns, "app")
	env.AllowTokenReview(t, ns, "app")
	folder := unique("deny-")
	pol := unique("deny-")
	policy(t, env, pol, `path "secret/data/`+folder+`/allowed/*" { capabilities = ["read"] }`)
	role := unique("deny-")
	env.Vault.Write(t, "POST", "auth/kubernetes/role/"+role, map[string]any{
		"bound_service_account_names": []string{"app"}, "bound_service_account_namespaces": []string{ns}, "token_policies": []string{pol},
	})
	env.Vault.Write(t, "POST", "secret/data/"+folder+"/denied/db", map[string]any{"data": map[string]any{"pw": "x"}})
	store := namespacedStore(ns, &esv1.VaultProvider{Server: env.Vault.Addr, Path: ptr("secret"), Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
		Role: role, ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "app"},
	}}})
	cl := newTestClient(t, t.Context(), store, env, "")

	_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: folder + "/denied/db"})
	var pd *PermissionDeniedError
	if !errors.As(err, &pd) {
		t.Fatalf("GetSecret: %v, want a *PermissionDeniedError", err)
	}
	path := "secret/data/" + folder + "/denied/db"
	if pd.Path != path || pd.Role != role || pd.Need != "read" || !slices.Equal(pd.Policies, sortedStrings("default", pol)) ||
		!slices.Equal(pd.Capabilities, []string{"deny"}) || pd.ServiceAccount != ns+"/app" {
		t.Errorf("diagnosis %+v", pd)
	}
	if miss := containsAll(err.Error(), "GET "+path, `role "`+role+`"`, "policies [", pol, "[deny]", `needs "read"`,
		`path "`+path+`" { capabilities = ["read"] }`, env.Vault.Addr); miss != "" {
		t.Errorf("%q lacks %q", err, miss)
	}

	_, err = cl.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr(folder)})
	if !errors.As(err, &pd) || pd.Need != "list" || pd.Path != "secret/metadata/"+folder+"/" {
		t.Errorf("find: %v, want a permission error for list on secret/metadata/%s/", err, folder)
	}
}

func sortedStrings(s ...string) []string {
	slices.Sort(s)
	return s
}

// Failures to reach Vault name the address and the kind of failure.
func TestNetworkFailures(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	createSecret(t, env, ns, "tok", map[string]string{"token": "hvs.not-a-real-token"})

	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := "http://" + refused.Addr().String()
	refused.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() }) // accept, never answer
		}
	}()
	silentAddr := "http://" + silent.Addr().String()

	for _, tc := range []struct {
		name string
		addr string
		kind NetworkErrorKind
	}{
		{"DNS", "http://vault.secretbridge.invalid:8200", NetworkDNS},
		{"refused", refusedAddr, NetworkRefused},
		{"timeout", silentAddr, NetworkTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &esv1.VaultProvider{Server: tc.addr, Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "tok", Key: "token"}}}
			cl := newTestClient(t, t.Context(), namespacedStore(ns, spec), env, "")
			// The timeout case waits for this deadline; the others must
			// fail on their own, before it.
			timeout := 10 * time.Second
			if tc.kind == NetworkTimeout {
				timeout = 2 * time.Second
			}
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			began := time.Now()
			_, err := cl.GetSecret(ctx, esv1.ExternalSecretDataRemoteRef{Key: "secret/x"})
			var ne *NetworkError
			if !errors.As(err, &ne) || ne.Kind != tc.kind {
				t.Fatalf("GetSecret: %v, want a %q *NetworkError", err, tc.kind)
			}
			if miss := containsAll(err.Error(), tc.addr, string(tc.kind)); miss != "" {
				t.Errorf("%q lacks %q", err, miss)
			}
			t.Logf("%s after %s: %v", tc.name, time.Since(began).Round(time.Millisecond), err)
			if _, err := cl.Validate(ctx); !errors.As(err, &ne) {
				t.Errorf("Validate: %v, want a *NetworkError", err)
			}
		})
	}
}

// No error shows a credential: not the token, the JWT, the password, the
// secret ID, nor a secret's value.
func TestErrorsCarryNoSecrets(t *testing.T) {
	f := newAuthFixture(t)
	env := f.env
	var errs []error
	var secrets []string
	collect := func(name string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}

	// userpass with a wrong password.
	up := unique("userpass-")
	env.Vault.Write(t, "POST", "sys/auth/"+up, map[string]any{"type": "userpass"})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/auth/"+up, nil)
	})
	env.Vault.Write(t, "POST", "auth/"+up+"/users/bob", map[string]any{"password": unique("right-")})
	wrong := unique("wrong-password-")
	secrets = append(secrets, wrong)
	createSecret(t, env, f.ns, "bob", map[string]string{"password": wrong})
	_, err := Provider{}.NewClient(t.Context(), namespacedStore(f.ns, &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{UserPass: &esv1.VaultUserPassAuth{
		Path: up, Username: "bob", SecretRef: &esv1.SecretKeySelector{Name: "bob", Key: "password"},
	}}}), env.Client, "")
	collect("userpass", err)

	// AppRole with a wrong secret ID.
	spec := appRoleStore(t, f, env.Vault.Addr, map[string]any{"token_ttl": "10m"})
	badID := "0f0e0d0c-0b0a-0908-0706-050403020100"
	secrets = append(secrets, badID)
	createSecret(t, env, f.ns, "bad-approle", map[string]string{"secret-id": badID})
	spec.Auth.AppRole.SecretRef = esv1.SecretKeySelector{Name: "bad-approle", Key: "secret-id"}
	_, err = Provider{}.NewClient(t.Context(), namespacedStore(f.ns, spec), env.Client, "")
	collect("approle", err)

	// Kubernetes and JWT logins with a JWT Vault refuses.
	env.ServiceAccount(t, f.ns, "stranger")
	jwt := env.Token(t, f.ns, "stranger")
	secrets = append(secrets, jwt, strings.Split(jwt, ".")[2])
	createSecret(t, env, f.ns, "jwt", map[string]string{"token": jwt})
	_, err = Provider{}.NewClient(t.Context(), namespacedStore(f.ns, &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
		Role: unique("nobody-"), SecretRef: &esv1.SecretKeySelector{Name: "jwt"},
	}}}), env.Client, "")
	collect("kubernetes", err)
	jm := unique("jwt-")
	env.Vault.Write(t, "POST", "sys/auth/"+jm, map[string]any{"type": "jwt"})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/auth/"+jm, nil)
	})
	env.Vault.Write(t, "POST", "auth/"+jm+"/config", map[string]any{"jwt_validation_pubkeys": []string{string(env.ServiceAccountPublicKey)}})
	env.Vault.Write(t, "POST", "auth/"+jm+"/role/r", map[string]any{"role_type": "jwt", "bound_audiences": []string{"vault"}, "user_claim": "sub"})
	_, err = Provider{}.NewClient(t.Context(), namespacedStore(f.ns, &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{
		Path: jm, Role: "r", SecretRef: &esv1.SecretKeySelector{Name: "jwt", Key: "token"},
	}}}), env.Client, "")
	collect("jwt", err)

	// A static token Vault does not know.
	bogus := "hvs.CAESIBogusTokenThatVaultNeverIssued"
	secrets = append(secrets, bogus)
	createSecret(t, env, f.ns, "bogus", map[string]string{"token": bogus})
	cl, err := Provider{}.NewClient(t.Context(), namespacedStore(f.ns, &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "bogus", Key: "token"}}}), env.Client, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.key})
	collect("static token read", err)
	if err != nil && !strings.Contains(err.Error(), `tokenSecretRef (Secret "bogus", key "token")`) {
		t.Errorf("the error of a rejected static token does not name its Secret: %v", err)
	}
	_, err = cl.Validate(t.Context())
	collect("static token validate", err)

	// A working token reading a path it may not: the diagnosis.
	static, tok := tokenStore(t, env, f.ns, env.Vault.Addr, f.policy)
	secrets = append(secrets, tok, f.value)
	cl = newTestClient(t, t.Context(), namespacedStore(f.ns, static), env, "")
	_, err = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "secret/data/" + unique("elsewhere-") + "/x"})
	collect("permission denied", err)

	for _, err := range errs {
		msg := fmt.Sprintf("%v %+v", err, err)
		for _, s := range secrets {
			if strings.Contains(msg, s) {
				t.Errorf("error shows a credential: %v", err)
			}
		}
		if strings.Contains(msg, "eyJ") {
			t.Errorf("error shows something like a JWT: %v", err)
		}
		t.Logf("%v", err)
	}
}

// A login token revoked behind the client's back is replaced on the next
// read, which succeeds.
func TestRevokedTokenIsReplaced(t *testing.T) {
	f := newAuthFixture(t)
	spec := appRoleStore(t, f, f.env.Vault.Addr, map[string]any{"token_ttl": "10m"})
	cl := newTestClient(t, t.Context(), namespacedStore(f.ns, spec), f.env, "")
	old := cl.currentToken()
	f.env.Vault.Write(t, "POST", "auth/token/revoke", map[string]any{"token": old})
	if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: f.key}); err != nil {
		t.Fatalf("read after the token was revoked: %v", err)
	}
	if cl.currentToken() == old {
		t.Error("the revoked token was not replaced")
	}
	if _, err := cl.Validate(t.Context()); err != nil {
		t.Error(err)
	}
}
