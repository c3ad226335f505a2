package vault

import (
	"context"
	"errors"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// authFixture is a secret readable by one policy, for the auth tests.
type authFixture struct {
	env    *testenv.Env
	ns     string
	policy string
	key    string // the secret's key, mount included
	value  string // its password field
}

// newAuthFixture writes a KV v2 secret and a policy that reads it.
func newAuthFixture(t *testing.T) authFixture {
	env := testenv.Get(t)
	f := authFixture{env: env, ns: env.Namespace(t), policy: unique("auth-"), value: unique("pw-")}
	folder := unique("auth-")
	f.key = "secret/" + folder + "/db"
	policy(t, env, f.policy, `path "secret/data/`+folder+`/*" { capabilities = ["read"] }`)
	env.Vault.Write(t, "POST", "secret/data/"+folder+"/db", map[string]any{"data": map[string]any{"password": f.value}})
	return f
}

// check reads the fixture's secret through store and validates it; the
// identity must contain want.
func (f authFixture) check(t *testing.T, ctx context.Context, store provider.Store, referent string, want ...string) *Client {
	t.Helper()
	cl := newTestClient(t, ctx, store, f.env, referent)
	raw, err := cl.GetSecret(ctx, esv1.ExternalSecretDataRemoteRef{Key: f.key})
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	if !strings.Contains(string(raw), f.value) {
		t.Fatalf("GetSecret = %s, want the password", raw)
	}
	v, err := cl.Validate(ctx)
	if err != nil || v.Result != provider.ValidationReady {
		t.Fatalf("Validate: %+v, %v", v, err)
	}
	want = append(want, f.policy)
	if miss := containsAll(v.Identity, want...); miss != "" {
		t.Errorf("identity %q lacks %q", v.Identity, miss)
	}
	return cl
}

func TestAuthTokenSecretRef(t *testing.T) {
	f := newAuthFixture(t)
	spec, _ := tokenStore(t, f.env, f.ns, f.env.Vault.Addr, f.policy)
	f.check(t, t.Context(), namespacedStore(f.ns, spec), "", "role test", "ttl 1h")

	// The key defaults to "token".
	spec.Auth.TokenSecretRef.Key = ""
	f.check(t, t.Context(), namespacedStore(f.ns, spec), "")
}

func TestAuthAppRole(t *testing.T) {
	f := newAuthFixture(t)
	env := f.env
	mount := unique("approle-")
	env.Vault.Write(t, "POST", "sys/auth/"+mount, map[string]any{"type": "approle"})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/auth/"+mount, nil)
	})
	env.Vault.Write(t, "POST", "auth/"+mount+"/role/app", map[string]any{"token_policies": []string{f.policy}, "token_ttl": "20m"})
	roleID := env.Vault.Write(t, "GET", "auth/"+mount+"/role/app/role-id", nil)["data"].(map[string]any)["role_id"].(string)
	secretID := env.Vault.Write(t, "POST", "auth/"+mount+"/role/app/secret-id", nil)["data"].(map[string]any)["secret_id"].(string)
	createSecret(t, env, f.ns, "approle", map[string]string{"role-id": roleID, "secret-id": secretID})

	t.Run("roleId", func(t *testing.T) {
		spec := &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{
			Path: mount, RoleID: roleID, SecretRef: esv1.SecretKeySelector{Name: "approle", Key: "secret-id"},
		}}}
		f.check(t, t.Context(), namespacedStore(f.ns, spec), "", "role app", "ttl 20m")
	})
	t.Run("roleRef", func(t *testing.T) {
		spec := &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{
			Path:      "auth/" + mount, // the auth/ prefix is accepted too
			RoleRef:   &esv1.SecretKeySelector{Name: "approle", Key: "role-id"},
			SecretRef: esv1.SecretKeySelector{Name: "approle", Key: "secret-id"},
		}}}
		f.check(t, t.Context(), namespacedStore(f.ns, spec), "", "role app")
	})
}

func TestAuthUserPass(t *testing.T) {
	f := newAuthFixture(t)
	env := f.env
	mount := unique("userpass-")
	env.Vault.Write(t, "POST", "sys/auth/"+mount, map[string]any{"type": "userpass"})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/auth/"+mount, nil)
	})
	password := unique("pass-")
	env.Vault.Write(t, "POST", "auth/"+mount+"/users/alice", map[string]any{"password": password, "token_policies": []string{f.policy}})
	createSecret(t, env, f.ns, "alice", map[string]string{"password": password + "\n"})
	spec := &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{UserPass: &esv1.VaultUserPassAuth{
		Path: mount, Username: "alice", SecretRef: &esv1.SecretKeySelector{Name: "alice", Key: "password"},
	}}}
	f.check(t, t.Context(), namespacedStore(f.ns, spec), "", "user alice")
}

