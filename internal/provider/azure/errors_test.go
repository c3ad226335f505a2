package azure

import (
	"errors"
	"strings"
	"testing"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/azure/azuretest"
)

func TestAccessDenied(t *testing.T) {
	t.Parallel()
	for _, rbac := range []bool{false, true} {
		name := "access policy"
		if rbac {
			name = "RBAC"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixtureWith(t, azuretest.Options{}, rbac)
			f.srv.SetSecret(f.vault, "db", "top-secret-value", azuretest.ObjectOptions{})
			f.srv.SetCertificate(f.vault, "tls", selfSigned(t), azuretest.ObjectOptions{})
			cl, id := f.secretClient(t) // no permission at all
			cases := []struct {
				name       string
				key        string
				permission string
				role       string
			}{
				{name: "secret", key: "db", permission: "secrets/get", role: "Key Vault Secrets User"},
				{name: "certificate", key: "cert/tls", permission: "certificates/get", role: "Key Vault Certificate User"},
				{name: "key", key: "key/signing", permission: "keys/get", role: "Key Vault Crypto User"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: tc.key})
					var denied *AccessDeniedError
					if !errors.As(err, &denied) {
						t.Fatalf("GetSecret = %v, want an *AccessDeniedError", err)
					}
					if denied.RBAC != rbac {
						t.Errorf("RBAC = %v, want %v", denied.RBAC, rbac)
					}
					mustContain(t, "error", err.Error(), f.vault, tc.permission, tc.role, id, "oid="+f.srv.ObjectID(id))
					if rbac {
						mustContain(t, "error", err.Error(), "assign the role")
					} else {
						mustContain(t, "error", err.Error(), "access policy")
					}
				})
			}
		})
	}
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetSecret(f.vault, "s", "value", azuretest.ObjectOptions{})
	cl, _ := f.secretClient(t, azuretest.SecretsGet)
	if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
		t.Fatal(err)
	}

	t.Run("retried after Retry-After", func(t *testing.T) {
		const wait = 200 * time.Millisecond
		f.srv.ResetCalls()
		f.srv.Inject(azuretest.OpGetSecret, azuretest.Throttled(wait, 2))
		start := time.Now()
		got, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
		if err != nil || string(got) != "value" {
			t.Fatalf("GetSecret = %q, %v; want the value after the retries", got, err)
		}
		if n := f.srv.Calls(azuretest.OpGetSecret); n != 3 {
			t.Errorf("the read was sent %d times, want 3 (two throttled)", n)
		}
		if took := time.Since(start); took < 2*wait {
			t.Errorf("the retries took %s: Retry-After (%s) was not honoured", took, wait)
		}
	})
	t.Run("still throttled after the retries", func(t *testing.T) {
		f.srv.Inject(azuretest.OpGetSecret, azuretest.Throttled(time.Millisecond, 10))
		_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
		var throttled *ThrottledError
		if !errors.As(err, &throttled) {
			t.Fatalf("GetSecret = %v, want a *ThrottledError", err)
		}
		mustContain(t, "error", err.Error(), f.vault, `secret "s"`, "429", "refresh rate")
	})
}

func TestCredentialErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetSecret(f.vault, "s", "value", azuretest.ObjectOptions{})
	cases := []struct {
		name     string
		mutate   func(t *testing.T, spec *esv1.AzureKVProvider, id string)
		wantCode string
		wantText []string
	}{
		{name: "wrong client secret", mutate: func(t *testing.T, spec *esv1.AzureKVProvider, id string) {
			name := unique("wrong-")
			f.createSecret(t, f.ns, name, map[string]string{"client-id": id, "client-secret": "not-the-secret"})
			spec.AuthSecretRef.ClientID.Name, spec.AuthSecretRef.ClientSecret.Name = name, name
		}, wantCode: "AADSTS7000215", wantText: []string{"client secret is wrong"}},
		{name: "unknown application", mutate: func(t *testing.T, spec *esv1.AzureKVProvider, _ string) {
			name := unique("unknown-")
			f.createSecret(t, f.ns, name, map[string]string{"client-id": "00000000-0000-4000-8000-000000000001", "client-secret": "x"})
			spec.AuthSecretRef.ClientID.Name, spec.AuthSecretRef.ClientSecret.Name = name, name
		}, wantCode: "AADSTS700016", wantText: []string{"check clientId, tenantId"}},
		{name: "tenant other than the vault's", mutate: func(_ *testing.T, spec *esv1.AzureKVProvider, _ string) {
			spec.TenantID = "00000000-0000-4000-8000-00000000beef"
		}, wantText: []string{"belongs to tenant \"" + f.srv.TenantID + "\"", "set tenantId"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec, id := f.secretApp(t, f.ns, azuretest.SecretsGet)
			tc.mutate(t, spec, id)
			cl := f.client(t, namespacedStore(f.ns, spec), f.ns)
			_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
			var ce *CredentialsError
			if !errors.As(err, &ce) || ce.Code != tc.wantCode {
				t.Fatalf("GetSecret = %v, want a *CredentialsError with code %s", err, tc.wantCode)
			}
			mustContain(t, "error", err.Error(), append(tc.wantText, f.vault, "Secret "+f.ns+"/")...)
		})
	}

	t.Run("token revoked by the vault", func(t *testing.T) {
		t.Parallel()
		g := newFixture(t)
		g.srv.SetSecret(g.vault, "s", "value", azuretest.ObjectOptions{})
		cl, _ := g.secretClient(t, azuretest.SecretsGet)
		if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
			t.Fatal(err)
		}
		g.srv.ExpireTokens()
		_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
		var ce *CredentialsError
		if !errors.As(err, &ce) {
			t.Fatalf("GetSecret = %v, want a *CredentialsError", err)
		}
		mustContain(t, "error", err.Error(), "Key Vault rejected the token", "TokenExpired")
	})
}

