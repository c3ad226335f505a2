package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// secretRefAuth signs with static keys held in Secrets (auth.secretRef):
// an access key ID and a secret access key, plus a session token for
// temporary credentials. The keys are read when the client is built; the
// engine builds a new client when one of the Secrets changes.
type secretRefAuth struct {
	spec esv1.AWSAuthSecretRef
}

// newSecretRefAuth checks auth.secretRef.
func newSecretRefAuth(spec esv1.AWSAuthSecretRef) (authMethod, error) {
	const f = field + ".auth.secretRef"
	if spec.AccessKeyID == nil {
		return nil, provider.NewConfigError(f+".accessKeyIDSecretRef", "is required: point it at the Secret key that holds the access key ID")
	}
	if spec.SecretAccessKey == nil {
		return nil, provider.NewConfigError(f+".secretAccessKeySecretRef", "is required: point it at the Secret key that holds the secret access key")
	}
	refs := []struct {
		path string
		sel  *esv1.SecretKeySelector
	}{
		{f + ".accessKeyIDSecretRef", spec.AccessKeyID},
		{f + ".secretAccessKeySecretRef", spec.SecretAccessKey},
		{f + ".sessionTokenSecretRef", spec.SessionToken},
	}
	for _, r := range refs {
		if r.sel != nil && (r.sel.Name == "" || r.sel.Key == "") {
			return nil, provider.NewConfigError(r.path, "name and key are required")
		}
	}
	return secretRefAuth{spec: spec}, nil
}

// session reads the keys and returns a session that signs with them.
func (a secretRefAuth) session(ctx context.Context, _ Provider, base aws.Config, r refs, _ *esv1.AWSProvider) (session, error) {
	const f = field + ".auth.secretRef"
	id, idSecret, err := r.secretValue(ctx, f+".accessKeyIDSecretRef", *a.spec.AccessKeyID)
	if err != nil {
		return session{}, err
	}
	key, keySecret, err := r.secretValue(ctx, f+".secretAccessKeySecretRef", *a.spec.SecretAccessKey)
	if err != nil {
		return session{}, err
	}
	var token string
	source := fmt.Sprintf("the static keys in Secret %s (key %q) and Secret %s (key %q)", idSecret, a.spec.AccessKeyID.Key, keySecret, a.spec.SecretAccessKey.Key)
	if idSecret == keySecret {
		source = fmt.Sprintf("the static keys in Secret %s (keys %q and %q)", idSecret, a.spec.AccessKeyID.Key, a.spec.SecretAccessKey.Key)
	}
	if sel := a.spec.SessionToken; sel != nil {
		var tokenSecret string
		if token, tokenSecret, err = r.secretValue(ctx, f+".sessionTokenSecretRef", *sel); err != nil {
			return session{}, err
		}
		source += fmt.Sprintf(" with the session token in Secret %s (key %q)", tokenSecret, sel.Key)
	}
	base.Credentials = credentials.NewStaticCredentialsProvider(id, key, token)
	return session{cfg: base, source: source, staticToken: token != ""}, nil
}
