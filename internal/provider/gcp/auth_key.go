package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// keyAuth signs in with a service-account JSON key held in a Secret
// (auth.secretRef.secretAccessKeySecretRef): the key signs a JWT that the
// key's token_uri exchanges for an access token (the OAuth 2.0 JWT bearer
// grant). The Secret is read when the client is built.
type keyAuth struct {
	ref esv1.SecretKeySelector
}

// newKeyAuth checks auth.secretRef.
func newKeyAuth(spec esv1.GCPSMAuthSecretRef) (authMethod, error) {
	const f = field + ".auth.secretRef.secretAccessKeySecretRef"
	if spec.SecretAccessKey == nil || spec.SecretAccessKey.Name == "" || spec.SecretAccessKey.Key == "" {
		return nil, provider.NewConfigError(f, "name and key are required: point them at the Secret key that holds the service account's JSON key")
	}
	return keyAuth{ref: *spec.SecretAccessKey}, nil
}

// keyFile is the part of a JSON key file read for messages and checks.
type keyFile struct {
	Type        string `json:"type"`
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
}

// credentials reads and parses the key. Parse errors name the Secret and
// the key but never quote the file, which holds a private key.
func (a keyAuth) credentials(ctx context.Context, p Provider, hc *http.Client, r provider.Refs, _ *esv1.GCPSMProvider) (credentials, error) {
	const f = field + ".auth.secretRef.secretAccessKeySecretRef"
	data, secret, err := r.SecretKey(ctx, f, a.ref, "")
	if err != nil {
		return credentials{}, err
	}
	var kf keyFile
	if json.Unmarshal(data, &kf) != nil {
		return credentials{}, provider.NewConfigError(f, "key %q of Secret %s is not a JSON key file: put the service account key as downloaded from Google Cloud there", a.ref.Key, secret)
	}
	if kf.Type != "service_account" {
		return credentials{}, provider.NewConfigError(f, "key %q of Secret %s holds a credential of type %q; secretRef takes a service account key (type service_account); use workloadIdentityFederation for external_account configurations", a.ref.Key, secret, kf.Type)
	}
	cfg, err := google.JWTConfigFromJSON(data, scope)
	if err != nil || cfg.Email == "" || len(cfg.PrivateKey) == 0 {
		return credentials{}, provider.NewConfigError(f, "key %q of Secret %s is not a usable service account key (client_email, private_key and token_uri are required)", a.ref.Key, secret)
	}
	source := fmt.Sprintf("the service account key in Secret %s (key %q)", secret, a.ref.Key)
	fetch := func(ctx context.Context) (*oauth2.Token, error) {
		tok, err := cfg.TokenSource(withHTTPClient(ctx, hc)).Token()
		if err != nil {
			return nil, &CredentialsError{Source: source, Step: "signing in with the key at " + cfg.TokenURL, Err: err}
		}
		return tok, nil
	}
	return credentials{
		tokens:   newTokenCache(p.expiryWindow(), fetch),
		source:   source,
		identity: cfg.Email,
		project:  kf.ProjectID,
	}, nil
}
