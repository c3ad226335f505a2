package v1

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultClusterExternalSecretRefreshTime is how often a
// ClusterExternalSecret re-evaluates its namespaces when spec.refreshTime is
// omitted.
const DefaultClusterExternalSecretRefreshTime = time.Minute

// ClusterExternalSecret creates the same ExternalSecret in every namespace
// that its selectors match, and removes it from namespaces that stop
// matching.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Cluster,shortName=ces,categories=external-secrets
// +kubebuilder:printcolumn:name="Store",type=string,JSONPath=`.spec.externalSecretSpec.secretStoreRef.name`
// +kubebuilder:printcolumn:name="Refresh Interval",type=string,JSONPath=`.spec.refreshTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type ClusterExternalSecret struct {
	// apiVersion and kind identify the schema of the object.
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which ExternalSecret to create and in which namespaces.
	// +required
	Spec ClusterExternalSecretSpec `json:"spec"`

	// status is the observed state, written by the controller.
	// +optional
	Status ClusterExternalSecretStatus `json:"status,omitempty"`
}

// ClusterExternalSecretList is a list of ClusterExternalSecrets.
//
// +kubebuilder:object:root=true
type ClusterExternalSecretList struct {
	// apiVersion and kind identify the schema of the object.
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ClusterExternalSecrets.
	// +required
	Items []ClusterExternalSecret `json:"items"`
}

// ClusterExternalSecretSpec says which ExternalSecret to create and where.
type ClusterExternalSecretSpec struct {
	// externalSecretSpec is the spec of the ExternalSecret created in each
	// matched namespace.
	// +required
	ExternalSecretSpec ExternalSecretSpec `json:"externalSecretSpec"`

	// externalSecretName is the name of the ExternalSecrets created. When
	// omitted, the ClusterExternalSecret's name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	ExternalSecretName string `json:"externalSecretName,omitempty"`

	// externalSecretMetadata holds labels and annotations put on the
	// ExternalSecrets created.
	// +optional
	ExternalSecretMetadata *ExternalSecretMetadata `json:"externalSecretMetadata,omitempty"`

	// namespaceSelector selects namespaces by label. Deprecated: use
	// namespaceSelectors, which it is ORed with.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// namespaceSelectors select namespaces by label; a namespace matched by
	// any of them is used.
	// +optional
	NamespaceSelectors []*metav1.LabelSelector `json:"namespaceSelectors,omitempty"`

	// namespaces lists namespaces by name, in addition to those the
	// selectors match.
	// +optional
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespaces []string `json:"namespaces,omitempty"`

	// refreshTime is how often the namespaces are re-evaluated, as a Go
	// duration ("1m", "10m"). When omitted, 1m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|(([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+))$`
	RefreshInterval *metav1.Duration `json:"refreshTime,omitempty"`
}

// RefreshTimeOrDefault returns spec.refreshTime, or
// DefaultClusterExternalSecretRefreshTime when it is omitted.
func (s ClusterExternalSecretSpec) RefreshTimeOrDefault() time.Duration {
	if s.RefreshInterval == nil {
		return DefaultClusterExternalSecretRefreshTime
	}
	return s.RefreshInterval.Duration
}

// ExternalSecretNameOrDefault returns externalSecretName, or the
// ClusterExternalSecret's name when it is omitted.
func (s ClusterExternalSecretSpec) ExternalSecretNameOrDefault(clusterExternalSecretName string) string {
	if s.ExternalSecretName == "" {
		return clusterExternalSecretName
	}
	return s.ExternalSecretName
}

// ExternalSecretMetadata is the metadata put on the ExternalSecrets a
// ClusterExternalSecret creates.
type ExternalSecretMetadata struct {
	// annotations are added to each ExternalSecret.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// labels are added to each ExternalSecret.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// ClusterExternalSecretStatus is the observed state of a
// ClusterExternalSecret.
type ClusterExternalSecretStatus struct {
	// externalSecretName is the name of the ExternalSecrets created.
	// +optional
	ExternalSecretName string `json:"externalSecretName,omitempty"`

	// failedNamespaces lists the namespaces where the ExternalSecret could
	// not be created or updated, with the reason.
	// +optional
	FailedNamespaces []ClusterExternalSecretNamespaceFailure `json:"failedNamespaces,omitempty"`

	// provisionedNamespaces lists the namespaces where the ExternalSecret
	// exists and is up to date.
	// +optional
	ProvisionedNamespaces []string `json:"provisionedNamespaces,omitempty"`

	// conditions are Ready and the kstatus conditions Reconciling and
	// Stalled.
	// +optional
	Conditions []ClusterExternalSecretStatusCondition `json:"conditions,omitempty"`
}

// ClusterExternalSecretNamespaceFailure says why a namespace could not be
// provisioned.
type ClusterExternalSecretNamespaceFailure struct {
	// namespace is the namespace that failed.
	// +required
	Namespace string `json:"namespace"`

	// reason says why.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// ClusterExternalSecretStatusCondition is one status condition of a
// ClusterExternalSecret.
type ClusterExternalSecretStatusCondition struct {
	// type is the condition type, for example Ready.
	// +required
	Type ConditionType `json:"type"`

	// status is True, False or Unknown.
	// +required
	Status corev1.ConditionStatus `json:"status"`

	// message is a human-readable account of the condition.
	// +optional
	Message string `json:"message,omitempty"`
}
