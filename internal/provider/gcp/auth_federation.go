package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// federationAuth is workload identity federation
// (auth.workloadIdentityFederation) with a Kubernetes ServiceAccount token
// as the external token: the token is exchanged at STS for the pool
// provider's audience (audience, else credConfig's), then optionally for a
// token of gcpServiceAccountEmail (else the account credConfig's
// service_account_impersonation_url names).
//
// Only the audience and the account are taken from credConfig: its
// token_url, impersonation URL and credential_source are not followed, so
// that a ConfigMap cannot make the controller send tokens elsewhere or
// read its own files; the endpoints are Google's (or --endpoint-override).
// awsSecurityCredentials and externalTokenEndpoint are not supported yet.
type federationAuth struct {
	spec esv1.GCPWorkloadIdentityFederation
}

// newFederationAuth checks auth.workloadIdentityFederation.
func newFederationAuth(spec esv1.GCPWorkloadIdentityFederation) (authMethod, error) {
	const f = field + ".auth.workloadIdentityFederation"
	switch {
	case spec.AwsSecurityCredentials != nil:
		return nil, provider.NewConfigError(f+".awsSecurityCredentials", "is not supported by secretbridge yet: use serviceAccountRef (a Kubernetes ServiceAccount token as the external token)")
	case spec.ExternalTokenEndpoint != "":
		return nil, provider.NewConfigError(f+".externalTokenEndpoint", "is not supported by secretbridge yet: use serviceAccountRef (a Kubernetes ServiceAccount token as the external token)")
	case spec.ServiceAccountRef == nil || spec.ServiceAccountRef.Name == "":
		return nil, provider.NewConfigError(f+".serviceAccountRef.name", "is required: name the Kubernetes ServiceAccount whose token the workload identity pool trusts")
	case spec.Audience == "" && spec.CredConfig == nil:
		return nil, provider.NewConfigError(f+".audience", "is empty and there is no credConfig: set the pool provider's audience, //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>")
	case spec.GCPServiceAccountEmail != "" && !gsaPattern.MatchString(spec.GCPServiceAccountEmail):
		return nil, provider.NewConfigError(f+".gcpServiceAccountEmail", "%q is not a Google service account email (<name>@<project>.iam.gserviceaccount.com)", spec.GCPServiceAccountEmail)
	}
	return federationAuth{spec: spec}, nil
}

// credConfig is the part of a credential configuration file used.
type credConfig struct {
	Type                           string `json:"type"`
	Audience                       string `json:"audience"`
	ServiceAccountImpersonationURL string `json:"service_account_impersonation_url"`
}

// impersonatedAccount extracts the account from an impersonation URL.
var impersonatedAccount = regexp.MustCompile(`/serviceAccounts/([^/:]+):generateAccessToken$`)

// credentials reads credConfig, if any, and checks the ServiceAccount.
func (a federationAuth) credentials(ctx context.Context, p Provider, hc *http.Client, r provider.Refs, _ *esv1.GCPSMProvider) (credentials, error) {
	const f = field + ".auth.workloadIdentityFederation"
	aud, gsa := a.spec.Audience, a.spec.GCPServiceAccountEmail
	if cc := a.spec.CredConfig; cc != nil {
		ns, err := r.NamespaceFor(f+".credConfig", cc.Namespace)
		if err != nil {
			return credentials{}, err
		}
		var cm corev1.ConfigMap
		if err := r.Get(ctx, f+".credConfig", ns, cc.Name, &cm); err != nil {
			return credentials{}, err
		}
		raw, ok := cm.Data[cc.Key]
		if !ok {
			return credentials{}, provider.NewConfigError(f+".credConfig.key", "ConfigMap %s/%s has no key %q", ns, cc.Name, cc.Key)
		}
		var conf credConfig
		if err := json.Unmarshal([]byte(raw), &conf); err != nil || conf.Type != "external_account" {
			return credentials{}, provider.NewConfigError(f+".credConfig", "key %q of ConfigMap %s/%s is not an external_account credential configuration", cc.Key, ns, cc.Name)
		}
		if aud == "" {
			aud = conf.Audience
		}
		if m := impersonatedAccount.FindStringSubmatch(conf.ServiceAccountImpersonationURL); gsa == "" && m != nil {
			gsa = m[1]
		}
	}
	if aud == "" {
		return credentials{}, provider.NewConfigError(f+".audience", "is empty, and so is credConfig's audience")
	}
	ref := a.spec.ServiceAccountRef
	ns, err := r.NamespaceFor(f+".serviceAccountRef", ref.Namespace)
	if err != nil {
		return credentials{}, err
	}
	sa := provider.ServiceAccount{Namespace: ns, Name: ref.Name}
	var obj corev1.ServiceAccount
	if err := r.Get(ctx, f+".serviceAccountRef", sa.Namespace, sa.Name, &obj); err != nil {
		return credentials{}, err
	}
	// An OIDC pool provider accepts by default the tokens whose audience
	// is its own resource URL: https: followed by the STS audience.
	tokenAudiences := ref.Audiences
	if len(tokenAudiences) == 0 {
		tokenAudiences = []string{aud}
		if strings.HasPrefix(aud, "//") {
			tokenAudiences = []string{"https:" + aud}
		}
	}
	fed := federation{
		audience:       aud,
		sa:             sa,
		tokenAudiences: tokenAudiences,
		impersonate:    gsa,
		member:         fmt.Sprintf("principal://iam.googleapis.com/%s/subject/system:serviceaccount:%s:%s", strings.TrimPrefix(aud, "//iam.googleapis.com/"), sa.Namespace, sa.Name),
		source:         fmt.Sprintf("workload identity federation of ServiceAccount %s", sa),
	}
	return fed.credentials(p, hc, r), nil
}
