package v1

// This file holds the small reference types that several kinds and providers
// share: pointers at a key of a Secret, at a ServiceAccount, at a CA bundle.

// SecretKeySelector points at one key of a Kubernetes Secret.
//
// In a SecretStore the Secret is always read from the store's own namespace
// and namespace is ignored. In a ClusterSecretStore a selector without
// namespace is resolved in the namespace of the ExternalSecret that uses the
// store ("referent" authentication).
type SecretKeySelector struct {
	// name is the name of the Secret.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`

	// namespace is the namespace of the Secret. It is honoured only on
	// cluster-scoped resources; a namespaced SecretStore reads its own namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// key is the key inside the Secret's data. Some providers accept an
	// omitted key and then fall back to a provider-specific default.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// ServiceAccountSelector points at a Kubernetes ServiceAccount whose
// short-lived token (requested with the TokenRequest API) is used to log in.
type ServiceAccountSelector struct {
	// name is the name of the ServiceAccount.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// namespace is the namespace of the ServiceAccount. It is honoured only on
	// a ClusterSecretStore; when omitted there, the ExternalSecret's namespace
	// is used.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// audiences are the audiences requested for the ServiceAccount token.
	// When omitted, the provider's default audience is used.
	// +optional
	Audiences []string `json:"audiences,omitempty"`
}

// CAProviderType says which kind of object holds a CA bundle.
// +kubebuilder:validation:Enum=Secret;ConfigMap
type CAProviderType string

// The kinds of object a CAProvider may read.
const (
	// CAProviderTypeSecret reads the CA bundle from a Secret.
	CAProviderTypeSecret CAProviderType = "Secret"
	// CAProviderTypeConfigMap reads the CA bundle from a ConfigMap.
	CAProviderTypeConfigMap CAProviderType = "ConfigMap"
)

// CAProvider points at a Secret or ConfigMap key that holds PEM-encoded CA
// certificates used to verify a provider's TLS certificate.
type CAProvider struct {
	// type is the kind of object that holds the bundle: Secret or ConfigMap.
	// +required
	Type CAProviderType `json:"type"`

	// name is the name of the Secret or ConfigMap.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key is the key of the Secret or ConfigMap that holds the bundle.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`

	// namespace is the namespace of the Secret or ConfigMap. It is required
	// (and honoured) only on a ClusterSecretStore; a SecretStore reads its own
	// namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}
