package v1

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// seedDir is the repository's byte-for-byte copy of the seed manifests
// (test/testdata/seed), found relative to this file.
func seedDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot determine the test file's directory to locate the seed manifests")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "test", "testdata", "seed")
}

// readSeed returns the bytes of one seed manifest, failing with the path it
// looked at when the file is missing.
func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	path := filepath.Join(seedDir(t), name)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading seed manifest %s (test/testdata/seed holds the article's manifests): %v", path, err)
	}
	return raw
}

// decodeStrict decodes a manifest into obj, refusing unknown fields, and
// checks that encoding obj again gives back exactly the manifest's content:
// every field of the seed exists in the Go types and the types add nothing.
func decodeStrict(t *testing.T, raw []byte, obj any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(raw, &want); err != nil {
		t.Fatalf("decoding the manifest generically: %v", err)
	}
	switch obj.(type) {
	case *ExternalSecret, *ClusterExternalSecret:
		// Their duration fields are metav1.Duration; a store's
		// refreshInterval is an IntOrString and round-trips as written.
		canonicalDurations(t, want["spec"])
	}
	encoded, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(encoded, &got); err != nil {
		t.Fatalf("decoding the re-encoded object: %v", err)
	}
	// An empty status and a null creationTimestamp are how a typed object
	// encodes "nothing"; drop them before comparing.
	delete(got, "status")
	if md, ok := got["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	if !reflect.DeepEqual(got["spec"], want["spec"]) {
		t.Errorf("spec changed in a decode/encode round trip:\n got  %s\n want %s", mustJSON(t, got["spec"]), mustJSON(t, want["spec"]))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("object changed in a decode/encode round trip:\n got  %s\n want %s", mustJSON(t, got), mustJSON(t, want))
	}
}

