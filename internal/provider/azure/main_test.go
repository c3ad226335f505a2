package azure

import (
	"testing"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/azure/azuretest"
	"github.com/secretbridge/secretbridge/internal/provider/providertest"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// unique returns prefix followed by 8 random hex characters.
var unique = testenv.Unique

// fixture is one test's Azure server, vault, API server namespace and
// provider.
type fixture struct {
	env   *testenv.Env
	srv   *azuretest.Server
	ns    string
	vault string
	p     Provider
}

// newFixture starts an Azure test server with one access-policy vault and
// creates a namespace; the provider talks to the server with millisecond
// retry delays and trusts only the server's CA.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, azuretest.Options{}, false)
}

// newFixtureWith is newFixture with server options and an RBAC vault.
func newFixtureWith(t *testing.T, opts azuretest.Options, rbac bool) *fixture {
	t.Helper()
	env := testenv.Get(t)
	srv := azuretest.New(t, opts)
	vault := unique("kv")
	srv.AddVault(vault, rbac)
	return &fixture{
		env:   env,
		srv:   srv,
		ns:    env.Namespace(t),
		vault: vault,
		p: Provider{hooks: &hooks{
			login: srv.URL, vault: srv.URL, imds: srv.URL,
			rootCAs: srv.CertPool(), retryDelay: time.Millisecond,
		}},
	}
}

// createSecret creates Secret ns/name holding data.
func (f *fixture) createSecret(t *testing.T, ns, name string, data map[string]string) {
	f.env.Secret(t, ns, name, data)
}

// secretApp registers an application with a client secret, grants it perms
// on the fixture's vault, stores its credentials in a Secret of ns and
// returns a spec that uses them, and the client ID.
func (f *fixture) secretApp(t *testing.T, ns string, perms ...azuretest.Permission) (*esv1.AzureKVProvider, string) {
	t.Helper()
	secret := unique("s3cr3t-value-")
	id := f.srv.AddApplication(secret)
	f.srv.Grant(f.vault, id, perms...)
	name := unique("azure-creds-")
	f.createSecret(t, ns, name, map[string]string{"client-id": id, "client-secret": secret})
	return &esv1.AzureKVProvider{
		VaultURL: azuretest.VaultURL(f.vault),
		TenantID: f.srv.TenantID,
		AuthSecretRef: &esv1.AzureKVAuth{
			ClientID:     &esv1.SecretKeySelector{Name: name, Key: "client-id"},
			ClientSecret: &esv1.SecretKeySelector{Name: name, Key: "client-secret"},
		},
	}, id
}

// namespacedStore returns a SecretStore in ns with spec.
func namespacedStore(ns string, spec *esv1.AzureKVProvider) *esv1.SecretStore {
	return providertest.SecretStore(ns, "azure", esv1.SecretStoreProvider{AzureKV: spec})
}

// clusterStore returns a ClusterSecretStore with spec.
func clusterStore(spec *esv1.AzureKVProvider) *esv1.ClusterSecretStore {
	return providertest.ClusterSecretStore("azure-", esv1.SecretStoreProvider{AzureKV: spec})
}

// client builds a client for store as used from namespace and closes it
// when the test ends.
func (f *fixture) client(t *testing.T, store provider.Store, namespace string) *Client {
	t.Helper()
	return providertest.NewClient(t, f.p, store, f.env.Client, namespace).(*Client)
}

// secretClient is client for a SecretStore whose application has perms.
func (f *fixture) secretClient(t *testing.T, perms ...azuretest.Permission) (*Client, string) {
	t.Helper()
	spec, id := f.secretApp(t, f.ns, perms...)
	return f.client(t, namespacedStore(f.ns, spec), f.ns), id
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// mustContain fails the test for each of subs that s lacks.
var mustContain = testenv.MustContain
