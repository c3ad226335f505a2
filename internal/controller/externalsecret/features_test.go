package externalsecret_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// dataFrom extract and find with rewrites, then data[] overriding them, then
// a template with templateFrom, type, labels and annotations.
func TestDataFromRewriteAndTemplate(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "store", map[string]string{
		"prod/app-db":  appDB,
		"app/feature1": "on",
		"app/feature2": "off",
		"other/x":      "no",
	})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tpl", Namespace: ns},
		Data: map[string]string{"dsn": "postgres://{{ .db_username }}:{{ .db_password }}@db:5432/app"}}
	if err := env.Client.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns}}
	es.Spec.SecretStoreRef = &esv1.SecretStoreRef{Name: "store"}
	es.Spec.DataFrom = []esv1.ExternalSecretDataFromRemoteRef{
		{Extract: &esv1.ExternalSecretDataRemoteRef{Key: "prod/app-db"},
			Rewrite: []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^", Target: "db_"}}}},
		{Find: &esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^app/"}},
			Rewrite: []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^app/", Target: ""}}}},
	}
	es.Spec.Data = []esv1.ExternalSecretData{
		{SecretKey: "feature2", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "app/feature1"}},
	}
	es.Spec.Target = &esv1.ExternalSecretTarget{Template: &esv1.ExternalSecretTemplate{
		Type:          corev1.SecretTypeOpaque,
		MergePolicy:   esv1.MergePolicyMerge,
		Metadata:      &esv1.ExternalSecretTemplateMetadata{Labels: map[string]string{"app": "demo"}, Annotations: map[string]string{"owner": "{{ .db_username }}"}},
		Data:          map[string]string{"greeting": "hello {{ .db_username | upper }}"},
		TemplateFrom:  []esv1.TemplateFrom{{ConfigMap: &esv1.TemplateRef{Name: "tpl", Items: []esv1.TemplateRefItem{{Key: "dsn"}}}}},
		EngineVersion: esv1.TemplateEngineV2,
	}}
	if err := env.Client.Create(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "app", esv1.ReasonSecretSynced)
	s := getSecret(t, env, ns, "app")
	want := map[string]string{
		"db_username": "admin", "db_password": marker, "feature1": "on", "feature2": "on",
		"greeting": "hello ADMIN", "dsn": "postgres://admin:" + marker + "@db:5432/app",
	}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("key %s = %q, want %q", k, s.Data[k], v)
		}
	}
	if len(s.Data) != len(want) {
		t.Errorf("keys %v, want %d keys", keys(s.Data), len(want))
	}
	if s.Labels["app"] != "demo" || s.Annotations["owner"] != "admin" {
		t.Errorf("template metadata: labels %v annotations %v", s.Labels, s.Annotations)
	}
}

// A ClusterSecretStore's conditions decide which namespaces may use it.
func TestClusterSecretStoreConditionsAreEnforced(t *testing.T) {
	env := startController(t)
	allowed, denied := env.Namespace(t), env.Namespace(t)
	css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "css-" + allowed}}
	css.Spec.Provider.Fake = &esv1.FakeProvider{Data: fakeData(map[string]string{"prod/app-db": appDB})}
	css.Spec.Conditions = []esv1.ClusterSecretStoreCondition{{Namespaces: []string{allowed}}}
	if err := env.Client.Create(t.Context(), css); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), css) })
	for _, ns := range []string{allowed, denied} {
		if err := env.Client.Create(t.Context(), newES(ns, "db", css.Name, func(es *esv1.ExternalSecret) {
			es.Spec.SecretStoreRef.Kind = esv1.SecretStoreKindClusterSecretStore
		})); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, env, allowed, "db", esv1.ReasonSecretSynced)
	got := waitReady(t, env, denied, "db", esv1.ReasonSecretSyncedError)
	if msg := got.Status.Conditions[0].Message; !strings.Contains(msg, "does not allow namespace") || !strings.Contains(msg, denied) {
		t.Errorf("message %q", msg)
	}
}

// target.immutable writes an immutable Secret; a later data change stalls
// with a message saying how to proceed, and the Secret keeps its data.
func TestImmutableTarget(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	store := fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	if err := env.Client.Create(t.Context(), newES(ns, "db", "store", func(es *esv1.ExternalSecret) {
		es.Spec.Target = &esv1.ExternalSecretTarget{Immutable: true}
	})); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	if s := getSecret(t, env, ns, "db"); s.Immutable == nil || !*s.Immutable {
		t.Fatal("Secret is not immutable")
	}
	setStoreData(t, env, store, map[string]string{"prod/app-db": `{"username":"new","password":"new"}`})
	testenv.Eventually(t, 30*time.Second, func() error {
		got := waitReady(t, env, ns, "db", esv1.ReasonSecretSyncedError)
		if msg := got.Status.Conditions[0].Message; !strings.Contains(msg, "immutable") {
			return fmt.Errorf("message %q", msg)
		}
		return nil
	})
	if u := string(getSecret(t, env, ns, "db").Data["username"]); u != "admin" {
		t.Errorf("immutable Secret changed: %q", u)
	}
}

// A SecretStore serves only its own namespace: an ExternalSecret elsewhere
// that names it finds no such store.
func TestSecretStoreServesOnlyItsNamespace(t *testing.T) {
	env := startController(t)
	home, other := env.Namespace(t), env.Namespace(t)
	fakeStore(t, env, home, "store", map[string]string{"prod/app-db": appDB})
	if err := env.Client.Create(t.Context(), newES(other, "db", "store", nil)); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, env, other, "db", esv1.ReasonSecretSyncedError)
	if msg := got.Status.Conditions[0].Message; !strings.Contains(msg, `SecretStore "store" not found in namespace `+other) {
		t.Errorf("message %q", msg)
	}
}
