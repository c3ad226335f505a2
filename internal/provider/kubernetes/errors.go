package kubernetes

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/secretbridge/secretbridge/internal/provider"
)

// ForbiddenError means the API server refused the store's identity a verb
// on a resource in the remote namespace. The fix is RBAC on the remote
// cluster.
type ForbiddenError struct {
	// Verb is what was refused: get, list.
	Verb string
	// Resource is the resource, secrets.
	Resource string
	// Namespace is the remote namespace.
	Namespace string
	// Name is the object's name, when one object was asked for.
	Name string
	// Identity is the user the API server authenticated, or how the client
	// authenticates when the server could not say.
	Identity string
	// Server is the API server's address.
	Server string
}

// Error implements error.
func (e *ForbiddenError) Error() string {
	what := e.Resource
	if e.Name != "" {
		what = fmt.Sprintf("%s %q", e.Resource, e.Name)
	}
	if e.Namespace == "" {
		return fmt.Sprintf("%s may not %s %s at %s: grant the verb %q on %s with a ClusterRole and ClusterRoleBinding",
			e.Identity, e.Verb, what, e.Server, e.Verb, e.Resource)
	}
	return fmt.Sprintf("%s may not %s %s in namespace %q at %s: grant the verb %q on %s in that namespace with a Role and RoleBinding",
		e.Identity, e.Verb, what, e.Namespace, e.Server, e.Verb, e.Resource)
}

// apiError turns an error of a request on the remote API server into one
// that says what was attempted where, and how to fix it.
// resource is "secrets" (then name, if set, is the Secret's) or a
// cluster-scoped review resource.
func (c *Client) apiError(ctx context.Context, err error, verb, resource, name string) error {
	what, namespace := resource, ""
	if resource == "secrets" {
		namespace = c.namespace
		what = fmt.Sprintf("secrets in namespace %q", namespace)
		if name != "" {
			what = "Secret " + objectName(namespace, name)
		}
	}
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case apierrors.IsNotFound(err) && verb == "get":
		return &provider.NotFoundError{Key: name, Detail: fmt.Sprintf("no Secret %s at %s", objectName(c.namespace, name), c.server)}
	case apierrors.IsForbidden(err):
		return &ForbiddenError{Verb: verb, Resource: resource, Namespace: namespace, Name: name, Identity: c.whoAmI(ctx), Server: c.server}
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s %s at %s: the API server rejected the credentials (%s); they may be wrong, expired or revoked: %w", verb, what, c.server, c.method, err)
	case errors.As(err, &unknownCA):
		return fmt.Errorf("%s %s at %s: the API server's TLS certificate is signed by an unknown authority; set %s.server.caBundle (or server.caProvider) to the CA that signed it: %w", verb, what, c.server, field, err)
	case errors.As(err, &badHost):
		return fmt.Errorf("%s %s at %s: the API server's TLS certificate is not valid for this address; set %s.server.url to a name the certificate holds: %w", verb, what, c.server, field, err)
	case errors.As(err, &invalid):
		return fmt.Errorf("%s %s at %s: the API server's TLS certificate is not valid: %w", verb, what, c.server, err)
	default:
		return fmt.Errorf("%s %s at %s: %w", verb, what, c.server, err)
	}
}

// isAPIStatus reports whether err is an answer of the API server (as
// opposed to a failure to reach it).
func isAPIStatus(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status)
}
