package shape

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

func re(source, target string) esv1.ExternalSecretRewrite {
	return esv1.ExternalSecretRewrite{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: source, Target: target}}
}

func tr(template string) esv1.ExternalSecretRewrite {
	return esv1.ExternalSecretRewrite{Transform: &esv1.ExternalSecretRewriteTransform{Template: template}}
}

func mg(m esv1.ExternalSecretRewriteMerge) esv1.ExternalSecretRewrite {
	return esv1.ExternalSecretRewrite{Merge: &m}
}

func bytesMap(kv ...string) map[string][]byte {
	m := make(map[string][]byte, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		name     string
		rewrites []esv1.ExternalSecretRewrite
		in       map[string][]byte
		want     map[string][]byte
	}{
		{
			name:     "no rewrites returns a copy",
			in:       bytesMap("a", "1"),
			want:     bytesMap("a", "1"),
			rewrites: nil,
		},
		{
			name:     "regexp replaces in every key",
			rewrites: []esv1.ExternalSecretRewrite{re("-", "_")},
			in:       bytesMap("foo-bar", "x", "a-b-c", "y"),
			want:     bytesMap("foo_bar", "x", "a_b_c", "y"),
		},
		{
			name:     "regexp without a match keeps the key",
			rewrites: []esv1.ExternalSecretRewrite{re("hello", "world")},
			in:       bytesMap("foo", "bar"),
			want:     bytesMap("foo", "bar"),
		},
		{
			name:     "regexp removes a prefix",
			rewrites: []esv1.ExternalSecretRewrite{re("^my/initial/path/", "")},
			in:       bytesMap("my/initial/path/foo", "bar"),
			want:     bytesMap("foo", "bar"),
		},
		{
			name:     "regexp with numbered and named groups",
			rewrites: []esv1.ExternalSecretRewrite{re("f(?P<content>.*)o", "new_${content}_${1}")},
			in:       bytesMap("foo", "1", "floo", "2"),
			want:     bytesMap("new_o_o", "1", "new_lo_lo", "2"),
		},
		{
			name: "rewrites apply in sequence",
			rewrites: []esv1.ExternalSecretRewrite{
				re("my/(.*?)/bar/(.*)", "$1-$2"),
				re("-", "_"),
				tr(`{{ .value | upper }}`),
			},
			in:   bytesMap("my/app/bar/key", "1", "my/app/bar/password", "2"),
			want: bytesMap("APP_KEY", "1", "APP_PASSWORD", "2"),
		},
		{
			name:     "transform sees the key as .value",
			rewrites: []esv1.ExternalSecretRewrite{tr(`prefix-{{ .value | replace "/" "-" }}`)},
			in:       bytesMap("a/b", "1"),
			want:     bytesMap("prefix-a-b", "1"),
		},
		{
			name:     "merge Extract of all values",
			rewrites: []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{})},
			in: bytesMap(
				"mongo", `{"username":"foz","password":"baz"}`,
				"redis", `{"host":"redis.example.com","port":6379}`,
			),
			want: bytesMap("username", "foz", "password", "baz", "host", "redis.example.com", "port", "6379"),
		},
		{
			name:     "merge Extract writes nested values as JSON and keeps number text",
			rewrites: []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{})},
			in:       bytesMap("a", `{"obj":{"x":"<y>"},"list":[1,2],"big":12345678901234567890,"on":true,"nil":null}`),
			want:     bytesMap("obj", `{"x":"<y>"}`, "list", "[1,2]", "big", "12345678901234567890", "on", "true", "nil", ""),
		},
		{
			name: "merge with priority and conflicts ignored: last priority wins",
			rewrites: []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{
				ConflictPolicy: esv1.RewriteMergeConflictPolicyIgnore,
				Priority:       []string{"mongo", "redis"},
			})},
			in: bytesMap(
				"redis", `{"host":"redis.example.com","port":"6379"}`,
				"mongo", `{"username":"foz","password":"baz"}`,
				"other", `{"key":"value","host":"other.example.com"}`,
			),
			want: bytesMap("username", "foz", "password", "baz", "host", "redis.example.com", "port", "6379", "key", "value"),
		},
		{
			name: "merge without priority and conflicts ignored: later sorted key wins",
			rewrites: []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{
				ConflictPolicy: esv1.RewriteMergeConflictPolicyIgnore,
			})},
			in:   bytesMap("b", `{"host":"from-b"}`, "a", `{"host":"from-a"}`),
			want: bytesMap("host", "from-b"),
		},
		{
			name: "merge skips missing priority keys with IgnoreNotFound",
			rewrites: []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{
				Priority:       []string{"missing", "mongo"},
				PriorityPolicy: esv1.RewriteMergePriorityPolicyIgnoreNotFound,
			})},
			in:   bytesMap("mongo", `{"u":"foz"}`, "redis", `{"h":"r"}`),
			want: bytesMap("u", "foz", "h", "r"),
		},
		{
			name: "merge JSON keeps the input keys and adds into",
			rewrites: []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{
				Strategy: esv1.RewriteMergeStrategyJSON,
				Into:     "credentials",
			})},
			in: bytesMap("mongo", `{"username":"foz"}`, "redis", `{"host":"r&d"}`),
			want: bytesMap(
				"mongo", `{"username":"foz"}`,
				"redis", `{"host":"r&d"}`,
				"credentials", `{"host":"r&d","username":"foz"}`,
			),
		},
		{
			name: "regexp then JSON merge then Extract merge",
			rewrites: []esv1.ExternalSecretRewrite{
				re("db/(.*)", "$1"),
				mg(esv1.ExternalSecretRewriteMerge{
					Strategy: esv1.RewriteMergeStrategyJSON, Into: "merged",
					ConflictPolicy: esv1.RewriteMergeConflictPolicyIgnore, Priority: []string{"a"},
				}),
				mg(esv1.ExternalSecretRewriteMerge{
					ConflictPolicy: esv1.RewriteMergeConflictPolicyIgnore, Priority: []string{"b"},
				}),
			},
			in:   bytesMap("db/a", `{"host":"dba","pass":"yola","port":123}`, "db/b", `{"host":"dbb","pass":"yolb"}`),
			want: bytesMap("host", "dbb", "pass", "yolb", "port", "123"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := cloneBytesMap(tt.in)
			got, err := Rewrite(tt.rewrites, tt.in)
			if err != nil {
				t.Fatalf("Rewrite() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Rewrite() = %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(tt.in, orig) {
				t.Fatalf("Rewrite() modified its input: %q", tt.in)
			}
		})
	}
}

