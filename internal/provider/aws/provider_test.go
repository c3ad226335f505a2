package aws

import (
	"errors"
	"strings"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

func TestValidateStore(t *testing.T) {
	t.Parallel()
	keys := &esv1.AWSAuthSecretRef{
		AccessKeyID:     &esv1.SecretKeySelector{Name: "aws", Key: "id"},
		SecretAccessKey: &esv1.SecretKeySelector{Name: "aws", Key: "secret"},
	}
	const role = "arn:aws:iam::123456789012:role/reader"
	cases := []struct {
		name      string
		spec      *esv1.AWSProvider
		retry     *esv1.SecretStoreRetrySettings
		wantField string // empty: valid
		wantText  string
	}{
		{name: "secrets manager, default chain", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1"}},
		{name: "parameter store, static keys", spec: &esv1.AWSProvider{Service: "ParameterStore", Region: "us-gov-west-1", Auth: &esv1.AWSAuth{SecretRef: keys}}},
		{name: "jwt with role chain and tags", spec: &esv1.AWSProvider{
			Service: "SecretsManager", Region: "eu-west-1", Role: role, AdditionalRoles: []string{role}, ExternalID: "ext-1",
			SessionTags: []esv1.Tag{{Key: "team", Value: "a"}}, SessionTagsPolicy: "Simple",
			Auth: &esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "sa"}}},
		}},
		{name: "retry settings", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1"}, retry: &esv1.SecretStoreRetrySettings{MaxRetries: ptr[int32](5), RetryInterval: ptr("2s")}},
		{name: "no service", spec: &esv1.AWSProvider{Region: "eu-west-1"}, wantField: ".service", wantText: "is empty"},
		{name: "certificate manager", spec: &esv1.AWSProvider{Service: "CertificateManager", Region: "eu-west-1"}, wantField: ".service", wantText: "not supported"},
		{name: "unknown service", spec: &esv1.AWSProvider{Service: "S3", Region: "eu-west-1"}, wantField: ".service", wantText: `"S3"`},
		{name: "no region", spec: &esv1.AWSProvider{Service: "SecretsManager"}, wantField: ".region", wantText: "is empty"},
		{name: "bad region", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "Frankfurt"}, wantField: ".region", wantText: "not an AWS region"},
		{name: "bad role", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", Role: "reader"}, wantField: ".role", wantText: "not an IAM role ARN"},
		{name: "bad additional role", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", AdditionalRoles: []string{role, "arn:aws:iam::1:user/x"}}, wantField: ".additionalRoles[1]"},
		{name: "bad external ID", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", Role: role, ExternalID: "a b"}, wantField: ".externalID"},
		{name: "tags without role", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", SessionTags: []esv1.Tag{{Key: "k", Value: "v"}}}, wantField: ".sessionTags", wantText: "set role"},
		{name: "duplicate tag", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", Role: role, SessionTags: []esv1.Tag{{Key: "k"}, {Key: "k"}}}, wantField: ".sessionTags[1].key"},
		{name: "bad tag policy", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", Role: role, SessionTagsPolicy: "All"}, wantField: ".sessionTagsPolicy"},
		{name: "both auth methods", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", Auth: &esv1.AWSAuth{SecretRef: keys, JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "sa"}}}}, wantField: ".auth", wantText: "not both"},
		{name: "keys without secret key", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", Auth: &esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{AccessKeyID: keys.AccessKeyID}}}, wantField: ".secretAccessKeySecretRef"},
		{name: "session token without key", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", Auth: &esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{AccessKeyID: keys.AccessKeyID, SecretAccessKey: keys.SecretAccessKey, SessionToken: &esv1.SecretKeySelector{Name: "x"}}}}, wantField: ".sessionTokenSecretRef"},
		{name: "jwt without service account", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", Auth: &esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{}}}, wantField: ".serviceAccountRef.name"},
		{name: "negative retries", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1"}, retry: &esv1.SecretStoreRetrySettings{MaxRetries: ptr[int32](-1)}, wantField: "spec.retrySettings.maxRetries"},
		{name: "bad retry interval", spec: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1"}, retry: &esv1.SecretStoreRetrySettings{RetryInterval: ptr("soon")}, wantField: "spec.retrySettings.retryInterval"},
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
	p, name, err := provider.ForStore(&esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{}}})
	if err != nil || name != Name {
		t.Fatalf("ForStore = %v, %q, %v", p, name, err)
	}
	if got := p.Capabilities(); got != esv1.SecretStoreReadOnly {
		t.Fatalf("Capabilities = %s", got)
	}
}
