package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is one test's view of the API server: a namespace for stores and
// their credentials, and a namespace whose Secrets the stores read.
type fixture struct {
	env      *testenv.Env
	storeNS  string
	remoteNS string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Get(t)
	return &fixture{env: env, storeNS: env.Namespace(t), remoteNS: env.Namespace(t)}
}

// secret creates a Secret.
func (f *fixture) secret(t *testing.T, ns, name string, data map[string][]byte, labels, annotations map[string]string) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: annotations},
		Data:       data,
	}
	if err := f.env.Client.Create(t.Context(), s); err != nil {
		t.Fatalf("creating Secret %s/%s: %v", ns, name, err)
	}
}

// reader creates ServiceAccount ns/name (unless it exists) and lets it get
// and list Secrets in remoteNS.
func (f *fixture) reader(t *testing.T, ns, name, remoteNS string) {
	t.Helper()
	ctx := t.Context()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := f.env.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating ServiceAccount %s/%s: %v", ns, name, err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: remoteNS, Name: "read-secrets-" + name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: remoteNS, Name: "read-secrets-" + name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: name}},
	}
	if err := f.env.Client.Create(ctx, role); err != nil {
		t.Fatalf("creating Role: %v", err)
	}
	if err := f.env.Client.Create(ctx, binding); err != nil {
		t.Fatalf("creating RoleBinding: %v", err)
	}
}

// tokenStore sets up ServiceAccount "reader" in the store namespace with
// read access to the remote namespace, puts a token of it in Secret
// "reader-token", and returns a SecretStore that authenticates with it.
func (f *fixture) tokenStore(t *testing.T) (*esv1.SecretStore, string) {
	t.Helper()
	f.reader(t, f.storeNS, "reader", f.remoteNS)
	token := f.env.Token(t, f.storeNS, "reader")
	f.secret(t, f.storeNS, "reader-token", map[string][]byte{"token": []byte(token + "\n")}, nil, nil)
	return f.store(esv1.KubernetesProvider{
		Server:          f.server(),
		Auth:            &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: esv1.SecretKeySelector{Name: "reader-token", Key: "token"}}},
		RemoteNamespace: f.remoteNS,
	}), token
}

func (f *fixture) server() *esv1.KubernetesServer {
	return &esv1.KubernetesServer{URL: f.env.APIServerURL, CABundle: f.env.APIServerCA}
}

// store returns a SecretStore in the store namespace.
func (f *fixture) store(spec esv1.KubernetesProvider) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.storeNS, Name: "remote"},
		Spec:       esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Kubernetes: &spec}},
	}
}

// clusterStore returns a ClusterSecretStore.
func clusterStore(spec esv1.KubernetesProvider) *esv1.ClusterSecretStore {
	return &esv1.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "remote"},
		Spec:       esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Kubernetes: &spec}},
	}
}

func (f *fixture) client(t *testing.T, store provider.Store, namespace string) provider.Client {
	t.Helper()
	c, err := Provider{}.NewClient(t.Context(), store, f.env.Client, namespace)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// read gets ref, waiting for RBAC that was just granted to take effect.
func read(t *testing.T, c provider.Client, ref esv1.ExternalSecretDataRemoteRef) []byte {
	t.Helper()
	var got []byte
	testenv.Eventually(t, 10*time.Second, func() error {
		var err error
		got, err = c.GetSecret(t.Context(), ref)
		return err
	})
	return got
}

// awaitRBAC waits until c can read Secret name (RBAC caches take a moment).
func awaitRBAC(t *testing.T, c provider.Client, name string) {
	t.Helper()
	read(t, c, esv1.ExternalSecretDataRemoteRef{Key: name})
}

func TestRegistered(t *testing.T) {
	spec := esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{}}}
	if _, name, err := provider.ForStore(&spec); err != nil || name != Name {
		t.Fatalf("ForStore = %q, %v; want %q", name, err, Name)
	}
}

