package crd_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/secretbridge/secretbridge/internal/testenv"
)

// validation is one object the API server must accept or refuse.
type validation struct {
	name string
	kind string // ExternalSecret, SecretStore, ClusterSecretStore, ClusterExternalSecret
	spec string // the whole spec, as YAML
	// wantInError are substrings the refusal must contain: the field path and
	// a word of the fix. Empty means the object must be accepted.
	wantInError []string
}

const validESSpec = `
secretStoreRef: {name: store, kind: SecretStore}
target: {name: out}
data:
- secretKey: username
  remoteRef: {key: app/db, property: username}
`

const validStoreSpec = `
provider:
  fake:
    data:
    - key: app/db
      value: '{"username":"u"}'
`

var validations = []validation{
	// Controls: the bases of the cases below are valid.
	{name: "valid ExternalSecret", kind: "ExternalSecret", spec: validESSpec},
	{name: "valid SecretStore", kind: "SecretStore", spec: validStoreSpec},
	{name: "valid ExternalSecret with data and dataFrom (data overrides)", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
data: [{secretKey: a, remoteRef: {key: k}}]
dataFrom: [{extract: {key: k}}]
`},
	{name: "valid refreshInterval 0s", kind: "ExternalSecret", spec: `
refreshInterval: 0s
secretStoreRef: {name: store}
dataFrom: [{find: {name: {regexp: '^app-'}}}]
`},

	{name: "secretKey with a space", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
data: [{secretKey: "user name", remoteRef: {key: k}}]
`, wantInError: []string{"spec.data[0].secretKey"}},
	{name: "neither data nor dataFrom", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
target: {name: out}
`, wantInError: []string{"spec: Invalid value", "data and dataFrom are both empty"}},
	{name: "empty data and dataFrom lists", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
data: []
dataFrom: []
`, wantInError: []string{"spec: Invalid value", "data and dataFrom are both empty"}},
	{name: "deletionPolicy Delete without creationPolicy Owner", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
target: {creationPolicy: Orphan, deletionPolicy: Delete}
data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.target.deletionPolicy", "Owner"}},
	{name: "deletionPolicy Merge with creationPolicy None", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
target: {creationPolicy: None, deletionPolicy: Merge}
data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.target.deletionPolicy", "None"}},
	{name: "two sources in one dataFrom entry", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
dataFrom:
- extract: {key: k}
  find: {name: {regexp: x}}
`, wantInError: []string{"spec.dataFrom[0]", "extract"}},
	{name: "dataFrom entry without a source", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
dataFrom:
- rewrite: [{regexp: {source: a, target: b}}]
`, wantInError: []string{"spec.dataFrom[0]", "extract"}},
	{name: "two rewrite operations in one entry", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
dataFrom:
- extract: {key: k}
  rewrite: [{regexp: {source: a, target: b}, transform: {template: x}}]
`, wantInError: []string{"spec.dataFrom[0].rewrite[0]"}},
	{name: "duplicate secretKey", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
data:
- {secretKey: a, remoteRef: {key: k1}}
- {secretKey: a, remoteRef: {key: k2}}
`, wantInError: []string{"spec.data", "secretKey"}},
	{name: "refreshInterval that is not a duration", kind: "ExternalSecret", spec: `
refreshInterval: 1 hour
secretStoreRef: {name: store}
data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.refreshInterval"}},
	{name: "unknown creationPolicy", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
target: {creationPolicy: Own}
data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.target.creationPolicy", "Owner"}},
	{name: "unknown store kind", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store, kind: Store}
data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.secretStoreRef.kind", "ClusterSecretStore"}},
	{name: "remoteRef without key", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
data: [{secretKey: a, remoteRef: {property: p}}]
`, wantInError: []string{"spec.data[0].remoteRef.key", "Required"}},
	{name: "unknown decodingStrategy", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
data: [{secretKey: a, remoteRef: {key: k, decodingStrategy: Base32}}]
`, wantInError: []string{"spec.data[0].remoteRef.decodingStrategy", "Base64"}},
	{name: "service-account-token target type", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
target: {template: {type: kubernetes.io/service-account-token}}
data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.target.template.type", "service-account-token"}},
	{name: "bootstrap token target type", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
target: {template: {type: bootstrap.kubernetes.io/token}}
data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.target.template.type"}},
	{name: "sync window with a bad schedule", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
syncWindows: {kind: allow, windows: [{schedule: "every day", duration: 1h}]}
data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.syncWindows.windows[0].schedule"}},
	{name: "target name that is not a DNS name", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
target: {name: Bad_Name}
data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.target.name"}},

	{name: "two providers in one store", kind: "SecretStore", spec: `
provider:
  fake: {data: []}
  vault: {server: "https://vault:8200"}
`, wantInError: []string{"spec.provider"}},
	{name: "store without a provider", kind: "SecretStore", spec: `
provider: {}
`, wantInError: []string{"spec.provider"}},
	{name: "aws store with a reserved session tag", kind: "ClusterSecretStore", spec: `
provider:
  aws:
    service: SecretsManager
    region: eu-west-1
    customSessionTags: {esoNamespace: x}
`, wantInError: []string{"spec.provider.aws.customSessionTags"}},
	{name: "aws store with an unknown service", kind: "SecretStore", spec: `
provider:
  aws: {service: KMS, region: eu-west-1}
`, wantInError: []string{"spec.provider.aws.service", "SecretsManager"}},
	{name: "vault store with an unknown KV version", kind: "SecretStore", spec: `
provider:
  vault: {server: "https://vault:8200", version: v3}
`, wantInError: []string{"spec.provider.vault.version", "v2"}},
	{name: "cluster store condition with a bad namespace name", kind: "ClusterSecretStore", spec: `
conditions: [{namespaces: [Bad_NS]}]
provider:
  fake: {data: []}
`, wantInError: []string{"spec.conditions[0].namespaces[0]"}},

	{name: "ClusterExternalSecret with an invalid child spec", kind: "ClusterExternalSecret", spec: `
namespaces: [default]
externalSecretSpec:
  secretStoreRef: {name: store}
  target: {creationPolicy: Orphan, deletionPolicy: Delete}
  data: [{secretKey: a, remoteRef: {key: k}}]
`, wantInError: []string{"spec.externalSecretSpec.target.deletionPolicy"}},
}

func TestAPIServerValidatesObjects(t *testing.T) {
	env := testenv.Get(t)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	ns := env.Namespace(t)
	for _, tc := range validations {
		t.Run(tc.name, func(t *testing.T) {
			var spec map[string]any
			if err := yaml.UnmarshalStrict([]byte(tc.spec), &spec); err != nil {
				t.Fatalf("test case spec: %v", err)
			}
			obj := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": group + "/v1",
				"kind":       tc.kind,
				"metadata":   map[string]any{"generateName": "validation-"},
				"spec":       spec,
			}}
			gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: strings.ToLower(tc.kind) + "s"}
			var res dynamic.ResourceInterface = dyn.Resource(gvr)
			if !strings.HasPrefix(tc.kind, "Cluster") {
				res = dyn.Resource(gvr).Namespace(ns)
			}
			_, err := res.Create(t.Context(), obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if len(tc.wantInError) == 0 {
				if err != nil {
					t.Fatalf("valid object refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("invalid object accepted; want an error naming %q", tc.wantInError)
			}
			for _, want := range tc.wantInError {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
		})
	}
}

func init() {
	validations = append(validations,
		validation{name: "valid dataFrom extract from another store", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
dataFrom:
- extract: {key: k}
  sourceRef: {storeRef: {name: other, kind: ClusterSecretStore}}
`},
		validation{name: "dataFrom with only a storeRef", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
dataFrom:
- sourceRef: {storeRef: {name: other}}
`, wantInError: []string{"spec.dataFrom[0]", "storeRef"}},
		validation{name: "dataFrom generatorRef together with extract", kind: "ExternalSecret", spec: `
secretStoreRef: {name: store}
dataFrom:
- extract: {key: k}
  sourceRef: {generatorRef: {kind: Password, name: pw}}
`, wantInError: []string{"spec.dataFrom[0]", "generatorRef"}},
	)
}