func cloneBytesMap(m map[string][]byte) map[string][]byte {
	if m == nil {
		return nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

func TestRewriteErrors(t *testing.T) {
	tests := []struct {
		name      string
		rewrites  []esv1.ExternalSecretRewrite
		in        map[string][]byte
		wantIndex int
		wantField string
		wantMsg   []string
	}{
		{
			name:      "invalid regexp names the source field",
			rewrites:  []esv1.ExternalSecretRewrite{re("ok", "x"), re("(unclosed", "x")},
			in:        bytesMap("a", "1"),
			wantIndex: 1, wantField: "regexp.source",
			wantMsg: []string{"rewrite[1].regexp.source: invalid regular expression"},
		},
		{
			name:      "invalid regexp fails even without keys",
			rewrites:  []esv1.ExternalSecretRewrite{re("[", "x")},
			wantIndex: 0, wantField: "regexp.source",
		},
		{
			name:      "regexp collision",
			rewrites:  []esv1.ExternalSecretRewrite{re("^(dev|prod)/", "")},
			in:        bytesMap("dev/password", "1", "prod/password", "2"),
			wantIndex: 0, wantField: "regexp",
			wantMsg: []string{`keys "dev/password" and "prod/password" both become "password"`},
		},
		{
			name:      "transform parse error",
			rewrites:  []esv1.ExternalSecretRewrite{tr(`{{ .value | nosuchfunc }}`)},
			in:        bytesMap("a", "1"),
			wantIndex: 0, wantField: "transform.template",
			wantMsg: []string{`rewrite[0].transform.template: line 1: parse error`, `"nosuchfunc" not defined`},
		},
		{
			name:      "transform missing variable",
			rewrites:  []esv1.ExternalSecretRewrite{tr(`{{ .valeu }}`)},
			in:        bytesMap("mykey", "1"),
			wantIndex: 0, wantField: "transform.template",
			wantMsg: []string{`renaming key "mykey"`, `map has no entry for key "valeu"`},
		},
		{
			name:      "transform collision",
			rewrites:  []esv1.ExternalSecretRewrite{tr(`same`)},
			in:        bytesMap("a", "1", "b", "2"),
			wantIndex: 0, wantField: "transform",
		},
		{
			name:      "no operation set",
			rewrites:  []esv1.ExternalSecretRewrite{{}},
			wantIndex: 0, wantField: "",
			wantMsg: []string{"rewrite[0]: exactly one of"},
		},
		{
			name: "two operations set",
			rewrites: []esv1.ExternalSecretRewrite{{
				Regexp:    &esv1.ExternalSecretRewriteRegexp{Source: "a", Target: "b"},
				Transform: &esv1.ExternalSecretRewriteTransform{Template: "x"},
			}},
			wantIndex: 0, wantField: "",
		},
		{
			name:      "merge conflict with the default policy",
			rewrites:  []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{})},
			in:        bytesMap("a", `{"user":"x","host":"h"}`, "b", `{"user":"y","host":"i"}`),
			wantIndex: 0, wantField: "merge",
			wantMsg: []string{`keys set by more than one value: "host", "user"`},
		},
		{
			name:      "merge conflict is an error even when priority decides",
			rewrites:  []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{Priority: []string{"b"}})},
			in:        bytesMap("a", `{"user":"x"}`, "b", `{"user":"y"}`),
			wantIndex: 0, wantField: "merge",
		},
		{
			name:      "merge missing priority key is strict by default",
			rewrites:  []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{Priority: []string{"nope"}})},
			in:        bytesMap("a", `{"user":"x"}`),
			wantIndex: 0, wantField: "merge.priority",
			wantMsg: []string{`key "nope" not found`},
		},
		{
			name:      "merge JSON without into",
			rewrites:  []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{Strategy: esv1.RewriteMergeStrategyJSON})},
			in:        bytesMap("a", `{"user":"x"}`),
			wantIndex: 0, wantField: "merge.into",
		},
		{
			name:      "merge of a value that is not a JSON object",
			rewrites:  []esv1.ExternalSecretRewrite{re("x", "y"), mg(esv1.ExternalSecretRewriteMerge{})},
			in:        bytesMap("a", `{"user":"x"}`, "b", `["list"]`),
			wantIndex: 1, wantField: "merge",
			wantMsg: []string{`the value of key "b" is a JSON array, not an object`},
		},
		{
			name:      "merge with an unknown strategy",
			rewrites:  []esv1.ExternalSecretRewrite{mg(esv1.ExternalSecretRewriteMerge{Strategy: "YAML"})},
			in:        bytesMap("a", `{}`),
			wantIndex: 0, wantField: "merge.strategy",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Rewrite(tt.rewrites, tt.in)
			var rerr *RewriteError
			if !errors.As(err, &rerr) {
				t.Fatalf("Rewrite() error = %v, want *RewriteError", err)
			}
			if rerr.Index != tt.wantIndex || rerr.Field != tt.wantField {
				t.Fatalf("Rewrite() error at rewrite[%d].%s, want rewrite[%d].%s (%v)", rerr.Index, rerr.Field, tt.wantIndex, tt.wantField, err)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Rewrite() error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
