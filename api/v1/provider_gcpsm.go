package v1

// SecretVersionSelectionPolicy says which version a GCP read falls back to.
// Not an enum in the schema, matching the upstream API.
type SecretVersionSelectionPolicy string

// The secret version selection policies.
const (
	// SecretVersionSelectionPolicyLatestOrFail reads the requested version
	// and fails if it is not enabled. The default.
	SecretVersionSelectionPolicyLatestOrFail SecretVersionSelectionPolicy = "LatestOrFail"
	// SecretVersionSelectionPolicyLatestOrFetch falls back to the newest
	// enabled version when "latest" is disabled or destroyed.
	SecretVersionSelectionPolicyLatestOrFetch SecretVersionSelectionPolicy = "LatestOrFetch"
)

// GCPSMProvider reads Google Cloud Secret Manager.
type GCPSMProvider struct {
	// auth says where the GCP credentials come from. When omitted,
	// Application Default Credentials.
	// +optional
	Auth *GCPSMAuth `json:"auth,omitempty"`

	// projectID is the GCP project that holds the secrets. When omitted,
	// taken from the credentials.
	// +optional
	ProjectID string `json:"projectID,omitempty"`

	// location selects a regional Secret Manager endpoint, for example
	// "europe-west1". When omitted, the global endpoint.
	// +optional
	Location string `json:"location,omitempty"`

	// secretVersionSelectionPolicy says what happens when the requested
	// version is disabled or destroyed: LatestOrFail (fail) or LatestOrFetch
	// (use the newest enabled version). When omitted, LatestOrFail.
	// +optional
	SecretVersionSelectionPolicy SecretVersionSelectionPolicy `json:"secretVersionSelectionPolicy,omitempty"`
}

// SecretVersionSelectionPolicyOrDefault returns secretVersionSelectionPolicy,
// or SecretVersionSelectionPolicyLatestOrFail when it is omitted.
func (p GCPSMProvider) SecretVersionSelectionPolicyOrDefault() SecretVersionSelectionPolicy {
	if p.SecretVersionSelectionPolicy == "" {
		return SecretVersionSelectionPolicyLatestOrFail
	}
	return p.SecretVersionSelectionPolicy
}

// GCPSMAuth says where GCP credentials come from.
type GCPSMAuth struct {
	// secretRef holds a service account JSON key.
	// +optional
	SecretRef *GCPSMAuthSecretRef `json:"secretRef,omitempty"`

	// workloadIdentity uses GKE workload identity through a Kubernetes
	// ServiceAccount.
	// +optional
	WorkloadIdentity *GCPWorkloadIdentity `json:"workloadIdentity,omitempty"`

	// workloadIdentityFederation exchanges an external token (Kubernetes,
	// AWS, or a token endpoint) for GCP credentials.
	// +optional
	WorkloadIdentityFederation *GCPWorkloadIdentityFederation `json:"workloadIdentityFederation,omitempty"`
}

// GCPSMAuthSecretRef holds a service account JSON key in a Secret key.
type GCPSMAuthSecretRef struct {
	// secretAccessKeySecretRef is a Secret key that holds the service
	// account JSON key.
	// +optional
	SecretAccessKey *SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
}

// GCPWorkloadIdentity uses GKE workload identity: a Kubernetes
// ServiceAccount token is exchanged for the GCP service account it is bound
// to.
type GCPWorkloadIdentity struct {
	// serviceAccountRef names the Kubernetes ServiceAccount.
	// +required
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`

	// clusterLocation is the GKE cluster's location. When omitted, read from
	// the metadata server.
	// +optional
	ClusterLocation string `json:"clusterLocation,omitempty"`

	// clusterName is the GKE cluster's name. When omitted, read from the
	// metadata server.
	// +optional
	ClusterName string `json:"clusterName,omitempty"`

	// clusterProjectID is the GKE cluster's project. When omitted, the
	// provider's projectID.
	// +optional
	ClusterProjectID string `json:"clusterProjectID,omitempty"`
}

// GCPWorkloadIdentityFederation exchanges an external token for GCP
// credentials through a workload identity pool.
type GCPWorkloadIdentityFederation struct {
	// credConfig is a ConfigMap key that holds the credential configuration
	// JSON of the workload identity pool provider.
	// +optional
	CredConfig *ConfigMapReference `json:"credConfig,omitempty"`

	// serviceAccountRef names a Kubernetes ServiceAccount whose token is the
	// external token.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`

	// awsSecurityCredentials uses AWS credentials from a Secret as the
	// external identity.
	// +optional
	AwsSecurityCredentials *AwsCredentialsConfig `json:"awsSecurityCredentials,omitempty"`

	// audience is the workload identity pool provider's audience. When
	// omitted, taken from credConfig.
	// +optional
	Audience string `json:"audience,omitempty"`

	// externalTokenEndpoint is a URL that returns the external token.
	// +optional
	ExternalTokenEndpoint string `json:"externalTokenEndpoint,omitempty"`

	// gcpServiceAccountEmail is the GCP service account to impersonate after
	// the exchange, for example "reader@project.iam.gserviceaccount.com".
	// +optional
	// +kubebuilder:validation:Pattern=`^.*@.*\.iam\.gserviceaccount\.com$`
	GCPServiceAccountEmail string `json:"gcpServiceAccountEmail,omitempty"`
}

// AwsCredentialsConfig points at AWS credentials used as the external
// identity of workload identity federation.
type AwsCredentialsConfig struct {
	// region is the AWS region of the credentials.
	// +required
	// +kubebuilder:validation:MaxLength=50
	// +kubebuilder:validation:Pattern=`^[a-z0-9-]+$`
	Region string `json:"region"`

	// awsCredentialsSecretRef names the Secret that holds
	// aws_access_key_id, aws_secret_access_key and, optionally,
	// aws_session_token.
	// +required
	AwsCredentialsSecretRef SecretReference `json:"awsCredentialsSecretRef"`
}

// SecretReference names a whole Secret.
type SecretReference struct {
	// name is the name of the Secret.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// namespace is the namespace of the Secret. It is honoured only on a
	// ClusterSecretStore.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// ConfigMapReference points at one key of a ConfigMap.
type ConfigMapReference struct {
	// name is the name of the ConfigMap.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key is the key of the ConfigMap.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`

	// namespace is the namespace of the ConfigMap. It is honoured only on a
	// ClusterSecretStore.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}
