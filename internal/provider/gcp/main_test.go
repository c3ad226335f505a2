package gcp

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/gcp/gcptest"
	"github.com/secretbridge/secretbridge/internal/provider/providertest"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// project is the project of every test's secrets.
const project = "test-project"

// unique returns prefix followed by 8 random hex characters.
var unique = testenv.Unique

// fixture is one test's Google endpoint, API server namespace and provider.
type fixture struct {
	env *testenv.Env
	srv *gcptest.Server
	ns  string
	p   Provider
}

// newFixture starts a gcptest server and creates a namespace; the provider
// talks to the server, trusting its CA, with millisecond retry backoffs.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, gcptest.Options{})
}

// newFixtureWith is newFixture with server options.
func newFixtureWith(t *testing.T, opts gcptest.Options) *fixture {
	t.Helper()
	env := testenv.Get(t)
	srv := gcptest.New(t, opts)
	return &fixture{
		env: env,
		srv: srv,
		ns:  env.Namespace(t),
		p: Provider{hooks: &hooks{
			secretManager:  srv.GRPCAddr,
			sts:            srv.URL,
			iamCredentials: srv.URL,
			roots:          srv.RootCAs(),
			backoff:        time.Millisecond,
		}},
	}
}

// createSecret creates Secret ns/name holding data.
func (f *fixture) createSecret(t *testing.T, ns, name string, data map[string]string) {
	f.env.Secret(t, ns, name, data)
}

// serviceAccount creates a ServiceAccount in ns with annotations.
func (f *fixture) serviceAccount(t *testing.T, ns, name string, annotations map[string]string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations}}
	if err := f.env.Client.Create(t.Context(), sa); err != nil {
		t.Fatalf("creating ServiceAccount %s/%s: %v", ns, name, err)
	}
}

// keySpec creates a Google service account with a JSON key, stores the key
// in a Secret in the fixture's namespace and returns a spec that uses it
// and the account's email.
func (f *fixture) keySpec(t *testing.T) (*esv1.GCPSMProvider, string) {
	t.Helper()
	email := unique("reader-") + "@" + project + ".iam.gserviceaccount.com"
	key, err := f.srv.ServiceAccountKey(email, project)
	if err != nil {
		t.Fatal(err)
	}
	name := unique("gcp-key-")
	f.createSecret(t, f.ns, name, map[string]string{"sa.json": string(key)})
	return &esv1.GCPSMProvider{
		ProjectID: project,
		Auth: &esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{
			SecretAccessKey: &esv1.SecretKeySelector{Name: name, Key: "sa.json"},
		}},
	}, email
}

// namespacedStore returns a SecretStore in ns with spec.
func namespacedStore(ns string, spec *esv1.GCPSMProvider) *esv1.SecretStore {
	return providertest.SecretStore(ns, "gcp", esv1.SecretStoreProvider{GCPSM: spec})
}

// clusterStore returns a ClusterSecretStore with spec.
func clusterStore(spec *esv1.GCPSMProvider) *esv1.ClusterSecretStore {
	return providertest.ClusterSecretStore("gcp-", esv1.SecretStoreProvider{GCPSM: spec})
}

// client builds a client for store as used from namespace and closes it
// when the test ends.
func (f *fixture) client(t *testing.T, store provider.Store, namespace string) *Client {
	t.Helper()
	return providertest.NewClient(t, f.p, store, f.env.Client, namespace).(*Client)
}

// keyClient is client for a SecretStore with a key of an account that
// holds roles on the project, and that account's IAM member.
func (f *fixture) keyClient(t *testing.T, mutate func(*esv1.GCPSMProvider), roles ...string) (*Client, string) {
	t.Helper()
	spec, email := f.keySpec(t)
	for _, r := range roles {
		f.srv.Grant(gcptest.Member(email), r, "projects/"+project)
	}
	if mutate != nil {
		mutate(spec)
	}
	return f.client(t, namespacedStore(f.ns, spec), f.ns), gcptest.Member(email)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// mustContain fails the test for each of subs that s lacks.
var mustContain = testenv.MustContain
