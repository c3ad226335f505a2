package vault

import (
	"errors"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// The provider is registered under spec.provider.vault.
func TestRegistered(t *testing.T) {
	spec := &esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{}}}
	p, name, err := provider.ForStore(spec)
	if err != nil || name != Name {
		t.Fatalf("ForStore: %v, %q, %v", p, name, err)
	}
	if _, ok := p.(Provider); !ok {
		t.Fatalf("ForStore returned %T", p)
	}
}

// ValidateStore refuses, without a network call, what cannot work, naming
// the field.
func TestValidateStore(t *testing.T) {
	sel := esv1.SecretKeySelector{Name: "s", Key: "k"}
	token := &esv1.VaultAuth{TokenSecretRef: &sel}
	cases := []struct {
		name  string
		spec  esv1.VaultProvider
		field string // "" when valid
	}{
		{"valid", esv1.VaultProvider{Server: "https://vault:8200", Auth: token}, ""},
		{"seed", esv1.VaultProvider{Server: "https://vault.example.com:8200", Path: ptr("kubernetes"), Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
			Path: "/var/run/secrets/kubernetes.io/serviceaccount", Role: "r", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "external-secrets"},
		}}}, ""},
		{"no server", esv1.VaultProvider{Auth: token}, "spec.provider.vault.server"},
		{"server without scheme", esv1.VaultProvider{Server: "vault:8200", Auth: token}, "spec.provider.vault.server"},
		{"bad version", esv1.VaultProvider{Server: "http://v", Version: "v3", Auth: token}, "spec.provider.vault.version"},
		{"no auth", esv1.VaultProvider{Server: "http://v"}, "spec.provider.vault.auth"},
		{"empty auth", esv1.VaultProvider{Server: "http://v", Auth: &esv1.VaultAuth{}}, "spec.provider.vault.auth"},
		{"ldap", esv1.VaultProvider{Server: "http://v", Auth: &esv1.VaultAuth{Ldap: &esv1.VaultLdapAuth{Username: "u"}}}, "spec.provider.vault.auth.ldap"},
		{"appRole without role", esv1.VaultProvider{Server: "http://v", Auth: &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{SecretRef: sel}}}, "spec.provider.vault.auth.appRole"},
		{"kubernetes without role", esv1.VaultProvider{Server: "http://v", Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{}}}, "spec.provider.vault.auth.kubernetes.role"},
		{"jwt without source", esv1.VaultProvider{Server: "http://v", Auth: &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{Role: "r"}}}, "spec.provider.vault.auth.jwt"},
		{"jwt short token", esv1.VaultProvider{Server: "http://v", Auth: &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{KubernetesServiceAccountToken: &esv1.VaultKubernetesServiceAccountTokenAuth{
			ServiceAccountRef: esv1.ServiceAccountSelector{Name: "sa"}, ExpirationSeconds: ptr(int64(60)),
		}}}}, "spec.provider.vault.auth.jwt.kubernetesServiceAccountToken.expirationSeconds"},
		{"cert without any certificate", esv1.VaultProvider{Server: "https://v", Auth: &esv1.VaultAuth{Cert: &esv1.VaultCertAuth{}}}, "spec.provider.vault.auth.cert"},
		{"cert with half a pair", esv1.VaultProvider{Server: "https://v", Auth: &esv1.VaultAuth{Cert: &esv1.VaultCertAuth{ClientCert: &sel}}}, "spec.provider.vault.auth.cert"},
		{"userPass without password", esv1.VaultProvider{Server: "http://v", Auth: &esv1.VaultAuth{UserPass: &esv1.VaultUserPassAuth{Username: "u"}}}, "spec.provider.vault.auth.userPass.secretRef"},
		{"caProvider without key", esv1.VaultProvider{Server: "https://v", Auth: token, CAProvider: &esv1.CAProvider{Type: esv1.CAProviderTypeSecret, Name: "ca"}}, "spec.provider.vault.caProvider"},
		{"half a client certificate", esv1.VaultProvider{Server: "https://v", Auth: token, ClientTLS: &esv1.VaultClientTLS{CertSecretRef: &sel}}, "spec.provider.vault.tls"},
		{"token header", esv1.VaultProvider{Server: "https://v", Auth: token, Headers: map[string]string{"x-vault-token": "t"}}, "spec.provider.vault.headers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Provider{}.ValidateStore(clusterStore(&tc.spec))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("ValidateStore: %v", err)
				}
				return
			}
			var ce *provider.ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("ValidateStore: %v, want a *provider.ConfigError for %s", err, tc.field)
			}
		})
	}
	bad := clusterStore(&esv1.VaultProvider{Server: "http://v", Auth: token})
	bad.Spec.RetrySettings = &esv1.SecretStoreRetrySettings{RetryInterval: ptr("soon")}
	if err := (Provider{}).ValidateStore(bad); err == nil || !strings.Contains(err.Error(), "retryInterval") {
		t.Errorf("bad retryInterval: %v", err)
	}
}
