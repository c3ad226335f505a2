package cli

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/diagnose"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// doctorScenario is one broken (or healthy) setup and what doctor must say.
type doctorScenario struct {
	name string
	// setup creates the objects in ns and returns the doctor arguments.
	setup func(t *testing.T, env *testenv.Env, ns string) []string
	// check is the name of the check that must fail ("" for none: all pass).
	check string
	// want are strings the failed check's summary, diagnosis and fix
	// (or, for a healthy run, the whole report) must contain.
	want []string
}

// writeAppDB writes the test's secret at secret/<ns>/app-db (KV v2).
func writeAppDB(t *testing.T, env *testenv.Env, ns string) string {
	t.Helper()
	env.Vault.Write(t, "POST", "secret/data/"+ns+"/app-db", map[string]any{"data": map[string]any{"username": "app-" + marker, "password": "pw-" + marker}})
	return "secret/data/" + ns + "/app-db"
}

// readPolicy grants read on the test's KV v2 folder.
func readPolicy(ns string) string {
	return fmt.Sprintf(`path "secret/data/%s/*" { capabilities = ["read"] }`, ns)
}

// vaultStore creates SecretStore "vault" in ns for spec.
func vaultStore(t *testing.T, env *testenv.Env, ns string, spec *esv1.VaultProvider) {
	t.Helper()
	create(t, env, &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault"}, Spec: esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Vault: spec}}})
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ports, err := testenv.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", ports[0])
}

func doctorScenarios() []doctorScenario {
	return []doctorScenario{
		{
			name: "healthy",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				key := writeAppDB(t, env, ns)
				vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, readPolicy(ns)))
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", key))
				return []string{"doctor", "es/app", "-n", ns}
			},
			want: []string{"All checks passed", `KV v2 mount "secret/"`, "secret/data/", "capabilities [read]", `"password", "username"`},
		},
		{
			name: "wrong address: connection refused",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, closedPort(t), readPolicy(ns)))
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", "secret/data/"+ns+"/app-db"))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "address",
			want:  []string{"connection refused", "is Vault listening"},
		},
		{
			name: "wrong address: DNS",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, "https://vault.does-not-exist.invalid:8200", readPolicy(ns)))
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", "secret/data/"+ns+"/app-db"))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "address",
			want:  []string{"DNS lookup failed", "vault.does-not-exist.invalid", "check the host name"},
		},
		{
			name: "unknown CA",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				srv := httptest.NewTLSServer(http.NotFoundHandler())
				t.Cleanup(srv.Close)
				vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, srv.URL, readPolicy(ns)))
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", "secret/data/"+ns+"/app-db"))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "address",
			want:  []string{"TLS certificate signed by an unknown authority", "caBundle or caProvider"},
		},
		{
			name: "wrong role",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				env.ServiceAccount(t, ns, "reader")
				env.AllowTokenReview(t, ns, "reader")
				env.VaultKubernetesRole(t, "role-"+ns, ns, "reader", map[string]string{"pol-" + ns: readPolicy(ns)})
				vaultStore(t, env, ns, &esv1.VaultProvider{Server: env.Vault.Addr, Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
					Path: "kubernetes", Role: "no-such-role", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "reader"},
				}}})
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", "secret/data/"+ns+"/app-db"))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "auth",
			want:  []string{`role "no-such-role"`, "auth/kubernetes", "ServiceAccount " + "", "vault read auth/kubernetes/role/no-such-role"},
		},
		{
			name: "missing policy",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				key := writeAppDB(t, env, ns)
				vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, `path "secret/data/elsewhere/*" { capabilities = ["read"] }`))
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", key))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "permission",
			want:  []string{"[deny]", "role cli-test", `capabilities = ["read"]`, `path "secret/data/`},
		},
		{
			name: "missing key",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				writeAppDB(t, env, ns)
				vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, readPolicy(ns)))
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", "secret/data/"+ns+"/app-dbb"))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "exists",
			want:  []string{"does not exist", "app-dbb", "404", "vault kv put secret/"},
		},
		{
			name: "wrong property",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				key := writeAppDB(t, env, ns)
				vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, readPolicy(ns)))
				es := vaultES(ns, "app", "SecretStore", "vault", key)
				es.Spec.Data[1].RemoteRef.Property = "passwd"
				create(t, env, es)
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "property",
			want:  []string{`property "passwd"`, `keys are "password", "username"`},
		},
		{
			name: "KV v1 key spelled with KV v2's data/ and missing in both spellings",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				mount := kvV1Mount(t, env)
				env.Vault.Write(t, "POST", mount+"/"+ns+"/other", map[string]any{"username": "u-" + marker})
				vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, fmt.Sprintf(`path "%s/*" { capabilities = ["read"] }`, mount)))
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", mount+"/data/"+ns+"/app-db"))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "exists",
			want:  []string{"does not exist", "KV v1", "without KV v2's data/", "no data/ segment"},
		},
		{
			name: "namespace not allowed by ClusterSecretStore conditions",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				name := unique("css-")
				css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: esv1.SecretStoreSpec{
					Provider:   esv1.SecretStoreProvider{Vault: tokenStoreSpec(t, env, ns, env.Vault.Addr, readPolicy(ns))},
					Conditions: []esv1.ClusterSecretStoreCondition{{Namespaces: []string{"team-billing"}}},
				}}
				create(t, env, css)
				t.Cleanup(func() { _ = env.Client.Delete(context.Background(), css) })
				create(t, env, vaultES(ns, "app", "ClusterSecretStore", name, "secret/data/"+ns+"/app-db"))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "namespace",
			want:  []string{"may not use ClusterSecretStore", "namespaces team-billing"},
		},
		{
			name: "target Secret owned by someone else",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				key := writeAppDB(t, env, ns)
				vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, readPolicy(ns)))
				owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "legacy-owner"}}
				create(t, env, owner)
				create(t, env, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-secret", OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, Controller: ptr.To(true),
				}}}, StringData: map[string]string{"password": "old-" + marker}})
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", key))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "target",
			want:  []string{`controlled by ConfigMap "legacy-owner"`, "another spec.target.name"},
		},
		{
			name: "store of another controller class",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				spec := tokenStoreSpec(t, env, ns, env.Vault.Addr, readPolicy(ns))
				create(t, env, &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault"}, Spec: esv1.SecretStoreSpec{Controller: "team-b", Provider: esv1.SecretStoreProvider{Vault: spec}}})
				create(t, env, vaultES(ns, "app", "SecretStore", "vault", "secret/data/"+ns+"/app-db"))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "class",
			want:  []string{`spec.controller "team-b"`, "--controller-class team-b"},
		},
		{
			name: "store missing",
			setup: func(t *testing.T, env *testenv.Env, ns string) []string {
				create(t, env, vaultES(ns, "app", "SecretStore", "nope", "secret/data/x"))
				return []string{"doctor", "es/app", "-n", ns}
			},
			check: "store",
			want:  []string{`SecretStore "nope" not found in namespace ` + "", "fix spec.secretStoreRef"},
		},
	}
}

