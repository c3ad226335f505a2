package azure

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/azure/azuretest"
)

// selfSigned returns the DER bytes of a new self-signed certificate.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "app.example.com"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestGetSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	old := f.srv.SetSecret(f.vault, "db", `{"user":"old"}`, azuretest.ObjectOptions{})
	f.srv.SetSecret(f.vault, "db", `{"user":"admin","port":5432}`, azuretest.ObjectOptions{Tags: map[string]string{"team": "payments"}, ContentType: "application/json"})
	certDER := selfSigned(t)
	f.srv.SetCertificate(f.vault, "tls", certDER, azuretest.ObjectOptions{Tags: map[string]string{"cn": "app.example.com"}})
	signing, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.SetKey(f.vault, "signing", &signing.PublicKey, azuretest.ObjectOptions{})
	cl, _ := f.secretClient(t, azuretest.AllPermissions...)

	cases := []struct {
		name  string
		ref   esv1.ExternalSecretDataRemoteRef
		check func(t *testing.T, got []byte)
	}{
		{name: "latest version", ref: esv1.ExternalSecretDataRemoteRef{Key: "db"}, check: equals(`{"user":"admin","port":5432}`)},
		{name: "secret prefix", ref: esv1.ExternalSecretDataRemoteRef{Key: "secret/db"}, check: equals(`{"user":"admin","port":5432}`)},
		{name: "older version", ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Version: old}, check: equals(`{"user":"old"}`)},
		{name: "property is left to the caller", ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Property: "user"}, check: equals(`{"user":"admin","port":5432}`)},
		{name: "certificate as DER", ref: esv1.ExternalSecretDataRemoteRef{Key: "cert/tls"}, check: func(t *testing.T, got []byte) {
			c, err := x509.ParseCertificate(got)
			if err != nil || c.Subject.CommonName != "app.example.com" {
				t.Fatalf("not the certificate's DER: %v", err)
			}
		}},
		{name: "key as JWK", ref: esv1.ExternalSecretDataRemoteRef{Key: "key/signing"}, check: func(t *testing.T, got []byte) {
			var jwk map[string]any
			if err := json.Unmarshal(got, &jwk); err != nil {
				t.Fatal(err)
			}
			if jwk["kty"] != "EC" || jwk["crv"] != "P-256" || jwk["x"] == nil || jwk["kid"] == nil {
				t.Fatalf("JWK = %s", got)
			}
		}},
		{name: "secret metadata", ref: esv1.ExternalSecretDataRemoteRef{Key: "db", MetadataPolicy: esv1.MetadataPolicyFetch}, check: func(t *testing.T, got []byte) {
			var m struct {
				Team       string `json:"team"`
				Attributes struct {
					Enabled     bool      `json:"enabled"`
					Created     time.Time `json:"created"`
					ContentType string    `json:"contentType"`
				} `json:"attributes"`
			}
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			if m.Team != "payments" || !m.Attributes.Enabled || m.Attributes.Created.IsZero() || m.Attributes.ContentType != "application/json" {
				t.Fatalf("metadata = %s", got)
			}
		}},
		{name: "certificate metadata", ref: esv1.ExternalSecretDataRemoteRef{Key: "cert/tls", MetadataPolicy: esv1.MetadataPolicyFetch}, check: func(t *testing.T, got []byte) {
			var m map[string]any
			if err := json.Unmarshal(got, &m); err != nil || m["cn"] != "app.example.com" || m["attributes"] == nil {
				t.Fatalf("metadata = %s (%v)", got, err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := cl.GetSecret(t.Context(), tc.ref)
			if err != nil {
				t.Fatalf("GetSecret: %v", err)
			}
			tc.check(t, got)
		})
	}
	if provider.ResolvesProperty(cl) {
		t.Error("the client claims to apply property itself; the engine must apply it (gjson)")
	}
}

// equals checks that a value is want.
func equals(want string) func(t *testing.T, got []byte) {
	return func(t *testing.T, got []byte) {
		t.Helper()
		if string(got) != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestGetSecretNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetSecret(f.vault, "db", "v", azuretest.ObjectOptions{})
	cl, _ := f.secretClient(t, azuretest.AllPermissions...)
	cases := []struct {
		name     string
		ref      esv1.ExternalSecretDataRemoteRef
		wantText []string
	}{
		{name: "secret", ref: esv1.ExternalSecretDataRemoteRef{Key: "missing"}, wantText: []string{`has no secret "missing"`, "SecretNotFound", f.vault}},
		{name: "version", ref: esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "0123456789abcdef0123456789abcdef"}, wantText: []string{`with version "0123456789abcdef0123456789abcdef"`}},
		{name: "certificate", ref: esv1.ExternalSecretDataRemoteRef{Key: "cert/missing"}, wantText: []string{`has no certificate "missing"`, "CertificateNotFound"}},
		{name: "key", ref: esv1.ExternalSecretDataRemoteRef{Key: "key/missing"}, wantText: []string{`has no key "missing"`, "KeyNotFound"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := cl.GetSecret(t.Context(), tc.ref)
			if !provider.IsNotFound(err) {
				t.Fatalf("GetSecret = %v, want a NotFoundError", err)
			}
			mustContain(t, "error", err.Error(), tc.wantText...)
		})
	}
}

