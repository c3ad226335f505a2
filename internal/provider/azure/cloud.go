package azure

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// environment is what differs between Azure clouds.
type environment struct {
	// name is the environmentType.
	name esv1.AzureEnvironmentType
	// authority is the Entra ID authority host, with a trailing slash.
	authority string
	// resource is Key Vault's resource (token audience) in this cloud.
	resource string
	// suffix is the DNS suffix of vault hosts.
	suffix string
}

// scope is the OAuth scope of Key Vault tokens.
func (e environment) scope() string { return strings.TrimSuffix(e.resource, "/") + "/.default" }

// builtinEnvironments are the clouds environmentType names, from Microsoft's
// published endpoints (GermanCloud is the retired Azure Germany, kept for
// compatibility).
var builtinEnvironments = map[esv1.AzureEnvironmentType]environment{
	esv1.AzureEnvironmentPublicCloud:       {authority: cloud.AzurePublic.ActiveDirectoryAuthorityHost, resource: "https://vault.azure.net", suffix: "vault.azure.net"},
	esv1.AzureEnvironmentUSGovernmentCloud: {authority: cloud.AzureGovernment.ActiveDirectoryAuthorityHost, resource: "https://vault.usgovcloudapi.net", suffix: "vault.usgovcloudapi.net"},
	esv1.AzureEnvironmentChinaCloud:        {authority: cloud.AzureChina.ActiveDirectoryAuthorityHost, resource: "https://vault.azure.cn", suffix: "vault.azure.cn"},
	esv1.AzureEnvironmentGermanCloud:       {authority: "https://login.microsoftonline.de/", resource: "https://vault.microsoftazure.de", suffix: "vault.microsoftazure.de"},
}

// environmentOf returns the cloud spec names: a built-in one, or
// customCloudConfig for AzureStackCloud.
func environmentOf(spec *esv1.AzureKVProvider) (environment, error) {
	name := spec.EnvironmentTypeOrDefault()
	if env, ok := builtinEnvironments[name]; ok {
		env.name = name
		if spec.CustomCloudConfig != nil {
			return environment{}, provider.NewConfigError(field+".customCloudConfig", "is only read for environmentType AzureStackCloud: remove it, or set environmentType: AzureStackCloud")
		}
		return env, nil
	}
	if name != esv1.AzureEnvironmentAzureStackCloud {
		return environment{}, provider.NewConfigError(field+".environmentType", "%q is not an Azure cloud: use PublicCloud, USGovernmentCloud, ChinaCloud, GermanCloud or AzureStackCloud", name)
	}
	c := spec.CustomCloudConfig
	if c == nil || c.ActiveDirectoryEndpoint == "" {
		return environment{}, provider.NewConfigError(field+".customCloudConfig.activeDirectoryEndpoint", "is required with environmentType AzureStackCloud: set the authority host of the cloud's Entra ID (or AD FS)")
	}
	if c.KeyVaultEndpoint == "" {
		return environment{}, provider.NewConfigError(field+".customCloudConfig.keyVaultEndpoint", "is required with environmentType AzureStackCloud: set the Key Vault resource of the cloud, e.g. https://vault.local.azurestack.external")
	}
	for f, v := range map[string]string{"activeDirectoryEndpoint": c.ActiveDirectoryEndpoint, "keyVaultEndpoint": c.KeyVaultEndpoint} {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			return environment{}, provider.NewConfigError(field+".customCloudConfig."+f, "%q is not an https URL", v)
		}
	}
	authority := c.ActiveDirectoryEndpoint
	if !strings.HasSuffix(authority, "/") {
		authority += "/"
	}
	return environment{name: name, authority: authority, resource: strings.TrimSuffix(c.KeyVaultEndpoint, "/"), suffix: strings.TrimPrefix(c.KeyVaultDNSSuffix, ".")}, nil
}

// checkVaultURL checks vaultUrl: an https URL of a vault host, in the cloud
// env names when the host is in a built-in cloud.
func checkVaultURL(raw string, env environment) (*url.URL, error) {
	const f = field + ".vaultUrl"
	if raw == "" {
		return nil, provider.NewConfigError(f, "is empty: set the vault's URL, e.g. https://my-vault.vault.azure.net")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, provider.NewConfigError(f, "%q is not a URL such as https://my-vault.vault.azure.net", raw)
	}
	if u.Scheme != "https" {
		return nil, provider.NewConfigError(f, "%q must use https: Key Vault accepts tokens only over TLS", raw)
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
		return nil, provider.NewConfigError(f, "%q must be the vault's base URL (https://<name>.%s), without a path, query or user", raw, env.suffix)
	}
	host := u.Hostname()
	for name, other := range builtinEnvironments {
		if name != env.name && strings.HasSuffix(host, "."+other.suffix) && (env.suffix == "" || !strings.HasSuffix(host, "."+env.suffix)) {
			return nil, provider.NewConfigError(field+".environmentType", "is %s, but vaultUrl %q is a vault of %s: set environmentType: %s", env.name, raw, name, name)
		}
	}
	return u, nil
}

// vaultName returns the vault's name (the first label of its host), for
// messages.
func vaultName(u *url.URL) string {
	name, _, _ := strings.Cut(u.Hostname(), ".")
	return name
}

// String describes env for messages.
func (e environment) String() string { return fmt.Sprintf("%s (authority %s)", e.name, e.authority) }
