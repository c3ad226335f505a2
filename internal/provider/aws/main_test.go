package aws

import (
	"testing"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/aws/awstest"
	"github.com/secretbridge/secretbridge/internal/provider/providertest"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// unique returns prefix followed by 8 random hex characters.
var unique = testenv.Unique

// fixture is one test's AWS server, API server namespace and provider.
type fixture struct {
	env *testenv.Env
	srv *awstest.Server
	ns  string
	p   Provider
}

// newFixture starts an AWS test server and creates a namespace; the
// provider talks to the server with millisecond retry backoffs.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Get(t)
	srv := awstest.New(t, awstest.Options{})
	return &fixture{
		env: env,
		srv: srv,
		ns:  env.Namespace(t),
		p:   Provider{hooks: &hooks{endpoint: srv.URL, backoff: time.Millisecond}},
	}
}

// createSecret creates Secret ns/name holding data.
func (f *fixture) createSecret(t *testing.T, ns, name string, data map[string]string) {
	f.env.Secret(t, ns, name, data)
}

// keysSecret puts creds in a new Secret in ns and returns a secretRef
// that points at it.
func (f *fixture) keysSecret(t *testing.T, ns string, creds awstest.Credentials) *esv1.AWSAuthSecretRef {
	t.Helper()
	name := unique("aws-keys-")
	data := map[string]string{"access-key-id": creds.AccessKeyID, "secret-access-key": creds.SecretAccessKey}
	ref := &esv1.AWSAuthSecretRef{
		AccessKeyID:     &esv1.SecretKeySelector{Name: name, Key: "access-key-id"},
		SecretAccessKey: &esv1.SecretKeySelector{Name: name, Key: "secret-access-key"},
	}
	if creds.SessionToken != "" {
		data["session-token"] = creds.SessionToken
		ref.SessionToken = &esv1.SecretKeySelector{Name: name, Key: "session-token"}
	}
	f.createSecret(t, ns, name, data)
	return ref
}

// spec returns a store spec for service in the server's region.
func (f *fixture) spec(service esv1.AWSServiceType) *esv1.AWSProvider {
	return &esv1.AWSProvider{Service: service, Region: f.srv.Region}
}

// staticSpec creates a user with policy, stores its keys in the fixture's
// namespace and returns a spec that uses them.
func (f *fixture) staticSpec(t *testing.T, service esv1.AWSServiceType, policy awstest.Policy) (*esv1.AWSProvider, awstest.Credentials) {
	t.Helper()
	creds := f.srv.AddUser(unique("user-"), policy)
	spec := f.spec(service)
	spec.Auth = &esv1.AWSAuth{SecretRef: f.keysSecret(t, f.ns, creds)}
	return spec, creds
}

// namespacedStore returns a SecretStore in ns with spec.
func namespacedStore(ns string, spec *esv1.AWSProvider) *esv1.SecretStore {
	return providertest.SecretStore(ns, "aws", esv1.SecretStoreProvider{AWS: spec})
}

// clusterStore returns a ClusterSecretStore with spec.
func clusterStore(spec *esv1.AWSProvider) *esv1.ClusterSecretStore {
	return providertest.ClusterSecretStore("aws-", esv1.SecretStoreProvider{AWS: spec})
}

// client builds a client for store as used from namespace and closes it
// when the test ends.
func (f *fixture) client(t *testing.T, store provider.Store, namespace string) *Client {
	t.Helper()
	return providertest.NewClient(t, f.p, store, f.env.Client, namespace).(*Client)
}

// staticClient is client for a SecretStore with static keys of a user
// with policy.
func (f *fixture) staticClient(t *testing.T, service esv1.AWSServiceType, policy awstest.Policy, mutate func(*esv1.AWSProvider)) *Client {
	t.Helper()
	spec, _ := f.staticSpec(t, service, policy)
	if mutate != nil {
		mutate(spec)
	}
	return f.client(t, namespacedStore(f.ns, spec), f.ns)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// mustContain fails the test for each of subs that s lacks.
var mustContain = testenv.MustContain
