package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// applySeedAs applies the seed's two manifests with the Vault address, the
// store's name and (optionally) the remote key replaced, the ExternalSecret
// in namespace ns. It returns when both exist.
func applySeedAs(t *testing.T, env *testenv.Env, storeName, ns, key string) {
	t.Helper()
	for _, file := range []string{"clustersecretstore.yaml", "externalsecret.yaml"} {
		raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "test", "testdata", "seed", file))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(raw), "https://vault.example.com:8200", env.Vault.Addr, 1)
		text = strings.ReplaceAll(text, "vault-backend", storeName)
		if key != "" {
			text = strings.ReplaceAll(text, "secret/data/prod/app-db", key)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(text), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if obj.GetKind() == "ExternalSecret" {
			obj.SetNamespace(ns)
		}
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatalf("applying the seed's %s: %v", obj.GetKind(), err)
		}
		if obj.GetKind() == "ClusterSecretStore" {
			t.Cleanup(func() { _ = env.Client.Delete(t.Context(), obj) })
		}
	}
}

// secretValue waits until the target Secret's key has want and returns how
// long that took from start.
func waitSecretValue(t *testing.T, env *testenv.Env, ns, key, want string, start time.Time) time.Duration {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		var s corev1.Secret
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "prod-database-creds"}, &s); err != nil {
			return err
		}
		if string(s.Data[key]) != want {
			return fmt.Errorf("%s not updated yet", key)
		}
		return nil
	})
	return time.Since(start)
}

// The seed's lifecycle: first sync within 10 s, a rotation with force-sync
// within 5 s, a revoked policy reported with the diagnosis while the last
// good Secret stays, and the Secret garbage-collected with its ExternalSecret.
func TestSeedLifecycle(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS, appNS := env.Namespace(t), env.Namespace(t)
	env.ServiceAccount(t, ctrlNS, "external-secrets")
	env.AllowTokenReview(t, ctrlNS, "external-secrets")
	path := "secret/data/prod/" + appNS
	env.Vault.Write(t, "POST", path, map[string]any{"data": map[string]any{"username": "app", "password": marker + "-1"}})
	policy := "read-prod-" + ctrlNS
	env.VaultKubernetesRole(t, "external-secrets-role", ctrlNS, "external-secrets", map[string]string{
		policy: `path "secret/data/prod/*" { capabilities = ["read"] }`,
	})
	p := runController(t, env, "--pod-namespace", ctrlNS, "--service-account-name", "external-secrets")

	start := time.Now()
	applySeedAs(t, env, "vault-lifecycle", appNS, path)
	first := waitSecretValue(t, env, appNS, "password", marker+"-1", start)
	t.Logf("first sync: Secret present %s after applying the manifests", first.Round(time.Millisecond))
	if first > 10*time.Second {
		t.Errorf("first sync took %s, budget 10s", first)
	}

	// Rotation: a new value in Vault, then force-sync.
	env.Vault.Write(t, "POST", path, map[string]any{"data": map[string]any{"username": "app", "password": marker + "-2"}})
	start = time.Now()
	forceSyncES(t, env, appNS, "database-credentials", start.Format(time.RFC3339Nano))
	rotation := waitSecretValue(t, env, appNS, "password", marker+"-2", start)
	t.Logf("rotation: Secret updated %s after the force-sync annotation", rotation.Round(time.Millisecond))
	if rotation > 5*time.Second {
		t.Errorf("rotation took %s, budget 5s", rotation)
	}

	// Revoke the read grant: Ready turns False with the diagnosis and the
	// last good Secret stays.
	env.Vault.Write(t, "PUT", "sys/policies/acl/"+policy, map[string]any{"policy": `path "secret/data/other/*" { capabilities = ["read"] }`})
	forceSyncES(t, env, appNS, "database-credentials", "revoked")
	var msg string
	testenv.Eventually(t, 30*time.Second, func() error {
		var es esv1.ExternalSecret
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: appNS, Name: "database-credentials"}, &es); err != nil {
			return err
		}
		for _, c := range es.Status.Conditions {
			if c.Type == esv1.ConditionReady && c.Status == corev1.ConditionFalse {
				msg = c.Message
				return nil
			}
		}
		return fmt.Errorf("Ready not False yet: %+v", es.Status.Conditions)
	})
	t.Logf("revoked policy: %s", msg)
	for _, want := range []string{path, "external-secrets-role", policy, "read"} {
		if !strings.Contains(msg, want) {
			t.Errorf("diagnosis lacks %q", want)
		}
	}
	waitSecretValue(t, env, appNS, "password", marker+"-2", time.Now()) // still the last good value

	// Deleting the ExternalSecret deletes the Secret (owner reference, real GC).
	es := &esv1.ExternalSecret{}
	es.Namespace, es.Name = appNS, "database-credentials"
	if err := env.Client.Delete(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		var s corev1.Secret
		err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: appNS, Name: "prod-database-creds"}, &s)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("Secret still there (%v)", err)
	})
	if log := p.log(t); strings.Contains(log, marker) {
		t.Error("the controller logged a password")
	}
}

// The article's KV v2 spelling on a KV v1 mount (gotcha 4) still works and
// the interpretation is reported.
func TestSeedOnKVv1Mount(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS, appNS := env.Namespace(t), env.Namespace(t)
	mount := "kv1-" + appNS[len(appNS)-5:]
	env.Vault.Write(t, "POST", "sys/mounts/"+mount, map[string]any{"type": "kv", "options": map[string]any{"version": "1"}})
	env.Vault.Write(t, "POST", mount+"/prod/app-db", map[string]any{"username": "app1", "password": marker})
	env.ServiceAccount(t, ctrlNS, "external-secrets")
	env.AllowTokenReview(t, ctrlNS, "external-secrets")
	env.VaultKubernetesRole(t, "external-secrets-role", ctrlNS, "external-secrets", map[string]string{
		"read-" + mount: fmt.Sprintf(`path "%s/*" { capabilities = ["read"] }`, mount),
	})
	runController(t, env, "--pod-namespace", ctrlNS, "--service-account-name", "external-secrets")
	applySeedAs(t, env, "vault-kv1", appNS, mount+"/data/prod/app-db")
	waitReason(t, env, appNS, "database-credentials", esv1.ReasonSecretSynced)
	waitSecretValue(t, env, appNS, "username", "app1", time.Now())
	var es esv1.ExternalSecret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: appNS, Name: "database-credentials"}, &es); err != nil {
		t.Fatal(err)
	}
	msg := es.Status.Conditions[0].Message
	t.Logf("KV v1 interpretations: %s", msg)
	if !strings.Contains(msg, "v1") {
		t.Errorf("the KV v1 interpretation is not reported: %s", msg)
	}
}

func forceSyncES(t *testing.T, env *testenv.Env, ns, name, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, esv1.AnnotationForceSync, value)
	es := &esv1.ExternalSecret{}
	es.Namespace, es.Name = ns, name
	if err := env.Client.Patch(t.Context(), es, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}
