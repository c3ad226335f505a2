package aws

import (
	"errors"
	"maps"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/aws/awstest"
)

func TestParameterStoreGetSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.srv
	srv.PutParameter(awstest.Parameter{Name: "/prod/db/password", Value: "v1-secret", Type: "SecureString", Tags: map[string]string{"team": "payments"}})
	srv.PutParameter(awstest.Parameter{Name: "/prod/db/password", Value: "v2-secret", Type: "SecureString", Labels: []string{"stable"}})
	srv.PutParameter(awstest.Parameter{Name: "/prod/db/password", Value: "v3-secret", Type: "SecureString"})
	srv.PutParameter(awstest.Parameter{Name: "/prod/db/config", Value: `{"host":"db","port":5432}`})
	srv.PutParameter(awstest.Parameter{Name: "plain-name", Value: "a,b,c", Type: "StringList"})

	plain := f.staticClient(t, esv1.AWSServiceParameterStore, awstest.AllowAll, nil)
	prefixed := f.staticClient(t, esv1.AWSServiceParameterStore, awstest.AllowAll, func(s *esv1.AWSProvider) { s.Prefix = "/prod/db/" })

	cases := []struct {
		name     string
		client   *Client
		ref      esv1.ExternalSecretDataRemoteRef
		want     string
		notFound string
	}{
		{name: "SecureString is decrypted", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "/prod/db/password"}, want: "v3-secret"},
		{name: "version number", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "/prod/db/password", Version: "1"}, want: "v1-secret"},
		{name: "version label", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "/prod/db/password", Version: "stable"}, want: "v2-secret"},
		{name: "JSON value", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "/prod/db/config"}, want: `{"host":"db","port":5432}`},
		{name: "name without hierarchy", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "plain-name"}, want: "a,b,c"},
		{name: "prefix", client: prefixed, ref: esv1.ExternalSecretDataRemoteRef{Key: "password", Version: "2"}, want: "v2-secret"},
		{name: "ARN ignores prefix", client: prefixed, ref: esv1.ExternalSecretDataRemoteRef{Key: srv.ParameterARN("plain-name")}, want: "a,b,c"},
		{name: "tags", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "/prod/db/password", MetadataPolicy: esv1.MetadataPolicyFetch}, want: `{"team":"payments"}`},
		{name: "missing parameter", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "/prod/db/nope"}, notFound: `Parameter Store in region eu-west-1 has no parameter "/prod/db/nope": ParameterNotFound`},
		{name: "missing version", client: plain, ref: esv1.ExternalSecretDataRemoteRef{Key: "/prod/db/password", Version: "9"}, notFound: `with version "9": ParameterVersionNotFound`},
		{name: "tags of a missing parameter", client: prefixed, ref: esv1.ExternalSecretDataRemoteRef{Key: "nope", MetadataPolicy: esv1.MetadataPolicyFetch}, notFound: `has no parameter "/prod/db/nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.client.GetSecret(t.Context(), tc.ref)
			if tc.notFound != "" {
				if !provider.IsNotFound(err) {
					t.Fatalf("GetSecret = %q, %v; want a NotFoundError", got, err)
				}
				mustContain(t, "error", err.Error(), tc.notFound)
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

	t.Run("names and decryption on the wire", func(t *testing.T) {
		var names []string
		for _, r := range srv.Requests(awstest.OpGetParameter) {
			if !strings.Contains(string(r.Input), `"WithDecryption":true`) {
				t.Errorf("GetParameter without decryption: %s", r.Input)
			}
			names = append(names, string(r.Input))
		}
		joined := strings.Join(names, "\n")
		mustContain(t, "GetParameter requests", joined, `"/prod/db/password:1"`, `"/prod/db/password:stable"`, `"/prod/db/password:2"`)
	})
}

func TestParameterStoreFind(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.srv
	srv.PutParameter(awstest.Parameter{Name: "/prod/app/db", Value: "db", Type: "SecureString", Tags: map[string]string{"team": "payments"}})
	srv.PutParameter(awstest.Parameter{Name: "/prod/app/api/key", Value: "key", Tags: map[string]string{"team": "search"}})
	srv.PutParameter(awstest.Parameter{Name: "/prod/other", Value: "other", Tags: map[string]string{"team": "payments"}})
	srv.PutParameter(awstest.Parameter{Name: "/dev/app/db", Value: "dev"})
	for i := range 12 {
		srv.PutParameter(awstest.Parameter{Name: "/many/p" + string(rune('a'+i)), Value: "x"})
	}
	c := f.staticClient(t, esv1.AWSServiceParameterStore, awstest.AllowAll, nil)
	prefixed := f.staticClient(t, esv1.AWSServiceParameterStore, awstest.AllowAll, func(s *esv1.AWSProvider) { s.Prefix = "/prod" })

	cases := []struct {
		name   string
		client *Client
		find   esv1.ExternalSecretFind
		want   map[string]string
	}{
		{name: "path, recursive and decrypted", client: c, find: esv1.ExternalSecretFind{Path: ptr("/prod/app")},
			want: map[string]string{"/prod/app/db": "db", "/prod/app/api/key": "key"}},
		{name: "path with trailing slash", client: c, find: esv1.ExternalSecretFind{Path: ptr("/prod/app/")},
			want: map[string]string{"/prod/app/db": "db", "/prod/app/api/key": "key"}},
		{name: "name without path searches from /", client: c, find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "/db$"}},
			want: map[string]string{"/prod/app/db": "db", "/dev/app/db": "dev"}},
		{name: "name and path", client: c, find: esv1.ExternalSecretFind{Path: ptr("/prod"), Name: &esv1.FindName{RegExp: "db$"}},
			want: map[string]string{"/prod/app/db": "db"}},
		{name: "tags", client: c, find: esv1.ExternalSecretFind{Path: ptr("/prod"), Tags: map[string]string{"team": "payments"}},
			want: map[string]string{"/prod/app/db": "db", "/prod/other": "other"}},
		{name: "store prefix is the hierarchy", client: prefixed, find: esv1.ExternalSecretFind{Path: ptr("/app")},
			want: map[string]string{"/prod/app/db": "db", "/prod/app/api/key": "key"}},
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

	t.Run("pages", func(t *testing.T) {
		before := srv.Calls(awstest.OpGetParametersByPath)
		got, err := c.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr("/many")})
		if err != nil || len(got) != 12 {
			t.Fatalf("GetAllSecrets = %d parameters, %v", len(got), err)
		}
		if n := srv.Calls(awstest.OpGetParametersByPath) - before; n != 2 {
			t.Errorf("GetParametersByPath calls = %d, want 2 (10 per page)", n)
		}
	})
	t.Run("path must be a hierarchy", func(t *testing.T) {
		_, err := c.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr("prod")})
		var ce *provider.ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("GetAllSecrets = %v, want a ConfigError", err)
		}
	})
}
