package shape

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestProperty(t *testing.T) {
	const doc = `{
		"username": "admin",
		"escaped": "line1\nline2 \"quoted\" \u00e9",
		"port": 5432,
		"ratio": 1.50,
		"enabled": true,
		"disabled": false,
		"nothing": null,
		"tls.crt": "CERT",
		"tls": {"crt": "NESTED"},
		"db": { "host": "db.example.org",  "tags": [ "a", "b" ] },
		"html": {"q": "<a&b>"}
	}`
	tests := []struct {
		name     string
		value    string
		property string
		want     string
		wantErr  *PropertyNotFoundError
	}{
		{name: "no property returns the whole value", value: doc, want: doc},
		{name: "no property on a non-JSON value", value: "plain text", want: "plain text"},
		{name: "top-level string comes out raw", value: doc, property: "username", want: "admin"},
		{name: "escapes in strings are decoded", value: doc, property: "escaped", want: "line1\nline2 \"quoted\" é"},
		{name: "number as its text", value: doc, property: "port", want: "5432"},
		{name: "number keeps its written form", value: doc, property: "ratio", want: "1.50"},
		{name: "true as text", value: doc, property: "enabled", want: "true"},
		{name: "false as text", value: doc, property: "disabled", want: "false"},
		{name: "null as empty", value: doc, property: "nothing", want: ""},
		{name: "exact top-level key with a dot wins over the path", value: doc, property: "tls.crt", want: "CERT"},
		{name: "gjson path into an object", value: doc, property: "db.host", want: "db.example.org"},
		{name: "object as compact JSON", value: doc, property: "db", want: `{"host":"db.example.org","tags":["a","b"]}`},
		{name: "array as compact JSON", value: doc, property: "db.tags", want: `["a","b"]`},
		{name: "array element by index", value: doc, property: "db.tags.1", want: "b"},
		{name: "no HTML escaping in JSON output", value: doc, property: "html", want: `{"q":"<a&b>"}`},
		{name: "path on a top-level array", value: `[{"k":"v0"},{"k":"v1"}]`, property: "1.k", want: "v1"},
		{name: "gjson query", value: `{"list":[{"n":"a","v":1},{"n":"b","v":2}]}`, property: `list.#(n=="b").v`, want: "2"},
		{
			name: "missing property lists the top-level keys", value: `{"b":"1","a":"2"}`, property: "c",
			wantErr: &PropertyNotFoundError{Property: "c", Keys: []string{"a", "b"}, ValueKind: "object"},
		},
		{
			name: "missing nested property", value: `{"a":{"x":1}}`, property: "a.y",
			wantErr: &PropertyNotFoundError{Property: "a.y", Keys: []string{"a"}, ValueKind: "object"},
		},
		{
			name: "property on a value that is not JSON", value: "not json at all", property: "a",
			wantErr: &PropertyNotFoundError{Property: "a", ValueKind: "not JSON"},
		},
		{
			name: "property on a JSON string", value: `"just a string"`, property: "a",
			wantErr: &PropertyNotFoundError{Property: "a", ValueKind: "string"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Property([]byte(tt.value), tt.property)
			if tt.wantErr != nil {
				var pe *PropertyNotFoundError
				if !errors.As(err, &pe) {
					t.Fatalf("Property() error = %v, want *PropertyNotFoundError", err)
				}
				if !reflect.DeepEqual(pe, tt.wantErr) {
					t.Fatalf("Property() error = %#v, want %#v", pe, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Property() error = %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("Property() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPropertyNotFoundErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *PropertyNotFoundError
		want []string
	}{
		{
			name: "object lists keys",
			err:  &PropertyNotFoundError{Property: "pw", Keys: []string{"password", "user"}, ValueKind: "object"},
			want: []string{`property "pw" not found`, `"password", "user"`},
		},
		{
			name: "empty object",
			err:  &PropertyNotFoundError{Property: "pw", ValueKind: "object"},
			want: []string{"empty JSON object"},
		},
		{
			name: "not JSON",
			err:  &PropertyNotFoundError{Property: "pw", ValueKind: "not JSON"},
			want: []string{`property "pw" not found: the secret value is not JSON`},
		},
		{
			name: "long key lists are cut",
			err:  &PropertyNotFoundError{Property: "x", Keys: strings.Split(strings.Repeat("k,", 40)+"k", ","), ValueKind: "object"},
			want: []string{"and 11 more"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Error() = %q, want it to contain %q", msg, w)
				}
			}
		})
	}
}

func TestTopLevelKeys(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		want   []string
		wantOK bool
	}{
		{name: "object", value: `{"z":1,"a":{"nested":2},"m":"x"}`, want: []string{"a", "m", "z"}, wantOK: true},
		{name: "empty object", value: `{}`, want: nil, wantOK: true},
		{name: "array", value: `[1,2]`},
		{name: "not JSON", value: `key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := TopLevelKeys([]byte(tt.value))
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("TopLevelKeys() = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		want     map[string][]byte
		wantKind string
	}{
		{
			name:  "values rendered like Property",
			value: `{"user":"admin","port":5432,"on":true,"nil":null,"obj":{"a":[1, 2]}}`,
			want: map[string][]byte{
				"user": []byte("admin"), "port": []byte("5432"), "on": []byte("true"),
				"nil": {}, "obj": []byte(`{"a":[1,2]}`),
			},
		},
		{name: "empty object", value: `{}`, want: map[string][]byte{}},
		{name: "array is refused", value: `["a"]`, wantKind: "array"},
		{name: "plain text is refused", value: `hello`, wantKind: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract([]byte(tt.value))
			if tt.wantKind != "" {
				var ne *NotJSONObjectError
				if !errors.As(err, &ne) || ne.ValueKind != tt.wantKind {
					t.Fatalf("Extract() error = %v, want *NotJSONObjectError of kind %q", err, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatalf("Extract() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Extract() = %q, want %q", got, tt.want)
			}
		})
	}
}