// kvV1Mount enables a KV v1 mount and removes it when the test ends.
func kvV1Mount(t *testing.T, env *testenv.Env) string {
	t.Helper()
	path := unique("kv1-")
	env.Vault.Write(t, "POST", "sys/mounts/"+path, map[string]any{"type": "kv", "options": map[string]any{"version": "1"}})
	t.Cleanup(func() {
		_, _ = env.Vault.Request(context.Background(), env.Vault.RootToken, "DELETE", "sys/mounts/"+path, nil)
	})
	return path
}

// Each doctor check has a failing scenario, and the diagnosis names the
// cause; no output ever holds a secret value.
func TestDoctorDiagnosesEachFailure(t *testing.T) {
	env := testenv.Get(t)
	for _, sc := range doctorScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			args := sc.setup(t, env, ns)
			text, _, err := runKube(t, env, args...)
			noValues(t, text)
			t.Logf("doctor output:\n%s", text)
			sample(t, "doctor-"+strings.NewReplacer(" ", "-", ":", "", "'", "", "/", "-").Replace(sc.name), "secretbridge "+strings.Join(args, " "), text)

			jsonOut, _, jerr := runKube(t, env, append(args, "-o", "json")...)
			noValues(t, jsonOut)
			var rep diagnose.Report
			if uerr := json.Unmarshal([]byte(jsonOut), &rep); uerr != nil {
				t.Fatalf("-o json is not a report: %v\n%s", uerr, jsonOut)
			}
			if sc.check == "" {
				if err != nil || jerr != nil || !rep.OK {
					t.Fatalf("want every check to pass, got %v / %v:\n%s", err, jerr, text)
				}
				for _, w := range sc.want {
					if !strings.Contains(text, w) {
						t.Errorf("report lacks %q", w)
					}
				}
				return
			}
			if !errors.Is(err, errChecksFailed) || !errors.Is(jerr, errChecksFailed) {
				t.Fatalf("want a failed check, got %v / %v", err, jerr)
			}
			f := rep.Failure()
			if f == nil || f.Name != sc.check {
				t.Fatalf("failed check %+v, want %q", f, sc.check)
			}
			if last := rep.Checks[len(rep.Checks)-1]; last.Name != f.Name {
				t.Errorf("checks went on after the failure: %+v", rep.Checks)
			}
			all := f.Summary + "\n" + f.Diagnosis + "\n" + f.Fix
			for _, w := range sc.want {
				if !strings.Contains(all, w) {
					t.Errorf("the %s failure lacks %q:\n%s", f.Name, w, all)
				}
			}
		})
	}
}

