package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// defaultTokenExpiration is the lifetime requested for ServiceAccount tokens
// (the TokenRequest API's minimum). A token is only used to log in.
const defaultTokenExpiration int64 = 600

// refs resolves what a store refers to in the cluster under the namespace
// rules of its kind (provider.Refs).
type refs struct {
	provider.Refs
}

// serviceAccount is a ServiceAccount a token is requested for.
type serviceAccount = provider.ServiceAccount

// serviceAccountNotFoundError is what requestToken returns when the
// ServiceAccount does not exist.
type serviceAccountNotFoundError = provider.ServiceAccountNotFoundError

func (r refs) namespaced() bool { return r.Namespaced() }

func (r refs) namespaceFor(path, selected string) (string, error) {
	return r.NamespaceFor(path, selected)
}

// secretValue returns the value of the Secret key sel points at (key
// defaultKey when sel.Key is empty), with surrounding white space removed
// when trim is set, else trailing line breaks. Errors name the Secret and
// key, never the value.
func (r refs) secretValue(ctx context.Context, path string, sel esv1.SecretKeySelector, defaultKey string, trim bool) (string, error) {
	v, _, err := r.SecretKey(ctx, path, sel, defaultKey)
	if err != nil {
		return "", err
	}
	if trim {
		return strings.TrimSpace(string(v)), nil
	}
	return strings.TrimRight(string(v), "\r\n"), nil
}

// caBundle reads the PEM bundle a caProvider points at.
func (r refs) caBundle(ctx context.Context, p *esv1.CAProvider) ([]byte, error) {
	return r.CABundle(ctx, field+".caProvider", *p)
}

// requestToken asks the TokenRequest API for a short-lived token of sa.
func (r refs) requestToken(ctx context.Context, sa serviceAccount, audiences []string, expiration int64) (string, error) {
	return r.RequestToken(ctx, sa, audiences, expiration)
}

// tokenRequestError makes a missing ServiceAccount a configuration error of
// the field at path; other failures (RBAC, the API server) stay as they are.
func tokenRequestError(path string, err error) error {
	var nf *serviceAccountNotFoundError
	if errors.As(err, &nf) {
		return &provider.ConfigError{Field: path, Err: err}
	}
	return fmt.Errorf("%s: %w", path, err)
}
