package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// The article's two manifests, verbatim but for the Vault address, produce
// Secret prod-database-creds with exactly username and password, with Vault
// prepared as the article describes (DESIGN.md §2), and every interpretation
// of the article's YAML is reported.
func TestSeedScenario(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS, appNS := env.Namespace(t), env.Namespace(t)

	// Vault as the article sets it up.
	env.ServiceAccount(t, ctrlNS, "external-secrets")
	env.AllowTokenReview(t, ctrlNS, "external-secrets")
	env.Vault.Write(t, "POST", "secret/data/prod/app-db", map[string]any{"data": map[string]any{"username": "app", "password": marker}})
	env.VaultKubernetesRole(t, "external-secrets-role", ctrlNS, "external-secrets", map[string]string{
		"read-prod-" + ctrlNS: `path "secret/data/prod/*" { capabilities = ["read"] }`,
	})

	p := runController(t, env, "--pod-namespace", ctrlNS, "--service-account-name", "external-secrets")

	start := time.Now()
	for _, file := range []string{"clustersecretstore.yaml", "externalsecret.yaml"} {
		raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "test", "testdata", "seed", file))
		if err != nil {
			t.Fatal(err)
		}
		raw = []byte(strings.Replace(string(raw), "https://vault.example.com:8200", env.Vault.Addr, 1))
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
			t.Fatal(err)
		}
		if obj.GetKind() == "ExternalSecret" {
			obj.SetNamespace(appNS)
		}
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatalf("applying the seed's %s: %v", obj.GetKind(), err)
		}
		if obj.GetKind() == "ClusterSecretStore" {
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) }) // t.Context() is cancelled by then
		}
	}

	took := waitSecretData(t, env, appNS, map[string]string{"username": "app", "password": marker}, start)
	t.Logf("first sync: Secret %s/prod-database-creds %s after applying the manifests", appNS, took.Round(time.Millisecond))
	within(t, "first sync", took, firstSyncBudget)
	waitReason(t, env, appNS, "database-credentials", esv1.ReasonSecretSynced)
	var s corev1.Secret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: appNS, Name: "prod-database-creds"}, &s); err != nil {
		t.Fatal(err)
	}
	keys := []string{}
	for k := range s.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t.Logf("Secret %s/prod-database-creds: keys %v (values not shown)", appNS, keys)
	if !slices.Equal(keys, []string{"password", "username"}) || string(s.Data["username"]) != "app" || string(s.Data["password"]) != marker {
		t.Errorf("Secret prod-database-creds has keys %v", keys)
	}

	// The interpretations are in the condition and in Warning events.
	var es esv1.ExternalSecret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: appNS, Name: "database-credentials"}, &es); err != nil {
		t.Fatal(err)
	}
	msg := es.Status.Conditions[0].Message
	t.Logf("Ready message: %s", msg)
	for _, want := range []string{"interpreted", `"data.username"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ready message lacks %q: %s", want, msg)
		}
	}
	waitInterpretedEvent(t, env, appNS)
	assertNoSecretValues(t, env, p, []string{marker}, []string{appNS, ctrlNS}, []string{"vault-backend"})
}

// waitInterpretedEvent waits for the Warning event that reports how a key or
// property was interpreted; it proves the note fits the events API's limit.
func waitInterpretedEvent(t *testing.T, env *testenv.Env, ns string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		var evs eventsv1.EventList
		if err := env.Client.List(t.Context(), &evs, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == "Interpreted" {
				t.Logf("Warning event %s (%d bytes): %s", e.Reason, len(e.Note), e.Note)
				return nil
			}
		}
		return fmt.Errorf("no Interpreted warning event among %d events", len(evs.Items))
	})
}
