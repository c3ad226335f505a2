package diagnose

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/vault"
)

func TestReportStopsAtTheFirstFailure(t *testing.T) {
	r := &Report{OK: true}
	if !r.addAll([]Check{ok("a", "fine"), warn("b", "hmm", "why", "")}) {
		t.Fatal("a warning stopped the checks")
	}
	if r.addAll([]Check{fail("c", "broken", "cause", "fix"), ok("d", "never")}) {
		t.Fatal("a failure did not stop the checks")
	}
	if r.OK || len(r.Checks) != 3 || r.Failure() == nil || r.Failure().Name != "c" {
		t.Errorf("report %+v", r)
	}
	text := r.String()
	for _, w := range []string{"fail c", "diagnosis: cause", "fix: fix", "warn b"} {
		if !strings.Contains(text, w) {
			t.Errorf("String() lacks %q:\n%s", w, text)
		}
	}
}

func TestAuthFailureNamesTheCause(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{
			"Vault login refused",
			&vault.LoginError{Method: "kubernetes", Mount: "auth/kubernetes", Role: "app", Identity: "ServiceAccount ns/sa", Err: errors.New("HTTP 403")},
			[]string{`role "app"`, "vault read auth/kubernetes/role/app", "ServiceAccount ns/sa"},
		},
		{
			"ServiceAccount missing",
			&provider.ServiceAccountNotFoundError{SA: provider.ServiceAccount{Namespace: "ns", Name: "sa"}},
			[]string{"ServiceAccount ns/sa not found", "--controller-namespace"},
		},
		{
			"RBAC of the user",
			errors.New(`serviceaccounts "sa" is forbidden: User "dev" cannot create resource "serviceaccounts/token"`),
			[]string{"serviceaccounts/token", "docs/cli.md"},
		},
		{
			"configuration",
			provider.NewConfigError("spec.provider.vault.auth", "is empty"),
			[]string{"fix spec.provider.vault.auth"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := authFailure("vault", tc.err, provider.Controller{})
			all := c.Summary + "\n" + c.Diagnosis + "\n" + c.Fix
			if c.Status != Fail {
				t.Errorf("status %s", c.Status)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("lacks %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestDescribeConditions(t *testing.T) {
	got := describeConditions([]esv1.ClusterSecretStoreCondition{
		{Namespaces: []string{"a", "b"}},
		{NamespaceRegexes: []string{"^team-"}},
		{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}},
	})
	want := "namespaces a,b; namespaceRegexes ^team-; namespaceSelector env=prod"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestKeyListQuotesAndSorts(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
		want string
	}{
		{"none", nil, "(none)"},
		{"sorted and quoted", []string{"username", "password"}, `"password", "username"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := keyList(tc.keys); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
