package kubernetes

import (
	"bytes"
	"context"
	"fmt"

	"k8s.io/client-go/rest"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// tokenAuth authenticates with the bearer token held in a Secret
// (auth.token.bearerToken).
func (b *builder) tokenAuth(ctx context.Context, a *esv1.TokenAuth, cfg *rest.Config) error {
	path := field + ".auth.token.bearerToken"
	token, name, err := b.refs.secretValue(ctx, path, a.BearerToken)
	if err != nil {
		return err
	}
	token = bytes.TrimSpace(token)
	if len(token) == 0 {
		return provider.NewConfigError(path+".key", "key %q of Secret %s holds only white space", a.BearerToken.Key, name)
	}
	cfg.BearerToken = string(token)
	b.method = fmt.Sprintf("bearer token from key %q of Secret %s", a.BearerToken.Key, name)
	return nil
}
