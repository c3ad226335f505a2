package v1

// VaultKVStoreVersion is the version of a Vault KV secrets engine.
// +kubebuilder:validation:Enum=v1;v2
type VaultKVStoreVersion string

// The Vault KV engine versions.
const (
	// VaultKVStoreV1 is KV version 1: secrets live at <mount>/<key>.
	VaultKVStoreV1 VaultKVStoreVersion = "v1"
	// VaultKVStoreV2 is KV version 2: secrets live at <mount>/data/<key>.
	// The default.
	VaultKVStoreV2 VaultKVStoreVersion = "v2"
)

// Default Vault auth mount paths, used when the corresponding path field is
// omitted.
const (
	// DefaultVaultAppRolePath is the mount path of the AppRole method.
	DefaultVaultAppRolePath = "approle"
	// DefaultVaultKubernetesPath is the mount path of the Kubernetes method.
	DefaultVaultKubernetesPath = "kubernetes"
	// DefaultVaultJWTPath is the mount path of the JWT/OIDC method.
	DefaultVaultJWTPath = "jwt"
	// DefaultVaultCertPath is the mount path of the TLS certificate method.
	DefaultVaultCertPath = "cert"
	// DefaultVaultLDAPPath is the mount path of the LDAP method.
	DefaultVaultLDAPPath = "ldap"
	// DefaultVaultUserPassPath is the mount path of the userpass method.
	DefaultVaultUserPassPath = "userpass"
	// DefaultVaultGCPPath is the mount path of the GCP method.
	DefaultVaultGCPPath = "gcp"
	// DefaultVaultIAMPath is the mount path of the AWS method.
	DefaultVaultIAMPath = "aws"
)

// VaultProvider reads secrets from HashiCorp Vault.
type VaultProvider struct {
	// auth says how to log in to Vault; the first method configured wins.
	// When omitted, the store cannot authenticate and reports it.
	// +optional
	Auth *VaultAuth `json:"auth,omitempty"`

	// server is the address of the Vault server, for example
	// "https://vault.example.com:8200".
	// +required
	Server string `json:"server"`

	// path is the mount path of the KV secrets engine, for example "secret".
	// Keys are read relative to it. When omitted, the mount is taken from
	// the key itself.
	// +optional
	Path *string `json:"path,omitempty"`

	// version is the version of the KV secrets engine: v1 or v2. When
	// omitted, v2.
	// +optional
	Version VaultKVStoreVersion `json:"version,omitempty"`

	// namespace is the Vault Enterprise namespace to read from. When
	// omitted, the root namespace.
	// +optional
	Namespace *string `json:"namespace,omitempty"`

	// caBundle holds PEM-encoded CA certificates that verify the server's
	// TLS certificate. When omitted (and caProvider too), the system roots.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`

	// tls holds a client certificate and key for mutual TLS with the server.
	// +optional
	ClientTLS *VaultClientTLS `json:"tls,omitempty"`

	// caProvider reads the CA bundle from a Secret or ConfigMap instead of
	// caBundle.
	// +optional
	CAProvider *CAProvider `json:"caProvider,omitempty"`

	// readYourWrites makes reads wait until the node has seen this client's
	// writes (Vault Enterprise performance standbys).
	// +optional
	ReadYourWrites bool `json:"readYourWrites,omitempty"`

	// forwardInconsistent forwards reads that a performance standby cannot
	// yet answer consistently to the active node.
	// +optional
	ForwardInconsistent bool `json:"forwardInconsistent,omitempty"`

	// headers are extra HTTP headers sent with every request to Vault.
	// +optional
	Headers map[string]string `json:"headers,omitempty"`

	// checkAndSet configures check-and-set for writes to KV v2.
	// +optional
	CheckAndSet *VaultCheckAndSet `json:"checkAndSet,omitempty"`
}

// VersionOrDefault returns version, or VaultKVStoreV2 when it is omitted.
func (p VaultProvider) VersionOrDefault() VaultKVStoreVersion {
	if p.Version == "" {
		return VaultKVStoreV2
	}
	return p.Version
}

// VaultCheckAndSet configures check-and-set for writes to KV v2.
type VaultCheckAndSet struct {
	// required makes every write carry the version it replaces, so that
	// concurrent writers cannot overwrite each other.
	// +optional
	Required bool `json:"required,omitempty"`
}

// VaultClientTLS holds a client certificate and key for mutual TLS.
type VaultClientTLS struct {
	// certSecretRef is a Secret key that holds the PEM-encoded client
	// certificate.
	// +optional
	CertSecretRef *SecretKeySelector `json:"certSecretRef,omitempty"`

	// keySecretRef is a Secret key that holds the PEM-encoded private key.
	// +optional
	KeySecretRef *SecretKeySelector `json:"keySecretRef,omitempty"`
}

