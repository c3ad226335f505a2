package v1

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations that secretbridge reads or writes on objects.
const (
	// LabelManaged marks a Secret as written and owned by an ExternalSecret.
	// Its value is LabelManagedValue.
	LabelManaged = "reconcile.external-secrets.io/managed"
	// LabelManagedValue is the value of LabelManaged on a managed Secret.
	LabelManagedValue = "true"
	// AnnotationDataHash holds a hash of the data last written to a managed
	// Secret; a Secret whose data no longer matches it has been tampered with
	// and is repaired on the next reconcile.
	AnnotationDataHash = "reconcile.external-secrets.io/data-hash"
	// AnnotationForceSync is the documented way to request an immediate
	// refresh: any change of its value (conventionally a timestamp) on an
	// ExternalSecret or ClusterExternalSecret triggers a sync.
	AnnotationForceSync = "external-secrets.io/force-sync"
)

// Defaults that the controller resolves in code when a field is omitted.
const (
	// DefaultRefreshInterval is the ExternalSecret refresh interval used when
	// spec.refreshInterval is omitted.
	DefaultRefreshInterval = time.Hour
	// DefaultGeneratorAPIVersion is the apiVersion of a generatorRef that
	// omits it.
	DefaultGeneratorAPIVersion = "generators.external-secrets.io/v1alpha1"
)

// ExternalSecretCreationPolicy says how the target Secret is created and
// who owns it.
// +kubebuilder:validation:Enum=Owner;Orphan;Merge;None;CreateOrMerge
type ExternalSecretCreationPolicy string

// The creation policies of an ExternalSecret target.
const (
	// CreatePolicyOwner creates the Secret with an owner reference to the
	// ExternalSecret, so it is garbage collected with it. The default.
	CreatePolicyOwner ExternalSecretCreationPolicy = "Owner"
	// CreatePolicyOrphan creates or updates the Secret without an owner
	// reference; it survives the ExternalSecret.
	CreatePolicyOrphan ExternalSecretCreationPolicy = "Orphan"
	// CreatePolicyMerge only updates an existing Secret; keys written by
	// others survive. A missing Secret is reported, not created.
	CreatePolicyMerge ExternalSecretCreationPolicy = "Merge"
	// CreatePolicyNone writes no Secret at all.
	CreatePolicyNone ExternalSecretCreationPolicy = "None"
	// CreatePolicyCreateOrMerge creates the Secret if it is missing and
	// otherwise merges into it like CreatePolicyMerge.
	CreatePolicyCreateOrMerge ExternalSecretCreationPolicy = "CreateOrMerge"
)

// ExternalSecretDeletionPolicy says what happens to the target Secret when the
// provider no longer has the data.
// +kubebuilder:validation:Enum=Delete;Merge;Retain
type ExternalSecretDeletionPolicy string

// The deletion policies of an ExternalSecret target.
const (
	// DeletionPolicyDelete deletes the Secret. Requires CreatePolicyOwner.
	DeletionPolicyDelete ExternalSecretDeletionPolicy = "Delete"
	// DeletionPolicyMerge removes only the keys the ExternalSecret wrote.
	DeletionPolicyMerge ExternalSecretDeletionPolicy = "Merge"
	// DeletionPolicyRetain keeps the Secret as it is and reports the loss.
	// The default.
	DeletionPolicyRetain ExternalSecretDeletionPolicy = "Retain"
)

// ExternalSecretRefreshPolicy says when an ExternalSecret is refreshed.
// +kubebuilder:validation:Enum=CreatedOnce;Periodic;OnChange
type ExternalSecretRefreshPolicy string

// The refresh policies of an ExternalSecret.
const (
	// RefreshPolicyCreatedOnce syncs once and never again after the first
	// success.
	RefreshPolicyCreatedOnce ExternalSecretRefreshPolicy = "CreatedOnce"
	// RefreshPolicyPeriodic syncs every refreshInterval. The default.
	RefreshPolicyPeriodic ExternalSecretRefreshPolicy = "Periodic"
	// RefreshPolicyOnChange syncs only when the ExternalSecret's generation,
	// labels or annotations change.
	RefreshPolicyOnChange ExternalSecretRefreshPolicy = "OnChange"
)

// ExternalSecretDecodingStrategy says how a fetched value is decoded before
// it is written.
// +kubebuilder:validation:Enum=Auto;Base64;Base64URL;None
type ExternalSecretDecodingStrategy string

// The decoding strategies.
const (
	// DecodingStrategyAuto decodes base64 or base64url if the value decodes,
	// and keeps it as it is otherwise.
	DecodingStrategyAuto ExternalSecretDecodingStrategy = "Auto"
	// DecodingStrategyBase64 decodes standard base64.
	DecodingStrategyBase64 ExternalSecretDecodingStrategy = "Base64"
	// DecodingStrategyBase64URL decodes URL-safe base64.
	DecodingStrategyBase64URL ExternalSecretDecodingStrategy = "Base64URL"
	// DecodingStrategyNone keeps the value as fetched. The default.
	DecodingStrategyNone ExternalSecretDecodingStrategy = "None"
)

// ExternalSecretConversionStrategy says how remote key names are converted.
// +kubebuilder:validation:Enum=Default;Unicode
type ExternalSecretConversionStrategy string

// The conversion strategies.
const (
	// ConversionStrategyDefault replaces characters that a Secret key may
	// not hold by "_". The default.
	ConversionStrategyDefault ExternalSecretConversionStrategy = "Default"
	// ConversionStrategyUnicode replaces them by their _UXXXX_ escape
	// (a/b becomes a_U002f_b).
	ConversionStrategyUnicode ExternalSecretConversionStrategy = "Unicode"
)

