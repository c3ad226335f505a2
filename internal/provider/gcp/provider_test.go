package gcp

import (
	"errors"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

func TestValidateStore(t *testing.T) {
	t.Parallel()
	key := &esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{SecretAccessKey: &esv1.SecretKeySelector{Name: "gcp", Key: "sa.json"}}}
	wi := func(w esv1.GCPWorkloadIdentity) *esv1.GCPSMAuth { return &esv1.GCPSMAuth{WorkloadIdentity: &w} }
	wif := func(w esv1.GCPWorkloadIdentityFederation) *esv1.GCPSMAuth {
		return &esv1.GCPSMAuth{WorkloadIdentityFederation: &w}
	}
	sa := esv1.ServiceAccountSelector{Name: "app"}
	const aud = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k8s"
	cases := []struct {
		name      string
		spec      *esv1.GCPSMProvider
		retry     *esv1.SecretStoreRetrySettings
		wantField string // empty: valid
		wantText  string
	}{
		{name: "default credentials", spec: &esv1.GCPSMProvider{ProjectID: "my-project"}},
		{name: "no project with default credentials", spec: &esv1.GCPSMProvider{}},
		{name: "key, location and policy", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Location: "europe-west1", SecretVersionSelectionPolicy: "LatestOrFetch", Auth: key}},
		{name: "project number", spec: &esv1.GCPSMProvider{ProjectID: "123456789012"}},
		{name: "workload identity", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: wi(esv1.GCPWorkloadIdentity{ServiceAccountRef: sa, ClusterLocation: "europe-west1", ClusterName: "c"})}},
		{name: "workload identity, cluster project", spec: &esv1.GCPSMProvider{Auth: wi(esv1.GCPWorkloadIdentity{ServiceAccountRef: sa, ClusterProjectID: "cluster-project"})}},
		{name: "federation", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: wif(esv1.GCPWorkloadIdentityFederation{ServiceAccountRef: &sa, Audience: aud, GCPServiceAccountEmail: "r@my-project.iam.gserviceaccount.com"})}},
		{name: "retry settings", spec: &esv1.GCPSMProvider{ProjectID: "my-project"}, retry: &esv1.SecretStoreRetrySettings{MaxRetries: ptr[int32](2), RetryInterval: ptr("2s")}},
		{name: "bad project", spec: &esv1.GCPSMProvider{ProjectID: "My Project"}, wantField: ".projectID", wantText: "not a Google Cloud project ID"},
		{name: "bad location", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Location: "Frankfurt"}, wantField: ".location", wantText: "europe-west1"},
		{name: "bad policy", spec: &esv1.GCPSMProvider{ProjectID: "my-project", SecretVersionSelectionPolicy: "Newest"}, wantField: ".secretVersionSelectionPolicy", wantText: "LatestOrFail or LatestOrFetch"},
		{name: "two auth methods", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: &esv1.GCPSMAuth{SecretRef: key.SecretRef, WorkloadIdentity: &esv1.GCPWorkloadIdentity{ServiceAccountRef: sa}}}, wantField: ".auth", wantText: "set one of"},
		{name: "key without ref", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: &esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{}}}, wantField: ".secretAccessKeySecretRef", wantText: "name and key"},
		{name: "key without key", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: &esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{SecretAccessKey: &esv1.SecretKeySelector{Name: "gcp"}}}}, wantField: ".secretAccessKeySecretRef"},
		{name: "workload identity without service account", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: wi(esv1.GCPWorkloadIdentity{})}, wantField: ".serviceAccountRef.name"},
		{name: "workload identity without project", spec: &esv1.GCPSMProvider{Auth: wi(esv1.GCPWorkloadIdentity{ServiceAccountRef: sa})}, wantField: ".clusterProjectID", wantText: "projectID"},
		{name: "workload identity, half a cluster", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: wi(esv1.GCPWorkloadIdentity{ServiceAccountRef: sa, ClusterName: "c"})}, wantField: ".workloadIdentity", wantText: "both"},
		{name: "federation without service account", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: wif(esv1.GCPWorkloadIdentityFederation{Audience: aud})}, wantField: ".serviceAccountRef.name"},
		{name: "federation without audience", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: wif(esv1.GCPWorkloadIdentityFederation{ServiceAccountRef: &sa})}, wantField: ".audience"},
		{name: "federation with AWS", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: wif(esv1.GCPWorkloadIdentityFederation{AwsSecurityCredentials: &esv1.AwsCredentialsConfig{Region: "eu-west-1"}})}, wantField: ".awsSecurityCredentials", wantText: "not supported"},
		{name: "federation with token endpoint", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: wif(esv1.GCPWorkloadIdentityFederation{ExternalTokenEndpoint: "https://x"})}, wantField: ".externalTokenEndpoint", wantText: "not supported"},
		{name: "federation, bad account", spec: &esv1.GCPSMProvider{ProjectID: "my-project", Auth: wif(esv1.GCPWorkloadIdentityFederation{ServiceAccountRef: &sa, Audience: aud, GCPServiceAccountEmail: "me@example.com"})}, wantField: ".gcpServiceAccountEmail"},
		{name: "negative retries", spec: &esv1.GCPSMProvider{ProjectID: "my-project"}, retry: &esv1.SecretStoreRetrySettings{MaxRetries: ptr[int32](-1)}, wantField: "spec.retrySettings.maxRetries"},
		{name: "bad retry interval", spec: &esv1.GCPSMProvider{ProjectID: "my-project"}, retry: &esv1.SecretStoreRetrySettings{RetryInterval: ptr("soon")}, wantField: "spec.retrySettings.retryInterval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := namespacedStore("ns", tc.spec)
			store.Spec.RetrySettings = tc.retry
			err := Provider{}.ValidateStore(store)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("ValidateStore: %v", err)
				}
				return
			}
			var ce *provider.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ValidateStore = %v, want a *provider.ConfigError", err)
			}
			if !strings.HasSuffix(ce.Field, tc.wantField) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("ValidateStore = %q (field %s), want field …%s and %q", err, ce.Field, tc.wantField, tc.wantText)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	p, name, err := provider.ForStore(&esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{GCPSM: &esv1.GCPSMProvider{}}})
	if err != nil || name != Name {
		t.Fatalf("ForStore = %v, %q, %v", p, name, err)
	}
	known := strings.Join(provider.KnownEndpoints(), "\n")
	for _, ep := range []string{endpointSecretManager, endpointSTS, endpointIAMCredentials} {
		if !strings.Contains(known, ep+" (") {
			t.Errorf("endpoint %s is not registered: %s", ep, known)
		}
	}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		location string
		want     string
	}{
		{name: "global", want: "secretmanager.googleapis.com:443"},
		{name: "regional", location: "europe-west1", want: "secretmanager.europe-west1.rep.googleapis.com:443"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Provider{}.secretManagerTarget(tc.location)
			if err != nil || got != tc.want {
				t.Fatalf("secretManagerTarget(%q) = %q, %v, want %q", tc.location, got, err, tc.want)
			}
		})
	}
	if got := (Provider{}).stsTokenURL(); got != "https://sts.googleapis.com/v1/token" {
		t.Errorf("stsTokenURL = %q", got)
	}
	if got := (Provider{}).impersonationURL("r@p.iam.gserviceaccount.com"); got != "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/r@p.iam.gserviceaccount.com:generateAccessToken" {
		t.Errorf("impersonationURL = %q", got)
	}
}