// TestErrorsNeverContainSecretsOrCredentials collects the errors of every
// failure mode and checks none carries a secret value, a client secret or
// a token.
func TestErrorsNeverContainSecretsOrCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const value = "v4lue-that-must-never-leak"
	f.srv.SetSecret(f.vault, "db", value, azuretest.ObjectOptions{Tags: map[string]string{"t": "x"}})
	f.srv.SetSecret(f.vault, "off", value, azuretest.ObjectOptions{Disabled: true})
	spec, id := f.secretApp(t, f.ns, azuretest.SecretsGet)
	cl := f.client(t, namespacedStore(f.ns, spec), f.ns)
	var clientSecret string
	{
		v, _, err := refs{provider.Refs{Kube: f.env.Client, Store: namespacedStore(f.ns, spec)}}.secretValue(t.Context(), "x", *spec.AuthSecretRef.ClientSecret)
		if err != nil {
			t.Fatal(err)
		}
		clientSecret = v
	}
	var errs []error
	read := func(c *Client, ref esv1.ExternalSecretDataRemoteRef) {
		if _, err := c.GetSecret(t.Context(), ref); err != nil {
			errs = append(errs, err)
		}
	}
	read(cl, esv1.ExternalSecretDataRemoteRef{Key: "missing"})
	read(cl, esv1.ExternalSecretDataRemoteRef{Key: "off"})
	read(cl, esv1.ExternalSecretDataRemoteRef{Key: "cert/db"})
	f.srv.Inject(azuretest.OpGetSecret, azuretest.Throttled(time.Millisecond, 10))
	read(cl, esv1.ExternalSecretDataRemoteRef{Key: "db"})
	f.srv.Inject(azuretest.OpGetSecret, azuretest.Fault{Status: 500, Code: "InternalError", Message: "boom", Times: 10})
	read(cl, esv1.ExternalSecretDataRemoteRef{Key: "db"})
	f.srv.ExpireTokens()
	read(cl, esv1.ExternalSecretDataRemoteRef{Key: "db"})
	if _, err := cl.Validate(t.Context()); err != nil {
		errs = append(errs, err)
	}
	// A wrong secret that is a prefix of the right one.
	name := unique("wrong-")
	f.createSecret(t, f.ns, name, map[string]string{"client-id": id, "client-secret": clientSecret[:len(clientSecret)-1]})
	wrong := *spec
	wrong.AuthSecretRef = &esv1.AzureKVAuth{ClientID: &esv1.SecretKeySelector{Name: name, Key: "client-id"}, ClientSecret: &esv1.SecretKeySelector{Name: name, Key: "client-secret"}}
	read(f.client(t, namespacedStore(f.ns, &wrong), f.ns), esv1.ExternalSecretDataRemoteRef{Key: "db"})
	if len(errs) < 8 {
		t.Fatalf("only %d of 8 failures failed: %v", len(errs), errs)
	}
	for _, err := range errs {
		msg := err.Error()
		for _, leak := range []string{value, clientSecret, clientSecret[:len(clientSecret)-1], "azt."} {
			if strings.Contains(msg, leak) {
				t.Errorf("error carries %q: %s", leak, msg)
			}
		}
	}
}
