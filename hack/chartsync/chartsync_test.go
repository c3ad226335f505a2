package main

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

func TestSplitRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rules   []rbacv1.PolicyRule
		want    map[scope]int // rules per scope
		wantErr string
	}{
		{
			name: "mixed-scope rule is split by resource",
			rules: []rbacv1.PolicyRule{{APIGroups: []string{"external-secrets.io"},
				Resources: []string{"secretstores", "clustersecretstores", "clusterexternalsecrets"}, Verbs: []string{"get"}}},
			want: map[scope]int{scopeNamespaced: 1, scopeCluster: 1, scopeAllNamespaces: 1},
		},
		{
			name:  "events go to every place events are recorded",
			rules: []rbacv1.PolicyRule{{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create"}}},
			want:  map[scope]int{scopeNamespaced: 1, scopeLeaderElection: 1, scopeClusterObjectEvents: 1},
		},
		{
			name:    "an unclassified resource stops the generator",
			rules:   []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}},
			wantErr: `resource "pods" has no scope`,
		},
		{
			name:    "resourceNames need a decision",
			rules:   []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"x"}, Verbs: []string{"get"}}},
			wantErr: "resourceNames",
		},
		{
			name:    "no rules",
			wantErr: "no rules",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitRules(tc.rules)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range scopes {
				if len(got[s]) != tc.want[s] {
					t.Errorf("scope %s: %d rules %v, want %d", s, len(got[s]), got[s], tc.want[s])
				}
			}
		})
	}
}

func TestDocumentValues(t *testing.T) {
	for _, tc := range []struct {
		name, values string
		want         []valueDoc
		wantErr      string
	}{
		{
			name: "leaves, documented maps and nested keys",
			values: `# File header.

# -- Replicas.
replicaCount: 2
image:
  # -- Image
  # repository.
  repository: x
# -- Security context.
securityContext:
  runAsNonRoot: true
`,
			want: []valueDoc{
				{"replicaCount", "int", "2", "Replicas."},
				{"image.repository", "string", `"x"`, "Image repository."},
				{"securityContext", "object", `{"runAsNonRoot":true}`, "Security context."},
			},
		},
		{
			name:    "an undocumented value is an error",
			values:  "image:\n  # a plain comment\n  tag: \"\"\n",
			wantErr: `image.tag has no "# --" comment`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := documentValues([]byte(tc.values))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("row %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
