package shape

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

func ptr[T any](v T) *T { return &v }

func cmRef(name string, items ...esv1.TemplateRefItem) *esv1.TemplateRef {
	return &esv1.TemplateRef{Name: name, Items: items}
}

func item(key string, as esv1.TemplateScope) esv1.TemplateRefItem {
	return esv1.TemplateRefItem{Key: key, TemplateAs: as}
}

func TestRender(t *testing.T) {
	fetched := bytesMap("username", "admin", "password", "s3cr3t", "tls.crt", "CERT", "b64", "aGVsbG8=")
	sources := []TemplateSource{
		{SourceRef: SourceRef{Kind: SourceConfigMap, Name: "tpl"}, Data: bytesMap(
			"config.ini", "user={{ .username }}",
			"pairs", "db_user: {{ .username }}\ndb_pass: {{ .password | quote }}",
			"encoded", "{{ .b64 }}",
		)},
		{SourceRef: SourceRef{Kind: SourceSecret, Name: "tpl"}, Data: bytesMap(
			"dsn", "postgres://{{ .username }}:{{ .password }}@db",
		)},
	}
	tests := []struct {
		name string
		tpl  *esv1.ExternalSecretTemplate
		want *Result
	}{
		{
			name: "no template writes the fetched data",
			tpl:  nil,
			want: &Result{Data: fetched, Labels: map[string]string{}, Annotations: map[string]string{}},
		},
		{
			name: "metadata and type only keep the fetched data",
			tpl: &esv1.ExternalSecretTemplate{
				Type: corev1.SecretTypeBasicAuth,
				Metadata: &esv1.ExternalSecretTemplateMetadata{
					Labels:      map[string]string{"app": "web", "owner": "{{ .username }}"},
					Annotations: map[string]string{"note": "static"},
				},
			},
			want: &Result{
				Data:        fetched,
				Labels:      map[string]string{"app": "web", "owner": "admin"},
				Annotations: map[string]string{"note": "static"},
				Type:        "kubernetes.io/basic-auth",
			},
		},
		{
			name: "Replace writes only the template output",
			tpl: &esv1.ExternalSecretTemplate{Data: map[string]string{
				"url":  "https://{{ .username }}:{{ .password }}@example.org",
				"cert": `{{ index . "tls.crt" }}`,
			}},
			want: &Result{
				Data:   bytesMap("url", "https://admin:s3cr3t@example.org", "cert", "CERT"),
				Labels: map[string]string{}, Annotations: map[string]string{},
			},
		},
		{
			name: "Merge writes the template output over the fetched data",
			tpl: &esv1.ExternalSecretTemplate{
				MergePolicy: esv1.MergePolicyMerge,
				Data:        map[string]string{"password": "{{ .password | upper }}", "extra": "x"},
			},
			want: &Result{
				Data:   bytesMap("username", "admin", "password", "S3CR3T", "tls.crt", "CERT", "b64", "aGVsbG8=", "extra", "x"),
				Labels: map[string]string{}, Annotations: map[string]string{},
			},
		},
		{
			name: "templateFrom configMap Values and secret items",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{ConfigMap: cmRef("tpl", item("config.ini", ""))},
				{Secret: cmRef("tpl", item("dsn", esv1.TemplateScopeValues))},
			}},
			want: &Result{
				Data:   bytesMap("config.ini", "user=admin", "dsn", "postgres://admin:s3cr3t@db"),
				Labels: map[string]string{}, Annotations: map[string]string{},
			},
		},
		{
			name: "templateFrom KeysAndValues writes the rendered keys",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{ConfigMap: cmRef("tpl", item("pairs", esv1.TemplateScopeKeysAndValues))},
			}},
			want: &Result{
				Data:   bytesMap("db_user", "admin", "db_pass", "s3cr3t"),
				Labels: map[string]string{}, Annotations: map[string]string{},
			},
		},
		{
			name: "literal to labels and annotations, targets case-insensitive",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{Literal: ptr("team: {{ .username }}"), Target: "labels"},
				{Literal: ptr(`{"who": "{{ .username }}"}`), Target: esv1.TemplateTargetAnnotations},
			}},
			want: &Result{
				Data:        map[string][]byte{},
				Labels:      map[string]string{"team": "admin"},
				Annotations: map[string]string{"who": "admin"},
			},
		},
		{
			name: "literal scalars keep their text; nested values become JSON",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{{Literal: ptr(
				"port: 0123\non: yes\nratio: 1.50\nempty:\nnested: {a: [1, x]}\nquoted: \"a: b\"\nblock: |\n  line1\n  line2\n",
			)}}},
			want: &Result{
				Data: bytesMap(
					"port", "0123", "on", "yes", "ratio", "1.50", "empty", "",
					"nested", `{"a":[1,"x"]}`, "quoted", "a: b", "block", "line1\nline2\n",
				),
				Labels: map[string]string{}, Annotations: map[string]string{},
			},
		},
		{
			name: "empty literal output writes nothing",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{{Literal: ptr(
				"{{ if false }}a: b{{ end }}",
			)}}},
			want: &Result{Data: map[string][]byte{}, Labels: map[string]string{}, Annotations: map[string]string{}},
		},
		{
			name: "valuesDecodingStrategy decodes templateFrom values, not template.data",
			tpl: &esv1.ExternalSecretTemplate{
				TemplateFrom: []esv1.TemplateFrom{
					{ConfigMap: cmRef("tpl", item("encoded", esv1.TemplateScopeValues)), ValuesDecodingStrategy: esv1.DecodingStrategyBase64},
					{Literal: ptr("lit: {{ .b64 }}"), ValuesDecodingStrategy: esv1.DecodingStrategyAuto},
				},
				Data: map[string]string{"raw": "{{ .b64 }}"},
			},
			want: &Result{
				Data:   bytesMap("encoded", "hello", "lit", "hello", "raw", "aGVsbG8="),
				Labels: map[string]string{}, Annotations: map[string]string{},
			},
		},
		{
			name: "later templateFrom entries override earlier ones and template.data overrides both",
			tpl: &esv1.ExternalSecretTemplate{
				TemplateFrom: []esv1.TemplateFrom{
					{Literal: ptr("a: first\nb: first\nc: first")},
					{Literal: ptr("b: second\nc: second")},
					{Literal: ptr("l: from-literal"), Target: esv1.TemplateTargetLabels},
				},
				Data:     map[string]string{"c": "data"},
				Metadata: &esv1.ExternalSecretTemplateMetadata{Labels: map[string]string{"l": "from-metadata"}},
			},
			want: &Result{
				Data:   bytesMap("a", "first", "b", "second", "c", "data"),
				Labels: map[string]string{"l": "from-metadata"}, Annotations: map[string]string{},
			},
		},
		{
			name: "Replace with a templateFrom for labels only writes no data",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{Literal: ptr("x: y"), Target: esv1.TemplateTargetLabels},
			}},
			want: &Result{Data: map[string][]byte{}, Labels: map[string]string{"x": "y"}, Annotations: map[string]string{}},
		},
		{
			name: "binary values survive a template",
			tpl:  &esv1.ExternalSecretTemplate{Data: map[string]string{"bin": "{{ .bin }}"}},
			want: &Result{Data: bytesMap("bin", "\x00\xff\xfe"), Labels: map[string]string{}, Annotations: map[string]string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := cloneBytesMap(fetched)
			if tt.name == "binary values survive a template" {
				data = bytesMap("bin", "\x00\xff\xfe")
			}
			got, err := Render(tt.tpl, data, sources)
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Render() =\n%+v\nwant\n%+v", stringify(got), stringify(tt.want))
			}
		})
	}
}

