package fake

import (
	"context"
	"errors"
	"maps"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

func store(spec *esv1.FakeProvider) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "fake", Namespace: "ns"},
		Spec:       esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Fake: spec}},
	}
}

var testData = []esv1.FakeProviderData{
	{Key: "plain", Value: "hello"},
	{Key: "db", Value: `{"user":"admin","pass":"s3cr3t","port":5432,"tls":true,"opts":{"a": 1},"none":null}`},
	{Key: "versioned", Value: "one", Version: "v1"},
	{Key: "versioned", Value: "two", Version: "v2"},
	{Key: "mixed", Value: "default"},
	{Key: "mixed", Value: "pinned", Version: "v7"},
	{Key: "app/a", Value: "A"},
	{Key: "app/b", Value: "B"},
	{Key: "other/a", Value: "OA"},
}

func newClient(t *testing.T) provider.Client {
	t.Helper()
	c, err := Provider{}.NewClient(t.Context(), store(&esv1.FakeProvider{Data: testData}), nil, "ns")
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func TestRegistered(t *testing.T) {
	p, name, err := provider.ForStore(&store(&esv1.FakeProvider{}).Spec)
	if err != nil || name != Name {
		t.Fatalf("ForStore = %v, %q, %v; want the fake provider", p, name, err)
	}
	if _, ok := p.(Provider); !ok {
		t.Fatalf("ForStore returned %T", p)
	}
}

func TestGetSecret(t *testing.T) {
	c := newClient(t)
	tests := []struct {
		name     string
		ref      esv1.ExternalSecretDataRemoteRef
		want     string
		notFound bool
		config   bool
	}{
		{name: "plain value", ref: esv1.ExternalSecretDataRemoteRef{Key: "plain"}, want: "hello"},
		{name: "versionless entry serves any version", ref: esv1.ExternalSecretDataRemoteRef{Key: "plain", Version: "v9"}, want: "hello"},
		{name: "json value returned whole, property left to the caller", ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Property: "user"}, want: testData[1].Value},
		{name: "exact version", ref: esv1.ExternalSecretDataRemoteRef{Key: "versioned", Version: "v2"}, want: "two"},
		{name: "other exact version", ref: esv1.ExternalSecretDataRemoteRef{Key: "versioned", Version: "v1"}, want: "one"},
		{name: "unknown version of versioned-only key", ref: esv1.ExternalSecretDataRemoteRef{Key: "versioned", Version: "v3"}, notFound: true},
		{name: "no version of versioned-only key", ref: esv1.ExternalSecretDataRemoteRef{Key: "versioned"}, notFound: true},
		{name: "pinned version wins over versionless", ref: esv1.ExternalSecretDataRemoteRef{Key: "mixed", Version: "v7"}, want: "pinned"},
		{name: "versionless serves other versions", ref: esv1.ExternalSecretDataRemoteRef{Key: "mixed", Version: "v8"}, want: "default"},
		{name: "versionless serves no version", ref: esv1.ExternalSecretDataRemoteRef{Key: "mixed"}, want: "default"},
		{name: "missing key", ref: esv1.ExternalSecretDataRemoteRef{Key: "nope"}, notFound: true},
		{name: "metadata refused", ref: esv1.ExternalSecretDataRemoteRef{Key: "plain", MetadataPolicy: esv1.MetadataPolicyFetch}, config: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GetSecret(t.Context(), tt.ref)
			switch {
			case tt.notFound:
				if !provider.IsNotFound(err) {
					t.Fatalf("err = %v; want a NotFoundError", err)
				}
			case tt.config:
				var ce *provider.ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v; want a ConfigError", err)
				}
			case err != nil:
				t.Fatalf("GetSecret: %v", err)
			case string(got) != tt.want:
				t.Fatalf("GetSecret = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestGetSecretNotFoundNamesVersions(t *testing.T) {
	_, err := newClient(t).GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "versioned", Version: "v3"})
	want := `remote secret "versioned" not found (spec.provider.fake has no entry for version "v3"; its versions are v1, v2)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %s", err, want)
	}
}

func TestGetSecretMap(t *testing.T) {
	c := newClient(t)
	tests := []struct {
		name    string
		ref     esv1.ExternalSecretDataRemoteRef
		want    map[string]string
		wantErr func(error) bool
	}{
		{
			name: "top-level keys: strings raw, others as JSON text",
			ref:  esv1.ExternalSecretDataRemoteRef{Key: "db"},
			want: map[string]string{"user": "admin", "pass": "s3cr3t", "port": "5432", "tls": "true", "opts": `{"a":1}`, "none": ""},
		},
		{
			name: "property selects the object to split",
			ref:  esv1.ExternalSecretDataRemoteRef{Key: "db", Property: "opts"},
			want: map[string]string{"a": "1"},
		},
		{
			name:    "not a JSON object",
			ref:     esv1.ExternalSecretDataRemoteRef{Key: "plain"},
			wantErr: func(err error) bool { var e *shape.NotJSONObjectError; return errors.As(err, &e) },
		},
		{
			name:    "missing property",
			ref:     esv1.ExternalSecretDataRemoteRef{Key: "db", Property: "nope"},
			wantErr: func(err error) bool { var e *shape.PropertyNotFoundError; return errors.As(err, &e) },
		},
		{
			name:    "missing key",
			ref:     esv1.ExternalSecretDataRemoteRef{Key: "nope"},
			wantErr: provider.IsNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GetSecretMap(t.Context(), tt.ref)
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("err = %v; want another kind of error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetSecretMap: %v", err)
			}
			if !maps.Equal(asStrings(got), tt.want) {
				t.Fatalf("GetSecretMap = %v; want %v", asStrings(got), tt.want)
			}
		})
	}
}

func TestGetAllSecrets(t *testing.T) {
	c := newClient(t)
	ptr := func(s string) *string { return &s }
	tests := []struct {
		name   string
		find   esv1.ExternalSecretFind
		want   map[string]string
		config string
	}{
		{name: "by regexp", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "/a$"}}, want: map[string]string{"app/a": "A", "other/a": "OA"}},
		{name: "by path", find: esv1.ExternalSecretFind{Path: ptr("app/")}, want: map[string]string{"app/a": "A", "app/b": "B"}},
		{name: "path and regexp", find: esv1.ExternalSecretFind{Path: ptr("app/"), Name: &esv1.FindName{RegExp: "b"}}, want: map[string]string{"app/b": "B"}},
		{name: "current values of versioned keys", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^(mixed|versioned)$"}}, want: map[string]string{"mixed": "default", "versioned": "two"}},
		{name: "nothing matches", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^zzz"}}, want: map[string]string{}},
		{name: "tags refused", find: esv1.ExternalSecretFind{Tags: map[string]string{"env": "prod"}}, config: "dataFrom[].find.tags"},
		{name: "bad regexp", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "("}}, config: "dataFrom[].find.name.regexp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GetAllSecrets(t.Context(), tt.find)
			if tt.config != "" {
				var ce *provider.ConfigError
				if !errors.As(err, &ce) || ce.Field != tt.config {
					t.Fatalf("err = %v; want a ConfigError on %s", err, tt.config)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetAllSecrets: %v", err)
			}
			if !maps.Equal(asStrings(got), tt.want) {
				t.Fatalf("GetAllSecrets = %v; want %v", asStrings(got), tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	result := func(v esv1.ValidationResult) *esv1.ValidationResult { return &v }
	tests := []struct {
		name    string
		spec    *esv1.ValidationResult
		want    provider.ValidationResult
		wantErr bool
	}{
		{name: "omitted is ready", want: provider.ValidationReady},
		{name: "0 is ready", spec: result(0), want: provider.ValidationReady},
		{name: "1 is unknown", spec: result(1), want: provider.ValidationUnknown},
		{name: "2 is failed", spec: result(2), want: provider.ValidationFailed, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Provider{}.NewClient(t.Context(), store(&esv1.FakeProvider{ValidationResult: tt.spec}), nil, "")
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.Validate(t.Context())
			if v.Result != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %+v, %v; want %v (error: %v)", v, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestValidateStore(t *testing.T) {
	bad := esv1.ValidationResult(3)
	tests := []struct {
		name  string
		spec  *esv1.FakeProvider
		field string // "" = valid
	}{
		{name: "valid", spec: &esv1.FakeProvider{Data: testData}},
		{name: "no fake block", spec: nil, field: "spec.provider.fake"},
		{name: "empty key", spec: &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Value: "x"}}}, field: "spec.provider.fake.data[0].key"},
		{name: "duplicate versionless", spec: &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "a"}, {Key: "a"}}}, field: "spec.provider.fake.data[1]"},
		{name: "duplicate version", spec: &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "a", Version: "1"}, {Key: "b"}, {Key: "a", Version: "1"}}}, field: "spec.provider.fake.data[2]"},
		{name: "bad validation result", spec: &esv1.FakeProvider{ValidationResult: &bad}, field: "spec.provider.fake.validationResult"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Provider{}.ValidateStore(store(tt.spec))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("ValidateStore: %v", err)
				}
				return
			}
			var ce *provider.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Fatalf("err = %v; want a ConfigError on %s", err, tt.field)
			}
		})
	}
}

func TestClientIsASnapshot(t *testing.T) {
	spec := &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "k", Value: "before"}}}
	c, err := Provider{}.NewClient(context.Background(), store(spec), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	spec.Data[0].Value = "after"
	got, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "k"})
	if err != nil || string(got) != "before" {
		t.Fatalf("GetSecret = %q, %v; want the value at build time", got, err)
	}
}

func asStrings(m map[string][]byte) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}
