package azure

import (
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/azure/azuretest"
)

// TestTokenCachedAcrossReads proves a client signs in once and then reuses
// its token: 50 reads cost one token request and one challenge.
func TestTokenCachedAcrossReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetSecret(f.vault, "s", "value", azuretest.ObjectOptions{})
	f.srv.SetCertificate(f.vault, "c", selfSigned(t), azuretest.ObjectOptions{})
	cl, _ := f.secretClient(t, azuretest.AllPermissions...)
	const reads = 50
	for i := range reads {
		key := "s"
		if i%10 == 9 {
			key = "cert/c" // the certificates pipeline shares the token
		}
		if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.Calls(azuretest.OpToken); n != 1 {
		t.Errorf("%d reads made %d token requests, want 1", reads, n)
	}
	if n := f.srv.Calls(azuretest.OpChallenge); n != 1 {
		t.Errorf("%d reads were challenged %d times, want 1", reads, n)
	}
	if n := f.srv.Calls(azuretest.OpGetSecret) + f.srv.Calls(azuretest.OpGetCertificate); n != reads {
		t.Errorf("%d reads reached the vault %d times", reads, n)
	}
	t.Logf("token requests over %d reads: %d", reads, f.srv.Calls(azuretest.OpToken))
}

// TestExpiredTokenRenewedBeforeUse proves a token is renewed when it is
// due, not after Key Vault rejects it: once the first token has expired,
// the next read gets a new one before it calls the vault, so the vault
// never sees the expired token (one challenge in all). The SDK renews
// tokens five minutes before they expire; tokens shorter than that margin
// are renewed at expiry at the latest.
func TestExpiredTokenRenewedBeforeUse(t *testing.T) {
	t.Parallel()
	const lifetime = 2 * time.Second
	f := newFixtureWith(t, azuretest.Options{TokenLifetime: lifetime}, false)
	f.srv.SetSecret(f.vault, "s", "value", azuretest.ObjectOptions{})
	cl, _ := f.secretClient(t, azuretest.SecretsGet)
	read := func() {
		t.Helper()
		if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	read()
	read()
	if n := f.srv.Calls(azuretest.OpToken); n != 1 {
		t.Fatalf("two reads within the token's lifetime made %d token requests, want 1", n)
	}
	time.Sleep(lifetime + 300*time.Millisecond)
	read()
	if n := f.srv.Calls(azuretest.OpToken); n != 2 {
		t.Errorf("a read after the token expired made %d token requests in all, want 2", n)
	}
	if n := f.srv.Calls(azuretest.OpChallenge); n != 1 {
		t.Errorf("the vault challenged %d times, want 1 (the expired token must not be sent)", n)
	}
}

func TestClientCertificate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetSecret(f.vault, "s", "value", azuretest.ObjectOptions{})
	app, err := f.srv.AddCertificateApplication()
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Grant(f.vault, app.ClientID, azuretest.SecretsGet)
	other, err := f.srv.AddCertificateApplication()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		pem      []byte
		wantErr  bool
		wantText []string
	}{
		{name: "registered certificate", pem: app.PEM},
		{name: "certificate of another application", pem: other.PEM, wantErr: true, wantText: []string{"AADSTS700027", "upload the certificate"}},
		{name: "not PEM", pem: []byte("garbage"), wantErr: true, wantText: []string{"clientCertificate", "PEM certificate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := unique("cert-")
			f.createSecret(t, f.ns, name, map[string]string{"client-id": app.ClientID, "tls.pem": string(tc.pem)})
			spec := &esv1.AzureKVProvider{VaultURL: azuretest.VaultURL(f.vault), TenantID: f.srv.TenantID, AuthSecretRef: &esv1.AzureKVAuth{
				ClientID:          &esv1.SecretKeySelector{Name: name, Key: "client-id"},
				ClientCertificate: &esv1.SecretKeySelector{Name: name, Key: "tls.pem"},
			}}
			cl, err := f.p.NewClient(t.Context(), namespacedStore(f.ns, spec), f.env.Client, f.ns)
			if err == nil {
				t.Cleanup(func() { _ = cl.Close(t.Context()) })
				_, err = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
			}
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				mustContain(t, "error", err.Error(), tc.wantText...)
			}
		})
	}
}