// canonicalDurations rewrites duration strings ("1h") the way
// metav1.Duration encodes them ("1h0m0s"). The API server stores what the
// user sent, so this only matters to code that writes a spec back from the
// Go types: it must patch, never re-send a whole spec.
func canonicalDurations(t *testing.T, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && (k == "refreshInterval" || k == "refreshTime" || k == "duration") {
				d, err := time.ParseDuration(s)
				if err != nil {
					t.Fatalf("%s: %q is not a duration: %v", k, s, err)
				}
				v[k] = d.String()
				continue
			}
			canonicalDurations(t, e)
		}
	case []any:
		for _, e := range v {
			canonicalDurations(t, e)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSeedClusterSecretStore(t *testing.T) {
	var css ClusterSecretStore
	decodeStrict(t, readSeed(t, "clustersecretstore.yaml"), &css)

	if css.Kind != "ClusterSecretStore" || css.APIVersion != "external-secrets.io/v1beta1" {
		t.Errorf("type meta = %s %s, want external-secrets.io/v1beta1 ClusterSecretStore", css.APIVersion, css.Kind)
	}
	if css.Name != "vault-backend" {
		t.Errorf("name = %q, want vault-backend", css.Name)
	}
	vault := css.Spec.Provider.Vault
	if vault == nil {
		t.Fatal("spec.provider.vault is nil")
	}
	if vault.Server != "https://vault.example.com:8200" {
		t.Errorf("vault.server = %q", vault.Server)
	}
	if vault.Path == nil || *vault.Path != "kubernetes" {
		t.Errorf("vault.path = %v, want kubernetes", vault.Path)
	}
	if vault.VersionOrDefault() != VaultKVStoreV2 {
		t.Errorf("vault version default = %q, want v2", vault.VersionOrDefault())
	}
	if vault.Auth == nil || vault.Auth.Kubernetes == nil {
		t.Fatal("spec.provider.vault.auth.kubernetes is nil")
	}
	k := vault.Auth.Kubernetes
	if k.Role != "external-secrets-role" {
		t.Errorf("auth.kubernetes.role = %q, want external-secrets-role", k.Role)
	}
	if k.Path != "/var/run/secrets/kubernetes.io/serviceaccount" {
		t.Errorf("auth.kubernetes.mountPath = %q", k.Path)
	}
	if k.ServiceAccountRef == nil || k.ServiceAccountRef.Name != "external-secrets" || k.ServiceAccountRef.Namespace != "" {
		t.Errorf("auth.kubernetes.serviceAccountRef = %+v, want name external-secrets without namespace", k.ServiceAccountRef)
	}
}

func TestSeedExternalSecret(t *testing.T) {
	var es ExternalSecret
	decodeStrict(t, readSeed(t, "externalsecret.yaml"), &es)

	if es.Name != "database-credentials" {
		t.Errorf("name = %q, want database-credentials", es.Name)
	}
	if got := es.Spec.RefreshIntervalOrDefault(); got != time.Hour {
		t.Errorf("refreshInterval = %s, want 1h", got)
	}
	ref := es.Spec.SecretStoreRef
	if ref == nil || ref.Name != "vault-backend" || ref.KindOrDefault() != SecretStoreKindClusterSecretStore {
		t.Errorf("secretStoreRef = %+v, want ClusterSecretStore vault-backend", ref)
	}
	target := es.Spec.TargetOrDefault()
	if got := target.NameOrDefault(es.Name); got != "prod-database-creds" {
		t.Errorf("target name = %q, want prod-database-creds", got)
	}
	if target.CreationPolicyOrDefault() != CreatePolicyOwner || target.DeletionPolicyOrDefault() != DeletionPolicyRetain {
		t.Errorf("target policies = %s/%s, want Owner/Retain", target.CreationPolicyOrDefault(), target.DeletionPolicyOrDefault())
	}
	if len(es.Spec.Data) != 2 {
		t.Fatalf("len(data) = %d, want 2", len(es.Spec.Data))
	}
	first := es.Spec.Data[0]
	if first.SecretKey != "username" || first.RemoteRef.Key != "secret/data/prod/app-db" || first.RemoteRef.Property != "data.username" {
		t.Errorf("data[0] = %+v, want username <- secret/data/prod/app-db property data.username", first)
	}
	if es.Spec.Data[1].RemoteRef.Property != "data.password" {
		t.Errorf("data[1].remoteRef.property = %q, want data.password", es.Spec.Data[1].RemoteRef.Property)
	}
}

func TestDefaults(t *testing.T) {
	var spec ExternalSecretSpec
	if spec.RefreshIntervalOrDefault() != time.Hour || spec.RefreshPolicyOrDefault() != RefreshPolicyPeriodic {
		t.Errorf("empty spec: refresh %s/%s, want 1h/Periodic", spec.RefreshIntervalOrDefault(), spec.RefreshPolicyOrDefault())
	}
	spec.RefreshInterval = &metav1.Duration{}
	if spec.RefreshIntervalOrDefault() != 0 {
		t.Errorf("refreshInterval 0s must stay 0 (sync once), got %s", spec.RefreshIntervalOrDefault())
	}
	var ref ExternalSecretDataRemoteRef
	if ref.DecodingStrategyOrDefault() != DecodingStrategyNone || ref.ConversionStrategyOrDefault() != ConversionStrategyDefault ||
		ref.MetadataPolicyOrDefault() != MetadataPolicyNone || ref.NullBytePolicyOrDefault() != NullBytePolicyIgnore {
		t.Errorf("remoteRef defaults wrong")
	}
	if (VaultKubernetesAuth{}).PathOrDefault() != "kubernetes" || (VaultAppRole{}).PathOrDefault() != "approle" {
		t.Errorf("vault auth path defaults wrong")
	}
	if (ClusterExternalSecretSpec{}).RefreshTimeOrDefault() != time.Minute {
		t.Errorf("ClusterExternalSecret refreshTime default wrong")
	}
	if (GeneratorRef{}).APIVersionOrDefault() != "generators.external-secrets.io/v1alpha1" {
		t.Errorf("generatorRef apiVersion default wrong")
	}
}

func TestStoreRefreshInterval(t *testing.T) {
	for _, tc := range []struct {
		name string
		json string
		want time.Duration
		err  bool
	}{
		{name: "omitted", json: `{"provider":{"fake":{"data":[]}}}`, want: 0},
		{name: "seconds", json: `{"provider":{"fake":{"data":[]}},"refreshInterval":60}`, want: time.Minute},
		{name: "duration", json: `{"provider":{"fake":{"data":[]}},"refreshInterval":"5m"}`, want: 5 * time.Minute},
		{name: "garbage", json: `{"provider":{"fake":{"data":[]}},"refreshInterval":"soon"}`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var spec SecretStoreSpec
			if err := json.Unmarshal([]byte(tc.json), &spec); err != nil {
				t.Fatal(err)
			}
			got, err := spec.RefreshIntervalDuration()
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("RefreshIntervalDuration() = %s, %v; want %s, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestAddToScheme(t *testing.T) {
	s := k8sruntime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{
		"ExternalSecret", "ExternalSecretList", "ClusterExternalSecret", "ClusterExternalSecretList",
		"SecretStore", "SecretStoreList", "ClusterSecretStore", "ClusterSecretStoreList",
	} {
		if !s.Recognizes(GroupVersion.WithKind(kind)) {
			t.Errorf("scheme does not recognise %s", kind)
		}
	}
}
