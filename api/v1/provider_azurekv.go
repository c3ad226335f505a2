package v1

// AzureAuthType says how a store authenticates to Azure.
// +kubebuilder:validation:Enum=ServicePrincipal;ManagedIdentity;WorkloadIdentity
type AzureAuthType string

// The Azure authentication types.
const (
	// AzureServicePrincipal uses a client ID with a client secret or
	// certificate from authSecretRef. The default.
	AzureServicePrincipal AzureAuthType = "ServicePrincipal"
	// AzureManagedIdentity uses the managed identity of the node or pod.
	AzureManagedIdentity AzureAuthType = "ManagedIdentity"
	// AzureWorkloadIdentity exchanges a ServiceAccount token through Azure
	// AD workload identity federation.
	AzureWorkloadIdentity AzureAuthType = "WorkloadIdentity"
)

// AzureEnvironmentType is the Azure cloud a store talks to.
// +kubebuilder:validation:Enum=PublicCloud;USGovernmentCloud;ChinaCloud;GermanCloud;AzureStackCloud
type AzureEnvironmentType string

// The Azure clouds.
const (
	// AzureEnvironmentPublicCloud is the global Azure cloud. The default.
	AzureEnvironmentPublicCloud AzureEnvironmentType = "PublicCloud"
	// AzureEnvironmentUSGovernmentCloud is Azure Government.
	AzureEnvironmentUSGovernmentCloud AzureEnvironmentType = "USGovernmentCloud"
	// AzureEnvironmentChinaCloud is Azure China.
	AzureEnvironmentChinaCloud AzureEnvironmentType = "ChinaCloud"
	// AzureEnvironmentGermanCloud is the former Azure Germany.
	AzureEnvironmentGermanCloud AzureEnvironmentType = "GermanCloud"
	// AzureEnvironmentAzureStackCloud is Azure Stack Hub; its endpoints come
	// from customCloudConfig.
	AzureEnvironmentAzureStackCloud AzureEnvironmentType = "AzureStackCloud"
)

// AzureKVProvider reads Azure Key Vault.
type AzureKVProvider struct {
	// authType says how to authenticate: ServicePrincipal (authSecretRef),
	// ManagedIdentity (identityId) or WorkloadIdentity (serviceAccountRef).
	// When omitted, ServicePrincipal.
	// +optional
	AuthType AzureAuthType `json:"authType,omitempty"`

	// vaultUrl is the URL of the Key Vault, for example
	// "https://my-vault.vault.azure.net".
	// +required
	VaultURL string `json:"vaultUrl"`

	// tenantId is the Azure AD tenant, for ServicePrincipal and
	// WorkloadIdentity. It may also come from authSecretRef.tenantId.
	// +optional
	TenantID string `json:"tenantId,omitempty"`

	// environmentType is the Azure cloud. When omitted, PublicCloud.
	// +optional
	EnvironmentType AzureEnvironmentType `json:"environmentType,omitempty"`

	// authSecretRef holds the service principal's credentials.
	// +optional
	AuthSecretRef *AzureKVAuth `json:"authSecretRef,omitempty"`

	// serviceAccountRef names the ServiceAccount used for WorkloadIdentity.
	// When omitted, the controller's own ServiceAccount.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`

	// identityId is the client ID (or resource ID) of the managed identity,
	// for ManagedIdentity. When omitted, the only assigned identity.
	// +optional
	IdentityID string `json:"identityId,omitempty"`

	// useAzureSDK selects the Azure SDK for Go (azidentity/azsecrets) client
	// instead of the legacy autorest client. secretbridge always uses the
	// SDK; the field is accepted for compatibility. When omitted, false.
	// +optional
	UseAzureSDK bool `json:"useAzureSDK,omitempty"`

	// customCloudConfig gives the endpoints of a cloud that is not built in
	// (environmentType AzureStackCloud).
	// +optional
	CustomCloudConfig *AzureCustomCloudConfig `json:"customCloudConfig,omitempty"`
}

// AuthTypeOrDefault returns authType, or AzureServicePrincipal when it is
// omitted.
func (p AzureKVProvider) AuthTypeOrDefault() AzureAuthType {
	if p.AuthType == "" {
		return AzureServicePrincipal
	}
	return p.AuthType
}

// EnvironmentTypeOrDefault returns environmentType, or
// AzureEnvironmentPublicCloud when it is omitted.
func (p AzureKVProvider) EnvironmentTypeOrDefault() AzureEnvironmentType {
	if p.EnvironmentType == "" {
		return AzureEnvironmentPublicCloud
	}
	return p.EnvironmentType
}

// AzureKVAuth holds a service principal's credentials in Secret keys.
type AzureKVAuth struct {
	// clientId is a Secret key that holds the application (client) ID.
	// +optional
	ClientID *SecretKeySelector `json:"clientId,omitempty"`

	// tenantId is a Secret key that holds the tenant ID, when it is not set
	// in the provider.
	// +optional
	TenantID *SecretKeySelector `json:"tenantId,omitempty"`

	// clientSecret is a Secret key that holds the client secret.
	// +optional
	ClientSecret *SecretKeySelector `json:"clientSecret,omitempty"`

	// clientCertificate is a Secret key that holds a PEM client certificate
	// with its private key, used instead of clientSecret.
	// +optional
	ClientCertificate *SecretKeySelector `json:"clientCertificate,omitempty"`
}

// AzureCustomCloudConfig gives the endpoints of an Azure cloud that is not
// built in.
type AzureCustomCloudConfig struct {
	// activeDirectoryEndpoint is the Azure AD (Entra ID) authority host.
	// +required
	ActiveDirectoryEndpoint string `json:"activeDirectoryEndpoint"`

	// keyVaultEndpoint is the Key Vault resource endpoint.
	// +optional
	KeyVaultEndpoint string `json:"keyVaultEndpoint,omitempty"`

	// keyVaultDNSSuffix is the DNS suffix of Key Vaults in this cloud.
	// +optional
	KeyVaultDNSSuffix string `json:"keyVaultDNSSuffix,omitempty"`

	// resourceManagerEndpoint is the Azure Resource Manager endpoint.
	// +optional
	ResourceManagerEndpoint string `json:"resourceManagerEndpoint,omitempty"`
}
