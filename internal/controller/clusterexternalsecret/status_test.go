package clusterexternalsecret

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

func TestStatusFrom(t *testing.T) {
	prev := esv1.ClusterExternalSecretStatus{
		ExternalSecretName:    "old",
		ProvisionedNamespaces: []string{"x"},
		FailedNamespaces:      []esv1.ClusterExternalSecretNamespaceFailure{{Namespace: "y", Reason: "r"}},
		Conditions: []esv1.ClusterExternalSecretStatusCondition{
			{Type: esv1.ConditionReady, Status: corev1.ConditionTrue},
			{Type: esv1.ConditionReconciling, Status: corev1.ConditionTrue},
		},
	}
	foreign := failure{namespace: "b", reason: `ExternalSecret "es" exists and is not owned by this ClusterExternalSecret`}
	for _, tc := range []struct {
		name            string
		out             outcome
		wantReady       corev1.ConditionStatus
		wantMessage     []string
		wantStalled     bool
		wantProvisioned []string
		wantFailed      []string
	}{
		{name: "all provisioned", out: outcome{name: "es", matched: 2, provisioned: []string{"c", "a"}},
			wantReady: corev1.ConditionTrue, wantMessage: []string{`ExternalSecret "es" is provisioned in 2 namespaces`}, wantProvisioned: []string{"a", "c"}},
		{name: "one namespace", out: outcome{name: "es", matched: 1, provisioned: []string{"a"}},
			wantReady: corev1.ConditionTrue, wantMessage: []string{"in 1 namespace"}, wantProvisioned: []string{"a"}},
		{name: "nothing matches", out: outcome{name: "es"},
			wantReady: corev1.ConditionTrue, wantMessage: []string{"No namespace matches"}},
		{name: "foreign ExternalSecret stalls", out: outcome{name: "es", matched: 2, provisioned: []string{"a"}, failures: []failure{foreign}},
			wantReady: corev1.ConditionFalse, wantMessage: []string{`ExternalSecret "es" failed in 1 of 2 namespaces`, "b (ExternalSecret", "not owned by this ClusterExternalSecret"},
			wantStalled: true, wantProvisioned: []string{"a"}, wantFailed: []string{"b"}},
		{name: "transient failure does not stall", out: outcome{name: "es", matched: 2, provisioned: []string{"a"}, failures: []failure{foreign, {namespace: "c", reason: "timeout", retry: true}}},
			wantReady: corev1.ConditionFalse, wantMessage: []string{"failed in 2 of 3 namespaces", "b (", "c (timeout)"},
			wantProvisioned: []string{"a"}, wantFailed: []string{"b", "c"}},
		{name: "failures of one namespace are merged", out: outcome{name: "es", matched: 1, failures: []failure{
			{namespace: "a", reason: "write failed", retry: true}, {namespace: "a", reason: "old child not removed", retry: true}}},
			wantReady: corev1.ConditionFalse, wantMessage: []string{"failed in 1 of 1 namespace:", "a (write failed; old child not removed)"}, wantFailed: []string{"a"}},
		{name: "invalid spec keeps the lists", out: outcome{name: "es", specErr: &specError{errors.New("spec.namespaceSelectors[0]: bad operator")}},
			wantReady: corev1.ConditionFalse, wantMessage: []string{"Invalid spec: spec.namespaceSelectors[0]: bad operator"},
			wantStalled: true, wantProvisioned: []string{"x"}, wantFailed: []string{"y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := statusFrom(prev, tc.out)
			if st.ExternalSecretName != "es" {
				t.Errorf("externalSecretName = %q", st.ExternalSecretName)
			}
			ready := findCondition(st.Conditions, esv1.ConditionReady)
			if ready.Status != tc.wantReady {
				t.Errorf("Ready = %s (%s), want %s", ready.Status, ready.Message, tc.wantReady)
			}
			for _, w := range tc.wantMessage {
				if !strings.Contains(ready.Message, w) {
					t.Errorf("Ready message %q does not contain %q", ready.Message, w)
				}
			}
			if stalled := findCondition(st.Conditions, esv1.ConditionStalled).Status == corev1.ConditionTrue; stalled != tc.wantStalled {
				t.Errorf("Stalled = %v, want %v", stalled, tc.wantStalled)
			}
			if findCondition(st.Conditions, esv1.ConditionReconciling).Type != "" {
				t.Error("Reconciling is left in status")
			}
			if !slices.Equal(st.ProvisionedNamespaces, tc.wantProvisioned) {
				t.Errorf("provisionedNamespaces = %v, want %v", st.ProvisionedNamespaces, tc.wantProvisioned)
			}
			var failed []string
			for _, f := range st.FailedNamespaces {
				failed = append(failed, f.Namespace)
			}
			if !slices.Equal(failed, tc.wantFailed) {
				t.Errorf("failedNamespaces = %v, want %v", failed, tc.wantFailed)
			}
		})
	}
	if prev.Conditions[1].Type != esv1.ConditionReconciling || prev.ProvisionedNamespaces[0] != "x" {
		t.Error("statusFrom changed the previous status")
	}
}

