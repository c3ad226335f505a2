package gcp

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/gcp/gcptest"
)

func TestGetSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const db = "projects/" + project + "/secrets/db"
	f.srv.AddSecret(db, map[string]string{"team": "a"}, map[string]string{"owner": "dba"})
	f.srv.AddVersion(db, []byte(`{"user":"admin","password":"v1"}`))
	f.srv.AddVersion(db, []byte(`{"user":"admin","password":"v2"}`))
	f.srv.AddVersion(db, []byte(`{"user":"admin","password":"v3"}`))
	f.srv.SetVersionState(db, 2, secretmanagerpb.SecretVersion_DISABLED)
	const off = "projects/" + project + "/secrets/off"
	f.srv.AddVersion(off, []byte("old"))
	f.srv.AddVersion(off, []byte("gone"))
	f.srv.AddVersion(off, []byte("newest"))
	f.srv.SetVersionState(off, 3, secretmanagerpb.SecretVersion_DESTROYED)
	f.srv.SetVersionState(off, 2, secretmanagerpb.SecretVersion_DISABLED)
	const none = "projects/" + project + "/secrets/none"
	f.srv.AddVersion(none, []byte("x"))
	f.srv.SetVersionState(none, 1, secretmanagerpb.SecretVersion_DISABLED)
	f.srv.AddSecret("projects/"+project+"/secrets/empty", nil, nil)
	regional := "projects/" + project + "/locations/europe-west1/secrets/db"
	f.srv.AddVersion(regional, []byte("regional"))
	other := "projects/other-project/secrets/shared"
	f.srv.AddVersion(other, []byte("shared"))

	fail, _ := f.keyClient(t, nil, gcptest.RoleSecretAccessor, gcptest.RoleViewer)
	fetch, fetchMember := f.keyClient(t, func(s *esv1.GCPSMProvider) {
		s.SecretVersionSelectionPolicy = esv1.SecretVersionSelectionPolicyLatestOrFetch
	}, gcptest.RoleSecretAccessor, gcptest.RoleViewer)
	f.srv.Grant(fetchMember, gcptest.RoleSecretAccessor, other)
	eu, _ := f.keyClient(t, func(s *esv1.GCPSMProvider) { s.Location = "europe-west1" }, gcptest.RoleSecretAccessor)

	cases := []struct {
		name    string
		client  *Client
		ref     esv1.ExternalSecretDataRemoteRef
		want    string
		wantErr string // substring; empty: no error
		check   func(error) bool
	}{
		{name: "latest by default", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "db"}, want: `{"user":"admin","password":"v3"}`},
		{name: "latest by name", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "latest"}, want: `{"user":"admin","password":"v3"}`},
		{name: "version number", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "1"}, want: `{"user":"admin","password":"v1"}`},
		{name: "versions/N", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "versions/1"}, want: `{"user":"admin","password":"v1"}`},
		{name: "full resource name", client: fetch, ref: esv1.ExternalSecretDataRemoteRef{Key: other}, want: "shared"},
		{name: "regional endpoint names", client: eu, ref: esv1.ExternalSecretDataRemoteRef{Key: "db"}, want: "regional"},
		{name: "metadata", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "db", MetadataPolicy: esv1.MetadataPolicyFetch}, want: `{"annotations":{"owner":"dba"},"labels":{"team":"a"}}`},
		{name: "disabled version", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "2"}, wantErr: "is in DISABLED state"},
		{name: "destroyed latest, LatestOrFail", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "off"}, wantErr: "LatestOrFetch"},
		{name: "destroyed latest, LatestOrFetch falls back", client: fetch, ref: esv1.ExternalSecretDataRemoteRef{Key: "off"}, want: "old"},
		{name: "disabled requested version is not replaced", client: fetch, ref: esv1.ExternalSecretDataRemoteRef{Key: "off", Version: "2"}, wantErr: "is in DISABLED state"},
		{name: "no enabled version", client: fetch, ref: esv1.ExternalSecretDataRemoteRef{Key: "none"}, wantErr: "has no enabled version", check: provider.IsNotFound},
		{name: "missing secret", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "missing"}, wantErr: "projects/" + project + "/secrets/missing/versions/latest", check: provider.IsNotFound},
		{name: "secret without versions", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "empty"}, wantErr: "has no versions", check: provider.IsNotFound},
		{name: "missing version", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "9"}, wantErr: "versions/9", check: provider.IsNotFound},
		{name: "bad version", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "AWSCURRENT"}, wantErr: "remoteRef.version", check: isConfigError},
		{name: "bad key", client: fail, ref: esv1.ExternalSecretDataRemoteRef{Key: "a/b"}, wantErr: "remoteRef.key", check: isConfigError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.client.GetSecret(t.Context(), tc.ref)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("GetSecret: %v", err)
				}
				if string(got) != tc.want {
					t.Fatalf("GetSecret = %s, want %s", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("GetSecret = %s, want an error containing %q", got, tc.wantErr)
			}
			mustContain(t, "error", err.Error(), tc.wantErr)
			if tc.check != nil && !tc.check(err) {
				t.Errorf("error %T (%v) is not of the expected type", err, err)
			}
		})
	}
}