// VaultAuth lists the ways to log in to Vault. The first one configured is
// used.
type VaultAuth struct {
	// namespace is the Vault Enterprise namespace to log in to, when it
	// differs from the provider's namespace. It applies to login only.
	// +optional
	Namespace *string `json:"namespace,omitempty"`

	// tokenSecretRef is a Secret key that holds a Vault token.
	// +optional
	TokenSecretRef *SecretKeySelector `json:"tokenSecretRef,omitempty"`

	// appRole logs in with the AppRole method.
	// +optional
	AppRole *VaultAppRole `json:"appRole,omitempty"`

	// kubernetes logs in with the Kubernetes method, using a ServiceAccount
	// token.
	// +optional
	Kubernetes *VaultKubernetesAuth `json:"kubernetes,omitempty"`

	// ldap logs in with the LDAP method.
	// +optional
	Ldap *VaultLdapAuth `json:"ldap,omitempty"`

	// jwt logs in with the JWT/OIDC method.
	// +optional
	Jwt *VaultJwtAuth `json:"jwt,omitempty"`

	// cert logs in with the TLS certificate method.
	// +optional
	Cert *VaultCertAuth `json:"cert,omitempty"`

	// iam logs in with the AWS IAM method.
	// +optional
	Iam *VaultIamAuth `json:"iam,omitempty"`

	// userPass logs in with the userpass method.
	// +optional
	UserPass *VaultUserPassAuth `json:"userPass,omitempty"`

	// gcp logs in with the GCP method.
	// +optional
	GCP *VaultGCPAuth `json:"gcp,omitempty"`
}

// VaultAppRole logs in with the AppRole method.
type VaultAppRole struct {
	// path is the mount path of the AppRole method. When omitted, "approle".
	// +optional
	Path string `json:"path,omitempty"`

	// roleId is the role ID. Use roleRef to read it from a Secret instead.
	// +optional
	RoleID string `json:"roleId,omitempty"`

	// roleRef is a Secret key that holds the role ID.
	// +optional
	RoleRef *SecretKeySelector `json:"roleRef,omitempty"`

	// secretRef is a Secret key that holds the secret ID.
	// +required
	SecretRef SecretKeySelector `json:"secretRef"`
}

// PathOrDefault returns path, or DefaultVaultAppRolePath when it is omitted.
func (a VaultAppRole) PathOrDefault() string {
	return stringOrDefault(a.Path, DefaultVaultAppRolePath)
}

// VaultKubernetesAuth logs in with the Kubernetes method. The JWT comes from
// serviceAccountRef (a TokenRequest), from secretRef, or, when neither is set,
// from the controller's own ServiceAccount.
type VaultKubernetesAuth struct {
	// mountPath is the mount path of the Kubernetes method. When omitted,
	// "kubernetes".
	// +optional
	Path string `json:"mountPath,omitempty"`

	// serviceAccountRef names the ServiceAccount whose short-lived token is
	// used to log in.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`

	// secretRef is a Secret key that holds a ServiceAccount token to log in
	// with.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`

	// role is the Vault role to log in as.
	// +required
	Role string `json:"role"`
}

// PathOrDefault returns mountPath, or DefaultVaultKubernetesPath when it is
// omitted.
func (a VaultKubernetesAuth) PathOrDefault() string {
	return stringOrDefault(a.Path, DefaultVaultKubernetesPath)
}

// VaultLdapAuth logs in with the LDAP method.
type VaultLdapAuth struct {
	// path is the mount path of the LDAP method. When omitted, "ldap".
	// +optional
	Path string `json:"path,omitempty"`

	// username is the LDAP user name.
	// +required
	Username string `json:"username"`

	// secretRef is a Secret key that holds the LDAP password.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
}

// PathOrDefault returns path, or DefaultVaultLDAPPath when it is omitted.
func (a VaultLdapAuth) PathOrDefault() string {
	return stringOrDefault(a.Path, DefaultVaultLDAPPath)
}

// VaultUserPassAuth logs in with the userpass method.
type VaultUserPassAuth struct {
	// path is the mount path of the userpass method. When omitted,
	// "userpass".
	// +optional
	Path string `json:"path,omitempty"`

	// username is the user name.
	// +required
	Username string `json:"username"`

	// secretRef is a Secret key that holds the password.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
}

// PathOrDefault returns path, or DefaultVaultUserPassPath when it is omitted.
func (a VaultUserPassAuth) PathOrDefault() string {
	return stringOrDefault(a.Path, DefaultVaultUserPassPath)
}

// VaultJwtAuth logs in with the JWT/OIDC method. The JWT comes from
// secretRef or from a ServiceAccount token (kubernetesServiceAccountToken).
type VaultJwtAuth struct {
	// path is the mount path of the JWT method. When omitted, "jwt".
	// +optional
	Path string `json:"path,omitempty"`

	// role is the Vault role to log in as. When omitted, the method's
	// default role.
	// +optional
	Role string `json:"role,omitempty"`

	// secretRef is a Secret key that holds the JWT.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`

	// kubernetesServiceAccountToken requests a ServiceAccount token with the
	// TokenRequest API and logs in with it.
	// +optional
	KubernetesServiceAccountToken *VaultKubernetesServiceAccountTokenAuth `json:"kubernetesServiceAccountToken,omitempty"`
}