// ExternalSecretMetadataPolicy says whether a remote reference reads the
// secret's value or its metadata.
// +kubebuilder:validation:Enum=None;Fetch
type ExternalSecretMetadataPolicy string

// The metadata policies.
const (
	// MetadataPolicyNone reads the secret's value. The default.
	MetadataPolicyNone ExternalSecretMetadataPolicy = "None"
	// MetadataPolicyFetch reads the secret's metadata (tags, labels,
	// custom metadata) instead of its value.
	MetadataPolicyFetch ExternalSecretMetadataPolicy = "Fetch"
)

// ExternalSecretNullBytePolicy says what happens to values that contain a
// NUL byte.
// +kubebuilder:validation:Enum=Ignore;Fail
type ExternalSecretNullBytePolicy string

// The null byte policies.
const (
	// NullBytePolicyIgnore writes such values unchanged. The default.
	NullBytePolicyIgnore ExternalSecretNullBytePolicy = "Ignore"
	// NullBytePolicyFail fails the sync when a value contains a NUL byte.
	NullBytePolicyFail ExternalSecretNullBytePolicy = "Fail"
)

// SecretStoreKind is the kind of store an ExternalSecret reads from.
// +kubebuilder:validation:Enum=SecretStore;ClusterSecretStore
type SecretStoreKind string

// The store kinds an ExternalSecret may reference.
const (
	// SecretStoreKindSecretStore is a namespaced SecretStore. The default.
	SecretStoreKindSecretStore SecretStoreKind = "SecretStore"
	// SecretStoreKindClusterSecretStore is a ClusterSecretStore.
	SecretStoreKindClusterSecretStore SecretStoreKind = "ClusterSecretStore"
)

// GeneratorKind is the kind of a generator resource.
// +kubebuilder:validation:Enum=ACRAccessToken;BeyondtrustWorkloadCredentialsDynamicSecret;ClusterGenerator;CloudsmithAccessToken;ECRAuthorizationToken;Fake;GCRAccessToken;GithubAccessToken;GitlabDeployToken;QuayAccessToken;Password;SSHKey;STSSessionToken;UUID;VaultDynamicSecret;Webhook;Grafana;MFA
type GeneratorKind string

// The generator kinds. The generator resources themselves
// (generators.external-secrets.io) come in a later API group.
const (
	// GeneratorKindACRAccessToken issues an Azure Container Registry token.
	GeneratorKindACRAccessToken GeneratorKind = "ACRAccessToken"
	// GeneratorKindBeyondtrustWorkloadCredentialsDynamicSecret issues a
	// BeyondTrust dynamic secret.
	GeneratorKindBeyondtrustWorkloadCredentialsDynamicSecret GeneratorKind = "BeyondtrustWorkloadCredentialsDynamicSecret"
	// GeneratorKindClusterGenerator is a cluster-scoped wrapper of any
	// generator.
	GeneratorKindClusterGenerator GeneratorKind = "ClusterGenerator"
	// GeneratorKindCloudsmithAccessToken issues a Cloudsmith token.
	GeneratorKindCloudsmithAccessToken GeneratorKind = "CloudsmithAccessToken"
	// GeneratorKindECRAuthorizationToken issues an AWS ECR token.
	GeneratorKindECRAuthorizationToken GeneratorKind = "ECRAuthorizationToken"
	// GeneratorKindFake returns fixed data, for tests.
	GeneratorKindFake GeneratorKind = "Fake"
	// GeneratorKindGCRAccessToken issues a Google Container Registry token.
	GeneratorKindGCRAccessToken GeneratorKind = "GCRAccessToken"
	// GeneratorKindGithubAccessToken issues a GitHub App installation token.
	GeneratorKindGithubAccessToken GeneratorKind = "GithubAccessToken"
	// GeneratorKindGitlabDeployToken issues a GitLab deploy token.
	GeneratorKindGitlabDeployToken GeneratorKind = "GitlabDeployToken"
	// GeneratorKindQuayAccessToken issues a Quay robot token.
	GeneratorKindQuayAccessToken GeneratorKind = "QuayAccessToken"
	// GeneratorKindPassword generates a random password.
	GeneratorKindPassword GeneratorKind = "Password"
	// GeneratorKindSSHKey generates an SSH key pair.
	GeneratorKindSSHKey GeneratorKind = "SSHKey"
	// GeneratorKindSTSSessionToken issues AWS STS session credentials.
	GeneratorKindSTSSessionToken GeneratorKind = "STSSessionToken"
	// GeneratorKindUUID generates a random UUID.
	GeneratorKindUUID GeneratorKind = "UUID"
	// GeneratorKindVaultDynamicSecret reads a Vault dynamic secret.
	GeneratorKindVaultDynamicSecret GeneratorKind = "VaultDynamicSecret"
	// GeneratorKindWebhook calls an HTTP endpoint.
	GeneratorKindWebhook GeneratorKind = "Webhook"
	// GeneratorKindGrafana issues a Grafana service account token.
	GeneratorKindGrafana GeneratorKind = "Grafana"
	// GeneratorKindMFA generates a TOTP code.
	GeneratorKindMFA GeneratorKind = "MFA"
)

// SyncWindowKind says whether sync windows allow or deny periodic refreshes.
// +kubebuilder:validation:Enum=allow;deny
type SyncWindowKind string

// The sync window kinds.
const (
	// SyncWindowAllow permits periodic refreshes only inside the windows.
	SyncWindowAllow SyncWindowKind = "allow"
	// SyncWindowDeny forbids periodic refreshes inside the windows.
	SyncWindowDeny SyncWindowKind = "deny"
)

// TemplateEngineVersion is the version of the template engine.
// +kubebuilder:validation:Enum=v2
type TemplateEngineVersion string

