package externalsecret

import (
	"bytes"
	"context"
	"encoding/json"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// memoClients makes each distinct GetSecret call happen once per sync: the
// entries of one ExternalSecret that read different properties of the same
// remote secret (the seed's username and password) share one provider call.
// Concurrent identical reads across ExternalSecrets are shared by the
// provider cache's coalescer; this covers the sequential reads of one sync.
func memoClients(next clientFor) clientFor {
	memo := map[provider.Client]*memoClient{}
	return func(ctx context.Context, override *esv1.SecretStoreRef) (provider.Client, error) {
		c, err := next(ctx, override)
		if err != nil {
			return nil, err
		}
		if m, ok := memo[c]; ok {
			return m, nil
		}
		m := &memoClient{Client: c, values: map[string]memoValue{}}
		memo[c] = m
		return m, nil
	}
}

type memoValue struct {
	value []byte
	err   error
}

// memoClient remembers GetSecret answers for the duration of one sync.
type memoClient struct {
	provider.Client
	values map[string]memoValue
}

// ResolvesProperty passes the wrapped client's answer through.
func (m *memoClient) ResolvesProperty() bool { return provider.ResolvesProperty(m.Client) }

// GetSecret answers a repeated read from memory, with a copy of the value.
func (m *memoClient) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	raw, err := json.Marshal(ref)
	if err != nil {
		return m.Client.GetSecret(ctx, ref)
	}
	key := string(raw)
	if v, ok := m.values[key]; ok {
		return bytes.Clone(v.value), v.err
	}
	value, err := m.Client.GetSecret(ctx, ref)
	m.values[key] = memoValue{value: bytes.Clone(value), err: err}
	return value, err
}
