package azure

import (
	"errors"
	"slices"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

func TestValidateStore(t *testing.T) {
	t.Parallel()
	const vault = "https://my-vault.vault.azure.net"
	const tenant = "8f1c2a3b-0000-4000-8000-00000000a2e1"
	sel := func(key string) *esv1.SecretKeySelector { return &esv1.SecretKeySelector{Name: "azure", Key: key} }
	sp := &esv1.AzureKVAuth{ClientID: sel("id"), ClientSecret: sel("secret")}
	cases := []struct {
		name      string
		spec      *esv1.AzureKVProvider
		retry     *esv1.SecretStoreRetrySettings
		wantField string // empty: valid
		wantText  string
	}{
		{name: "service principal with secret", spec: &esv1.AzureKVProvider{VaultURL: vault, TenantID: tenant, AuthSecretRef: sp}},
		{name: "service principal with certificate, tenant from Secret", spec: &esv1.AzureKVProvider{VaultURL: vault + "/", AuthSecretRef: &esv1.AzureKVAuth{ClientID: sel("id"), ClientCertificate: sel("tls.pem"), TenantID: sel("tenant")}}},
		{name: "workload identity", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureWorkloadIdentity, ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "sa"}}},
		{name: "managed identity by client ID", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureManagedIdentity, IdentityID: tenant}},
		{name: "managed identity by resource ID", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureManagedIdentity, IdentityID: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"}},
		{name: "government cloud", spec: &esv1.AzureKVProvider{VaultURL: "https://v.vault.usgovcloudapi.net", EnvironmentType: esv1.AzureEnvironmentUSGovernmentCloud, AuthType: esv1.AzureManagedIdentity}},
		{name: "azure stack", spec: &esv1.AzureKVProvider{VaultURL: "https://v.vault.local.azurestack.external", EnvironmentType: esv1.AzureEnvironmentAzureStackCloud, AuthType: esv1.AzureManagedIdentity,
			CustomCloudConfig: &esv1.AzureCustomCloudConfig{ActiveDirectoryEndpoint: "https://adfs.local.azurestack.external/adfs", KeyVaultEndpoint: "https://vault.local.azurestack.external", KeyVaultDNSSuffix: "vault.local.azurestack.external"}}},
		{name: "retry settings", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureManagedIdentity}, retry: &esv1.SecretStoreRetrySettings{MaxRetries: ptr[int32](5), RetryInterval: ptr("2s")}},
		{name: "no vault URL", spec: &esv1.AzureKVProvider{TenantID: tenant, AuthSecretRef: sp}, wantField: ".vaultUrl", wantText: "is empty"},
		{name: "http vault URL", spec: &esv1.AzureKVProvider{VaultURL: "http://my-vault.vault.azure.net", TenantID: tenant, AuthSecretRef: sp}, wantField: ".vaultUrl", wantText: "https"},
		{name: "vault URL with path", spec: &esv1.AzureKVProvider{VaultURL: vault + "/secrets/x", TenantID: tenant, AuthSecretRef: sp}, wantField: ".vaultUrl", wantText: "base URL"},
		{name: "vault of another cloud", spec: &esv1.AzureKVProvider{VaultURL: "https://v.vault.azure.cn", TenantID: tenant, AuthSecretRef: sp}, wantField: ".environmentType", wantText: "set environmentType: ChinaCloud"},
		{name: "unknown cloud", spec: &esv1.AzureKVProvider{VaultURL: vault, EnvironmentType: "Mars", TenantID: tenant, AuthSecretRef: sp}, wantField: ".environmentType", wantText: "not an Azure cloud"},
		{name: "azure stack without config", spec: &esv1.AzureKVProvider{VaultURL: vault, EnvironmentType: esv1.AzureEnvironmentAzureStackCloud, AuthType: esv1.AzureManagedIdentity}, wantField: ".customCloudConfig.activeDirectoryEndpoint", wantText: "is required"},
		{name: "custom config on public cloud", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureManagedIdentity, CustomCloudConfig: &esv1.AzureCustomCloudConfig{ActiveDirectoryEndpoint: "https://x"}}, wantField: ".customCloudConfig", wantText: "AzureStackCloud"},
		{name: "unknown auth type", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: "Password"}, wantField: ".authType", wantText: "not an auth type"},
		{name: "service principal without authSecretRef", spec: &esv1.AzureKVProvider{VaultURL: vault, TenantID: tenant}, wantField: ".authSecretRef", wantText: "is required"},
		{name: "service principal without client ID", spec: &esv1.AzureKVProvider{VaultURL: vault, TenantID: tenant, AuthSecretRef: &esv1.AzureKVAuth{ClientSecret: sel("s")}}, wantField: ".authSecretRef.clientId", wantText: "is required"},
		{name: "service principal without secret", spec: &esv1.AzureKVProvider{VaultURL: vault, TenantID: tenant, AuthSecretRef: &esv1.AzureKVAuth{ClientID: sel("id")}}, wantField: ".authSecretRef.clientSecret", wantText: "clientCertificate"},
		{name: "secret and certificate", spec: &esv1.AzureKVProvider{VaultURL: vault, TenantID: tenant, AuthSecretRef: &esv1.AzureKVAuth{ClientID: sel("id"), ClientSecret: sel("s"), ClientCertificate: sel("c")}}, wantField: ".authSecretRef", wantText: "not both"},
		{name: "service principal without tenant", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthSecretRef: sp}, wantField: ".tenantId", wantText: "is required"},
		{name: "bad tenant", spec: &esv1.AzureKVProvider{VaultURL: vault, TenantID: "my tenant", AuthSecretRef: sp}, wantField: ".tenantId", wantText: "not a tenant ID"},
		{name: "service principal with identityId", spec: &esv1.AzureKVProvider{VaultURL: vault, TenantID: tenant, AuthSecretRef: sp, IdentityID: tenant}, wantField: field, wantText: "not read with authType ServicePrincipal"},
		{name: "workload identity with client secret", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureWorkloadIdentity, AuthSecretRef: sp}, wantField: ".authSecretRef", wantText: "not read with authType WorkloadIdentity"},
		{name: "workload identity with identityId", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureWorkloadIdentity, IdentityID: tenant}, wantField: ".identityId"},
		{name: "workload identity with empty ServiceAccount", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureWorkloadIdentity, ServiceAccountRef: &esv1.ServiceAccountSelector{}}, wantField: ".serviceAccountRef.name"},
		{name: "managed identity with bad ID", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureManagedIdentity, IdentityID: "my-identity"}, wantField: ".identityId", wantText: "neither a client ID"},
		{name: "managed identity with authSecretRef", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureManagedIdentity, AuthSecretRef: sp}, wantField: field, wantText: "not read with authType ManagedIdentity"},
		{name: "negative retries", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureManagedIdentity}, retry: &esv1.SecretStoreRetrySettings{MaxRetries: ptr[int32](-1)}, wantField: "spec.retrySettings.maxRetries"},
		{name: "bad retry interval", spec: &esv1.AzureKVProvider{VaultURL: vault, AuthType: esv1.AzureManagedIdentity}, retry: &esv1.SecretStoreRetrySettings{RetryInterval: ptr("soon")}, wantField: "spec.retrySettings.retryInterval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := namespacedStore("ns", tc.spec)
			store.Spec.RetrySettings = tc.retry
			err := Provider{}.ValidateStore(store)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("ValidateStore: %v", err)
				}
				return
			}
			var ce *provider.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ValidateStore = %v, want a *provider.ConfigError", err)
			}
			if !strings.HasSuffix(ce.Field, tc.wantField) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("ValidateStore = %q (field %s), want field …%s and %q", err, ce.Field, tc.wantField, tc.wantText)
			}
		})
	}
}