func TestTokenAuth(t *testing.T) {
	f := newFixture(t)
	f.secret(t, f.remoteNS, "app", map[string][]byte{"username": []byte("admin"), "password": []byte("s3cr3t")}, nil, nil)
	store, token := f.tokenStore(t)
	c := f.client(t, store, f.storeNS)

	if got := read(t, c, esv1.ExternalSecretDataRemoteRef{Key: "app"}); string(got) != `{"password":"s3cr3t","username":"admin"}` {
		t.Fatalf("GetSecret(app) = %s", got)
	}
	if got := read(t, c, esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "password"}); string(got) != "s3cr3t" {
		t.Fatalf("GetSecret(app, password) = %q", got)
	}
	v, err := c.Validate(t.Context())
	identity := fmt.Sprintf("system:serviceaccount:%s:reader", f.storeNS)
	if err != nil || v.Result != provider.ValidationReady || v.Identity != identity {
		t.Fatalf("Validate = %+v, %v; want Ready as %s", v, err, identity)
	}

	t.Run("another namespace is forbidden", func(t *testing.T) {
		other := f.env.Namespace(t)
		f.secret(t, other, "app", map[string][]byte{"password": []byte("other-s3cr3t")}, nil, nil)
		spec := *store.Spec.Provider.Kubernetes
		spec.RemoteNamespace = other
		c := f.client(t, f.store(spec), f.storeNS)
		_, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "app"})
		var fe *ForbiddenError
		if !errors.As(err, &fe) {
			t.Fatalf("GetSecret in %s: %v; want a ForbiddenError", other, err)
		}
		msg := err.Error()
		for _, want := range []string{`may not get secrets "app"`, fmt.Sprintf("namespace %q", other), identity} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not name %q", msg, want)
			}
		}
		if strings.Contains(msg, token) || strings.Contains(msg, "s3cr3t") {
			t.Errorf("error carries a credential or a value: %q", msg)
		}
		_, err = c.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "."}})
		if !errors.As(err, &fe) || fe.Verb != "list" {
			t.Fatalf("GetAllSecrets in %s: %v; want a ForbiddenError for list", other, err)
		}
		v, err := c.Validate(t.Context())
		if v.Result != provider.ValidationFailed || !errors.As(err, &fe) || v.Identity != identity {
			t.Fatalf("Validate in %s = %+v, %v; want Failed with a ForbiddenError", other, v, err)
		}
	})
}

func TestTokenRejected(t *testing.T) {
	f := newFixture(t)
	const token = "not-a-token-but-keep-it-secret"
	f.secret(t, f.storeNS, "bad-token", map[string][]byte{"token": []byte(token)}, nil, nil)
	c := f.client(t, f.store(esv1.KubernetesProvider{
		Server:          f.server(),
		Auth:            &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: esv1.SecretKeySelector{Name: "bad-token", Key: "token"}}},
		RemoteNamespace: f.remoteNS,
	}), f.storeNS)
	_, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "app"})
	if err == nil || !strings.Contains(err.Error(), "rejected the credentials") || strings.Contains(err.Error(), token) {
		t.Fatalf("GetSecret with a bad token: %v; want a rejection that does not show the token", err)
	}
	if v, err := c.Validate(t.Context()); v.Result != provider.ValidationFailed || err == nil {
		t.Fatalf("Validate with a bad token = %+v, %v; want Failed", v, err)
	}
}