// stringify makes a Result readable in failure messages.
func stringify(r *Result) map[string]any {
	data := map[string]string{}
	for k, v := range r.Data {
		data[k] = string(v)
	}
	return map[string]any{"data": data, "labels": r.Labels, "annotations": r.Annotations, "type": r.Type}
}

func TestRenderErrors(t *testing.T) {
	fetched := bytesMap("username", "admin")
	sources := []TemplateSource{
		{SourceRef: SourceRef{Kind: SourceConfigMap, Name: "tpl"}, Data: bytesMap("list", "- a\n- b", "bad", "{{ .nope }}")},
	}
	tests := []struct {
		name      string
		tpl       *esv1.ExternalSecretTemplate
		wantType  any
		wantParts []string
	}{
		{
			name:      "a typo names the template key and the missing variable",
			tpl:       &esv1.ExternalSecretTemplate{Data: map[string]string{"dsn": "user={{ .usernme }}"}},
			wantType:  &TemplateError{},
			wantParts: []string{`template.data["dsn"]`, "line 1, column 8", `map has no entry for key "usernme"`},
		},
		{
			name:      "parse error names the template",
			tpl:       &esv1.ExternalSecretTemplate{Data: map[string]string{"x": "a\n{{ .username "}},
			wantType:  &TemplateError{},
			wantParts: []string{`template.data["x"]: line 2: parse error`},
		},
		{
			name: "label template error",
			tpl: &esv1.ExternalSecretTemplate{Metadata: &esv1.ExternalSecretTemplateMetadata{
				Labels: map[string]string{"l": "{{ .missing }}"},
			}},
			wantType:  &TemplateError{},
			wantParts: []string{`template.metadata.labels["l"]`, `"missing"`},
		},
		{
			name: "templateFrom item error names the source and key",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{ConfigMap: cmRef("tpl", item("bad", ""))},
			}},
			wantType:  &TemplateError{},
			wantParts: []string{`template.templateFrom[0].configMap.items[0] (ConfigMap/tpl, key "bad")`, `"nope"`},
		},
		{
			name: "missing item key",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{ConfigMap: cmRef("tpl", item("absent", ""))},
			}},
			wantType:  &TemplateError{},
			wantParts: []string{`ConfigMap/tpl has no key "absent"`},
		},
		{
			name: "missing source",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{Secret: cmRef("other", item("k", ""))},
			}},
			wantType:  &MissingSourceError{},
			wantParts: []string{"template.templateFrom[0].secret: the content of Secret/other was not provided"},
		},
		{
			name: "KeysAndValues output that is a list",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{ConfigMap: cmRef("tpl", item("list", esv1.TemplateScopeKeysAndValues))},
			}},
			wantType:  &TemplateError{},
			wantParts: []string{"not a YAML mapping"},
		},
		{
			name: "literal output that is not YAML",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{Literal: ptr("a: b\n c: : d\n\t- x")},
			}},
			wantType:  &TemplateError{},
			wantParts: []string{"template.templateFrom[0].literal", "not valid YAML (line"},
		},
		{
			name: "literal output with a duplicate key",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{Literal: ptr("a: 1\na: 2")},
			}},
			wantType:  &TemplateError{},
			wantParts: []string{"repeats on line 2 the key of line 1"},
		},
		{
			name: "unsupported target",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{Literal: ptr("a: b"), Target: "spec.foo"},
			}},
			wantType:  &TemplateError{},
			wantParts: []string{"template.templateFrom[0].target", `"spec.foo" is not supported`},
		},
		{
			name: "valuesDecodingStrategy failure",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{Literal: ptr("k: '{{ .username }}!'"), ValuesDecodingStrategy: esv1.DecodingStrategyBase64},
			}},
			wantType:  &TemplateError{},
			wantParts: []string{"template.templateFrom[0].literal: valuesDecodingStrategy: the value on line 1 of the rendered output is not valid Base64"},
		},
		{
			name: "valuesDecodingStrategy failure on a Values item names the item key",
			tpl: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
				{ConfigMap: cmRef("tpl", item("list", "")), ValuesDecodingStrategy: esv1.DecodingStrategyBase64},
			}},
			wantType:  &DecodeError{},
			wantParts: []string{`valuesDecodingStrategy: key "list": value is not valid Base64`},
		},
		{
			name:      "unsupported engine",
			tpl:       &esv1.ExternalSecretTemplate{EngineVersion: "v1"},
			wantType:  &TemplateError{},
			wantParts: []string{"template.engineVersion"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.tpl, fetched, sources)
			if err == nil {
				t.Fatal("Render() error = nil")
			}
			target := reflect.New(reflect.TypeOf(tt.wantType)).Interface()
			if !errors.As(err, target) {
				t.Fatalf("Render() error = %v (%T), want %T", err, err, tt.wantType)
			}
			for _, p := range tt.wantParts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("Render() error = %q, want it to contain %q", err, p)
				}
			}
		})
	}
}

