package aws

import (
	"errors"
	"strings"
	"testing"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/aws/awstest"
)

func TestAccessDeniedNamesSecretActionAndPrincipal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.srv
	srv.PutSecret(awstest.Secret{Name: "prod/db", String: "v"})
	srv.PutParameter(awstest.Parameter{Name: "/prod/db", Value: "v"})
	none := awstest.Policy{{Actions: []string{"sts:GetCallerIdentity"}, Resources: []string{"*"}}}
	sm := f.staticClient(t, esv1.AWSServiceSecretsManager, none, nil)
	ps := f.staticClient(t, esv1.AWSServiceParameterStore, none, nil)
	smUser := principalOf(t, srv, sm)
	psUser := principalOf(t, srv, ps)

	cases := []struct {
		name string
		do   func() error
		want []string
	}{
		{name: "GetSecretValue", do: func() error {
			_, err := sm.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "prod/db"})
			return err
		}, want: []string{smUser, "secretsmanager:GetSecretValue", `secret "prod/db" (` + srv.SecretARN("prod/db") + ")", "in eu-west-1",
			`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"` + srv.SecretARN("prod/db") + `"}`}},
		{name: "DescribeSecret for tags", do: func() error {
			_, err := sm.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "prod/db", MetadataPolicy: esv1.MetadataPolicyFetch})
			return err
		}, want: []string{smUser, "secretsmanager:DescribeSecret", `secret "prod/db"`}},
		{name: "ListSecrets for find", do: func() error {
			_, err := sm.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr("prod/")})
			return err
		}, want: []string{smUser, "secretsmanager:ListSecrets", "on every resource", `"Resource":"*"`}},
		{name: "GetParameter", do: func() error {
			_, err := ps.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "/prod/db"})
			return err
		}, want: []string{psUser, "ssm:GetParameter", `parameter "/prod/db" (` + srv.ParameterARN("/prod/db") + ")"}},
		{name: "GetParametersByPath for find", do: func() error {
			_, err := ps.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Path: ptr("/prod")})
			return err
		}, want: []string{psUser, "ssm:GetParametersByPath", "on " + srv.ParameterARN("/prod") + " in eu-west-1", `"Resource":"` + srv.ParameterARN("/prod") + `"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			var denied *AccessDeniedError
			if !errors.As(err, &denied) {
				t.Fatalf("error = %v, want an AccessDeniedError", err)
			}
			mustContain(t, "error", err.Error(), tc.want...)
		})
	}
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	c := f.staticClient(t, esv1.AWSServiceSecretsManager, awstest.AllowAll, nil)
	ref := esv1.ExternalSecretDataRemoteRef{Key: "s"}

	t.Run("retried with retry-after", func(t *testing.T) {
		f.srv.ResetCalls()
		f.srv.FailNext(awstest.OpGetSecretValue, 2, awstest.Throttling(100*time.Millisecond))
		start := time.Now()
		if got, err := c.GetSecret(t.Context(), ref); err != nil || string(got) != "value" {
			t.Fatalf("GetSecret = %q, %v", got, err)
		}
		if took := time.Since(start); took < 200*time.Millisecond {
			t.Errorf("two throttled attempts took %s, want ≥ 200ms (x-amz-retry-after: 100)", took)
		}
		if n := f.srv.Calls(awstest.OpGetSecretValue); n != 3 {
			t.Errorf("GetSecretValue calls = %d, want 3", n)
		}
	})
	t.Run("reported after the last attempt", func(t *testing.T) {
		f.srv.ResetCalls()
		f.srv.FailNext(awstest.OpGetSecretValue, 3, awstest.Throttling(0))
		_, err := c.GetSecret(t.Context(), ref)
		var te *ThrottledError
		if !errors.As(err, &te) || te.Attempts != 3 {
			t.Fatalf("GetSecret = %v, want a ThrottledError after 3 attempts", err)
		}
		mustContain(t, "error", err.Error(), `Secrets Manager in eu-west-1 throttled secretsmanager:GetSecretValue of "s" after 3 attempts`, "ThrottlingException: Rate exceeded")
	})
	t.Run("retrySettings", func(t *testing.T) {
		spec, _ := f.staticSpec(t, esv1.AWSServiceSecretsManager, awstest.AllowAll)
		store := namespacedStore(f.ns, spec)
		store.Spec.RetrySettings = &esv1.SecretStoreRetrySettings{MaxRetries: ptr[int32](1), RetryInterval: ptr("10ms")}
		c := f.client(t, store, f.ns)
		f.srv.ResetCalls()
		f.srv.FailNext(awstest.OpGetSecretValue, 2, awstest.Throttling(0))
		_, err := c.GetSecret(t.Context(), ref)
		var te *ThrottledError
		if !errors.As(err, &te) || te.Attempts != 2 || f.srv.Calls(awstest.OpGetSecretValue) != 2 {
			t.Fatalf("GetSecret = %v after %d calls, want a ThrottledError after 2 attempts", err, f.srv.Calls(awstest.OpGetSecretValue))
		}
	})
}

func TestCredentialErrorsExplained(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.srv
	srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	good := srv.AddUser("u", awstest.AllowAll)
	session := srv.SessionCredentials("u", time.Hour)
	srv.ExpireCredentials(session.AccessKeyID)

	cases := []struct {
		name  string
		creds awstest.Credentials
		want  []string
	}{
		{name: "wrong secret access key", creds: awstest.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: "not-the-key"},
			want: []string{"InvalidSignatureException", "the secret access key does not match the access key ID", "secretAccessKeySecretRef", "the static keys in Secret " + f.ns + "/"}},
		{name: "unknown access key", creds: awstest.Credentials{AccessKeyID: "AKIADELETED", SecretAccessKey: "x"},
			want: []string{"UnrecognizedClientException", "AWS does not know this access key ID"}},
		{name: "expired session token", creds: session,
			want: []string{"ExpiredTokenException", "with the session token in Secret", "the session token is temporary and has expired: put fresh credentials in the Secrets"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := f.spec(esv1.AWSServiceSecretsManager)
			spec.Auth = &esv1.AWSAuth{SecretRef: f.keysSecret(t, f.ns, tc.creds)}
			c := f.client(t, namespacedStore(f.ns, spec), f.ns)
			_, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
			var ce *CredentialsError
			if !errors.As(err, &ce) {
				t.Fatalf("GetSecret = %v, want a CredentialsError", err)
			}
			mustContain(t, "error", err.Error(), tc.want...)
			v, verr := c.Validate(t.Context())
			if v.Result != provider.ValidationFailed || !errors.As(verr, &ce) {
				t.Fatalf("Validate = %+v, %v; want ValidationFailed with a CredentialsError", v, verr)
			}
		})
	}

	t.Run("expired credentials of an assumed role", func(t *testing.T) {
		spec, creds := f.staticSpec(t, esv1.AWSServiceSecretsManager, nil)
		spec.Role = srv.AddRole(awstest.Role{Name: unique("r-"), Policy: awstest.AllowAll, TrustedPrincipals: []string{"*"}})
		c := f.client(t, namespacedStore(f.ns, spec), f.ns)
		if _, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
			t.Fatal(err)
		}
		srv.ExpireCredentials(creds.AccessKeyID)
		for _, call := range srv.AssumeRoleCalls() {
			srv.ExpireCredentials(call.Credentials.AccessKeyID)
		}
		_, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
		var ce *CredentialsError
		if !errors.As(err, &ce) {
			t.Fatalf("GetSecret = %v, want a CredentialsError", err)
		}
		mustContain(t, "error", err.Error(), "role "+spec.Role, "check the clock of the controller's host")
	})
}

// TestErrorsNeverContainSecretsOrCredentials drives every failure path with
// distinctive secret values and credentials and checks no error carries
// them.
func TestErrorsNeverContainSecretsOrCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.srv
	const value = "VALUE-d0-n0t-l3ak"
	srv.PutSecret(awstest.Secret{Name: "app", String: `{"password":"` + value + `"}`})
	srv.PutSecret(awstest.Secret{Name: "plain", String: value})
	srv.PutSecret(awstest.Secret{Name: "shared/a", String: value})
	srv.PutParameter(awstest.Parameter{Name: "/p", Value: value, Type: "SecureString"})
	allow := srv.AddUser("allowed", awstest.AllowAll)
	denied := srv.AddUser("denied", awstest.Policy{{Actions: []string{"secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue"}, Resources: []string{"*"}}})
	session := srv.SessionCredentials("allowed", time.Hour)
	srv.ExpireCredentials(session.AccessKeyID)
	untrusted := srv.AddRole(awstest.Role{Name: "untrusted"})

	secretsOf := []string{value, allow.SecretAccessKey, denied.SecretAccessKey, session.SecretAccessKey, session.SessionToken}
	var errs []error
	try := func(service esv1.AWSServiceType, creds awstest.Credentials, mutate func(*esv1.AWSProvider), do func(*Client) error) {
		spec := f.spec(service)
		spec.Auth = &esv1.AWSAuth{SecretRef: f.keysSecret(t, f.ns, creds)}
		if mutate != nil {
			mutate(spec)
		}
		errs = append(errs, do(f.client(t, namespacedStore(f.ns, spec), f.ns)))
	}
	get := func(ref esv1.ExternalSecretDataRemoteRef) func(*Client) error {
		return func(c *Client) error { _, err := c.GetSecret(t.Context(), ref); return err }
	}
	getMap := func(ref esv1.ExternalSecretDataRemoteRef) func(*Client) error {
		return func(c *Client) error { _, err := c.GetSecretMap(t.Context(), ref); return err }
	}
	find := func(fd esv1.ExternalSecretFind) func(*Client) error {
		return func(c *Client) error { _, err := c.GetAllSecrets(t.Context(), fd); return err }
	}
	validate := func(c *Client) error { _, err := c.Validate(t.Context()); return err }
	sm, ps := esv1.AWSServiceSecretsManager, esv1.AWSServiceParameterStore

	try(sm, allow, nil, get(esv1.ExternalSecretDataRemoteRef{Key: "missing"}))
	try(sm, allow, nil, get(esv1.ExternalSecretDataRemoteRef{Key: "app", Version: "nope"}))
	try(sm, allow, nil, getMap(esv1.ExternalSecretDataRemoteRef{Key: "plain"}))
	try(sm, allow, nil, getMap(esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "missing"}))
	try(sm, allow, nil, getMap(esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "password"}))
	try(sm, denied, nil, get(esv1.ExternalSecretDataRemoteRef{Key: "app"}))
	try(sm, denied, nil, find(esv1.ExternalSecretFind{Path: ptr("shared/")}))
	try(sm, awstest.Credentials{AccessKeyID: allow.AccessKeyID, SecretAccessKey: "wrong-" + allow.SecretAccessKey}, nil, get(esv1.ExternalSecretDataRemoteRef{Key: "app"}))
	try(sm, session, nil, get(esv1.ExternalSecretDataRemoteRef{Key: "app"}))
	try(sm, session, nil, validate)
	try(sm, allow, func(s *esv1.AWSProvider) { s.Role = untrusted }, get(esv1.ExternalSecretDataRemoteRef{Key: "app"}))
	try(ps, denied, nil, get(esv1.ExternalSecretDataRemoteRef{Key: "/p"}))
	try(ps, allow, nil, get(esv1.ExternalSecretDataRemoteRef{Key: "/p", Version: "3"}))
	try(ps, allow, nil, getMap(esv1.ExternalSecretDataRemoteRef{Key: "/p"}))
	srv.FailNext(awstest.OpGetSecretValue, 3, awstest.Throttling(0))
	try(sm, allow, nil, get(esv1.ExternalSecretDataRemoteRef{Key: "app"}))

	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		for _, s := range secretsOf {
			if strings.Contains(err.Error(), s) {
				t.Errorf("case %d: error contains a secret value or credential %q:\n%v", i, s[:8]+"…", err)
			}
		}
	}
}
