package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// fakeES returns an ExternalSecret reading username and password of the
// fake store's key "db".
func fakeES(ns, name, store string) *esv1.ExternalSecret {
	es := vaultES(ns, name, "SecretStore", store, "db")
	es.Spec.Target = nil
	return es
}

// sync forces a refresh and waits for it: it reports the time from the
// command to Ready, and a non-zero exit with the reason for a failure.
func TestSyncWaitsForTheOutcome(t *testing.T) {
	env := testenv.Get(t)
	startController(t, env)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "fake", map[string]string{"db": `{"username":"app","password":"pw-` + marker + `"}`})
	create(t, env, fakeES(ns, "good", "fake"))
	bad := fakeES(ns, "bad", "fake")
	bad.Spec.Data[0].RemoteRef.Key = "no-such-key"
	create(t, env, bad)
	before := waitReady(t, env, ns, "good", corev1.ConditionTrue)
	waitReady(t, env, ns, "bad", corev1.ConditionFalse)

	t.Run("success", func(t *testing.T) {
		start := time.Now()
		out, _, err := runKube(t, env, "sync", "es/good", "-n", ns)
		took := time.Since(start)
		noValues(t, out)
		sample(t, "sync-good", "secretbridge sync es/good -n "+ns, out)
		if err != nil {
			t.Fatalf("sync: %v\n%s", err, out)
		}
		if !strings.Contains(out, "✓ "+ns+"/good synced in ") {
			t.Errorf("output:\n%s", out)
		}
		var es esv1.ExternalSecret
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "good"}, &es); err != nil {
			t.Fatal(err)
		}
		if es.Status.SyncedResourceVersion == before.Status.SyncedResourceVersion || es.Annotations[esv1.AnnotationForceSync] == "" {
			t.Errorf("no new sync: syncedResourceVersion %q (before %q), annotations %v", es.Status.SyncedResourceVersion, before.Status.SyncedResourceVersion, es.Annotations)
		}
		t.Logf("MEASURED: secretbridge sync, command to Ready: %s (%s)", took.Round(time.Millisecond), strings.TrimSpace(out))
	})

	t.Run("measured over 5 runs", func(t *testing.T) {
		var total, worst time.Duration
		for range 5 {
			start := time.Now()
			if out, _, err := runKube(t, env, "sync", "es/good", "-n", ns, "-o", "json"); err != nil {
				t.Fatalf("sync: %v\n%s", err, out)
			}
			d := time.Since(start)
			total += d
			worst = max(worst, d)
		}
		t.Logf("MEASURED: secretbridge sync command to Ready over 5 runs: mean %s, worst %s", (total / 5).Round(time.Millisecond), worst.Round(time.Millisecond))
	})

	t.Run("failure exits non-zero with the reason", func(t *testing.T) {
		out, _, err := runKube(t, env, "sync", "es/bad", "es/good", "-n", ns)
		noValues(t, out)
		sample(t, "sync-failure", "secretbridge sync es/bad es/good -n "+ns, out)
		if err == nil || !strings.Contains(err.Error(), "1 of 2") {
			t.Fatalf("want 1 of 2 failed, got %v\n%s", err, out)
		}
		if !strings.Contains(out, "✗ "+ns+"/bad failed after") || !strings.Contains(out, "no-such-key") || !strings.Contains(out, "✓ "+ns+"/good synced") {
			t.Errorf("output:\n%s", out)
		}
	})

	t.Run("by selector in all namespaces", func(t *testing.T) {
		var es esv1.ExternalSecret
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "good"}, &es); err != nil {
			t.Fatal(err)
		}
		es.Labels = map[string]string{"cli-test": ns}
		if err := env.Client.Update(t.Context(), &es); err != nil {
			t.Fatal(err)
		}
		out, _, err := runKube(t, env, "sync", "-A", "-l", "cli-test="+ns, "-o", "json")
		if err != nil {
			t.Fatalf("sync: %v\n%s", err, out)
		}
		var results []syncResult
		if err := json.Unmarshal([]byte(out), &results); err != nil || len(results) != 1 || !results[0].OK || results[0].Name != "good" {
			t.Errorf("results %+v (%v)", results, err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		other := env.Namespace(t)
		// A store of another controller class: nobody will sync it.
		store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "fake"}}
		store.Spec.Controller = "nobody"
		store.Spec.Provider.Fake = &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "db", Value: "{}"}}}
		create(t, env, store)
		create(t, env, fakeES(other, "orphan", "fake"))
		out, _, err := runKube(t, env, "sync", "es/orphan", "-n", other, "--timeout", "2s")
		if err == nil || !strings.Contains(out, "Timeout") || !strings.Contains(out, "doctor es/orphan") {
			t.Errorf("want a timeout, got %v\n%s", err, out)
		}
	})
}

