package v1

// AWSServiceType is the AWS service a store reads.
// +kubebuilder:validation:Enum=SecretsManager;ParameterStore;CertificateManager
type AWSServiceType string

// The AWS services.
const (
	// AWSServiceSecretsManager is AWS Secrets Manager.
	AWSServiceSecretsManager AWSServiceType = "SecretsManager"
	// AWSServiceParameterStore is AWS Systems Manager Parameter Store.
	AWSServiceParameterStore AWSServiceType = "ParameterStore"
	// AWSServiceCertificateManager is AWS Certificate Manager.
	AWSServiceCertificateManager AWSServiceType = "CertificateManager"
)

// AWSSessionTagsPolicy says which session tags are attached when a role is
// assumed.
// +kubebuilder:validation:Enum=None;Simple;Custom
type AWSSessionTagsPolicy string

// The session tag policies.
const (
	// AWSSessionTagsPolicyNone attaches only sessionTags. The default.
	AWSSessionTagsPolicyNone AWSSessionTagsPolicy = "None"
	// AWSSessionTagsPolicySimple also attaches the controller's tags
	// esoNamespace, esoStoreName and esoStoreKind.
	AWSSessionTagsPolicySimple AWSSessionTagsPolicy = "Simple"
	// AWSSessionTagsPolicyCustom also attaches customSessionTags.
	AWSSessionTagsPolicyCustom AWSSessionTagsPolicy = "Custom"
)

// AWSProvider reads AWS Secrets Manager, Parameter Store or Certificate
// Manager.
type AWSProvider struct {
	// service is the AWS service to read: SecretsManager, ParameterStore or
	// CertificateManager.
	// +required
	Service AWSServiceType `json:"service"`

	// auth says where the AWS credentials come from. When omitted, the
	// SDK's default credential chain (environment, pod identity, IRSA…).
	// +optional
	Auth *AWSAuth `json:"auth,omitempty"`

	// role is the ARN of an IAM role to assume with the credentials.
	// +optional
	Role string `json:"role,omitempty"`

	// additionalRoles are IAM role ARNs assumed in order before role (role
	// chaining, as upstream): each is assumed with the credentials of the
	// previous one, and role last; only role carries externalID and session
	// tags.
	// +optional
	AdditionalRoles []string `json:"additionalRoles,omitempty"`

	// externalID is the external ID passed when assuming role.
	// +optional
	ExternalID string `json:"externalID,omitempty"`

	// sessionTags are tags attached to the assumed-role session.
	// +optional
	SessionTags []Tag `json:"sessionTags,omitempty"`

	// sessionTagsPolicy says which further session tags are attached: None,
	// Simple (esoNamespace, esoStoreName, esoStoreKind) or Custom
	// (customSessionTags). When omitted, None.
	// +optional
	SessionTagsPolicy AWSSessionTagsPolicy `json:"sessionTagsPolicy,omitempty"`

	// customSessionTags are session tags attached under sessionTagsPolicy
	// Custom. The keys esoNamespace, esoStoreName and esoStoreKind are
	// reserved.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!('esoNamespace' in self) && !('esoStoreName' in self) && !('esoStoreKind' in self)",message="customSessionTags must not set esoNamespace, esoStoreName or esoStoreKind, which are reserved for the tags the controller sets under sessionTagsPolicy Simple; rename or remove those keys"
	CustomSessionTags map[string]string `json:"customSessionTags,omitempty"`

	// transitiveTagKeys are the session tag keys passed on to roles assumed
	// from the session.
	// +optional
	TransitiveTagKeys []string `json:"transitiveTagKeys,omitempty"`

	// secretsManager configures Secrets Manager writes.
	// +optional
	SecretsManager *SecretsManager `json:"secretsManager,omitempty"`

	// region is the AWS region, for example "eu-west-1".
	// +required
	Region string `json:"region"`

	// prefix is prepended to every key read or written.
	// +optional
	Prefix string `json:"prefix,omitempty"`
}

// SessionTagsPolicyOrDefault returns sessionTagsPolicy, or
// AWSSessionTagsPolicyNone when it is omitted.
func (p AWSProvider) SessionTagsPolicyOrDefault() AWSSessionTagsPolicy {
	if p.SessionTagsPolicy == "" {
		return AWSSessionTagsPolicyNone
	}
	return p.SessionTagsPolicy
}

// Tag is an AWS session tag.
type Tag struct {
	// key is the tag key.
	// +required
	Key string `json:"key"`

	// value is the tag value.
	// +required
	Value string `json:"value"`
}

// SecretsManager configures how secrets are deleted from Secrets Manager.
type SecretsManager struct {
	// forceDeleteWithoutRecovery deletes secrets at once, without a recovery
	// window.
	// +optional
	ForceDeleteWithoutRecovery bool `json:"forceDeleteWithoutRecovery,omitempty"`

	// recoveryWindowInDays is the number of days a deleted secret can be
	// recovered. When omitted, AWS's default (30).
	// +optional
	RecoveryWindowInDays int64 `json:"recoveryWindowInDays,omitempty"`
}

// AWSAuth says where AWS credentials come from: static keys (secretRef) or a
// ServiceAccount token exchanged with AssumeRoleWithWebIdentity (jwt).
type AWSAuth struct {
	// secretRef holds static AWS credentials.
	// +optional
	SecretRef *AWSAuthSecretRef `json:"secretRef,omitempty"`

	// jwt exchanges a ServiceAccount token for AWS credentials; the role
	// comes from the ServiceAccount's eks.amazonaws.com/role-arn annotation.
	// +optional
	JWTAuth *AWSJWTAuth `json:"jwt,omitempty"`
}

// AWSAuthSecretRef holds static AWS credentials in Secret keys.
type AWSAuthSecretRef struct {
	// accessKeyIDSecretRef is a Secret key that holds the access key ID.
	// +optional
	AccessKeyID *SecretKeySelector `json:"accessKeyIDSecretRef,omitempty"`

	// secretAccessKeySecretRef is a Secret key that holds the secret access
	// key.
	// +optional
	SecretAccessKey *SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`

	// sessionTokenSecretRef is a Secret key that holds a session token, for
	// temporary credentials.
	// +optional
	SessionToken *SecretKeySelector `json:"sessionTokenSecretRef,omitempty"`
}

// AWSJWTAuth exchanges a ServiceAccount token for AWS credentials.
type AWSJWTAuth struct {
	// serviceAccountRef names the ServiceAccount.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}
