package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/controller"
	"github.com/secretbridge/secretbridge/internal/manager"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// The CLI runs against the real API server, controller manager and Vault.
func TestMain(m *testing.M) { testenv.Main(m) }

// marker is part of every secret value the tests write, so that a test can
// assert that no output contains a value.
const marker = "S3CR3T-MARKER"

// samples collects real command output for docs/cli.md when
// SECRETBRIDGE_CLI_SAMPLES names a directory.
func sample(t *testing.T, name, cmdline, out string) {
	t.Helper()
	dir := os.Getenv("SECRETBRIDGE_CLI_SAMPLES")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte("$ "+cmdline+"\n"+out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runKube runs the CLI with the test kubeconfig and returns stdout and
// stderr separately.
func runKube(t *testing.T, env *testenv.Env, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append(args, "--kubeconfig", env.KubeconfigPath))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// noValues fails the test if s contains a secret value.
func noValues(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, marker) {
		t.Errorf("output contains a secret value:\n%s", s)
	}
}

// unique returns prefix plus random hex.
var unique = testenv.Unique

// create creates obj and fails the test on error.
func create(t *testing.T, env *testenv.Env, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// vaultPolicy writes a Vault ACL policy and removes it when the test ends.
func vaultPolicy(t *testing.T, env *testenv.Env, name, hcl string) {
	t.Helper()
	env.Vault.Write(t, "PUT", "sys/policies/acl/"+name, map[string]any{"policy": hcl})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/policies/acl/"+name, nil)
	})
}

// vaultToken creates a token with one policy granting hcl and metadata role.
func vaultToken(t *testing.T, env *testenv.Env, hcl string) string {
	t.Helper()
	name := unique("pol-")
	vaultPolicy(t, env, name, hcl)
	out := env.Vault.Write(t, "POST", "auth/token/create", map[string]any{"policies": []string{name}, "ttl": "1h", "meta": map[string]string{"role": "cli-test"}})
	auth, _ := out["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if tok == "" {
		t.Fatal("auth/token/create answered without a token")
	}
	return tok
}

// tokenStoreSpec returns a Vault provider spec that reads its token from a
// Secret it creates in ns.
func tokenStoreSpec(t *testing.T, env *testenv.Env, ns, server, hcl string) *esv1.VaultProvider {
	t.Helper()
	tok := vaultToken(t, env, hcl)
	create(t, env, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-token"}, StringData: map[string]string{"token": tok}})
	return &esv1.VaultProvider{
		Server: server,
		Auth:   &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token", Namespace: ns}},
	}
}

// vaultES returns an ExternalSecret reading username and password of key.
func vaultES(ns, name, storeKind, store, key string) *esv1.ExternalSecret {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	es.Spec.SecretStoreRef = &esv1.SecretStoreRef{Name: store, Kind: esv1.SecretStoreKind(storeKind)}
	es.Spec.Target = &esv1.ExternalSecretTarget{Name: name + "-secret"}
	es.Spec.Data = []esv1.ExternalSecretData{
		{SecretKey: "username", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: "username"}},
		{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: "password"}},
	}
	return es
}

var controllerStarted bool

// startController runs the controller in this process once per package,
// as the ExternalSecret controller's tests do.
func startController(t *testing.T, env *testenv.Env) {
	t.Helper()
	if controllerStarted {
		return
	}
	mgr, err := manager.New(env.Config, manager.Options{MetricsAddr: "0", ProbeAddr: "0", Concurrent: 4}, controller.Setup)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = mgr.Start(ctx) }()
	env.OnStop(cancel)
	controllerStarted = true
}

// fakeStore creates a SecretStore of the fake provider serving data.
func fakeStore(t *testing.T, env *testenv.Env, ns, name string, data map[string]string) {
	t.Helper()
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	store.Spec.Provider.Fake = &esv1.FakeProvider{}
	for k, v := range data {
		store.Spec.Provider.Fake.Data = append(store.Spec.Provider.Fake.Data, esv1.FakeProviderData{Key: k, Value: v})
	}
	create(t, env, store)
}

// waitReady waits for the ExternalSecret's Ready condition to have status.
func waitReady(t *testing.T, env *testenv.Env, ns, name string, status corev1.ConditionStatus) *esv1.ExternalSecret {
	t.Helper()
	var es esv1.ExternalSecret
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &es); err != nil {
			return err
		}
		if c := readyOf(&es); c != nil && c.Status == status {
			return nil
		}
		return fmt.Errorf("conditions %+v, want Ready=%s", es.Status.Conditions, status)
	})
	return &es
}