// status lists failures first, with store, reason, ages and Secret.
func TestStatusTable(t *testing.T) {
	env := testenv.Get(t)
	startController(t, env)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "fake", map[string]string{"db": `{"username":"app","password":"pw-` + marker + `"}`})
	create(t, env, fakeES(ns, "a-good", "fake"))
	bad := fakeES(ns, "z-bad", "fake")
	bad.Spec.Data[0].RemoteRef.Key = "no-such-key"
	create(t, env, bad)
	waitReady(t, env, ns, "a-good", corev1.ConditionTrue)
	waitReady(t, env, ns, "z-bad", corev1.ConditionFalse)

	out, _, err := runKube(t, env, "status", "-n", ns)
	noValues(t, out)
	sample(t, "status", "secretbridge status -n "+ns, out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and 2 rows:\n%s", out)
	}
	for _, tc := range []struct {
		name string
		line string
		want []string
	}{
		{"header", lines[0], []string{"NAMESPACE", "NAME", "STORE", "READY", "REASON", "LAST SYNC", "NEXT REFRESH", "SECRET"}},
		{"failure first", lines[1], []string{ns, "z-bad", "SecretStore/fake", "False", "SecretSyncedError", "<never>", "z-bad"}},
		{"then success", lines[2], []string{ns, "a-good", "SecretStore/fake", "True", "SecretSynced", "in 59m", "a-good"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.want {
				if !strings.Contains(tc.line, w) {
					t.Errorf("%q lacks %q", tc.line, w)
				}
			}
		})
	}

	wide, _, err := runKube(t, env, "status", "-n", ns, "-o", "wide")
	sample(t, "status-wide", "secretbridge status -n "+ns+" -o wide", wide)
	if err != nil || !strings.Contains(wide, "MESSAGE") || !strings.Contains(wide, "no-such-key") {
		t.Errorf("-o wide: %v\n%s", err, wide)
	}

	js, _, err := runKube(t, env, "status", "-A", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []statusRow
	if err := json.Unmarshal([]byte(js), &rows); err != nil {
		t.Fatal(err)
	}
	var mine []statusRow
	for _, r := range rows {
		if r.Namespace == ns {
			mine = append(mine, r)
		}
	}
	if len(mine) != 2 || mine[0].Name != "z-bad" || mine[1].NextRefresh == nil || mine[1].LastSync == nil {
		t.Errorf("-A -o json rows of %s: %+v", ns, mine)
	}
	for i := 1; i < len(rows); i++ {
		if !rows[i-1].failing() && rows[i].failing() {
			t.Errorf("a failure after a success in -A: %+v then %+v", rows[i-1], rows[i])
		}
	}
}