// serviceAccount creates a ServiceAccount in ns with annotations.
func (f *fixture) serviceAccount(t *testing.T, ns, name string, annotations map[string]string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations}}
	if err := f.env.Client.Create(t.Context(), sa); err != nil {
		t.Fatalf("creating ServiceAccount %s/%s: %v", ns, name, err)
	}
}

// federatedApp registers an application trusting ServiceAccount ns/sa of
// the test API server (signature checked with its key) and grants it
// secrets/get.
func (f *fixture) federatedApp(ns, sa string) string {
	id := f.srv.AddFederatedApplication(azuretest.FederatedCredential{
		Issuer:       f.env.ServiceAccountIssuer,
		Subject:      fmt.Sprintf("system:serviceaccount:%s:%s", ns, sa),
		PublicKeyPEM: f.env.ServiceAccountPublicKey,
	})
	f.srv.Grant(f.vault, id, azuretest.SecretsGet)
	return id
}

func TestWorkloadIdentity(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetSecret(f.vault, "s", "value", azuretest.ObjectOptions{})
	trusted := f.federatedApp(f.ns, "trusted")
	f.serviceAccount(t, f.ns, "trusted", map[string]string{clientIDAnnotation: trusted, tenantAnnotation: f.srv.TenantID})
	f.serviceAccount(t, f.ns, "plain", nil)
	untrusted := f.srv.AddFederatedApplication(azuretest.FederatedCredential{Subject: "system:serviceaccount:other:sa"})
	f.serviceAccount(t, f.ns, "untrusted", map[string]string{clientIDAnnotation: untrusted})
	idSecret := unique("wi-")
	f.createSecret(t, f.ns, idSecret, map[string]string{"client-id": f.federatedApp(f.ns, "plain"), "other": trusted})

	cases := []struct {
		name      string
		spec      func(*esv1.AzureKVProvider)
		store     func(*esv1.AzureKVProvider) provider.Store
		wantField string
		wantText  []string
	}{
		{name: "annotations", spec: func(s *esv1.AzureKVProvider) { s.ServiceAccountRef = &esv1.ServiceAccountSelector{Name: "trusted"} }},
		{name: "client ID from Secret, tenant from store", spec: func(s *esv1.AzureKVProvider) {
			s.ServiceAccountRef = &esv1.ServiceAccountSelector{Name: "plain"}
			s.TenantID = f.srv.TenantID
			s.AuthSecretRef = &esv1.AzureKVAuth{ClientID: &esv1.SecretKeySelector{Name: idSecret, Key: "client-id"}}
		}},
		{name: "cluster store with referent namespace", spec: func(s *esv1.AzureKVProvider) { s.ServiceAccountRef = &esv1.ServiceAccountSelector{Name: "trusted"} },
			store: func(s *esv1.AzureKVProvider) provider.Store { return clusterStore(s) }},
		{name: "no client ID", spec: func(s *esv1.AzureKVProvider) {
			s.ServiceAccountRef = &esv1.ServiceAccountSelector{Name: "plain"}
			s.TenantID = f.srv.TenantID
		}, wantField: field + ".serviceAccountRef", wantText: []string{clientIDAnnotation}},
		{name: "conflicting client IDs", spec: func(s *esv1.AzureKVProvider) {
			s.ServiceAccountRef = &esv1.ServiceAccountSelector{Name: "trusted"}
			s.AuthSecretRef = &esv1.AzureKVAuth{ClientID: &esv1.SecretKeySelector{Name: idSecret, Key: "client-id"}}
		}, wantField: field + ".authSecretRef.clientId", wantText: []string{"keep one"}},
		{name: "conflicting tenants", spec: func(s *esv1.AzureKVProvider) {
			s.ServiceAccountRef = &esv1.ServiceAccountSelector{Name: "trusted"}
			s.TenantID = "00000000-0000-4000-8000-000000000000"
		}, wantField: field + ".tenantId", wantText: []string{"make them agree"}},
		{name: "missing ServiceAccount", spec: func(s *esv1.AzureKVProvider) { s.ServiceAccountRef = &esv1.ServiceAccountSelector{Name: "nobody"} },
			wantField: field + ".serviceAccountRef", wantText: []string{"not found"}},
		{name: "no federated credential for the ServiceAccount", spec: func(s *esv1.AzureKVProvider) {
			s.ServiceAccountRef = &esv1.ServiceAccountSelector{Name: "untrusted"}
			s.TenantID = f.srv.TenantID
		}, wantText: []string{"AADSTS70021", "federated identity credential", "system:serviceaccount:<namespace>:<name>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := &esv1.AzureKVProvider{VaultURL: azuretest.VaultURL(f.vault), AuthType: esv1.AzureWorkloadIdentity}
			tc.spec(spec)
			var store provider.Store = namespacedStore(f.ns, spec)
			if tc.store != nil {
				store = tc.store(spec)
			}
			cl, err := f.p.NewClient(t.Context(), store, f.env.Client, f.ns)
			if err == nil {
				t.Cleanup(func() { _ = cl.Close(t.Context()) })
				_, err = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
			}
			switch {
			case tc.wantField != "":
				var ce *provider.ConfigError
				if !errors.As(err, &ce) || ce.Field != tc.wantField {
					t.Fatalf("err = %v, want a ConfigError of %s", err, tc.wantField)
				}
			case len(tc.wantText) > 0:
				var ce *CredentialsError
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want a *CredentialsError", err)
				}
			case err != nil:
				t.Fatal(err)
			}
			if err != nil {
				mustContain(t, "error", err.Error(), tc.wantText...)
			}
		})
	}
}

