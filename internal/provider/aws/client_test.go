package aws

import (
	"sync"
	"testing"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/aws/awstest"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.srv
	readOnly := awstest.Allow([]string{"secretsmanager:GetSecretValue"}, "*")
	psScoped := awstest.Allow([]string{"ssm:GetParametersByPath", "ssm:GetParameter"}, "arn:aws:ssm:*:*:parameter/prod/*")

	cases := []struct {
		name    string
		service esv1.AWSServiceType
		policy  awstest.Policy
		prefix  string
		want    provider.ValidationResult
		wantErr string
	}{
		{name: "secrets manager", service: esv1.AWSServiceSecretsManager, policy: awstest.AllowAll, want: provider.ValidationReady},
		{name: "parameter store", service: esv1.AWSServiceParameterStore, policy: awstest.AllowAll, want: provider.ValidationReady},
		{name: "parameter store probes the prefix's hierarchy", service: esv1.AWSServiceParameterStore, policy: psScoped, prefix: "/prod/db/", want: provider.ValidationReady},
		{name: "list denied", service: esv1.AWSServiceSecretsManager, policy: readOnly, want: provider.ValidationUnknown,
			wantErr: "read access cannot be proven: access denied"},
		{name: "parameter store outside the granted hierarchy", service: esv1.AWSServiceParameterStore, policy: psScoped, want: provider.ValidationUnknown,
			wantErr: "ssm:GetParametersByPath"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec, creds := f.staticSpec(t, tc.service, tc.policy)
			spec.Prefix = tc.prefix
			c := f.client(t, namespacedStore(f.ns, spec), f.ns)
			v, err := c.Validate(t.Context())
			if v.Result != tc.want {
				t.Fatalf("Validate = %+v, %v; want result %d", v, err, tc.want)
			}
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("Validate: no error, want %q", tc.wantErr)
				}
				mustContain(t, "error", err.Error(), tc.wantErr)
			}
			var user string
			for _, r := range srv.Requests(awstest.OpGetCallerIdentity) {
				if r.AccessKeyID == creds.AccessKeyID {
					user = r.Principal
				}
			}
			if user == "" || v.Identity != user {
				t.Fatalf("Identity = %q, want %q", v.Identity, user)
			}
		})
	}
}

// TestConcurrentStoresOverlap proves two stores' reads run in parallel: no
// lock is held around AWS calls.
func TestConcurrentStoresOverlap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	a := f.staticClient(t, esv1.AWSServiceSecretsManager, awstest.AllowAll, nil)
	b := f.staticClient(t, esv1.AWSServiceSecretsManager, awstest.AllowAll, nil)
	const latency = 300 * time.Millisecond
	f.srv.SetLatency(latency)
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range []*Client{a, b, a, b} {
		wg.Go(func() {
			if _, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.srv.MaxConcurrent(); n < 4 {
		t.Errorf("at most %d requests were in flight at once, want 4", n)
	}
	if took := time.Since(start); took > 2*latency {
		t.Errorf("four reads of %s each took %s together: they did not overlap", latency, took)
	}
}