// PathOrDefault returns path, or DefaultVaultJWTPath when it is omitted.
func (a VaultJwtAuth) PathOrDefault() string {
	return stringOrDefault(a.Path, DefaultVaultJWTPath)
}

// VaultKubernetesServiceAccountTokenAuth requests a ServiceAccount token for
// the JWT method.
type VaultKubernetesServiceAccountTokenAuth struct {
	// serviceAccountRef names the ServiceAccount.
	// +required
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`

	// audiences are the token's audiences. Deprecated: use
	// serviceAccountRef.audiences. When omitted, serviceAccountRef.audiences,
	// else "vault".
	// +optional
	Audiences []string `json:"audiences,omitempty"`

	// expirationSeconds is the requested lifetime of the token. When
	// omitted, 600 seconds.
	// +optional
	ExpirationSeconds *int64 `json:"expirationSeconds,omitempty"`
}

// VaultCertAuth logs in with the TLS certificate method.
type VaultCertAuth struct {
	// path is the mount path of the cert method. When omitted, "cert".
	// +optional
	Path string `json:"path,omitempty"`

	// vaultRole is the Vault role to log in as. When omitted, any role whose
	// certificate matches.
	// +optional
	VaultRole string `json:"vaultRole,omitempty"`

	// clientCert is a Secret key that holds the PEM-encoded client
	// certificate.
	// +optional
	ClientCert *SecretKeySelector `json:"clientCert,omitempty"`

	// secretRef is a Secret key that holds the PEM-encoded private key.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
}

// PathOrDefault returns path, or DefaultVaultCertPath when it is omitted.
func (a VaultCertAuth) PathOrDefault() string {
	return stringOrDefault(a.Path, DefaultVaultCertPath)
}

// VaultIamAuth logs in with the AWS IAM method. AWS credentials come from
// secretRef, from jwt (web identity of a ServiceAccount), or from the SDK's
// default chain.
type VaultIamAuth struct {
	// path is the mount path of the AWS method. When omitted, "aws".
	// +optional
	Path string `json:"path,omitempty"`

	// region is the AWS region for STS. When omitted, the SDK's default.
	// +optional
	Region string `json:"region,omitempty"`

	// role is an AWS IAM role ARN to assume before logging in.
	// +optional
	AWSIAMRole string `json:"role,omitempty"`

	// vaultRole is the Vault role to log in as.
	// +required
	Role string `json:"vaultRole"`

	// externalID is the external ID used when assuming role.
	// +optional
	ExternalID string `json:"externalID,omitempty"`

	// vaultAwsIamServerID is sent as the X-Vault-AWS-IAM-Server-ID header
	// to guard against replay.
	// +optional
	VaultAWSIAMServerID string `json:"vaultAwsIamServerID,omitempty"`

	// secretRef holds static AWS credentials.
	// +optional
	SecretRef *AWSAuthSecretRef `json:"secretRef,omitempty"`

	// jwt authenticates to AWS with a ServiceAccount token (web identity).
	// +optional
	JWTAuth *AWSJWTAuth `json:"jwt,omitempty"`
}

// PathOrDefault returns path, or DefaultVaultIAMPath when it is omitted.
func (a VaultIamAuth) PathOrDefault() string {
	return stringOrDefault(a.Path, DefaultVaultIAMPath)
}

// VaultGCPAuth logs in with the GCP method. GCP credentials come from
// secretRef, workloadIdentity, serviceAccountRef, or Application Default
// Credentials.
type VaultGCPAuth struct {
	// path is the mount path of the GCP method. When omitted, "gcp".
	// +optional
	Path string `json:"path,omitempty"`

	// role is the Vault role to log in as.
	// +required
	Role string `json:"role"`

	// projectID is the GCP project of the identity. When omitted, taken from
	// the credentials.
	// +optional
	ProjectID string `json:"projectID,omitempty"`

	// location is the GCP location (region or zone) used for workload
	// identity. When omitted, taken from the environment.
	// +optional
	Location string `json:"location,omitempty"`

	// secretRef holds a GCP service account key.
	// +optional
	SecretRef *GCPSMAuthSecretRef `json:"secretRef,omitempty"`

	// workloadIdentity uses GKE workload identity through a Kubernetes
	// ServiceAccount.
	// +optional
	WorkloadIdentity *GCPWorkloadIdentity `json:"workloadIdentity,omitempty"`

	// serviceAccountRef names a Kubernetes ServiceAccount whose token is
	// exchanged for GCP credentials.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}

// PathOrDefault returns path, or DefaultVaultGCPPath when it is omitted.
func (a VaultGCPAuth) PathOrDefault() string {
	return stringOrDefault(a.Path, DefaultVaultGCPPath)
}

func stringOrDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