func isConfigError(err error) bool {
	var ce *provider.ConfigError
	return errors.As(err, &ce)
}

func TestGetSecretMap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.AddVersion("projects/"+project+"/secrets/app", []byte(`{"user":"u","port":5432,"tls":{"ca":"pem","on":true}}`))
	cl, _ := f.keyClient(t, nil, gcptest.RoleSecretAccessor)
	cases := []struct {
		name     string
		property string
		want     map[string]string
	}{
		{name: "whole secret", want: map[string]string{"user": "u", "port": "5432", "tls": `{"ca":"pem","on":true}`}},
		{name: "nested property", property: "tls", want: map[string]string{"ca": "pem", "on": "true"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := cl.GetSecretMap(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "app", Property: tc.property})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for k, v := range m {
				got[k] = string(v)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("GetSecretMap = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	add := func(id string, labels map[string]string, value string) {
		name := "projects/" + project + "/secrets/" + id
		f.srv.AddSecret(name, labels, nil)
		if value != "" {
			f.srv.AddVersion(name, []byte(value))
		}
	}
	add("app-db", map[string]string{"team": "a", "env": "prod"}, "db")
	add("app-api", map[string]string{"team": "a", "env": "dev"}, "api")
	add("billing-db", map[string]string{"team": "b", "env": "prod"}, "bill")
	add("app-novalue", map[string]string{"team": "a"}, "")
	for i := range 30 {
		add("bulk-"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26)), map[string]string{"team": "bulk"}, "v")
	}
	cl, _ := f.keyClient(t, nil, gcptest.RoleSecretAccessor, gcptest.RoleViewer)
	cases := []struct {
		name    string
		find    esv1.ExternalSecretFind
		want    []string
		wantErr string
	}{
		{name: "name regexp", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^app-"}}, want: []string{"app-api", "app-db"}},
		{name: "labels", find: esv1.ExternalSecretFind{Tags: map[string]string{"env": "prod"}}, want: []string{"app-db", "billing-db"}},
		{name: "labels and name", find: esv1.ExternalSecretFind{Tags: map[string]string{"env": "prod"}, Name: &esv1.FindName{RegExp: "^billing"}}, want: []string{"billing-db"}},
		{name: "path is an ID prefix", find: esv1.ExternalSecretFind{Path: ptr("billing")}, want: []string{"billing-db"}},
		{name: "many pages", find: esv1.ExternalSecretFind{Tags: map[string]string{"team": "bulk"}}, want: nil},
		{name: "no criteria", find: esv1.ExternalSecretFind{}, wantErr: "dataFrom[].find"},
		{name: "bad regexp", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "("}}, wantErr: "name.regexp"},
		{name: "bad label", find: esv1.ExternalSecretFind{Tags: map[string]string{"Team Name": "a"}}, wantErr: "find.tags"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := cl.GetAllSecrets(t.Context(), tc.find)
			if tc.wantErr != "" {
				if err == nil || !isConfigError(err) {
					t.Fatalf("GetAllSecrets error = %v, want a ConfigError about %s", err, tc.wantErr)
				}
				mustContain(t, "error", err.Error(), tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(got) != 30 {
					t.Fatalf("found %d secrets, want 30", len(got))
				}
				return
			}
			if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, tc.want) {
				t.Fatalf("found %v, want %v", keys, tc.want)
			}
		})
	}
}