func TestGetSecretMap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetSecret(f.vault, "db", `{"user":"admin","port":5432,"tls":{"ca":"pem","verify":true}}`, azuretest.ObjectOptions{})
	cl, _ := f.secretClient(t, azuretest.SecretsGet)
	cases := []struct {
		name     string
		property string
		want     map[string]string
	}{
		{name: "whole secret", want: map[string]string{"user": "admin", "port": "5432", "tls": `{"ca":"pem","verify":true}`}},
		{name: "gjson property", property: "tls", want: map[string]string{"ca": "pem", "verify": "true"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := cl.GetSecretMap(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "db", Property: tc.property})
			if err != nil {
				t.Fatal(err)
			}
			strs := map[string]string{}
			for k, v := range got {
				strs[k] = string(v)
			}
			if !maps.Equal(strs, tc.want) {
				t.Fatalf("GetSecretMap = %v, want %v", strs, tc.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// More than one page (25) of secrets, so paging is exercised.
	for i := range 30 {
		f.srv.SetSecret(f.vault, fmt.Sprintf("app-%02d", i), fmt.Sprintf("v%d", i), azuretest.ObjectOptions{Tags: map[string]string{"env": []string{"dev", "prod"}[i%2]}})
	}
	f.srv.SetSecret(f.vault, "other", "o", azuretest.ObjectOptions{Tags: map[string]string{"env": "prod"}})
	f.srv.SetSecret(f.vault, "app-disabled", "d", azuretest.ObjectOptions{Disabled: true, Tags: map[string]string{"env": "prod"}})
	cl, _ := f.secretClient(t, azuretest.SecretsGet, azuretest.SecretsList)
	cases := []struct {
		name      string
		find      esv1.ExternalSecretFind
		wantNames []string
		wantField string
	}{
		{name: "by name", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^app-2[0-9]$"}}, wantNames: []string{"app-20", "app-21", "app-22", "app-23", "app-24", "app-25", "app-26", "app-27", "app-28", "app-29"}},
		{name: "by tags", find: esv1.ExternalSecretFind{Tags: map[string]string{"env": "prod"}, Name: &esv1.FindName{RegExp: "^(app-0|other)"}}, wantNames: []string{"app-01", "app-03", "app-05", "app-07", "app-09", "other"}},
		{name: "path is not supported", find: esv1.ExternalSecretFind{Path: ptr("app/")}, wantField: "dataFrom[].find.path"},
		{name: "neither name nor tags", find: esv1.ExternalSecretFind{}, wantField: "dataFrom[].find"},
		{name: "bad regexp", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "("}}, wantField: "dataFrom[].find.name.regexp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := cl.GetAllSecrets(t.Context(), tc.find)
			if tc.wantField != "" {
				var ce *provider.ConfigError
				if !errors.As(err, &ce) || ce.Field != tc.wantField {
					t.Fatalf("GetAllSecrets = %v, want a ConfigError of %s", err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, tc.wantNames) {
				t.Fatalf("found %v, want %v", names, tc.wantNames)
			}
			if string(got[tc.wantNames[0]]) == "" {
				t.Fatal("found secrets have no value")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		name     string
		perms    []azuretest.Permission
		badCreds bool
		want     provider.ValidationResult
		wantText []string
	}{
		{name: "list allowed", perms: []azuretest.Permission{azuretest.SecretsGet, azuretest.SecretsList}, want: provider.ValidationReady},
		{name: "get only", perms: []azuretest.Permission{azuretest.SecretsGet}, want: provider.ValidationUnknown, wantText: []string{"read access cannot be proven", "secrets/list", "Key Vault Secrets User", f.vault}},
		{name: "no access", want: provider.ValidationUnknown, wantText: []string{"secrets/list"}},
		{name: "wrong client secret", perms: azuretest.AllPermissions, badCreds: true, want: provider.ValidationFailed, wantText: []string{"AADSTS7000215", "client secret is wrong"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec, id := f.secretApp(t, f.ns, tc.perms...)
			if tc.badCreds {
				name := unique("wrong-")
				f.createSecret(t, f.ns, name, map[string]string{"client-id": id, "client-secret": "not-the-secret"})
				spec.AuthSecretRef.ClientID.Name, spec.AuthSecretRef.ClientSecret.Name = name, name
			}
			cl := f.client(t, namespacedStore(f.ns, spec), f.ns)
			v, err := cl.Validate(t.Context())
			if v.Result != tc.want {
				t.Fatalf("Validate = %v, %v; want result %v", v.Result, err, tc.want)
			}
			if tc.want == provider.ValidationReady {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				mustContain(t, "error", fmt.Sprint(err), tc.wantText...)
			}
			mustContain(t, "identity", v.Identity, id)
		})
	}
}

// TestConcurrentStoresOverlap proves two stores' reads run in parallel: no
// lock is held around Azure calls.
func TestConcurrentStoresOverlap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetSecret(f.vault, "s", "value", azuretest.ObjectOptions{})
	a, _ := f.secretClient(t, azuretest.SecretsGet)
	b, _ := f.secretClient(t, azuretest.SecretsGet)
	// Sign both in first, so the measured reads are vault calls only.
	for _, c := range []*Client{a, b} {
		if _, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	const latency = 300 * time.Millisecond
	f.srv.SetLatency(latency)
	f.srv.ResetCalls()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range []*Client{a, b, a, b} {
		wg.Go(func() {
			if _, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.srv.MaxInFlight(); n < 4 {
		t.Errorf("at most %d requests were in flight at once, want 4", n)
	}
	if took := time.Since(start); took > 2*latency {
		t.Errorf("four reads of %s each took %s together: they did not overlap", latency, took)
	}
}
