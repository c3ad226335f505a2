package gcp

import (
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/gcp/gcptest"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		roles    []string
		fault    func(*gcptest.Server)
		want     provider.ValidationResult
		wantText []string
	}{
		{name: "viewer may list", roles: []string{gcptest.RoleViewer}, want: provider.ValidationReady},
		{name: "accessor only: read access unproven", roles: []string{gcptest.RoleSecretAccessor}, want: provider.ValidationUnknown,
			wantText: []string{"read access cannot be proven", "secretmanager.secrets.list", "roles/secretmanager.viewer"}},
		{name: "token refused", roles: []string{gcptest.RoleViewer}, fault: func(s *gcptest.Server) {
			s.FailNext(gcptest.OpOAuthToken, 1, codes.InvalidArgument, "Invalid JWT Signature.")
		}, want: provider.ValidationFailed, wantText: []string{"Invalid JWT Signature", "signing in with the key"}},
		{name: "service unavailable", roles: []string{gcptest.RoleViewer}, fault: func(s *gcptest.Server) {
			s.FailNext(gcptest.OpListSecrets, 10, codes.Unavailable, "The service is currently unavailable.")
		}, want: provider.ValidationFailed, wantText: []string{"ListSecrets", "Unavailable"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			cl, member := f.keyClient(t, nil, tc.roles...)
			if tc.fault != nil {
				tc.fault(f.srv)
			}
			v, err := cl.Validate(t.Context())
			if v.Result != tc.want {
				t.Fatalf("Validate = %v, %v; want result %v", v.Result, err, tc.want)
			}
			if tc.want == provider.ValidationReady {
				if err != nil {
					t.Fatal(err)
				}
				mustContain(t, "identity", v.Identity, member[len("serviceAccount:"):])
				if n := f.srv.Calls(gcptest.OpListSecrets); n != 1 {
					t.Errorf("ListSecrets calls = %d, want 1", n)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			mustContain(t, "error", err.Error(), tc.wantText...)
		})
	}
}

// TestConcurrentStoresOverlap proves two stores' reads run in parallel: no
// lock is held around Google calls, and each store's token lock is its own.
func TestConcurrentStoresOverlap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addS()
	a, _ := f.keyClient(t, nil, gcptest.RoleSecretAccessor)
	b, _ := f.keyClient(t, nil, gcptest.RoleSecretAccessor)
	const latency = 300 * time.Millisecond
	// Every call is slow, the token calls of the first reads included.
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
		t.Errorf("at most %d calls were in flight at once, want 4", n)
	}
	// Sequential: 2 token calls + 4 reads = 6 latencies; overlapping: 2.
	if took := time.Since(start); took > 4*latency {
		t.Errorf("four reads through two slow stores took %s: they did not overlap", took)
	}
}