func TestAuthKubernetes(t *testing.T) {
	f := newAuthFixture(t)
	env := f.env
	env.ServiceAccount(t, f.ns, "reader")
	env.AllowTokenReview(t, f.ns, "reader")

	t.Run("serviceAccountRef with audiences", func(t *testing.T) {
		role := unique("aud-")
		env.Vault.Write(t, "POST", "auth/kubernetes/role/"+role, map[string]any{
			"bound_service_account_names": []string{"reader"}, "bound_service_account_namespaces": []string{f.ns},
			"token_policies": []string{f.policy}, "audience": "vault-" + role,
		})
		spec := &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
			Role: role,
			// Vault reviews the token with the token itself, so the API
			// server's own audience (its issuer) must be one of them.
			ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "reader", Audiences: []string{env.ServiceAccountIssuer, "vault-" + role}},
		}}}
		f.check(t, t.Context(), namespacedStore(f.ns, spec), "", "role "+role, "ServiceAccount "+f.ns+"/reader")

		// Without the audience the role requires, the login is refused, and
		// the error names the mount, the role and the ServiceAccount.
		spec.Auth.Kubernetes.ServiceAccountRef.Audiences = nil
		_, err := Provider{}.NewClient(t.Context(), namespacedStore(f.ns, spec), env.Client, "")
		var le *LoginError
		if !errors.As(err, &le) {
			t.Fatalf("NewClient without the audience: %v, want a *LoginError", err)
		}
		if miss := containsAll(err.Error(), "mount auth/kubernetes", `role "`+role+`"`, "ServiceAccount "+f.ns+"/reader"); miss != "" {
			t.Errorf("%q lacks %q", err, miss)
		}
	})

	role := unique("k8s-")
	env.Vault.Write(t, "POST", "auth/kubernetes/role/"+role, map[string]any{
		"bound_service_account_names": []string{"reader"}, "bound_service_account_namespaces": []string{f.ns},
		"token_policies": []string{f.policy},
	})
	t.Run("secretRef", func(t *testing.T) {
		createSecret(t, env, f.ns, "reader-jwt", map[string]string{"token": env.Token(t, f.ns, "reader")})
		spec := &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
			Role: role, SecretRef: &esv1.SecretKeySelector{Name: "reader-jwt"},
		}}}
		f.check(t, t.Context(), namespacedStore(f.ns, spec), "", "role "+role)
	})
	t.Run("controller identity", func(t *testing.T) {
		ctx := provider.WithController(t.Context(), provider.Controller{Namespace: f.ns, ServiceAccount: "reader"})
		spec := &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: role}}}
		f.check(t, ctx, clusterStore(spec), "", "role "+role, "ServiceAccount "+f.ns+"/reader")

		// A namespaced SecretStore may not borrow the controller's identity.
		_, err := Provider{}.NewClient(ctx, namespacedStore(f.ns, spec), env.Client, "")
		var ce *provider.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "a SecretStore cannot log in as the controller") {
			t.Errorf("SecretStore without serviceAccountRef or secretRef: %v", err)
		}
	})
}

func TestAuthJWT(t *testing.T) {
	f := newAuthFixture(t)
	env := f.env
	mount := unique("jwt-")
	env.Vault.Write(t, "POST", "sys/auth/"+mount, map[string]any{"type": "jwt"})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/auth/"+mount, nil)
	})
	env.Vault.Write(t, "POST", "auth/"+mount+"/config", map[string]any{
		"jwt_validation_pubkeys": []string{string(env.ServiceAccountPublicKey)},
		"bound_issuer":           env.ServiceAccountIssuer,
	})
	env.ServiceAccount(t, f.ns, "jwt-reader")
	env.Vault.Write(t, "POST", "auth/"+mount+"/role/reader", map[string]any{
		"role_type": "jwt", "bound_audiences": []string{"vault"}, "user_claim": "sub",
		"bound_subject": "system:serviceaccount:" + f.ns + ":jwt-reader", "token_policies": []string{f.policy},
	})

	t.Run("secretRef", func(t *testing.T) {
		createSecret(t, env, f.ns, "jwt", map[string]string{"jwt": env.Token(t, f.ns, "jwt-reader", "vault")})
		spec := &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{
			Path: mount, Role: "reader", SecretRef: &esv1.SecretKeySelector{Name: "jwt", Key: "jwt"},
		}}}
		f.check(t, t.Context(), namespacedStore(f.ns, spec), "", "role reader")
	})
	t.Run("kubernetesServiceAccountToken", func(t *testing.T) {
		spec := &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{
			Path: mount, Role: "reader",
			KubernetesServiceAccountToken: &esv1.VaultKubernetesServiceAccountTokenAuth{
				ServiceAccountRef: esv1.ServiceAccountSelector{Name: "jwt-reader"},
			},
		}}}
		// On a ClusterSecretStore the ServiceAccount is looked up in the
		// ExternalSecret's namespace.
		f.check(t, t.Context(), clusterStore(spec), f.ns, "role reader")
	})
}

// Credential references follow the namespace rules of the store's kind: a
// SecretStore reads only its own namespace (a namespace in the selector is
// ignored); a ClusterSecretStore reads the selector's namespace, else the
// ExternalSecret's, and without either cannot be built.
func TestCredentialNamespaces(t *testing.T) {
	f := newAuthFixture(t)
	env := f.env
	other := env.Namespace(t)
	tok := childToken(t, env, "1h", nil, f.policy)
	createSecret(t, env, other, "tok", map[string]string{"token": tok})
	spec := func(ns string) *esv1.VaultProvider {
		return &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "tok", Namespace: ns, Key: "token"}}}
	}

	_, err := Provider{}.NewClient(t.Context(), namespacedStore(f.ns, spec(other)), env.Client, f.ns)
	var ce *provider.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "Secret "+f.ns+"/tok not found") {
		t.Errorf("SecretStore pointing at another namespace: %v, want it to look in its own namespace only", err)
	}
	f.check(t, t.Context(), clusterStore(spec(other)), f.ns)
	f.check(t, t.Context(), clusterStore(spec("")), other)
	_, err = Provider{}.NewClient(t.Context(), clusterStore(spec("")), env.Client, "")
	if !errors.Is(err, provider.ErrNoReferentNamespace) {
		t.Errorf("ClusterSecretStore without any namespace: %v, want ErrNoReferentNamespace", err)
	}
}
