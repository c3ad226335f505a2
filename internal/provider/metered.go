package provider

import (
	"context"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/metrics"
)

// meteredClient counts and times the calls that reach a provider
// (secretbridge_provider_calls_total, secretbridge_provider_call_duration_seconds).
// The cache puts it under the coalescer, so shared reads count once.
type meteredClient struct {
	inner    Client
	provider string
}

func metered(c Client, provider string) Client { return &meteredClient{inner: c, provider: provider} }

// ResolvesProperty passes the inner client's answer through.
func (m *meteredClient) ResolvesProperty() bool { return ResolvesProperty(m.inner) }

// Unwrap returns the provider's own client.
func (m *meteredClient) Unwrap() Client { return m.inner }

func (m *meteredClient) observe(op string, start time.Time, err error) {
	outcome := "success"
	switch {
	case IsNotFound(err):
		outcome = "not_found"
	case err != nil:
		outcome = "error"
	}
	metrics.ProviderCalls.WithLabelValues(m.provider, op, outcome).Inc()
	metrics.ProviderCallDuration.WithLabelValues(m.provider, op).Observe(time.Since(start).Seconds())
}

func (m *meteredClient) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (v []byte, err error) {
	defer func(start time.Time) { m.observe("GetSecret", start, err) }(time.Now())
	return m.inner.GetSecret(ctx, ref)
}

func (m *meteredClient) GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (v map[string][]byte, err error) {
	defer func(start time.Time) { m.observe("GetSecretMap", start, err) }(time.Now())
	return m.inner.GetSecretMap(ctx, ref)
}

func (m *meteredClient) GetAllSecrets(ctx context.Context, find esv1.ExternalSecretFind) (v map[string][]byte, err error) {
	defer func(start time.Time) { m.observe("GetAllSecrets", start, err) }(time.Now())
	return m.inner.GetAllSecrets(ctx, find)
}

func (m *meteredClient) Validate(ctx context.Context) (v Validation, err error) {
	defer func(start time.Time) { m.observe("Validate", start, err) }(time.Now())
	return m.inner.Validate(ctx)
}

func (m *meteredClient) Close(ctx context.Context) error { return m.inner.Close(ctx) }