func TestRequiredSources(t *testing.T) {
	tpl := &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{
		{ConfigMap: cmRef("a")},
		{Literal: ptr("x: y")},
		{Secret: cmRef("a"), ConfigMap: cmRef("b")},
		{ConfigMap: cmRef("a")},
	}}
	want := []SourceRef{{Kind: SourceConfigMap, Name: "a"}, {Kind: SourceConfigMap, Name: "b"}, {Kind: SourceSecret, Name: "a"}}
	if got := RequiredSources(tpl); !reflect.DeepEqual(got, want) {
		t.Fatalf("RequiredSources() = %v, want %v", got, want)
	}
	if got := RequiredSources(nil); got != nil {
		t.Fatalf("RequiredSources(nil) = %v, want nil", got)
	}
}

func TestSourcesFromObjects(t *testing.T) {
	tests := []struct {
		name string
		got  TemplateSource
		want TemplateSource
	}{
		{
			name: "ConfigMap data and binaryData",
			got: ConfigMapSource(&corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "cm"},
				Data:       map[string]string{"a": "1"},
				BinaryData: map[string][]byte{"b": {0, 1}},
			}),
			want: TemplateSource{SourceRef: SourceRef{Kind: SourceConfigMap, Name: "cm"}, Data: map[string][]byte{"a": []byte("1"), "b": {0, 1}}},
		},
		{
			name: "Secret data",
			got:  SecretSource(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"k": []byte("v")}}),
			want: TemplateSource{SourceRef: SourceRef{Kind: SourceSecret, Name: "s"}, Data: map[string][]byte{"k": []byte("v")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}
