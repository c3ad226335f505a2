package v1

// Defaults of the Kubernetes provider.
const (
	// DefaultKubernetesRemoteNamespace is the namespace read when
	// remoteNamespace is omitted.
	DefaultKubernetesRemoteNamespace = "default"
	// DefaultKubernetesServerURL is the API server address used when
	// server.url is omitted.
	DefaultKubernetesServerURL = "kubernetes.default"
)

// KubernetesProvider reads Secrets of a Kubernetes cluster, this one or a
// remote one.
type KubernetesProvider struct {
	// server says how to reach the API server. When omitted, the in-cluster
	// API server.
	// +optional
	Server *KubernetesServer `json:"server,omitempty"`

	// auth says how to authenticate; exactly one method is set. Use authRef
	// for a kubeconfig instead.
	// +optional
	Auth *KubernetesAuth `json:"auth,omitempty"`

	// authRef is a Secret key that holds a kubeconfig, used instead of
	// server and auth.
	// +optional
	AuthRef *SecretKeySelector `json:"authRef,omitempty"`

	// remoteNamespace is the namespace whose Secrets are read. When omitted,
	// "default".
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	RemoteNamespace string `json:"remoteNamespace,omitempty"`
}

// RemoteNamespaceOrDefault returns remoteNamespace, or
// DefaultKubernetesRemoteNamespace when it is omitted.
func (p KubernetesProvider) RemoteNamespaceOrDefault() string {
	return stringOrDefault(p.RemoteNamespace, DefaultKubernetesRemoteNamespace)
}

// KubernetesServer says how to reach a Kubernetes API server.
type KubernetesServer struct {
	// url is the API server's address. When omitted, "kubernetes.default".
	// +optional
	URL string `json:"url,omitempty"`

	// caBundle holds PEM-encoded CA certificates that verify the API
	// server's certificate.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`

	// caProvider reads the CA bundle from a Secret or ConfigMap instead of
	// caBundle.
	// +optional
	CAProvider *CAProvider `json:"caProvider,omitempty"`
}

// URLOrDefault returns url, or DefaultKubernetesServerURL when it is omitted.
func (s KubernetesServer) URLOrDefault() string {
	return stringOrDefault(s.URL, DefaultKubernetesServerURL)
}

// KubernetesAuth says how to authenticate to a Kubernetes API server.
// Exactly one method is set.
//
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:MaxProperties=1
type KubernetesAuth struct {
	// cert authenticates with a client certificate.
	// +optional
	Cert *CertAuth `json:"cert,omitempty"`

	// token authenticates with a bearer token.
	// +optional
	Token *TokenAuth `json:"token,omitempty"`

	// serviceAccount authenticates with a short-lived token of a
	// ServiceAccount.
	// +optional
	ServiceAccount *ServiceAccountSelector `json:"serviceAccount,omitempty"`
}

// CertAuth authenticates with a client certificate.
type CertAuth struct {
	// clientCert is a Secret key that holds the PEM-encoded certificate.
	// +required
	ClientCert SecretKeySelector `json:"clientCert"`

	// clientKey is a Secret key that holds the PEM-encoded private key.
	// +required
	ClientKey SecretKeySelector `json:"clientKey"`
}

// TokenAuth authenticates with a bearer token.
type TokenAuth struct {
	// bearerToken is a Secret key that holds the token.
	// +required
	BearerToken SecretKeySelector `json:"bearerToken"`
}