func TestEnvironments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          esv1.AzureEnvironmentType
		wantAuthority string
		wantScope     string
	}{
		{name: "", wantAuthority: "https://login.microsoftonline.com/", wantScope: "https://vault.azure.net/.default"},
		{name: esv1.AzureEnvironmentPublicCloud, wantAuthority: "https://login.microsoftonline.com/", wantScope: "https://vault.azure.net/.default"},
		{name: esv1.AzureEnvironmentUSGovernmentCloud, wantAuthority: "https://login.microsoftonline.us/", wantScope: "https://vault.usgovcloudapi.net/.default"},
		{name: esv1.AzureEnvironmentChinaCloud, wantAuthority: "https://login.chinacloudapi.cn/", wantScope: "https://vault.azure.cn/.default"},
		{name: esv1.AzureEnvironmentGermanCloud, wantAuthority: "https://login.microsoftonline.de/", wantScope: "https://vault.microsoftazure.de/.default"},
	}
	for _, tc := range cases {
		t.Run(string(tc.name)+"_", func(t *testing.T) {
			t.Parallel()
			env, err := environmentOf(&esv1.AzureKVProvider{EnvironmentType: tc.name})
			if err != nil {
				t.Fatal(err)
			}
			if env.authority != tc.wantAuthority || env.scope() != tc.wantScope {
				t.Fatalf("authority %s scope %s, want %s and %s", env.authority, env.scope(), tc.wantAuthority, tc.wantScope)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	if !slices.Contains(provider.Registered(), Name) {
		t.Fatalf("provider %q is not registered: %v", Name, provider.Registered())
	}
	p, name, err := provider.ForStore(&esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{AzureKV: &esv1.AzureKVProvider{}}})
	if err != nil || name != Name {
		t.Fatalf("ForStore = %v, %q, %v", p, name, err)
	}
	known := strings.Join(provider.KnownEndpoints(), "\n")
	mustContain(t, "known endpoints", known, endpointLogin+" (", endpointVault+" (", endpointIMDS+" (")
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		key      string
		want     object
		wantText string
	}{
		{name: "bare name is a secret", key: "db-password", want: object{kind: kindSecret, name: "db-password"}},
		{name: "secret prefix", key: "secret/db", want: object{kind: kindSecret, name: "db"}},
		{name: "certificate prefix", key: "cert/tls", want: object{kind: kindCert, name: "tls"}},
		{name: "key prefix", key: "key/signing", want: object{kind: kindKey, name: "signing"}},
		{name: "unknown prefix", key: "blob/x", wantText: "not secret/, cert/ or key/"},
		{name: "bad name", key: "secret/db_password", wantText: "letters, digits and dashes"},
		{name: "empty", key: "", wantText: "letters, digits and dashes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseKey(tc.key)
			if tc.wantText != "" {
				var ce *provider.ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("parseKey(%q) = %v, want a ConfigError with %q", tc.key, err, tc.wantText)
				}
				return
			}
			tc.want.key = tc.key
			if err != nil || got != tc.want {
				t.Fatalf("parseKey(%q) = %+v, %v, want %+v", tc.key, got, err, tc.want)
			}
		})
	}
}
