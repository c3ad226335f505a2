package clusterexternalsecret

import (
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

func TestTargetNamespaces(t *testing.T) {
	ns := func(name string, labels map[string]string) corev1.Namespace {
		return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	deleting := ns("deleting", map[string]string{"team": "a"})
	deleting.DeletionTimestamp = &metav1.Time{}
	phaseTerminating := ns("phase-terminating", map[string]string{"team": "a"})
	phaseTerminating.Status.Phase = corev1.NamespaceTerminating
	all := []corev1.Namespace{
		ns("a1", map[string]string{"team": "a"}),
		ns("a2", map[string]string{"team": "a", "env": "prod"}),
		ns("b1", map[string]string{"team": "b"}),
		ns("plain", nil),
		deleting,
		phaseTerminating,
	}
	team := func(v string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"team": v}}
	}
	for _, tc := range []struct {
		name     string
		spec     esv1.ClusterExternalSecretSpec
		want     []string
		wantSpec bool
	}{
		{name: "nothing selects nothing", spec: esv1.ClusterExternalSecretSpec{}},
		{name: "by name", spec: esv1.ClusterExternalSecretSpec{Namespaces: []string{"plain", "b1"}}, want: []string{"b1", "plain"}},
		{name: "listed name that does not exist is left out", spec: esv1.ClusterExternalSecretSpec{Namespaces: []string{"missing", "a1"}}, want: []string{"a1"}},
		{name: "by selector", spec: esv1.ClusterExternalSecretSpec{NamespaceSelectors: []*metav1.LabelSelector{team("a")}}, want: []string{"a1", "a2"}},
		{name: "selectors are ORed", spec: esv1.ClusterExternalSecretSpec{NamespaceSelectors: []*metav1.LabelSelector{team("a"), team("b")}}, want: []string{"a1", "a2", "b1"}},
		{name: "deprecated selector is ORed too", spec: esv1.ClusterExternalSecretSpec{NamespaceSelector: team("b"), NamespaceSelectors: []*metav1.LabelSelector{
			{MatchLabels: map[string]string{"env": "prod"}}}}, want: []string{"a2", "b1"}},
		{name: "names and selectors together without duplicates", spec: esv1.ClusterExternalSecretSpec{NamespaceSelectors: []*metav1.LabelSelector{team("a")}, Namespaces: []string{"a1", "plain"}}, want: []string{"a1", "a2", "plain"}},
		{name: "empty selector matches every live namespace", spec: esv1.ClusterExternalSecretSpec{NamespaceSelectors: []*metav1.LabelSelector{{}}}, want: []string{"a1", "a2", "b1", "plain"}},
		{name: "null selector entry matches nothing", spec: esv1.ClusterExternalSecretSpec{NamespaceSelectors: []*metav1.LabelSelector{nil}}},
		{name: "match expressions", spec: esv1.ClusterExternalSecretSpec{NamespaceSelectors: []*metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "team", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"a"}}}}}}, want: []string{"b1", "plain"}},
		{name: "terminating namespaces are skipped even when listed", spec: esv1.ClusterExternalSecretSpec{Namespaces: []string{"deleting", "phase-terminating"}}},
		{name: "invalid selector is a spec error", spec: esv1.ClusterExternalSecretSpec{NamespaceSelectors: []*metav1.LabelSelector{team("a"), {MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "team", Operator: "Near"}}}}}, wantSpec: true},
		{name: "invalid deprecated selector is a spec error", spec: esv1.ClusterExternalSecretSpec{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "team", Operator: metav1.LabelSelectorOpIn}}}}, wantSpec: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := targetNamespaces(&tc.spec, all)
			var se *specError
			if tc.wantSpec != errors.As(err, &se) {
				t.Fatalf("error = %v, want a spec error: %v", err, tc.wantSpec)
			}
			if !tc.wantSpec && err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("targets = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestInvalidSelectorNamesTheField(t *testing.T) {
	spec := esv1.ClusterExternalSecretSpec{NamespaceSelectors: []*metav1.LabelSelector{{}, {MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Near"}}}}}
	_, err := targetNamespaces(&spec, nil)
	if err == nil || !contains(err.Error(), "spec.namespaceSelectors[1]") {
		t.Fatalf("error = %v, want it to name spec.namespaceSelectors[1]", err)
	}
}