// The KV v1/v2 confusion the article's Gotcha 4 describes: a KV v1 key
// spelled with data/ is read without it, and doctor says so.
func TestDoctorNamesKVv1Interpretation(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	mount := kvV1Mount(t, env)
	env.Vault.Write(t, "POST", mount+"/"+ns+"/app-db", map[string]any{"username": "u-" + marker, "password": "p-" + marker})
	vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, fmt.Sprintf(`path "%s/*" { capabilities = ["read"] }`, mount)))
	create(t, env, vaultES(ns, "app", "SecretStore", "vault", mount+"/data/"+ns+"/app-db"))
	out, _, err := runKube(t, env, "doctor", "es/app", "-n", ns)
	noValues(t, out)
	sample(t, "doctor-kv1-interpreted", "secretbridge doctor es/app -n "+ns, out)
	if err != nil {
		t.Fatalf("doctor: %v\n%s", err, out)
	}
	for _, w := range []string{"⚠", `KV v1 mount "` + mount + `/"`, "API path " + mount + "/" + ns + "/app-db", "data/ belongs to KV v2 paths"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// seedObjects decodes the seed's manifests with the store's server set to
// addr and the ExternalSecret in ns.
func seedObjects(t *testing.T, env *testenv.Env, addr, ns string) (*esv1.ClusterSecretStore, *esv1.ExternalSecret) {
	t.Helper()
	dir := filepath.Join(env.RepoRoot, "test", "testdata", "seed")
	var css esv1.ClusterSecretStore
	var es esv1.ExternalSecret
	for name, into := range map[string]any{"clustersecretstore.yaml": &css, "externalsecret.yaml": &es} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(raw, into); err != nil {
			t.Fatalf("decoding %s: %v", name, err)
		}
	}
	css.Spec.Provider.Vault.Server = addr
	es.Namespace = ns
	return &css, &es
}

// The seed's manifests, with a role whose policy does not cover the
// secret: doctor names the exact policy line to add.
func TestDoctorSeedMissingPolicy(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS := env.Namespace(t)
	esNS := env.Namespace(t)
	env.ServiceAccount(t, ctrlNS, "external-secrets")
	env.AllowTokenReview(t, ctrlNS, "external-secrets")
	env.VaultKubernetesRole(t, "external-secrets-role", ctrlNS, "external-secrets", map[string]string{
		"read-staging": `path "secret/data/staging/*" { capabilities = ["read"] }`,
	})
	env.Vault.Write(t, "POST", "secret/data/prod/app-db", map[string]any{"data": map[string]any{"username": "app", "password": "pw-" + marker}})
	css, es := seedObjects(t, env, env.Vault.Addr, esNS)
	create(t, env, css)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), css) })
	create(t, env, es)

	args := []string{"doctor", "es/database-credentials", "-n", esNS, "--controller-namespace", ctrlNS, "--controller-service-account", "external-secrets"}
	out, _, err := runKube(t, env, args...)
	noValues(t, out)
	sample(t, "doctor-seed-missing-policy", "secretbridge doctor es/database-credentials -n "+esNS, out)
	if !errors.Is(err, errChecksFailed) {
		t.Fatalf("want a failed check, got %v\n%s", err, out)
	}
	for _, w := range []string{
		`path "secret/data/prod/app-db" { capabilities = ["read"] }`,
		"role external-secrets-role",
		"ServiceAccount " + ctrlNS + "/external-secrets",
		"policies [default read-staging]",
		`KV v2 mount "secret/"`,
		"API path secret/data/prod/app-db",
		`spec.provider.vault.path "kubernetes"`, // the interpretation is named
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// kubectl runs the binary as its plugin kubectl-secretbridge.
func TestDoctorAsKubectlPlugin(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	key := writeAppDB(t, env, ns)
	vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, readPolicy(ns)))
	create(t, env, vaultES(ns, "app", "SecretStore", "vault", key))

	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-secretbridge"), "./cmd/secretbridge")
	build.Dir = env.RepoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(env.RepoRoot, "bin", "kubectl"), "secretbridge", "doctor", "es/app", "-n", ns, "--kubeconfig", env.KubeconfigPath)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	noValues(t, string(out))
	sample(t, "kubectl-plugin-doctor", "kubectl secretbridge doctor es/app -n "+ns, string(out))
	if err != nil {
		t.Fatalf("kubectl secretbridge doctor: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "All checks passed") || !strings.Contains(string(out), "Diagnosing es/"+ns+"/app") {
		t.Errorf("plugin output:\n%s", out)
	}

	help := exec.Command(filepath.Join(env.RepoRoot, "bin", "kubectl"), "secretbridge", "doctor", "--help")
	help.Env = cmd.Env
	hout, err := help.CombinedOutput()
	if err != nil || !strings.Contains(string(hout), "kubectl secretbridge doctor") {
		t.Errorf("plugin --help: %v\n%s", err, hout)
	}
}

