package kubernetes

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// listPageSize is how many Secrets one list request returns, so that a find
// in a large namespace does not hold every Secret twice in memory.
const listPageSize = 250

// Client reads the Secrets of one namespace of a Kubernetes cluster as one
// identity. It is safe for concurrent use.
type Client struct {
	kube      clientset.Interface
	http      *http.Client
	namespace string
	server    string
	// method says how the client authenticates, for messages.
	method string

	identityMu sync.Mutex
	identity   string // the authenticated user name, once learned
}

var (
	_ provider.Client           = (*Client)(nil)
	_ provider.PropertyResolver = (*Client)(nil)
)

// newClient builds a client for the API server cfg describes.
func newClient(cfg *rest.Config, namespace, method string) (*Client, error) {
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		// Malformed CA data, certificates or keys.
		return nil, &provider.ConfigError{Field: field, Err: fmt.Errorf("building the HTTP client for %s: %w", cfg.Host, err)}
	}
	kube, err := clientset.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, &provider.ConfigError{Field: field, Err: fmt.Errorf("building the Kubernetes client for %s: %w", cfg.Host, err)}
	}
	return &Client{kube: kube, http: httpClient, namespace: namespace, server: cfg.Host, method: method}, nil
}

// ResolvesProperty reports that GetSecret applies ref.Property itself: see
// the package documentation for the property syntax.
func (c *Client) ResolvesProperty() bool { return true }

// GetSecret returns the Secret named ref.Key: its data as a JSON object of
// strings, the value ref.Property selects, or (metadataPolicy Fetch) its
// labels and annotations.
func (c *Client) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	secret, err := c.get(ctx, ref.Key)
	if err != nil {
		return nil, err
	}
	if ref.MetadataPolicyOrDefault() == esv1.MetadataPolicyFetch {
		return metadataProperty(secret, ref.Property)
	}
	if ref.Property == "" {
		return dataJSON(secret, "remoteRef.property")
	}
	return dataProperty(secret, ref.Property)
}

// GetSecretMap returns the data of the Secret named ref.Key, or the
// top-level keys of the JSON object ref.Property selects; with
// metadataPolicy Fetch, its labels and annotations.
func (c *Client) GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (map[string][]byte, error) {
	secret, err := c.get(ctx, ref.Key)
	if err != nil {
		return nil, err
	}
	var value []byte
	switch fetch := ref.MetadataPolicyOrDefault() == esv1.MetadataPolicyFetch; {
	case fetch && ref.Property == "":
		return metadataMap(secret)
	case fetch:
		value, err = metadataProperty(secret, ref.Property)
	case ref.Property == "":
		if secret.Data == nil {
			return map[string][]byte{}, nil
		}
		return secret.Data, nil
	default:
		value, err = dataProperty(secret, ref.Property)
	}
	if err != nil {
		return nil, err
	}
	m, err := shape.Extract(value)
	if err != nil {
		return nil, fmt.Errorf("splitting property %q of Secret %s into keys: %w", ref.Property, objectName(secret.Namespace, secret.Name), err)
	}
	return m, nil
}

// GetAllSecrets returns the data of every Secret of the namespace whose name
// starts with find.path and matches find.name.regexp and whose labels match
// find.tags, each as a JSON object of strings keyed by the Secret's name.
func (c *Client) GetAllSecrets(ctx context.Context, find esv1.ExternalSecretFind) (map[string][]byte, error) {
	var re *regexp.Regexp
	if find.Name != nil && find.Name.RegExp != "" {
		var err error
		if re, err = regexp.Compile(find.Name.RegExp); err != nil {
			return nil, &provider.ConfigError{Field: "dataFrom[].find.name.regexp", Err: err}
		}
	}
	prefix := ""
	if find.Path != nil {
		prefix = *find.Path
	}
	if re == nil && prefix == "" && len(find.Tags) == 0 {
		return nil, provider.NewConfigError("dataFrom[].find", "matches every Secret of namespace %q; set name.regexp, path or tags", c.namespace)
	}
	selector, err := labels.ValidatedSelectorFromSet(find.Tags)
	if err != nil {
		return nil, &provider.ConfigError{Field: "dataFrom[].find.tags", Err: fmt.Errorf("not a valid label selector: %w", err)}
	}
	out := map[string][]byte{}
	opts := metav1.ListOptions{LabelSelector: selector.String(), Limit: listPageSize}
	for {
		list, err := c.kube.CoreV1().Secrets(c.namespace).List(ctx, opts)
		if err != nil {
			return nil, c.apiError(ctx, err, "list", "secrets", "")
		}
		for i := range list.Items {
			s := &list.Items[i]
			if !strings.HasPrefix(s.Name, prefix) || (re != nil && !re.MatchString(s.Name)) {
				continue
			}
			if out[s.Name], err = dataJSON(s, "dataFrom[].find"); err != nil {
				return nil, err
			}
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

// Validate learns who the client is (a SelfSubjectReview) and asks whether
// it may get Secrets in the remote namespace (a SelfSubjectAccessReview).
func (c *Client) Validate(ctx context.Context) (provider.Validation, error) {
	failed := provider.Validation{Result: provider.ValidationFailed, Identity: c.method}
	review, err := c.kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	switch {
	case err == nil:
		c.setIdentity(review.Status.UserInfo.Username)
	case apierrors.IsUnauthorized(err) || !isAPIStatus(err):
		return failed, c.apiError(ctx, err, "create", "selfsubjectreviews", "")
	}
	// Other errors (an API server without SelfSubjectReview, a policy that
	// forbids it) leave the identity to the access review's messages.
	identity := c.whoAmI(ctx)
	failed.Identity = identity
	access, err := c.kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: c.namespace, Verb: "get", Resource: "secrets",
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return failed, c.apiError(ctx, err, "create", "selfsubjectaccessreviews", "")
	}
	if !access.Status.Allowed {
		return failed, &ForbiddenError{Verb: "get", Resource: "secrets", Namespace: c.namespace, Identity: identity, Server: c.server}
	}
	return provider.Validation{Result: provider.ValidationReady, Identity: identity}, nil
}

// Close releases the client's idle connections. ServiceAccount tokens are
// not revoked: they expire within the hour.
func (c *Client) Close(context.Context) error {
	c.http.CloseIdleConnections()
	return nil
}

// get reads one Secret of the remote namespace.
func (c *Client) get(ctx context.Context, name string) (*corev1.Secret, error) {
	if name == "" {
		return nil, provider.NewConfigError("remoteRef.key", "is empty: set it to the name of a Secret in namespace %q", c.namespace)
	}
	secret, err := c.kube.CoreV1().Secrets(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, c.apiError(ctx, err, "get", "secrets", name)
	}
	return secret, nil
}

// whoAmI returns the user name the API server knows the client as, asking
// it once; if it cannot tell, how the client authenticates.
func (c *Client) whoAmI(ctx context.Context) string {
	c.identityMu.Lock()
	known := c.identity
	c.identityMu.Unlock()
	if known != "" {
		return known
	}
	review, err := c.kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || review.Status.UserInfo.Username == "" {
		return c.method
	}
	c.setIdentity(review.Status.UserInfo.Username)
	return review.Status.UserInfo.Username
}

func (c *Client) setIdentity(name string) {
	if name == "" {
		return
	}
	c.identityMu.Lock()
	c.identity = name
	c.identityMu.Unlock()
}
