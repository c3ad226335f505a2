package v1

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Reasons of a SecretStore's or ClusterSecretStore's Ready condition.
const (
	// ReasonStoreValid means the store's configuration was validated against
	// the provider.
	ReasonStoreValid = "Valid"
	// ReasonInvalidStoreConfiguration means the store's spec is unusable.
	ReasonInvalidStoreConfiguration = "InvalidStoreConfiguration"
	// ReasonInvalidProviderConfig means the provider client could not be
	// built from the spec (bad credentials reference, CA, URL…).
	ReasonInvalidProviderConfig = "InvalidProviderConfig"
	// ReasonValidationFailed means the provider rejected the validation.
	ReasonValidationFailed = "ValidationFailed"
	// ReasonValidationUnknown means the provider cannot validate the store
	// without a concrete secret to read (referent authentication).
	ReasonValidationUnknown = "ValidationUnknown"
)

// SecretStoreCapabilities says whether a store can read, write or both.
type SecretStoreCapabilities string

// The store capabilities.
const (
	// SecretStoreReadOnly stores can only be read.
	SecretStoreReadOnly SecretStoreCapabilities = "ReadOnly"
	// SecretStoreWriteOnly stores can only be written.
	SecretStoreWriteOnly SecretStoreCapabilities = "WriteOnly"
	// SecretStoreReadWrite stores can be read and written.
	SecretStoreReadWrite SecretStoreCapabilities = "ReadWrite"
)

// SecretStore connects to an external secret manager. It serves only
// ExternalSecrets in its own namespace and reads credentials only from it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Namespaced,shortName=ss,categories=external-secrets
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Capabilities",type=string,JSONPath=`.status.capabilities`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type SecretStore struct {
	// apiVersion and kind identify the schema of the object.
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which provider to use and how to authenticate.
	// +required
	Spec SecretStoreSpec `json:"spec"`

	// status is the observed state, written by the controller.
	// +optional
	Status SecretStoreStatus `json:"status,omitempty"`
}

// SecretStoreList is a list of SecretStores.
//
// +kubebuilder:object:root=true
type SecretStoreList struct {
	// apiVersion and kind identify the schema of the object.
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the SecretStores.
	// +required
	Items []SecretStore `json:"items"`
}

// ClusterSecretStore connects to an external secret manager for
// ExternalSecrets in any namespace its conditions admit.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Cluster,shortName=css,categories=external-secrets
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Capabilities",type=string,JSONPath=`.status.capabilities`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type ClusterSecretStore struct {
	// apiVersion and kind identify the schema of the object.
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which provider to use, how to authenticate and which
	// namespaces may use the store.
	// +required
	Spec SecretStoreSpec `json:"spec"`

	// status is the observed state, written by the controller.
	// +optional
	Status SecretStoreStatus `json:"status,omitempty"`
}

// ClusterSecretStoreList is a list of ClusterSecretStores.
//
// +kubebuilder:object:root=true
type ClusterSecretStoreList struct {
	// apiVersion and kind identify the schema of the object.
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ClusterSecretStores.
	// +required
	Items []ClusterSecretStore `json:"items"`
}

// SecretStoreSpec is the spec shared by SecretStore and ClusterSecretStore.
type SecretStoreSpec struct {
	// controller selects the controller instance (class) that serves this
	// store. When omitted, the store is served by a controller started
	// without a class.
	// +optional
	Controller string `json:"controller,omitempty"`

	// provider configures exactly one provider.
	// +required
	Provider SecretStoreProvider `json:"provider"`

	// retrySettings limit and space the retries of failed provider calls.
	// When omitted, the controller's backoff applies.
	// +optional
	RetrySettings *SecretStoreRetrySettings `json:"retrySettings,omitempty"`

	// refreshInterval is how often the store is re-validated: an integer
	// number of seconds or a Go duration string. When omitted (or 0), the
	// controller's default applies.
	// +optional
	RefreshInterval *intstr.IntOrString `json:"refreshInterval,omitempty"`

	// conditions restrict which namespaces may use a ClusterSecretStore; a
	// namespace matching any condition may. When omitted, every namespace
	// may. Ignored on a SecretStore.
	// +optional
	Conditions []ClusterSecretStoreCondition `json:"conditions,omitempty"`
}

