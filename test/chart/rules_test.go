package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretbridge/secretbridge/internal/testenv"
)

// grant is one expected permission of the chart, with the reason the
// controller needs it. where is "ClusterRole" or the namespace of a Role.
type grant struct {
	where, group, resources, verbs, names, why string
}

// Where the chart binds a rule.
const (
	cluster = "ClusterRole"
	release = "Role in release namespace"
	watched = "Role in watched namespace"
	dflt    = "Role in namespace default"
)

// namespacedGrants are the rules about objects in the namespaces the
// controller serves: a ClusterRole when it serves all of them, else a Role
// in the one it watches.
func namespacedGrants(where string) []grant {
	return []grant{
		{where, "external-secrets.io", "externalsecrets", "get,list,watch", "", "reconcile ExternalSecrets (informer)"},
		{where, "external-secrets.io", "externalsecrets", "create,patch,delete", "", "ClusterExternalSecrets create, update and retract their child ExternalSecrets (unused in single-namespace mode, where they are not served; the markers do not split verbs by mode)"},
		{where, "external-secrets.io", "externalsecrets/status", "get,patch", "", "write the Ready condition, refresh time and synced version"},
		{where, "external-secrets.io", "externalsecrets/finalizers", "update", "", "target Secrets carry a blockOwnerDeletion owner reference to their ExternalSecret, which the API server allows only with update on the owner's finalizers"},
		{where, "external-secrets.io", "secretstores", "get,list,watch", "", "resolve secretStoreRef and watch stores turning Ready"},
		{where, "external-secrets.io", "secretstores/status", "get,patch", "", "write a SecretStore's Ready condition after validating it"},
		{where, "", "secrets", "get,list,watch", "", "cache managed target Secrets (label-selected informer), read unmanaged ones and credential/templateFrom Secrets uncached"},
		{where, "", "secrets", "create,patch", "", "write target Secrets with server-side apply (create is checked for an apply that creates)"},
		{where, "", "secrets", "delete", "", "deletionPolicy Delete removes the target Secret when every remote secret is gone"},
		{where, "", "configmaps", "get", "", "templateFrom ConfigMaps and caProvider ConfigMaps"},
		{where, "", "serviceaccounts", "get", "", "workload-identity logins read the ServiceAccount's role annotation (AWS IRSA, GKE, Azure) before requesting its token"},
		{where, "", "serviceaccounts/token", "create", "", "TokenRequest for serviceAccountRef logins (Vault Kubernetes/JWT auth, cloud workload identity)"},
		{where, "", "events", "create,patch", "", "core Events (leader election, older recorders)"},
		{where, "events.k8s.io", "events", "create,patch", "", "Events on ExternalSecrets and stores, one per transition (patch: series of repeats)"},
	}
}

// clusterGrants are the cluster-scoped reads needed in every mode.
var clusterGrants = []grant{
	{cluster, "", "namespaces", "get,list,watch", "", "ClusterSecretStore spec.conditions match the ExternalSecret's namespace labels; ClusterExternalSecrets select namespaces"},
	{cluster, "external-secrets.io", "clustersecretstores", "get,list,watch", "", "resolve secretStoreRef kind ClusterSecretStore and watch them turning Ready"},
	{cluster, "external-secrets.io", "clustersecretstores/status", "get,patch", "", "write a ClusterSecretStore's Ready condition"},
}

// allNamespacesGrants are needed only when the controller serves every namespace.
var allNamespacesGrants = []grant{
	{cluster, "external-secrets.io", "clusterexternalsecrets", "get,list,watch", "", "reconcile ClusterExternalSecrets (not served in single-namespace mode)"},
	{cluster, "external-secrets.io", "clusterexternalsecrets/status", "get,patch", "", "write a ClusterExternalSecret's Ready condition and provisioned namespaces"},
	{cluster, "external-secrets.io", "clusterexternalsecrets/finalizers", "update", "", "child ExternalSecrets carry a blockOwnerDeletion owner reference to their ClusterExternalSecret"},
}

// leaderElectionGrants live in the release namespace only.
var leaderElectionGrants = []grant{
	{release, "coordination.k8s.io", "leases", "get,create,update", "", "leader election: one replica of replicaCount reconciles"},
	{release, "", "events", "create,patch", "", "leader election records a leadership change as an Event on the Lease"},
	{release, "events.k8s.io", "events", "create,patch", "", "the same, through the events.k8s.io recorder"},
}

// clusterObjectEventGrants are needed, in single-namespace mode, where the
// event recorder puts Events about cluster-scoped objects.
var clusterObjectEventGrants = []grant{
	{dflt, "", "events", "create,patch", "", "Events about ClusterSecretStores (cluster-scoped) are recorded in namespace default"},
	{dflt, "events.k8s.io", "events", "create,patch", "", "the same, through the events.k8s.io recorder"},
}