// TemplateEngineV2 is the Go text/template engine with Sprig and the PEM,
// PKCS#12 and JWK helpers. The only, and default, engine.
const TemplateEngineV2 TemplateEngineVersion = "v2"

// TemplateMergePolicy says how template output combines with fetched data.
// +kubebuilder:validation:Enum=Replace;Merge
type TemplateMergePolicy string

// The template merge policies.
const (
	// MergePolicyReplace writes only the template output when the template
	// has data. The default.
	MergePolicyReplace TemplateMergePolicy = "Replace"
	// MergePolicyMerge writes the template output over the fetched data.
	MergePolicyMerge TemplateMergePolicy = "Merge"
)

// TemplateScope says how the items of a templateFrom source are used.
// +kubebuilder:validation:Enum=Values;KeysAndValues
type TemplateScope string

// The template scopes.
const (
	// TemplateScopeValues uses each value as a template. The default.
	TemplateScopeValues TemplateScope = "Values"
	// TemplateScopeKeysAndValues uses both keys and values as templates.
	TemplateScopeKeysAndValues TemplateScope = "KeysAndValues"
)

// TemplateTarget says which part of the target object a templateFrom source
// renders into. Not an enum in the schema, so new targets stay accepted.
type TemplateTarget string

// The template targets.
const (
	// TemplateTargetData renders into the Secret's data. The default.
	TemplateTargetData TemplateTarget = "Data"
	// TemplateTargetAnnotations renders into the Secret's annotations.
	TemplateTargetAnnotations TemplateTarget = "Annotations"
	// TemplateTargetLabels renders into the Secret's labels.
	TemplateTargetLabels TemplateTarget = "Labels"
)

// ExternalSecretRewriteMergeConflictPolicy says what a merge rewrite does
// when two sources produce the same key.
// +kubebuilder:validation:Enum=Ignore;Error
type ExternalSecretRewriteMergeConflictPolicy string

// The merge rewrite conflict policies.
const (
	// RewriteMergeConflictPolicyIgnore keeps the higher-priority value.
	RewriteMergeConflictPolicyIgnore ExternalSecretRewriteMergeConflictPolicy = "Ignore"
	// RewriteMergeConflictPolicyError fails the sync. The default.
	RewriteMergeConflictPolicyError ExternalSecretRewriteMergeConflictPolicy = "Error"
)

// ExternalSecretRewriteMergePriorityPolicy says what a merge rewrite does
// when a key listed in priority does not exist.
// +kubebuilder:validation:Enum=IgnoreNotFound;Strict
type ExternalSecretRewriteMergePriorityPolicy string

// The merge rewrite priority policies.
const (
	// RewriteMergePriorityPolicyIgnoreNotFound skips missing keys.
	RewriteMergePriorityPolicyIgnoreNotFound ExternalSecretRewriteMergePriorityPolicy = "IgnoreNotFound"
	// RewriteMergePriorityPolicyStrict fails the sync. The default.
	RewriteMergePriorityPolicyStrict ExternalSecretRewriteMergePriorityPolicy = "Strict"
)

// ExternalSecretRewriteMergeStrategy says how a merge rewrite combines
// values.
// +kubebuilder:validation:Enum=Extract;JSON
type ExternalSecretRewriteMergeStrategy string

// The merge rewrite strategies.
const (
	// RewriteMergeStrategyExtract merges the keys of each JSON value into
	// the top level. The default.
	RewriteMergeStrategyExtract ExternalSecretRewriteMergeStrategy = "Extract"
	// RewriteMergeStrategyJSON merges JSON values into one JSON document.
	RewriteMergeStrategyJSON ExternalSecretRewriteMergeStrategy = "JSON"
)

// ConditionType is the type of a status condition of any kind in this API.
type ConditionType string

// The condition types. Ready is the summary; Reconciling and Stalled follow
// kstatus so that Flux and Argo CD health checks understand the objects.
const (
	// ConditionReady is True when the object is in sync (or, for a store,
	// valid).
	ConditionReady ConditionType = "Ready"
	// ConditionDeleted is True when the target Secret was deleted because the
	// provider no longer has the data (deletionPolicy Delete).
	ConditionDeleted ConditionType = "Deleted"
	// ConditionReconciling is True while a change is being worked on.
	ConditionReconciling ConditionType = "Reconciling"
	// ConditionStalled is True when progress needs a change of the spec or
	// of the environment; the controller will not succeed by retrying alone.
	ConditionStalled ConditionType = "Stalled"
)

// Reasons of an ExternalSecret's Ready condition.
const (
	// ReasonSecretSynced means the target Secret holds the current data.
	ReasonSecretSynced = "SecretSynced"
	// ReasonSecretSyncedError means the last sync failed; the message carries
	// the cause.
	ReasonSecretSyncedError = "SecretSyncedError"
	// ReasonSecretDeleted means the target Secret was deleted because the
	// provider no longer has the data.
	ReasonSecretDeleted = "SecretDeleted"
	// ReasonSecretMissing means creationPolicy Merge found no Secret to
	// merge into.
	ReasonSecretMissing = "SecretMissing"
)

// ExternalSecret keeps a Kubernetes Secret in sync with data held by an
// external secret manager, read through a SecretStore or ClusterSecretStore.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Namespaced,shortName=es,categories=external-secrets
// +kubebuilder:printcolumn:name="Store",type=string,JSONPath=`.spec.secretStoreRef.name`
// +kubebuilder:printcolumn:name="Refresh Interval",type=string,JSONPath=`.spec.refreshInterval`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.refreshTime`
type ExternalSecret struct {
	// apiVersion and kind identify the schema of the object.
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says what to fetch and which Secret to write.
	// +required
	Spec ExternalSecretSpec `json:"spec"`

	// status is the observed state, written by the controller.
	// +optional
	Status ExternalSecretStatus `json:"status,omitempty"`
}