// doctor store/NAME and clusterstore/NAME check a store on its own.
func TestDoctorStore(t *testing.T) {
	env := testenv.Get(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, ns string) []string
		check string
		want  string
	}{
		{"healthy SecretStore", func(t *testing.T, ns string) []string {
			vaultStore(t, env, ns, tokenStoreSpec(t, env, ns, env.Vault.Addr, readPolicy(ns)))
			return []string{"doctor", "store/vault", "-n", ns}
		}, "", "logged in to Vault as role cli-test"},
		{"ClusterSecretStore with a bad token", func(t *testing.T, ns string) []string {
			create(t, env, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-token"}, StringData: map[string]string{"token": "hvs.not-a-token"}})
			name := unique("css-")
			css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
				Server: env.Vault.Addr, Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}},
			}}}}
			create(t, env, css)
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), css) })
			return []string{"doctor", "clusterstore/" + name, "-n", ns}
		}, "auth", "rejected by Vault"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			args := tc.setup(t, ns)
			out, _, err := runKube(t, env, args...)
			sample(t, "doctor-"+strings.ReplaceAll(tc.name, " ", "-"), "secretbridge "+strings.Join(args, " "), out)
			if strings.Contains(out, "not-a-token") {
				t.Errorf("output holds the token:\n%s", out)
			}
			if (tc.check == "") != (err == nil) {
				t.Fatalf("err %v:\n%s", err, out)
			}
			if tc.check != "" && !strings.Contains(out, "✗ "+tc.check) {
				t.Errorf("want check %s to fail:\n%s", tc.check, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

// Providers without a diagnostic API get the generic checks: the client
// is built and validated, each reference read through it.
func TestDoctorGenericProvider(t *testing.T) {
	env := testenv.Get(t)
	for _, tc := range []struct {
		name  string
		key   string
		prop  string
		check string
		want  string
	}{
		{"healthy", "db", "password", "", `exists with keys "password", "username"`},
		{"missing key", "nope", "password", "exists", `remote secret "nope" not found`},
		{"wrong property", "db", "pass", "property", `keys are "password", "username"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			fakeStore(t, env, ns, "fake", map[string]string{"db": `{"username":"u-` + marker + `","password":"p-` + marker + `"}`})
			es := fakeES(ns, "app", "fake")
			es.Spec.Data = es.Spec.Data[1:]
			es.Spec.Data[0].RemoteRef = esv1.ExternalSecretDataRemoteRef{Key: tc.key, Property: tc.prop}
			create(t, env, es)
			out, _, err := runKube(t, env, "doctor", "es/app", "-n", ns)
			noValues(t, out)
			if (tc.check == "") != (err == nil) {
				t.Fatalf("err %v:\n%s", err, out)
			}
			if tc.check != "" && !strings.Contains(out, "✗ "+tc.check) {
				t.Errorf("want check %s to fail:\n%s", tc.check, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

// With the CA in caBundle the TLS check passes and names how the
// certificate was trusted.
func TestDoctorTLSWithCABundle(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	spec := tokenStoreSpec(t, env, ns, srv.URL, readPolicy(ns))
	spec.CABundle = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	vaultStore(t, env, ns, spec)
	out, _, err := runKube(t, env, "doctor", "store/vault", "-n", ns)
	if err == nil {
		t.Fatalf("a server that is not Vault passed:\n%s", out)
	}
	for _, w := range []string{"✓ tls", "trusted via caBundle", "✗ auth"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
