package gcp

import (
	"errors"
	"strings"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/gcp/gcptest"
)

// containsFold reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func TestPermissionDeniedNamesPermissionResourceAndRole(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.AddSecret("projects/"+project+"/secrets/db", map[string]string{"a": "b"}, nil)
	f.srv.AddVersion("projects/"+project+"/secrets/db", []byte("value"))
	none, noneMember := f.keyClient(t, nil)
	accessor, accessorMember := f.keyClient(t, nil, gcptest.RoleSecretAccessor)
	cases := []struct {
		name   string
		client *Client
		call   func(*Client) error
		want   []string
	}{
		{name: "access", client: none, call: func(c *Client) error {
			_, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "db"})
			return err
		}, want: []string{"secretmanager.versions.access", "projects/" + project + "/secrets/db/versions/latest", "roles/secretmanager.secretAccessor", strings.TrimPrefix(noneMember, "serviceAccount:")}},
		{name: "metadata", client: accessor, call: func(c *Client) error {
			_, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "db", MetadataPolicy: esv1.MetadataPolicyFetch})
			return err
		}, want: []string{"secretmanager.secrets.get", "projects/" + project + "/secrets/db", "roles/secretmanager.viewer", strings.TrimPrefix(accessorMember, "serviceAccount:")}},
		{name: "find", client: accessor, call: func(c *Client) error {
			_, err := c.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "."}})
			return err
		}, want: []string{"secretmanager.secrets.list", "projects/" + project, "roles/secretmanager.viewer"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.call(tc.client)
			var denied *PermissionDeniedError
			if !errors.As(err, &denied) {
				t.Fatalf("error = %v, want a *PermissionDeniedError", err)
			}
			mustContain(t, "error", err.Error(), tc.want...)
		})
	}
}

func TestRetriesThrottlingWithBackoff(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		code      codes.Code
		faults    int
		retries   *int32
		wantCalls int
		wantErr   bool
	}{
		{name: "resource exhausted, then success", code: codes.ResourceExhausted, faults: 2, wantCalls: 3},
		{name: "unavailable, then success", code: codes.Unavailable, faults: 3, wantCalls: 4},
		{name: "throttled beyond maxRetries", code: codes.ResourceExhausted, faults: 5, retries: ptr[int32](1), wantCalls: 2, wantErr: true},
		{name: "not found is not retried", code: codes.NotFound, faults: 1, wantCalls: 1, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.addS()
			spec, email := f.keySpec(t)
			f.srv.Grant(gcptest.Member(email), gcptest.RoleSecretAccessor, "projects/"+project)
			store := namespacedStore(f.ns, spec)
			if tc.retries != nil {
				store.Spec.RetrySettings = &esv1.SecretStoreRetrySettings{MaxRetries: tc.retries, RetryInterval: ptr("1ms")}
			}
			cl := f.client(t, store, f.ns)
			f.srv.FailNext(gcptest.OpAccessSecretVersion, tc.faults, tc.code, "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute per project'")
			_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
			if (err != nil) != tc.wantErr {
				t.Fatalf("GetSecret error = %v, want error: %v", err, tc.wantErr)
			}
			if n := f.srv.Calls(gcptest.OpAccessSecretVersion); n != tc.wantCalls {
				t.Errorf("AccessSecretVersion calls = %d, want %d", n, tc.wantCalls)
			}
			var throttled *ThrottledError
			if tc.wantErr && tc.code == codes.ResourceExhausted && !errors.As(err, &throttled) {
				t.Errorf("error = %v, want a *ThrottledError", err)
			}
		})
	}
}

func TestUnauthenticatedExplained(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addS()
	cl, member := f.keyClient(t, nil, gcptest.RoleSecretAccessor)
	f.srv.FailNext(gcptest.OpAccessSecretVersion, 2, codes.Unauthenticated, "Request had invalid authentication credentials.")
	_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
	var ce *CredentialsError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want a *CredentialsError", err)
	}
	mustContain(t, "error", err.Error(), "rejected the access token", strings.TrimPrefix(member, "serviceAccount:"), "projects/"+project+"/secrets/s/versions/latest")
	if n := f.srv.Calls(gcptest.OpOAuthToken); n != 2 {
		t.Errorf("token calls = %d, want 2 (a new token for the second attempt)", n)
	}
}

// TestErrorsNeverContainSecretsOrCredentials drives every error path with
// a known secret value and checks that no message carries it, a token or
// key material.
func TestErrorsNeverContainSecretsOrCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const value = "s3cr3t-Value-42"
	const name = "projects/" + project + "/secrets/db"
	f.srv.AddSecret(name, map[string]string{"team": "a"}, nil)
	f.srv.AddVersion(name, []byte(value))
	f.srv.AddVersion(name, []byte(value+"-2"))
	f.srv.SetVersionState(name, 2, secretmanagerpb.SecretVersion_DISABLED)
	ok, _ := f.keyClient(t, nil, gcptest.RoleSecretAccessor)
	denied, _ := f.keyClient(t, nil)
	var errs []error
	get := func(c *Client, ref esv1.ExternalSecretDataRemoteRef) {
		_, err := c.GetSecret(t.Context(), ref)
		errs = append(errs, err)
	}
	get(denied, esv1.ExternalSecretDataRemoteRef{Key: "db"})
	get(ok, esv1.ExternalSecretDataRemoteRef{Key: "db"})
	get(ok, esv1.ExternalSecretDataRemoteRef{Key: "missing"})
	get(ok, esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "7"})
	_, err := ok.GetSecretMap(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "1"})
	errs = append(errs, err)
	f.srv.FailNext(gcptest.OpAccessSecretVersion, 10, codes.ResourceExhausted, "Quota exceeded")
	get(ok, esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "1"})
	f.srv.FailNext(gcptest.OpAccessSecretVersion, 2, codes.Unauthenticated, "Request had invalid authentication credentials.")
	get(ok, esv1.ExternalSecretDataRemoteRef{Key: "db", Version: "1"})
	_, err = ok.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "db"}})
	errs = append(errs, err)
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		for _, leak := range []string{value, "ya29.", "PRIVATE KEY", "Bearer"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("error carries %q: %v", leak, err)
			}
		}
	}
	if n < 7 {
		t.Fatalf("only %d of %d calls failed; the test no longer drives the error paths", n, len(errs))
	}
	if !provider.IsNotFound(errs[2]) {
		t.Errorf("missing secret: %v is not a NotFoundError", errs[2])
	}
}
