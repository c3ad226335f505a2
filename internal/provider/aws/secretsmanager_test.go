package aws

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/aws/awstest"
)

func TestSecretsManagerGetSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.srv
	_, v1 := srv.PutSecret(awstest.Secret{Name: "team/db", String: `{"user":"app","password":"first"}`, Tags: map[string]string{"owner": "payments", "env": "prod"}})
	srv.PutSecret(awstest.Secret{Name: "team/db", String: `{"user":"app","password":"second"}`})
	srv.PutSecret(awstest.Secret{Name: "team/db", String: `{"user":"app","password":"blue"}`, Stages: []string{"blue"}})
	srv.PutSecret(awstest.Secret{Name: "team/plain", String: "not json"})
	srv.PutSecret(awstest.Secret{Name: "team/cert", Binary: []byte{0x30, 0x82, 0x00, 0xff}})
	srv.PutSecret(awstest.Secret{Name: "team/gone", String: "x"})
	srv.DeleteSecret("team/gone")
	arn := srv.SecretARN("team/plain")

	plain := f.staticClient(t, esv1.AWSServiceSecretsManager, awstest.AllowAll, nil)
	prefixed := f.staticClient(t, esv1.AWSServiceSecretsManager, awstest.AllowAll, func(s *esv1.AWSProvider) { s.Prefix = "team/" })

	cases := []struct {
		name     string
		client   *Client
		ref      esv1.ExternalSecretDataRemoteRef
		want     string
		notFound string // when set, a *provider.NotFoundError whose message contains it
	}{
		{name: "current version", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/db"}, want: `{"user":"app","password":"second"}`},
		{name: "explicit AWSCURRENT", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/db", Version: "AWSCURRENT"}, want: `{"user":"app","password":"second"}`},
		{name: "previous stage", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/db", Version: "AWSPREVIOUS"}, want: `{"user":"app","password":"first"}`},
		{name: "custom stage", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/db", Version: "blue"}, want: `{"user":"app","password":"blue"}`},
		{name: "version id", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/db", Version: "uuid/" + v1}, want: `{"user":"app","password":"first"}`},
		{name: "property is left to the engine", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/db", Property: "password"}, want: `{"user":"app","password":"second"}`},
		{name: "string that is not JSON", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/plain"}, want: "not json"},
		{name: "binary", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/cert"}, want: "\x30\x82\x00\xff"},
		{name: "tags", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/db", MetadataPolicy: esv1.MetadataPolicyFetch}, want: `{"env":"prod","owner":"payments"}`},
		{name: "prefix", client: prefixed, ref: esv1.ExternalSecretDataRemoteRef{Key: "db"}, want: `{"user":"app","password":"second"}`},
		{name: "ARN ignores prefix", client: prefixed, ref: esv1.ExternalSecretDataRemoteRef{Key: arn}, want: "not json"},
		{name: "missing secret", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/nope"}, notFound: `Secrets Manager in region eu-west-1 has no secret "team/nope"`},
		{name: "missing secret with prefix", client: prefixed, ref: esv1.ExternalSecretDataRemoteRef{Key: "nope"}, notFound: `has no secret "team/nope"`},
		{name: "missing stage", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/db", Version: "green"}, notFound: `with version "green"`},
		{name: "missing version id", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/db", Version: "uuid/0000"}, notFound: "VersionId: 0000"},
		{name: "scheduled for deletion", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/gone"}, notFound: "marked for deletion"},
		{name: "tags of a missing secret", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "team/nope", MetadataPolicy: esv1.MetadataPolicyFetch}, notFound: `has no secret "team/nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.client.GetSecret(t.Context(), tc.ref)
			if tc.notFound != "" {
				if !provider.IsNotFound(err) {
					t.Fatalf("GetSecret = %q, %v; want a NotFoundError", got, err)
				}
				mustContain(t, "error", err.Error(), tc.notFound, fmt.Sprintf("%q", tc.ref.Key))
				return
			}
			if err != nil {
				t.Fatalf("GetSecret: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("GetSecret = %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("version stage and id on the wire", func(t *testing.T) {
		reqs := srv.Requests(awstest.OpGetSecretValue)
		var stages, ids []string
		for _, r := range reqs {
			s := string(r.Input)
			switch {
			case strings.Contains(s, `"VersionStage"`):
				stages = append(stages, s)
			case strings.Contains(s, `"VersionId"`):
				ids = append(ids, s)
			}
		}
		if len(ids) != 2 || len(stages) != len(reqs)-2 {
			t.Fatalf("requests: %d with VersionId, %d with VersionStage, of %d", len(ids), len(stages), len(reqs))
		}
	})
}

func TestSecretsManagerGetSecretMap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "app", String: `{"user":"app","port":5432,"nested":{"a":"b"}}`})
	f.srv.PutSecret(awstest.Secret{Name: "bin", Binary: []byte(`{"k":"v"}`)})
	f.srv.PutSecret(awstest.Secret{Name: "plain", String: "text"})
	c := f.staticClient(t, esv1.AWSServiceSecretsManager, awstest.AllowAll, nil)
	ctx := t.Context()

	cases := []struct {
		name    string
		ref     esv1.ExternalSecretDataRemoteRef
		want    map[string]string
		wantErr string
	}{
		{name: "object", ref: esv1.ExternalSecretDataRemoteRef{Key: "app"}, want: map[string]string{"user": "app", "port": "5432", "nested": `{"a":"b"}`}},
		{name: "property", ref: esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "nested"}, want: map[string]string{"a": "b"}},
		{name: "binary JSON", ref: esv1.ExternalSecretDataRemoteRef{Key: "bin"}, want: map[string]string{"k": "v"}},
		{name: "tags", ref: esv1.ExternalSecretDataRemoteRef{Key: "app", MetadataPolicy: esv1.MetadataPolicyFetch}, want: map[string]string{}},
		{name: "not an object", ref: esv1.ExternalSecretDataRemoteRef{Key: "plain"}, wantErr: `splitting secret "plain" into keys`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.GetSecretMap(ctx, tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("GetSecretMap = %v, want error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotS := map[string]string{}
			for k, v := range got {
				gotS[k] = string(v)
			}
			if !maps.Equal(gotS, tc.want) {
				t.Fatalf("GetSecretMap = %v, want %v", gotS, tc.want)
			}
		})
	}
}

func TestSecretsManagerFind(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.srv
	put := func(name, value string, tags map[string]string) {
		srv.PutSecret(awstest.Secret{Name: name, String: value, Tags: tags})
	}
	put("prod/app/db", "db", map[string]string{"team": "payments", "env": "prod"})
	put("prod/app/api", "api", map[string]string{"team": "payments", "env": "production"})
	put("prod/other/db", "other", map[string]string{"team": "search", "env": "prod"})
	put("dev/app/db", "dev", map[string]string{"team": "payments", "env": "dev"})
	put("Prod/app/case", "case", nil)
	srv.PutSecret(awstest.Secret{Name: "prod/app/bin", Binary: []byte{1, 2}})
	put("prod/app/deleted", "gone", map[string]string{"team": "payments", "env": "prod"})
	srv.DeleteSecret("prod/app/deleted")

	c := f.staticClient(t, esv1.AWSServiceSecretsManager, awstest.AllowAll, nil)
	prefixed := f.staticClient(t, esv1.AWSServiceSecretsManager, awstest.AllowAll, func(s *esv1.AWSProvider) { s.Prefix = "prod/" })

	cases := []struct {
		name   string
		client *Client
		find   esv1.ExternalSecretFind
		want   map[string]string
	}{
		{
			name: "tags match exactly, not by prefix", client: c,
			find: esv1.ExternalSecretFind{Tags: map[string]string{"team": "payments", "env": "prod"}},
			want: map[string]string{"prod/app/db": "db"},
		},
		{
			name: "name regexp without path", client: c,
			find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: `/db$`}},
			want: map[string]string{"prod/app/db": "db", "prod/other/db": "other", "dev/app/db": "dev"},
		},
		{
			name: "name regexp with path", client: c,
			find: esv1.ExternalSecretFind{Path: ptr("prod/"), Name: &esv1.FindName{RegExp: `/db$`}},
			want: map[string]string{"prod/app/db": "db", "prod/other/db": "other"},
		},
		{
			name: "path is a case-sensitive name prefix", client: c,
			find: esv1.ExternalSecretFind{Path: ptr("prod/app/")},
			want: map[string]string{"prod/app/db": "db", "prod/app/api": "api", "prod/app/bin": "\x01\x02"},
		},
		{
			name: "tags and path", client: c,
			find: esv1.ExternalSecretFind{Path: ptr("prod/"), Tags: map[string]string{"team": "payments"}},
			want: map[string]string{"prod/app/db": "db", "prod/app/api": "api"},
		},
		{
			name: "store prefix narrows find", client: prefixed,
			find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: `db$`}},
			want: map[string]string{"prod/app/db": "db", "prod/other/db": "other"},
		},
		{
			name: "store prefix and path", client: prefixed,
			find: esv1.ExternalSecretFind{Path: ptr("other/")},
			want: map[string]string{"prod/other/db": "other"},
		},
		{
			name: "nothing matches", client: c,
			find: esv1.ExternalSecretFind{Tags: map[string]string{"team": "nobody"}},
			want: map[string]string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.client.GetAllSecrets(t.Context(), tc.find)
			if err != nil {
				t.Fatalf("GetAllSecrets: %v", err)
			}
			gotS := map[string]string{}
			for k, v := range got {
				gotS[k] = string(v)
			}
			if !maps.Equal(gotS, tc.want) {
				t.Fatalf("GetAllSecrets = %v\nwant %v", gotS, tc.want)
			}
		})
	}

	t.Run("invalid find", func(t *testing.T) {
		for _, find := range []esv1.ExternalSecretFind{{}, {Name: &esv1.FindName{RegExp: "("}}} {
			_, err := c.GetAllSecrets(t.Context(), find)
			var ce *provider.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("GetAllSecrets(%+v) = %v, want a ConfigError", find, err)
			}
		}
	})
}

func TestSecretsManagerFindBatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	want := map[string]string{}
	for i := range 45 {
		name := fmt.Sprintf("batch/s%02d", i)
		f.srv.PutSecret(awstest.Secret{Name: name, String: name})
		want[name] = name
	}
	c := f.staticClient(t, esv1.AWSServiceSecretsManager, awstest.AllowAll, nil)
	got, err := c.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr("batch/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 45 {
		t.Fatalf("found %d secrets, want 45", len(got))
	}
	if n := f.srv.Calls(awstest.OpBatchGetSecretValue); n != 3 {
		t.Errorf("BatchGetSecretValue calls = %d, want 3 (20 secrets per call)", n)
	}
	if n := f.srv.Calls(awstest.OpGetSecretValue); n != 0 {
		t.Errorf("GetSecretValue calls = %d, want 0", n)
	}
	if n := f.srv.Calls(awstest.OpListSecrets); n != 1 {
		t.Errorf("ListSecrets calls = %d, want 1", n)
	}
}

func TestSecretsManagerFindReportsSecretsItCannotRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "shared/a", String: "a"})
	f.srv.PutSecret(awstest.Secret{Name: "shared/b", String: "b"})
	policy := awstest.Policy{
		{Actions: []string{"secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue"}, Resources: []string{"*"}},
		{Actions: []string{"secretsmanager:GetSecretValue"}, Resources: []string{"arn:aws:secretsmanager:*:*:secret:shared/a-*"}},
	}
	c := f.staticClient(t, esv1.AWSServiceSecretsManager, policy, nil)
	_, err := c.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr("shared/")})
	var denied *AccessDeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("GetAllSecrets = %v, want an AccessDeniedError", err)
	}
	mustContain(t, "error", err.Error(), "1 of the 2 secrets", `secret "shared/b"`, "secretsmanager:GetSecretValue", f.srv.SecretARN("shared/b"))
	if !slices.Contains([]string{denied.Key}, "shared/b") {
		t.Errorf("Key = %q", denied.Key)
	}
}