func TestClusterStoreNeedsReferentNamespace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	spec, _ := f.secretApp(t, f.ns, azuretest.SecretsGet)
	_, err := f.p.NewClient(t.Context(), clusterStore(spec), f.env.Client, "")
	if !errors.Is(err, provider.ErrNoReferentNamespace) {
		t.Fatalf("NewClient = %v, want ErrNoReferentNamespace", err)
	}
	// With an ExternalSecret namespace the same store resolves there.
	cl := f.client(t, clusterStore(spec), f.ns)
	f.srv.SetSecret(f.vault, "s", "value", azuretest.ObjectOptions{})
	if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
		t.Fatal(err)
	}
}

func TestManagedIdentity(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetSecret(f.vault, "s", "value", azuretest.ObjectOptions{})
	first := f.srv.AddManagedIdentity()
	f.srv.Grant(f.vault, first, azuretest.SecretsGet)
	cases := []struct {
		name     string
		id       string
		more     bool // a second identity is assigned before the read
		wantText string
	}{
		{name: "the only identity"},
		{name: "by client ID", id: first},
		{name: "unknown client ID", id: "00000000-0000-4000-8000-0000000000ff", wantText: "managed identity 00000000-0000-4000-8000-0000000000ff failed: invalid_request: Identity not found; the managed identity is not assigned to the node"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: "the only identity" depends on the server's
			// identities.
			spec := &esv1.AzureKVProvider{VaultURL: azuretest.VaultURL(f.vault), AuthType: esv1.AzureManagedIdentity, IdentityID: tc.id}
			cl := f.client(t, namespacedStore(f.ns, spec), f.ns)
			_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
			if tc.wantText == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("read succeeded with an unknown identity")
			}
			mustContain(t, "error", err.Error(), tc.wantText)
		})
	}
	if n := f.srv.Calls(azuretest.OpIMDSToken); n < 2 {
		t.Errorf("IMDS was asked %d times, want at least 2", n)
	}
}
