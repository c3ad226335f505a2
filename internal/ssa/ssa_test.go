package ssa

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAppliedKeys(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Labels: map[string]string{"a": "1", "b": "2"},
		ManagedFields: []metav1.ManagedFieldsEntry{
			{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1",
				FieldsV1: metav1.NewFieldsV1(`{"f:data":{"f:username":{},"f:password":{}},"f:metadata":{"f:labels":{"f:a":{}}}}`)},
			{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1",
				FieldsV1: metav1.NewFieldsV1(`{"f:data":{"f:other":{}},"f:metadata":{"f:labels":{"f:b":{}}}}`)},
			{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, Subresource: "status", FieldsType: "FieldsV1",
				FieldsV1: metav1.NewFieldsV1(`{"f:data":{"f:fromstatus":{}}}`)},
		},
	}}
	got := AppliedKeys(s, "f:data")
	if len(got) != 2 || !got["username"] || !got["password"] {
		t.Errorf("data keys %v, want username and password", got)
	}
	if !AppliesExactly(s, s.Labels, map[string]string{"a": "1"}, "f:metadata", "f:labels") {
		t.Error("labels: want exactly a=1 applied")
	}
	if AppliesExactly(s, s.Labels, map[string]string{"a": "1", "b": "2"}, "f:metadata", "f:labels") {
		t.Error("label b was written by someone else")
	}
	if AppliesExactly(s, s.Labels, map[string]string{"a": "2"}, "f:metadata", "f:labels") {
		t.Error("label a has another value")
	}
}