// RefreshIntervalDuration returns spec.refreshInterval as a duration: an
// integer is a number of seconds, a string a Go duration. It returns 0 when
// the field is omitted, meaning "use the controller's default".
func (s SecretStoreSpec) RefreshIntervalDuration() (time.Duration, error) {
	if s.RefreshInterval == nil {
		return 0, nil
	}
	if s.RefreshInterval.Type == intstr.Int {
		return time.Duration(s.RefreshInterval.IntValue()) * time.Second, nil
	}
	d, err := time.ParseDuration(s.RefreshInterval.StrVal)
	if err != nil {
		return 0, fmt.Errorf("spec.refreshInterval %q is neither a number of seconds nor a duration: %w", s.RefreshInterval.StrVal, err)
	}
	return d, nil
}

// SecretStoreProvider holds the configuration of exactly one provider.
//
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:MaxProperties=1
type SecretStoreProvider struct {
	// aws reads AWS Secrets Manager or Parameter Store.
	// +optional
	AWS *AWSProvider `json:"aws,omitempty"`

	// azurekv reads Azure Key Vault.
	// +optional
	AzureKV *AzureKVProvider `json:"azurekv,omitempty"`

	// gcpsm reads Google Cloud Secret Manager.
	// +optional
	GCPSM *GCPSMProvider `json:"gcpsm,omitempty"`

	// kubernetes reads Secrets of a (possibly remote) Kubernetes cluster.
	// +optional
	Kubernetes *KubernetesProvider `json:"kubernetes,omitempty"`

	// vault reads HashiCorp Vault.
	// +optional
	Vault *VaultProvider `json:"vault,omitempty"`

	// fake serves fixed data from memory, for examples and tests.
	// +optional
	Fake *FakeProvider `json:"fake,omitempty"`
}

// SecretStoreRetrySettings limit and space the retries of failed provider
// calls.
type SecretStoreRetrySettings struct {
	// maxRetries is how many times a failed call is retried.
	// +optional
	MaxRetries *int32 `json:"maxRetries,omitempty"`

	// retryInterval is the wait between retries, as a Go duration.
	// +optional
	RetryInterval *string `json:"retryInterval,omitempty"`
}

// ClusterSecretStoreCondition admits namespaces to a ClusterSecretStore. A
// namespace is admitted if it matches any of the fields.
type ClusterSecretStoreCondition struct {
	// namespaceSelector admits namespaces by label.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// namespaces admits namespaces by name.
	// +optional
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespaces []string `json:"namespaces,omitempty"`

	// namespaceRegexes admits namespaces whose name matches one of these
	// regular expressions (RE2 syntax).
	// +optional
	NamespaceRegexes []string `json:"namespaceRegexes,omitempty"`
}

// SecretStoreStatus is the observed state of a SecretStore or
// ClusterSecretStore.
type SecretStoreStatus struct {
	// conditions are Ready (with reasons Valid, InvalidStoreConfiguration,
	// InvalidProviderConfig, ValidationFailed, ValidationUnknown) and the
	// kstatus conditions Reconciling and Stalled.
	// +optional
	Conditions []SecretStoreStatusCondition `json:"conditions,omitempty"`

	// capabilities says whether the store can be read (ReadOnly), written
	// (WriteOnly) or both (ReadWrite).
	// +optional
	Capabilities SecretStoreCapabilities `json:"capabilities,omitempty"`
}

// SecretStoreStatusCondition is one status condition of a store.
type SecretStoreStatusCondition struct {
	// type is the condition type, for example Ready.
	// +required
	Type ConditionType `json:"type"`

	// status is True, False or Unknown.
	// +required
	Status corev1.ConditionStatus `json:"status"`

	// reason is a CamelCase code for the condition's last transition.
	// +optional
	Reason string `json:"reason,omitempty"`

	// message is a human-readable account of the condition, naming the
	// cause of a failure. It never contains secret values.
	// +optional
	Message string `json:"message,omitempty"`

	// lastTransitionTime is when the status last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}
