package gcp

import (
	"context"
	"net/http"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// defaultAuth uses Application Default Credentials (no auth block): the
// file GOOGLE_APPLICATION_CREDENTIALS names, gcloud's well-known file, or
// the metadata server of the node the controller runs on (GKE workload
// identity of the controller's own ServiceAccount). The environment is
// read, never written.
type defaultAuth struct{}

// credentials finds the default credentials now, so that a controller
// without any is reported when the store is validated.
func (defaultAuth) credentials(ctx context.Context, p Provider, hc *http.Client, _ provider.Refs, _ *esv1.GCPSMProvider) (credentials, error) {
	const source = "Application Default Credentials"
	find := func(ctx context.Context) (*google.Credentials, error) {
		// The token source keeps the context it is built with, so it
		// must outlive this call.
		return google.FindDefaultCredentials(withHTTPClient(context.WithoutCancel(ctx), hc), scope)
	}
	if p.hooks != nil && p.hooks.defaultCredentials != nil {
		find = p.hooks.defaultCredentials
	}
	creds, err := find(ctx)
	if err != nil {
		return credentials{}, &CredentialsError{Source: source, Step: "looking for them",
			Hint: "give the controller a Google identity (GKE workload identity on its ServiceAccount, or GOOGLE_APPLICATION_CREDENTIALS), or set " + field + ".auth", Err: err}
	}
	fetch := func(context.Context) (*oauth2.Token, error) {
		tok, err := creds.TokenSource.Token()
		if err != nil {
			return nil, &CredentialsError{Source: source, Step: "requesting an access token", Err: err}
		}
		return tok, nil
	}
	return credentials{
		tokens:  newTokenCache(p.expiryWindow(), fetch),
		source:  source,
		project: creds.ProjectID,
	}, nil
}