func TestReadyMessageIsBounded(t *testing.T) {
	out := outcome{name: "es", matched: 50}
	for i := range 50 {
		out.failures = append(out.failures, failure{namespace: fmt.Sprintf("ns-%02d", i), reason: strings.Repeat("r", 300)})
	}
	_, msg := readyFrom(out)
	if len(msg) > maxMessage {
		t.Errorf("message has %d bytes, more than %d", len(msg), maxMessage)
	}
	out.failures = out.failures[:12]
	for i := range out.failures {
		out.failures[i].reason = "taken"
	}
	_, msg = readyFrom(out)
	if !strings.Contains(msg, "ns-09 (taken); and 2 more") || strings.Contains(msg, "ns-10") {
		t.Errorf("message = %q, want ten namespaces and the count of the rest", msg)
	}
}

func TestReadyTransition(t *testing.T) {
	c := func(s corev1.ConditionStatus, msg string) esv1.ClusterExternalSecretStatusCondition {
		return esv1.ClusterExternalSecretStatusCondition{Type: esv1.ConditionReady, Status: s, Message: msg}
	}
	for _, tc := range []struct {
		name       string
		prev, next esv1.ClusterExternalSecretStatusCondition
		want       bool
	}{
		{name: "first Ready", prev: esv1.ClusterExternalSecretStatusCondition{}, next: c(corev1.ConditionTrue, "in 1"), want: true},
		{name: "still Ready, more namespaces", prev: c(corev1.ConditionTrue, "in 1"), next: c(corev1.ConditionTrue, "in 2")},
		{name: "turned False", prev: c(corev1.ConditionTrue, "in 1"), next: c(corev1.ConditionFalse, "failed"), want: true},
		{name: "still False, same failures", prev: c(corev1.ConditionFalse, "failed"), next: c(corev1.ConditionFalse, "failed")},
		{name: "still False, other failures", prev: c(corev1.ConditionFalse, "failed a"), next: c(corev1.ConditionFalse, "failed b"), want: true},
		{name: "recovered", prev: c(corev1.ConditionFalse, "failed"), next: c(corev1.ConditionTrue, "in 1"), want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readyTransition(tc.prev, tc.next); got != tc.want {
				t.Errorf("readyTransition = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRetryErr(t *testing.T) {
	if err := (outcome{failures: []failure{{namespace: "a", reason: "taken"}}}).retryErr(); err != nil {
		t.Errorf("a failure the user must fix is retried: %v", err)
	}
	err := (outcome{name: "es", failures: []failure{{namespace: "a", reason: "taken"}, {namespace: "b", reason: "timeout", retry: true}}}).retryErr()
	if err == nil || !strings.Contains(err.Error(), "b: timeout") || strings.Contains(err.Error(), "taken") {
		t.Errorf("retryErr = %v, want only the transient failure", err)
	}
}
