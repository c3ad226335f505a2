package kubernetes

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// serviceAccountTokenLifetime is the lifetime asked for each token; a token
// is replaced once 80% of the lifetime it was granted has passed.
const serviceAccountTokenLifetime = time.Hour

// serviceAccountAuth authenticates as a ServiceAccount with short-lived
// tokens from the TokenRequest API (auth.serviceAccount). The first token
// is requested now, so that a missing ServiceAccount or a missing
// permission shows when the client is built.
func (b *builder) serviceAccountAuth(ctx context.Context, sa *esv1.ServiceAccountSelector, cfg *rest.Config) error {
	path := field + ".auth.serviceAccount"
	ns, err := b.refs.namespaceFor(path, sa.Namespace)
	if err != nil {
		return err
	}
	if b.refs.Kube == nil {
		return fmt.Errorf("requesting a token for ServiceAccount %s: no Kubernetes client was given", objectName(ns, sa.Name))
	}
	tokens := &serviceAccountTokens{kube: b.refs.Kube, path: path, namespace: ns, name: sa.Name, audiences: sa.Audiences}
	if _, err := tokens.current(ctx); err != nil {
		return err
	}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return &bearerTransport{tokens: tokens, base: rt}
	}
	b.method = fmt.Sprintf("ServiceAccount %s (system:serviceaccount:%s:%s) with tokens from the TokenRequest API", objectName(ns, sa.Name), ns, sa.Name)
	return nil
}

// serviceAccountTokens requests and keeps the current token of one
// ServiceAccount.
type serviceAccountTokens struct {
	kube            client.Client
	path            string
	namespace, name string
	audiences       []string

	mu      sync.Mutex // held while a token is requested: one request at a time
	token   string
	renewAt time.Time // 80% of the granted lifetime
	expiry  time.Time
}

// current returns a token that is not due for renewal, requesting one if
// needed. If a renewal fails while the old token is still valid, the old
// token is returned.
func (s *serviceAccountTokens) current(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.token != "" && now.Before(s.renewAt) {
		return s.token, nil
	}
	token, expiry, err := s.request(ctx)
	if err != nil {
		if s.token != "" && now.Before(s.expiry) {
			return s.token, nil
		}
		return "", err
	}
	s.token, s.expiry = token, expiry
	s.renewAt = now.Add(expiry.Sub(now) * 4 / 5)
	return token, nil
}

// forget drops token if it is still the current one, so that the next call
// requests a new token (after the API server refused it).
func (s *serviceAccountTokens) forget(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
}

// request asks the API server for a token and returns it with its expiry.
func (s *serviceAccountTokens) request(ctx context.Context) (string, time.Time, error) {
	lifetime := int64(serviceAccountTokenLifetime / time.Second)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         s.audiences,
		ExpirationSeconds: &lifetime,
	}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: s.name}}
	asked := time.Now()
	err := s.kube.SubResource("token").Create(ctx, sa, tr)
	name := objectName(s.namespace, s.name)
	switch {
	case apierrors.IsNotFound(err):
		return "", time.Time{}, provider.NewConfigError(s.path+".name", "ServiceAccount %s not found", name)
	case apierrors.IsForbidden(err):
		return "", time.Time{}, fmt.Errorf("requesting a token for ServiceAccount %s: the controller may not create serviceaccounts/token in namespace %q (check its RBAC): %w", name, s.namespace, err)
	case err != nil:
		return "", time.Time{}, fmt.Errorf("requesting a token for ServiceAccount %s: %w", name, err)
	case tr.Status.Token == "":
		return "", time.Time{}, fmt.Errorf("requesting a token for ServiceAccount %s: the API server returned no token", name)
	}
	expiry := tr.Status.ExpirationTimestamp.Time
	if !expiry.After(asked) {
		expiry = asked.Add(serviceAccountTokenLifetime)
	}
	return tr.Status.Token, expiry, nil
}

// bearerTransport sends the current ServiceAccount token with each request.
type bearerTransport struct {
	tokens *serviceAccountTokens
	base   http.RoundTripper
}

var _ utilnet.RoundTripperWrapper = (*bearerTransport)(nil)

// RoundTrip implements http.RoundTripper.
func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
	token, err := t.tokens.current(ctx)
	cancel()
	if err != nil {
		return nil, err
	}
	req = utilnet.CloneRequest(req)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.tokens.forget(token)
	}
	return resp, err
}

// WrappedRoundTripper returns the transport t wraps.
func (t *bearerTransport) WrappedRoundTripper() http.RoundTripper { return t.base }