// ExternalSecretList is a list of ExternalSecrets.
//
// +kubebuilder:object:root=true
type ExternalSecretList struct {
	// apiVersion and kind identify the schema of the object.
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ExternalSecrets.
	// +required
	Items []ExternalSecret `json:"items"`
}

// ExternalSecretSpec says which store to read, what to read and which Secret
// to write.
//
// +kubebuilder:validation:XValidation:rule="(has(self.data) && size(self.data) > 0) || (has(self.dataFrom) && size(self.dataFrom) > 0)",message="data and dataFrom are both empty: list at least one data[] entry (secretKey + remoteRef) or one dataFrom[] entry (extract, find or sourceRef)"
type ExternalSecretSpec struct {
	// secretStoreRef names the SecretStore or ClusterSecretStore to read
	// from. Entries with their own sourceRef do not use it.
	// +optional
	SecretStoreRef *SecretStoreRef `json:"secretStoreRef,omitempty"`

	// target describes the Secret to write. When omitted, a Secret named
	// like the ExternalSecret, with creationPolicy Owner and deletionPolicy
	// Retain.
	// +optional
	Target *ExternalSecretTarget `json:"target,omitempty"`

	// refreshInterval is how often the data is fetched again, as a Go
	// duration ("1h", "15m", "30s"). "0s" syncs once and then only when the
	// ExternalSecret changes. When omitted, 1h.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|(([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+))$`
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`

	// refreshPolicy says when the data is fetched again: Periodic (every
	// refreshInterval), OnChange (only when the ExternalSecret's generation,
	// labels or annotations change) or CreatedOnce (never after the first
	// success). When omitted, Periodic.
	// +optional
	RefreshPolicy ExternalSecretRefreshPolicy `json:"refreshPolicy,omitempty"`

	// syncWindows restricts when periodic refreshes may run. Changes of the
	// ExternalSecret and force-sync requests are not gated. When omitted,
	// refreshes run at any time.
	// +optional
	SyncWindows *SyncWindows `json:"syncWindows,omitempty"`

	// data maps single remote values to keys of the target Secret. Entries
	// override keys produced by dataFrom. Each secretKey may appear only
	// once (the list is keyed by secretKey, so the API server refuses a
	// duplicate).
	// +optional
	// +listType=map
	// +listMapKey=secretKey
	Data []ExternalSecretData `json:"data,omitempty"`

	// dataFrom fetches whole remote secrets (extract), every secret matching
	// a search (find) or a generator's output (sourceRef), each producing
	// several keys. Later entries override earlier ones. At most 500
	// entries, which keeps the cost of the per-entry validation rule low.
	// +optional
	// +kubebuilder:validation:MaxItems=500
	DataFrom []ExternalSecretDataFromRemoteRef `json:"dataFrom,omitempty"`
}

// RefreshIntervalOrDefault returns spec.refreshInterval, or
// DefaultRefreshInterval when it is omitted. Zero means "do not refresh
// periodically".
func (s ExternalSecretSpec) RefreshIntervalOrDefault() time.Duration {
	if s.RefreshInterval == nil {
		return DefaultRefreshInterval
	}
	return s.RefreshInterval.Duration
}

// RefreshPolicyOrDefault returns spec.refreshPolicy, or RefreshPolicyPeriodic
// when it is omitted.
func (s ExternalSecretSpec) RefreshPolicyOrDefault() ExternalSecretRefreshPolicy {
	if s.RefreshPolicy == "" {
		return RefreshPolicyPeriodic
	}
	return s.RefreshPolicy
}

// TargetOrDefault returns spec.target, or an empty target (whose *OrDefault
// methods give the defaults) when it is omitted.
func (s ExternalSecretSpec) TargetOrDefault() ExternalSecretTarget {
	if s.Target == nil {
		return ExternalSecretTarget{}
	}
	return *s.Target
}

// SecretStoreRef names a SecretStore or ClusterSecretStore.
type SecretStoreRef struct {
	// name is the name of the store.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`

	// kind is SecretStore (in the ExternalSecret's namespace) or
	// ClusterSecretStore. When omitted, SecretStore.
	// +optional
	Kind SecretStoreKind `json:"kind,omitempty"`
}

// KindOrDefault returns kind, or SecretStoreKindSecretStore when it is
// omitted.
func (r SecretStoreRef) KindOrDefault() SecretStoreKind {
	if r.Kind == "" {
		return SecretStoreKindSecretStore
	}
	return r.Kind
}

// SyncWindows restricts periodic refreshes to (allow) or away from (deny) a
// set of time windows. Schedules are evaluated in UTC.
type SyncWindows struct {
	// kind says whether the windows allow or deny periodic refreshes.
	// +required
	Kind SyncWindowKind `json:"kind"`

	// windows are the time windows.
	// +required
	Windows []SyncWindow `json:"windows"`
}