func TestServiceAccountAuth(t *testing.T) {
	f := newFixture(t)
	f.secret(t, f.remoteNS, "app", map[string][]byte{"password": []byte("s3cr3t")}, nil, nil)
	f.reader(t, f.storeNS, "reader", f.remoteNS)
	ref := esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "password"}

	t.Run("SecretStore uses its own namespace", func(t *testing.T) {
		// namespace in the selector is ignored for a SecretStore.
		store := f.store(esv1.KubernetesProvider{
			Server:          f.server(),
			Auth:            &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "reader", Namespace: "kube-system"}},
			RemoteNamespace: f.remoteNS,
		})
		c := f.client(t, store, f.storeNS)
		if got := read(t, c, ref); string(got) != "s3cr3t" {
			t.Fatalf("GetSecret = %q", got)
		}
		v, err := c.Validate(t.Context())
		if err != nil || v.Identity != fmt.Sprintf("system:serviceaccount:%s:reader", f.storeNS) {
			t.Fatalf("Validate = %+v, %v", v, err)
		}
	})
	t.Run("ClusterSecretStore resolves in the referent namespace", func(t *testing.T) {
		store := clusterStore(esv1.KubernetesProvider{
			Server:          f.server(),
			Auth:            &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "reader"}},
			RemoteNamespace: f.remoteNS,
		})
		c := f.client(t, store, f.storeNS)
		if got := read(t, c, ref); string(got) != "s3cr3t" {
			t.Fatalf("GetSecret = %q", got)
		}
		_, err := Provider{}.NewClient(t.Context(), store, f.env.Client, "")
		if !errors.Is(err, provider.ErrNoReferentNamespace) {
			t.Fatalf("NewClient without a referent namespace: %v; want ErrNoReferentNamespace", err)
		}
	})
	t.Run("ClusterSecretStore honours the selector's namespace", func(t *testing.T) {
		store := clusterStore(esv1.KubernetesProvider{
			Server:          f.server(),
			Auth:            &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "reader", Namespace: f.storeNS}},
			RemoteNamespace: f.remoteNS,
		})
		c := f.client(t, store, "somewhere-else")
		if got := read(t, c, ref); string(got) != "s3cr3t" {
			t.Fatalf("GetSecret = %q", got)
		}
	})
	t.Run("missing ServiceAccount", func(t *testing.T) {
		store := f.store(esv1.KubernetesProvider{
			Server: f.server(),
			Auth:   &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "nobody"}},
		})
		_, err := Provider{}.NewClient(t.Context(), store, f.env.Client, f.storeNS)
		var ce *provider.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), f.storeNS+"/nobody") {
			t.Fatalf("NewClient: %v; want a ConfigError naming the ServiceAccount", err)
		}
	})
	t.Run("tokens are renewed", func(t *testing.T) {
		src := &serviceAccountTokens{kube: f.env.Client, namespace: f.storeNS, name: "reader"}
		first, err := src.current(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if again, err := src.current(t.Context()); err != nil || again != first {
			t.Fatalf("a second call before renewal time got another token (%v)", err)
		}
		if due := time.Until(src.renewAt); due < 40*time.Minute || due > 50*time.Minute {
			t.Fatalf("token renews in %s; want 80%% of an hour", due)
		}
		src.renewAt = time.Now().Add(-time.Second)
		renewed, err := src.current(t.Context())
		if err != nil || renewed == first {
			t.Fatalf("no new token once due for renewal (%v)", err)
		}
		src.forget(renewed)
		if after, err := src.current(t.Context()); err != nil || after == renewed {
			t.Fatalf("a refused token was used again (%v)", err)
		}
	})
}

func TestCertAuth(t *testing.T) {
	f := newFixture(t)
	if len(f.env.Config.CertData) == 0 || len(f.env.Config.KeyData) == 0 {
		t.Fatalf("the test API server's admin config has no client certificate")
	}
	f.secret(t, f.remoteNS, "app", map[string][]byte{"password": []byte("s3cr3t")}, nil, nil)
	f.secret(t, f.storeNS, "admin-cert", map[string][]byte{"tls.crt": f.env.Config.CertData}, nil, nil)
	f.secret(t, f.storeNS, "admin-key", map[string][]byte{"tls.key": f.env.Config.KeyData}, nil, nil)
	store := f.store(esv1.KubernetesProvider{
		Server: f.server(),
		Auth: &esv1.KubernetesAuth{Cert: &esv1.CertAuth{
			ClientCert: esv1.SecretKeySelector{Name: "admin-cert", Key: "tls.crt"},
			ClientKey:  esv1.SecretKeySelector{Name: "admin-key", Key: "tls.key"},
		}},
		RemoteNamespace: f.remoteNS,
	})
	c := f.client(t, store, f.storeNS)
	if got := read(t, c, esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "password"}); string(got) != "s3cr3t" {
		t.Fatalf("GetSecret = %q", got)
	}
	v, err := c.Validate(t.Context())
	if err != nil || v.Result != provider.ValidationReady || v.Identity == "" || strings.Contains(v.Identity, "Secret") {
		t.Fatalf("Validate = %+v, %v; want Ready with the certificate's user", v, err)
	}

	t.Run("mismatched key", func(t *testing.T) {
		f.secret(t, f.storeNS, "wrong-key", map[string][]byte{"tls.key": []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")}, nil, nil)
		bad := f.store(*store.Spec.Provider.Kubernetes)
		bad.Spec.Provider.Kubernetes.Auth = &esv1.KubernetesAuth{Cert: &esv1.CertAuth{
			ClientCert: esv1.SecretKeySelector{Name: "admin-cert", Key: "tls.crt"},
			ClientKey:  esv1.SecretKeySelector{Name: "wrong-key", Key: "tls.key"},
		}}
		_, err := Provider{}.NewClient(t.Context(), bad, f.env.Client, f.storeNS)
		var ce *provider.ConfigError
		if !errors.As(err, &ce) || ce.Field != field+".auth.cert" {
			t.Fatalf("NewClient: %v; want a ConfigError on auth.cert", err)
		}
	})
}

func TestMissingCABundle(t *testing.T) {
	f := newFixture(t)
	store, _ := f.tokenStore(t)
	store.Spec.Provider.Kubernetes.Server = &esv1.KubernetesServer{URL: f.env.APIServerURL}
	c := f.client(t, store, f.storeNS)
	_, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "app"})
	if err == nil || !strings.Contains(err.Error(), "unknown authority") || !strings.Contains(err.Error(), "server.caBundle") {
		t.Fatalf("GetSecret without the CA: %v; want an unknown-authority error that points at server.caBundle", err)
	}
	if v, err := c.Validate(t.Context()); v.Result != provider.ValidationFailed || err == nil || !strings.Contains(err.Error(), "caBundle") {
		t.Fatalf("Validate without the CA = %+v, %v; want Failed with the caBundle hint", v, err)
	}
}