// render runs the controller's code: live, its output equals the Secret
// the controller wrote; offline, the seed renders from a values file.
// Values appear only with --reveal.
func TestRender(t *testing.T) {
	env := testenv.Get(t)
	startController(t, env)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "fake", map[string]string{"db": `{"username":"app","password":"pw-` + marker + `","port":5432}`})
	es := fakeES(ns, "templated", "fake")
	es.Spec.Target = &esv1.ExternalSecretTarget{Template: &esv1.ExternalSecretTemplate{
		Type: corev1.SecretTypeBasicAuth,
		Data: map[string]string{"username": "{{ .username }}", "password": "{{ .password }}", "dsn": "postgres://{{ .username }}:{{ .password }}@db:{{ .port }}/app"},
	}}
	es.Spec.DataFrom = []esv1.ExternalSecretDataFromRemoteRef{{
		Extract: &esv1.ExternalSecretDataRemoteRef{Key: "db"},
		Rewrite: []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^port$", Target: "port"}}},
	}}
	create(t, env, es)
	waitReady(t, env, ns, "templated", corev1.ConditionTrue)
	var written corev1.Secret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "templated"}, &written); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(t.TempDir(), "es.yaml")
	raw, _ := json.Marshal(es)
	if err := os.WriteFile(manifest, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("live, masked", func(t *testing.T) {
		out, _, err := runKube(t, env, "render", "-f", manifest, "-n", ns)
		noValues(t, out)
		sample(t, "render-live", "secretbridge render -f es.yaml -n "+ns, out)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"Secret " + ns + "/templated (type kubernetes.io/basic-auth, 3 keys; live, through SecretStore fake)", "dsn", masked, "--reveal"} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	})

	t.Run("live, revealed, equals what the controller wrote", func(t *testing.T) {
		out, _, err := runKube(t, env, "render", "-f", manifest, "-n", ns, "--reveal", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var r renderedSecret
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Type != written.Type || len(r.Keys) != len(written.Data) {
			t.Fatalf("rendered %+v, written type %s with %d keys", r, written.Type, len(written.Data))
		}
		for _, k := range r.Keys {
			if string(written.Data[k.Name]) != k.Value || k.Size != len(written.Data[k.Name]) {
				t.Errorf("key %s differs from the written Secret", k.Name)
			}
		}
	})

	t.Run("offline seed", func(t *testing.T) {
		dir := t.TempDir()
		values := filepath.Join(dir, "values.yaml")
		if err := os.WriteFile(values, []byte("secret/data/prod/app-db:\n  username: app\n  password: pw-"+marker+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		seedES := filepath.Join("..", "..", "test", "testdata", "seed", "externalsecret.yaml")
		for _, tc := range []struct {
			name     string
			args     []string
			want     []string
			revealed bool
		}{
			{"masked", nil, []string{"Secret default/prod-database-creds (type Opaque, 2 keys; offline values from " + values + ")", "password  " + "", "username", `property "data.username" read as "username"`}, false},
			{"revealed", []string{"--reveal"}, []string{"pw-" + marker}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append([]string{"render", "-f", seedES, "--data", values}, tc.args...)
				root := NewRoot()
				var out strings.Builder
				root.SetOut(&out)
				root.SetErr(&out)
				root.SetArgs(args)
				if err := root.Execute(); err != nil {
					t.Fatal(err)
				}
				if !tc.revealed {
					noValues(t, out.String())
					sample(t, "render-offline-seed", "secretbridge render -f externalsecret.yaml --data values.yaml", strings.ReplaceAll(out.String(), values, "values.yaml"))
				}
				for _, w := range tc.want {
					if !strings.Contains(out.String(), w) {
						t.Errorf("output lacks %q:\n%s", w, out.String())
					}
				}
			})
		}
	})

	t.Run("errors never carry values", func(t *testing.T) {
		bad := *es
		bad.Spec.Target = &esv1.ExternalSecretTarget{Template: &esv1.ExternalSecretTemplate{Data: map[string]string{"x": "{{ fail .password }}"}}}
		raw, _ := json.Marshal(&bad)
		f := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(f, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		out, stderr, err := runKube(t, env, "render", "-f", f, "-n", ns)
		if err == nil {
			t.Fatalf("want a template error, got:\n%s", out)
		}
		noValues(t, out+stderr+err.Error())
	})
}

// The time from `secretbridge sync` to Ready through Vault, with the
// controller running.
func TestSyncThroughVault(t *testing.T) {
	env := testenv.Get(t)
	startController(t, env)
	ns := env.Namespace(t)
	key := writeAppDB(t, env, ns)
	vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, readPolicy(ns)))
	create(t, env, vaultES(ns, "app", "SecretStore", "vault", key))
	waitReady(t, env, ns, "app", corev1.ConditionTrue)
	var total, worst time.Duration
	const runs = 5
	for i := range runs {
		start := time.Now()
		out, _, err := runKube(t, env, "sync", "es/app", "-n", ns)
		d := time.Since(start)
		noValues(t, out)
		if err != nil {
			t.Fatalf("sync: %v\n%s", err, out)
		}
		if i == 0 {
			sample(t, "sync-vault", "secretbridge sync es/app -n "+ns, out)
		}
		total += d
		worst = max(worst, d)
	}
	t.Logf("MEASURED: secretbridge sync through Vault, command to Ready over %d runs: mean %s, worst %s", runs, (total / runs).Round(time.Millisecond), worst.Round(time.Millisecond))
}
