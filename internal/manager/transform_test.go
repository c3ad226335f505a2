package manager

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretbridge/secretbridge/internal/ssa"
)

// The cache keeps secretbridge's applied field sets and every entry's
// manager and time, and drops the field sets nobody reads.
func TestTrimManagedFields(t *testing.T) {
	fields := metav1.NewFieldsV1(`{"f:data":{"f:password":{}}}`)
	now := metav1.NewTime(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
		{Manager: ssa.FieldManager, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: fields, Time: &now},
		{Manager: ssa.FieldManager, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", FieldsV1: fields, Time: &now},
		{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: fields, Time: &now},
	}}}
	out, err := trimManagedFields(s)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Secret).ManagedFields
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	if got[0].FieldsV1 == nil || string(got[0].FieldsV1.GetRawBytes()) != string(fields.GetRawBytes()) {
		t.Errorf("secretbridge's apply lost its field set: %+v", got[0])
	}
	for _, mf := range got[1:] {
		if mf.FieldsV1 != nil {
			t.Errorf("%s/%s kept its field set", mf.Manager, mf.Subresource)
		}
		if mf.Time == nil || !mf.Time.Equal(&now) || mf.Manager == "" {
			t.Errorf("entry lost its manager or time: %+v", mf)
		}
	}
	if ssa.AppliedKeys(out.(*corev1.Secret), "f:data")["password"] != true {
		t.Errorf("AppliedKeys no longer sees the applied key")
	}
	if _, err := trimManagedFields("not an object"); err != nil {
		t.Errorf("a non-object: %v", err)
	}
}