// SyncWindow is a window that opens on a cron schedule and stays open for a
// duration.
type SyncWindow struct {
	// schedule is a five-field cron expression (UTC), a descriptor such as
	// "@daily", or "@every <duration>". The window opens at each activation.
	// +required
	// +kubebuilder:validation:Pattern=`^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\s]+.*|[^\s]+( [^\s]+){4})$`
	Schedule string `json:"schedule"`

	// duration is how long the window stays open after each activation, as a
	// Go duration ("2h", "30m").
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|(([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+))$`
	Duration metav1.Duration `json:"duration"`
}

// ExternalSecretTarget describes the Secret an ExternalSecret writes.
//
// +kubebuilder:validation:XValidation:rule="!has(self.deletionPolicy) || self.deletionPolicy != 'Delete' || !has(self.creationPolicy) || self.creationPolicy == 'Owner'",message="deletionPolicy Delete requires creationPolicy Owner (or creationPolicy omitted), because only an owned Secret may be deleted; set creationPolicy: Owner or choose deletionPolicy Retain or Merge",fieldPath=".deletionPolicy"
// +kubebuilder:validation:XValidation:rule="!has(self.deletionPolicy) || self.deletionPolicy != 'Merge' || !has(self.creationPolicy) || self.creationPolicy != 'None'",message="deletionPolicy Merge cannot be used with creationPolicy None, because no Secret is written to remove keys from; choose deletionPolicy Retain or another creationPolicy",fieldPath=".deletionPolicy"
type ExternalSecretTarget struct {
	// name is the name of the Secret to write, in the ExternalSecret's
	// namespace. When omitted, the ExternalSecret's name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`

	// creationPolicy says how the Secret is created and who owns it: Owner
	// (create it with an owner reference to the ExternalSecret), Orphan
	// (create or update it without an owner), Merge (only update an existing
	// Secret), CreateOrMerge (create it if missing, otherwise merge) or None
	// (write nothing). An existing Secret that is not managed is not taken
	// over under Owner. When omitted, Owner.
	// +optional
	CreationPolicy ExternalSecretCreationPolicy `json:"creationPolicy,omitempty"`

	// deletionPolicy says what happens when the provider no longer has the
	// data: Retain (keep the Secret and report it), Delete (delete the
	// Secret; needs creationPolicy Owner) or Merge (remove only the keys this
	// ExternalSecret wrote). When omitted, Retain.
	// +optional
	DeletionPolicy ExternalSecretDeletionPolicy `json:"deletionPolicy,omitempty"`

	// template shapes the Secret: its type, labels, annotations and data
	// rendered from the fetched values. When omitted, the fetched values are
	// written as they are into an Opaque Secret.
	// +optional
	Template *ExternalSecretTemplate `json:"template,omitempty"`

	// manifest writes a different kind of object (for example a ConfigMap)
	// instead of a Secret. When omitted, a Secret.
	// +optional
	Manifest *ManifestReference `json:"manifest,omitempty"`

	// immutable writes the Secret as immutable. A later change of the data
	// is then a terminal error. When omitted, false.
	// +optional
	Immutable bool `json:"immutable,omitempty"`
}

// NameOrDefault returns name, or the ExternalSecret's name when it is
// omitted.
func (t ExternalSecretTarget) NameOrDefault(externalSecretName string) string {
	if t.Name == "" {
		return externalSecretName
	}
	return t.Name
}

// CreationPolicyOrDefault returns creationPolicy, or CreatePolicyOwner when
// it is omitted.
func (t ExternalSecretTarget) CreationPolicyOrDefault() ExternalSecretCreationPolicy {
	if t.CreationPolicy == "" {
		return CreatePolicyOwner
	}
	return t.CreationPolicy
}

// DeletionPolicyOrDefault returns deletionPolicy, or DeletionPolicyRetain when
// it is omitted.
func (t ExternalSecretTarget) DeletionPolicyOrDefault() ExternalSecretDeletionPolicy {
	if t.DeletionPolicy == "" {
		return DeletionPolicyRetain
	}
	return t.DeletionPolicy
}

// ManifestReference names the kind of object written instead of a Secret.
type ManifestReference struct {
	// apiVersion is the API version of the object, for example "v1".
	// +required
	APIVersion string `json:"apiVersion"`

	// kind is the kind of the object, for example "ConfigMap".
	// +required
	Kind string `json:"kind"`
}

// ExternalSecretTemplate shapes the target Secret.
type ExternalSecretTemplate struct {
	// type is the Secret's type. Secrets of type
	// kubernetes.io/service-account-token and bootstrap.kubernetes.io/token
	// are issued by Kubernetes and cannot be written. When omitted, Opaque
	// (or the existing Secret's type).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self != 'kubernetes.io/service-account-token' && self != 'bootstrap.kubernetes.io/token'",message="type kubernetes.io/service-account-token and bootstrap.kubernetes.io/token cannot be written by an ExternalSecret, because Kubernetes issues those Secrets itself; use Opaque (or omit type) or another Secret type"
	Type corev1.SecretType `json:"type,omitempty"`

	// engineVersion is the template engine. Only v2 exists: Go text/template
	// with Sprig and PEM, PKCS#12 and JWK helpers. When omitted, v2.
	// +optional
	EngineVersion TemplateEngineVersion `json:"engineVersion,omitempty"`

	// metadata holds labels, annotations and finalizers for the Secret.
	// +optional
	Metadata *ExternalSecretTemplateMetadata `json:"metadata,omitempty"`

	// mergePolicy says how template output combines with the fetched data:
	// Replace (write only the template output when data is set) or Merge
	// (write the template output over the fetched data). When omitted,
	// Replace.
	// +optional
	MergePolicy TemplateMergePolicy `json:"mergePolicy,omitempty"`

	// data maps Secret keys to templates rendered over the fetched values.
	// +optional
	Data map[string]string `json:"data,omitempty"`

	// templateFrom reads further templates from ConfigMaps, Secrets or
	// literals.
	// +optional
	TemplateFrom []TemplateFrom `json:"templateFrom,omitempty"`
}

// EngineVersionOrDefault returns engineVersion, or TemplateEngineV2 when it is
// omitted.
func (t ExternalSecretTemplate) EngineVersionOrDefault() TemplateEngineVersion {
	if t.EngineVersion == "" {
		return TemplateEngineV2
	}
	return t.EngineVersion
}

// MergePolicyOrDefault returns mergePolicy, or MergePolicyReplace when it is
// omitted.
func (t ExternalSecretTemplate) MergePolicyOrDefault() TemplateMergePolicy {
	if t.MergePolicy == "" {
		return MergePolicyReplace
	}
	return t.MergePolicy
}

// ExternalSecretTemplateMetadata is the metadata written to the target
// Secret.
type ExternalSecretTemplateMetadata struct {
	// annotations are added to the Secret (values may be templates).
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// labels are added to the Secret (values may be templates).
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// finalizers are added to the Secret.
	// +optional
	Finalizers []string `json:"finalizers,omitempty"`
}

// TemplateFrom is one further source of templates: a ConfigMap, a Secret or
// a literal.
type TemplateFrom struct {
	// configMap reads templates from keys of a ConfigMap in the
	// ExternalSecret's namespace.
	// +optional
	ConfigMap *TemplateRef `json:"configMap,omitempty"`

	// secret reads templates from keys of a Secret in the ExternalSecret's
	// namespace.
	// +optional
	Secret *TemplateRef `json:"secret,omitempty"`

	// target is the part of the Secret the templates render into: Data,
	// Annotations or Labels. When omitted, Data.
	// +optional
	Target TemplateTarget `json:"target,omitempty"`

	// literal is a template given inline.
	// +optional
	Literal *string `json:"literal,omitempty"`

	// valuesDecodingStrategy decodes the values this entry renders (after
	// templating), for example to write binary data that a template
	// produced in base64. When omitted, None.
	// +optional
	ValuesDecodingStrategy ExternalSecretDecodingStrategy `json:"valuesDecodingStrategy,omitempty"`
}

// TargetOrDefault returns target, or TemplateTargetData when it is omitted.
func (t TemplateFrom) TargetOrDefault() TemplateTarget {
	if t.Target == "" {
		return TemplateTargetData
	}
	return t.Target
}

// TemplateRef names a ConfigMap or Secret and the keys that hold templates.
type TemplateRef struct {
	// name is the name of the ConfigMap or Secret.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// items are the keys to read.
	// +required
	Items []TemplateRefItem `json:"items"`
}

// TemplateRefItem is one key of a templateFrom ConfigMap or Secret.
type TemplateRefItem struct {
	// key is the key of the ConfigMap or Secret.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`

	// templateAs says whether only the value (Values) or both the key and
	// the value (KeysAndValues) are templates. When omitted, Values.
	// +optional
	TemplateAs TemplateScope `json:"templateAs,omitempty"`
}

// TemplateAsOrDefault returns templateAs, or TemplateScopeValues when it is
// omitted.
func (i TemplateRefItem) TemplateAsOrDefault() TemplateScope {
	if i.TemplateAs == "" {
		return TemplateScopeValues
	}
	return i.TemplateAs
}

// ExternalSecretData maps one remote value to one key of the target Secret.
type ExternalSecretData struct {
	// secretKey is the key of the target Secret that receives the value.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	SecretKey string `json:"secretKey"`

	// remoteRef says which remote value to read.
	// +required
	RemoteRef ExternalSecretDataRemoteRef `json:"remoteRef"`

	// sourceRef reads this entry from another store (storeRef) instead of
	// spec.secretStoreRef. When omitted, spec.secretStoreRef.
	// +optional
	SourceRef *StoreSourceRef `json:"sourceRef,omitempty"`
}

// ExternalSecretDataRemoteRef says which remote secret, version and property
// to read, and how to decode it.
type ExternalSecretDataRemoteRef struct {
	// key identifies the remote secret: a path, name or ARN, depending on
	// the provider.
	// +required
	Key string `json:"key"`

	// metadataPolicy says whether to read the secret's value (None) or its
	// metadata (Fetch). When omitted, None.
	// +optional
	MetadataPolicy ExternalSecretMetadataPolicy `json:"metadataPolicy,omitempty"`

	// property selects a value inside a structured secret: an exact
	// top-level key first, otherwise a gjson path. When omitted, the whole
	// secret.
	// +optional
	Property string `json:"property,omitempty"`

	// version selects a version of the remote secret, in the provider's
	// notation. When omitted, the current version.
	// +optional
	Version string `json:"version,omitempty"`

	// conversionStrategy says how characters that a Secret key may not hold
	// are converted in key names: Default (replaced by "_") or Unicode
	// (replaced by their _UXXXX_ escape). When omitted, Default.
	// +optional
	ConversionStrategy ExternalSecretConversionStrategy `json:"conversionStrategy,omitempty"`

	// decodingStrategy says how the value is decoded: None, Base64,
	// Base64URL or Auto (decoded if it decodes). When omitted, None.
	// +optional
	DecodingStrategy ExternalSecretDecodingStrategy `json:"decodingStrategy,omitempty"`

	// nullBytePolicy says what happens to a value with a NUL byte: Ignore
	// (written unchanged) or Fail. When omitted, Ignore.
	// +optional
	NullBytePolicy ExternalSecretNullBytePolicy `json:"nullBytePolicy,omitempty"`
}

// MetadataPolicyOrDefault returns metadataPolicy, or MetadataPolicyNone when
// it is omitted.
func (r ExternalSecretDataRemoteRef) MetadataPolicyOrDefault() ExternalSecretMetadataPolicy {
	if r.MetadataPolicy == "" {
		return MetadataPolicyNone
	}
	return r.MetadataPolicy
}

// ConversionStrategyOrDefault returns conversionStrategy, or
// ConversionStrategyDefault when it is omitted.
func (r ExternalSecretDataRemoteRef) ConversionStrategyOrDefault() ExternalSecretConversionStrategy {
	return conversionOrDefault(r.ConversionStrategy)
}

// DecodingStrategyOrDefault returns decodingStrategy, or DecodingStrategyNone
// when it is omitted.
func (r ExternalSecretDataRemoteRef) DecodingStrategyOrDefault() ExternalSecretDecodingStrategy {
	return decodingOrDefault(r.DecodingStrategy)
}

// NullBytePolicyOrDefault returns nullBytePolicy, or NullBytePolicyIgnore when
// it is omitted.
func (r ExternalSecretDataRemoteRef) NullBytePolicyOrDefault() ExternalSecretNullBytePolicy {
	return nullBytePolicyOrDefault(r.NullBytePolicy)
}

// ExternalSecretDataFromRemoteRef is one dataFrom entry. Exactly one of
// extract, find and sourceRef.generatorRef is set; sourceRef.storeRef may
// accompany extract or find to read from another store.
//
// +kubebuilder:validation:XValidation:rule="(has(self.extract) ? 1 : 0) + (has(self.find) ? 1 : 0) + ((has(self.sourceRef) && has(self.sourceRef.generatorRef)) ? 1 : 0) == 1",message="each dataFrom entry must set exactly one source: extract, find or sourceRef.generatorRef (sourceRef.storeRef only selects the store that an extract or find reads from); split an entry that sets several into separate dataFrom entries, or add the missing source"
type ExternalSecretDataFromRemoteRef struct {
	// extract reads one remote secret and writes each of its top-level JSON
	// keys as a key of the target Secret.
	// +optional
	Extract *ExternalSecretDataRemoteRef `json:"extract,omitempty"`

	// find reads every remote secret that matches a path, name or tags; each
	// becomes a key named after the remote secret.
	// +optional
	Find *ExternalSecretFind `json:"find,omitempty"`

	// rewrite changes the keys this entry produces, applied in order.
	// +optional
	Rewrite []ExternalSecretRewrite `json:"rewrite,omitempty"`

	// sourceRef reads this entry from a generator (generatorRef) or another
	// store (storeRef).
	// +optional
	SourceRef *StoreGeneratorSourceRef `json:"sourceRef,omitempty"`
}

// ExternalSecretFind selects remote secrets by path, name or tags.
type ExternalSecretFind struct {
	// path restricts the search to secrets under this path (prefix).
	// +optional
	Path *string `json:"path,omitempty"`

	// name matches secret names against a regular expression.
	// +optional
	Name *FindName `json:"name,omitempty"`

	// tags matches secrets that carry all of these tags (or labels).
	// +optional
	Tags map[string]string `json:"tags,omitempty"`

	// conversionStrategy says how characters that a Secret key may not hold
	// are converted in key names: Default (replaced by "_") or Unicode
	// (replaced by their _UXXXX_ escape). When omitted, Default.
	// +optional
	ConversionStrategy ExternalSecretConversionStrategy `json:"conversionStrategy,omitempty"`

	// decodingStrategy says how values are decoded: None, Base64, Base64URL
	// or Auto (decoded if it decodes). When omitted, None.
	// +optional
	DecodingStrategy ExternalSecretDecodingStrategy `json:"decodingStrategy,omitempty"`

	// nullBytePolicy says what happens to a value with a NUL byte: Ignore
	// (written unchanged) or Fail. When omitted, Ignore.
	// +optional
	NullBytePolicy ExternalSecretNullBytePolicy `json:"nullBytePolicy,omitempty"`
}

// ConversionStrategyOrDefault returns conversionStrategy, or
// ConversionStrategyDefault when it is omitted.
func (f ExternalSecretFind) ConversionStrategyOrDefault() ExternalSecretConversionStrategy {
	return conversionOrDefault(f.ConversionStrategy)
}

// DecodingStrategyOrDefault returns decodingStrategy, or DecodingStrategyNone
// when it is omitted.
func (f ExternalSecretFind) DecodingStrategyOrDefault() ExternalSecretDecodingStrategy {
	return decodingOrDefault(f.DecodingStrategy)
}

// NullBytePolicyOrDefault returns nullBytePolicy, or NullBytePolicyIgnore when
// it is omitted.
func (f ExternalSecretFind) NullBytePolicyOrDefault() ExternalSecretNullBytePolicy {
	return nullBytePolicyOrDefault(f.NullBytePolicy)
}

// FindName matches remote secret names.
type FindName struct {
	// regexp is a regular expression (RE2 syntax) that names must match.
	// +optional
	RegExp string `json:"regexp,omitempty"`
}

// ExternalSecretRewrite is one rewrite of the keys a dataFrom entry produces.
// Exactly one of merge, regexp and transform is set.
//
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:MaxProperties=1
type ExternalSecretRewrite struct {
	// merge combines the values of several keys into one.
	// +optional
	Merge *ExternalSecretRewriteMerge `json:"merge,omitempty"`

	// regexp replaces matches of a regular expression in key names.
	// +optional
	Regexp *ExternalSecretRewriteRegexp `json:"regexp,omitempty"`

	// transform renders each key name through a template.
	// +optional
	Transform *ExternalSecretRewriteTransform `json:"transform,omitempty"`
}

// ExternalSecretRewriteMerge combines the values of several keys, each a
// JSON object, into one.
type ExternalSecretRewriteMerge struct {
	// into is the key that receives the merged JSON document (strategy
	// JSON, where it is required). Strategy Extract ignores it and writes
	// the merged keys at the top level.
	// +optional
	Into string `json:"into,omitempty"`

	// priority lists keys whose values win conflicts, highest last.
	// +optional
	Priority []string `json:"priority,omitempty"`

	// priorityPolicy says what happens when a key listed in priority does
	// not exist: Strict (fail) or IgnoreNotFound. When omitted, Strict.
	// +optional
	PriorityPolicy ExternalSecretRewriteMergePriorityPolicy `json:"priorityPolicy,omitempty"`

	// conflictPolicy says what happens when two values set the same key:
	// Error (fail, even when priority would decide) or Ignore (priority and
	// then key order decide). When omitted, Error.
	// +optional
	ConflictPolicy ExternalSecretRewriteMergeConflictPolicy `json:"conflictPolicy,omitempty"`

	// strategy says how values are merged: Extract (their keys become
	// top-level keys) or JSON (one merged JSON document). When omitted,
	// Extract.
	// +optional
	Strategy ExternalSecretRewriteMergeStrategy `json:"strategy,omitempty"`
}

// ConflictPolicyOrDefault returns conflictPolicy, or
// RewriteMergeConflictPolicyError when it is omitted.
func (m ExternalSecretRewriteMerge) ConflictPolicyOrDefault() ExternalSecretRewriteMergeConflictPolicy {
	if m.ConflictPolicy == "" {
		return RewriteMergeConflictPolicyError
	}
	return m.ConflictPolicy
}

// PriorityPolicyOrDefault returns priorityPolicy, or
// RewriteMergePriorityPolicyStrict when it is omitted.
func (m ExternalSecretRewriteMerge) PriorityPolicyOrDefault() ExternalSecretRewriteMergePriorityPolicy {
	if m.PriorityPolicy == "" {
		return RewriteMergePriorityPolicyStrict
	}
	return m.PriorityPolicy
}

// StrategyOrDefault returns strategy, or RewriteMergeStrategyExtract when it
// is omitted.
func (m ExternalSecretRewriteMerge) StrategyOrDefault() ExternalSecretRewriteMergeStrategy {
	if m.Strategy == "" {
		return RewriteMergeStrategyExtract
	}
	return m.Strategy
}

// ExternalSecretRewriteRegexp replaces regular expression matches in key
// names.
type ExternalSecretRewriteRegexp struct {
	// source is the regular expression (RE2 syntax) to match.
	// +required
	Source string `json:"source"`

	// target is the replacement; it may use capture groups ($1, ${name}).
	// +required
	Target string `json:"target"`
}

// ExternalSecretRewriteTransform renders each key name through a template.
type ExternalSecretRewriteTransform struct {
	// template is a Go template; .value is the current key name.
	// +required
	Template string `json:"template"`
}

// StoreSourceRef reads a data entry from a source other than
// spec.secretStoreRef. Exactly one member is set.
//
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:MaxProperties=1
type StoreSourceRef struct {
	// storeRef names the store to read this entry from.
	// +optional
	SecretStoreRef *SecretStoreRef `json:"storeRef,omitempty"`

	// generatorRef names a generator whose output is used. Kept for
	// compatibility; prefer dataFrom[].sourceRef.generatorRef.
	// +optional
	GeneratorRef *GeneratorRef `json:"generatorRef,omitempty"`
}

// StoreGeneratorSourceRef reads a dataFrom entry from a generator or from
// another store. Exactly one member is set.
//
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:MaxProperties=1
type StoreGeneratorSourceRef struct {
	// storeRef names the store to read this entry from.
	// +optional
	SecretStoreRef *SecretStoreRef `json:"storeRef,omitempty"`

	// generatorRef names a generator whose output becomes the entry's keys.
	// +optional
	GeneratorRef *GeneratorRef `json:"generatorRef,omitempty"`
}

// GeneratorRef names a generator resource in the ExternalSecret's namespace
// (or a ClusterGenerator).
type GeneratorRef struct {
	// apiVersion is the generator's API version. When omitted,
	// generators.external-secrets.io/v1alpha1.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind is the generator's kind.
	// +required
	Kind GeneratorKind `json:"kind"`

	// name is the generator's name.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// APIVersionOrDefault returns apiVersion, or DefaultGeneratorAPIVersion when
// it is omitted.
func (g GeneratorRef) APIVersionOrDefault() string {
	if g.APIVersion == "" {
		return DefaultGeneratorAPIVersion
	}
	return g.APIVersion
}

// ExternalSecretStatus is the observed state of an ExternalSecret.
type ExternalSecretStatus struct {
	// refreshTime is when the data was last fetched and the target Secret
	// written.
	// +optional
	// +nullable
	RefreshTime *metav1.Time `json:"refreshTime,omitempty"`

	// syncedResourceVersion identifies the ExternalSecret version last
	// synced: "<generation>-<hash of labels and annotations>".
	// +optional
	SyncedResourceVersion string `json:"syncedResourceVersion,omitempty"`

	// conditions are Ready (with reasons SecretSynced, SecretSyncedError,
	// SecretDeleted, SecretMissing), Deleted, and the kstatus conditions
	// Reconciling and Stalled.
	// +optional
	Conditions []ExternalSecretStatusCondition `json:"conditions,omitempty"`

	// binding names the Secret this ExternalSecret writes, for tools that
	// follow references between objects.
	// +optional
	Binding *SecretBinding `json:"binding,omitempty"`
}

// SecretBinding names the Secret an ExternalSecret writes, in its namespace.
type SecretBinding struct {
	// name is the name of the Secret.
	// +optional
	Name string `json:"name,omitempty"`
}

// ExternalSecretStatusCondition is one status condition of an
// ExternalSecret.
type ExternalSecretStatusCondition struct {
	// type is the condition type: Ready, Deleted, Reconciling or Stalled.
	// +required
	// +kubebuilder:validation:Enum=Ready;Deleted;Reconciling;Stalled
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

func conversionOrDefault(s ExternalSecretConversionStrategy) ExternalSecretConversionStrategy {
	if s == "" {
		return ConversionStrategyDefault
	}
	return s
}

func decodingOrDefault(s ExternalSecretDecodingStrategy) ExternalSecretDecodingStrategy {
	if s == "" {
		return DecodingStrategyNone
	}
	return s
}

func nullBytePolicyOrDefault(p ExternalSecretNullBytePolicy) ExternalSecretNullBytePolicy {
	if p == "" {
		return NullBytePolicyIgnore
	}
	return p
}