// The chart grants exactly the expected rules, in the expected places, and
// nothing more, in both modes.
func TestRenderedRulesAreTheExpectedOnes(t *testing.T) {
	env := testenv.Get(t)
	const sa = "sb-secretbridge"
	ownToken := grant{release, "", "serviceaccounts/token", "create", sa, "single-namespace mode: a store that logs in as the controller requests a token of the controller's own ServiceAccount, which lives outside the watched namespace; only that one ServiceAccount"}
	for name, tc := range map[string]struct {
		values map[string]any
		want   [][]grant
	}{
		"all namespaces": {nil, [][]grant{clusterGrants, allNamespacesGrants, namespacedGrants(cluster), leaderElectionGrants}},
		"single namespace": {map[string]any{"watchNamespace": "team-a"},
			[][]grant{clusterGrants, namespacedGrants(watched), leaderElectionGrants, {ownToken}, clusterObjectEventGrants}},
		"single namespace without leader election": {map[string]any{"watchNamespace": "team-a", "leaderElection": map[string]any{"enabled": false}},
			[][]grant{clusterGrants, namespacedGrants(watched), {ownToken}, clusterObjectEventGrants}},
	} {
		t.Run(name, func(t *testing.T) {
			objs := render(t, env, "sb", "secretbridge", tc.values)
			got := renderedPermissions(t, objs, "secretbridge", "team-a", sa)
			want := map[string]bool{}
			for _, g := range slices.Concat(tc.want...) {
				for _, p := range expand(g) {
					want[p] = true
				}
			}
			var extra, missing []string
			for p := range got {
				if !want[p] {
					extra = append(extra, p)
				}
			}
			for p := range want {
				if !got[p] {
					missing = append(missing, p)
				}
			}
			slices.Sort(extra)
			slices.Sort(missing)
			if len(extra) > 0 {
				t.Errorf("the chart grants permissions nobody explained (add them to the expected list with a reason, or remove the marker):\n  %s", strings.Join(extra, "\n  "))
			}
			if len(missing) > 0 {
				t.Errorf("the chart lacks expected permissions:\n  %s", strings.Join(missing, "\n  "))
			}
			if name == "all namespaces" || name == "single namespace" {
				for _, g := range slices.Concat(tc.want...) {
					t.Logf("%-26s %-20s %-34s %-18s %s %s", g.where, orCore(g.group), g.resources, g.verbs, names(g.names), g.why)
				}
			}
		})
	}
}

// renderedPermissions flattens the rendered Roles and ClusterRoles into
// "where group/resource verb [names]" strings, checking that each is bound
// to the controller's ServiceAccount.
func renderedPermissions(t *testing.T, objs []*unstructured.Unstructured, releaseNS, watchedNS, sa string) map[string]bool {
	t.Helper()
	bound := map[string]bool{}
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for _, o := range find(objs, kind) {
			var b rbacv1.RoleBinding // same fields as a ClusterRoleBinding
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &b); err != nil {
				t.Fatal(err)
			}
			if len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != sa || b.Subjects[0].Namespace != releaseNS {
				t.Errorf("%s %s binds %+v, want only the controller's ServiceAccount", kind, b.Name, b.Subjects)
			}
			bound[b.RoleRef.Kind+"/"+o.GetNamespace()+"/"+b.RoleRef.Name] = true
		}
	}
	out := map[string]bool{}
	for _, kind := range []string{"ClusterRole", "Role"} {
		for _, o := range find(objs, kind) {
			var r rbacv1.Role
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r); err != nil {
				t.Fatal(err)
			}
			if !bound[kind+"/"+o.GetNamespace()+"/"+r.Name] {
				t.Errorf("%s %s/%s is not bound", kind, o.GetNamespace(), r.Name)
			}
			where := cluster
			switch {
			case kind == "Role" && o.GetNamespace() == releaseNS:
				where = release
			case kind == "Role" && o.GetNamespace() == watchedNS:
				where = watched
			case kind == "Role" && o.GetNamespace() == "default":
				where = dflt
			case kind == "Role":
				t.Errorf("Role %s is in unexpected namespace %s", r.Name, o.GetNamespace())
			}
			for _, rule := range r.Rules {
				if len(rule.NonResourceURLs) > 0 || slices.Contains(rule.Verbs, "*") || slices.Contains(rule.Resources, "*") || slices.Contains(rule.APIGroups, "*") {
					t.Errorf("%s %s has a wildcard or non-resource rule %+v", kind, r.Name, rule)
				}
				for _, p := range expand(grant{where, strings.Join(rule.APIGroups, ","), strings.Join(rule.Resources, ","), strings.Join(rule.Verbs, ","), strings.Join(rule.ResourceNames, ","), ""}) {
					out[p] = true
				}
			}
		}
	}
	return out
}

// expand lists a grant's single permissions.
func expand(g grant) []string {
	var out []string
	for _, group := range strings.Split(g.group, ",") {
		for _, res := range strings.Split(g.resources, ",") {
			for _, verb := range strings.Split(g.verbs, ",") {
				out = append(out, fmt.Sprintf("%s: %s/%s %s%s", g.where, orCore(group), res, verb, names(g.names)))
			}
		}
	}
	return out
}

func orCore(group string) string {
	if group == "" {
		return "core"
	}
	return group
}

func names(n string) string {
	if n == "" {
		return ""
	}
	return " (only " + n + ")"
}