func TestCAProvider(t *testing.T) {
	f := newFixture(t)
	f.secret(t, f.remoteNS, "app", map[string][]byte{"password": []byte("s3cr3t")}, nil, nil)
	store, _ := f.tokenStore(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.storeNS, Name: "api-ca"}, Data: map[string]string{"ca.crt": string(f.env.APIServerCA)}}
	if err := f.env.Client.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	store.Spec.Provider.Kubernetes.Server = &esv1.KubernetesServer{
		URL:        f.env.APIServerURL,
		CAProvider: &esv1.CAProvider{Type: esv1.CAProviderTypeConfigMap, Name: "api-ca"},
	}
	c := f.client(t, store, f.storeNS)
	if got := read(t, c, esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "password"}); string(got) != "s3cr3t" {
		t.Fatalf("GetSecret = %q", got)
	}

	store.Spec.Provider.Kubernetes.Server.CAProvider = &esv1.CAProvider{Type: esv1.CAProviderTypeConfigMap, Name: "api-ca", Key: "nope"}
	_, err := Provider{}.NewClient(t.Context(), store, f.env.Client, f.storeNS)
	if err == nil || !strings.Contains(err.Error(), `has no key "nope"`) || !strings.Contains(err.Error(), `"ca.crt"`) {
		t.Fatalf("NewClient with a wrong caProvider key: %v", err)
	}
}

func TestCredentialReferences(t *testing.T) {
	f := newFixture(t)
	elsewhere := f.env.Namespace(t)
	f.secret(t, elsewhere, "token", map[string][]byte{"token": []byte("x")}, nil, nil)
	f.secret(t, f.storeNS, "token", map[string][]byte{"other": []byte("x")}, nil, nil)
	tokenAuth := func(sel esv1.SecretKeySelector) esv1.KubernetesProvider {
		return esv1.KubernetesProvider{Server: f.server(), Auth: &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: sel}}}
	}
	var ce *provider.ConfigError
	tests := []struct {
		name      string
		store     provider.Store
		namespace string
		check     func(error) bool
		want      string
	}{
		{
			name:      "a SecretStore ignores the selector's namespace",
			store:     f.store(tokenAuth(esv1.SecretKeySelector{Name: "token", Key: "token", Namespace: elsewhere})),
			namespace: f.storeNS,
			check:     func(err error) bool { return errors.As(err, &ce) },
			want:      fmt.Sprintf(`Secret %s/token has no key "token" (its keys: "other")`, f.storeNS),
		},
		{
			name:      "a ClusterSecretStore honours it",
			store:     clusterStore(tokenAuth(esv1.SecretKeySelector{Name: "token", Key: "token", Namespace: elsewhere})),
			namespace: f.storeNS,
			check:     func(err error) bool { return err == nil },
		},
		{
			name:      "a ClusterSecretStore without namespace reads the referent namespace",
			store:     clusterStore(tokenAuth(esv1.SecretKeySelector{Name: "token", Key: "token"})),
			namespace: elsewhere,
			check:     func(err error) bool { return err == nil },
		},
		{
			name:      "and without a referent namespace cannot",
			store:     clusterStore(tokenAuth(esv1.SecretKeySelector{Name: "token", Key: "token"})),
			namespace: "",
			check:     func(err error) bool { return errors.Is(err, provider.ErrNoReferentNamespace) },
		},
		{
			name:      "missing Secret",
			store:     f.store(tokenAuth(esv1.SecretKeySelector{Name: "nope", Key: "token"})),
			namespace: f.storeNS,
			check:     func(err error) bool { return errors.As(err, &ce) && ce.Field == field+".auth.token.bearerToken" },
			want:      fmt.Sprintf("Secret %s/nope not found", f.storeNS),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Provider{}.NewClient(t.Context(), tt.store, f.env.Client, tt.namespace)
			if c != nil {
				_ = c.Close(t.Context())
			}
			if !tt.check(err) {
				t.Fatalf("NewClient: %v", err)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}
