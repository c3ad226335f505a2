package manager

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/secretbridge/secretbridge/internal/ssa"
)

// trimManagedFields is the informer transform of every cached object: it
// keeps each managed-fields entry's manager, operation, subresource and time
// (the tamper check compares who wrote last) but drops the field sets of
// every entry except secretbridge's own server-side applies of the main
// resource, the only ones the controllers read (ssa.AppliedKeys). Field
// sets are the largest part of a small object's metadata, so at thousands
// of cached ExternalSecrets and Secrets this is memory for nothing.
func trimManagedFields(obj any) (any, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return obj, nil
	}
	mfs := o.GetManagedFields()
	changed := false
	for i := range mfs {
		if mfs[i].FieldsV1 != nil && !keepsFieldSet(mfs[i]) {
			if !changed {
				// The slice may be shared with the object the transform
				// was given by the decoder only; copy before writing anyway.
				mfs = append([]metav1.ManagedFieldsEntry(nil), mfs...)
				changed = true
			}
			mfs[i].FieldsV1 = nil
		}
	}
	if changed {
		o.SetManagedFields(mfs)
	}
	return obj, nil
}

// keepsFieldSet reports whether the controllers read this entry's fields.
func keepsFieldSet(mf metav1.ManagedFieldsEntry) bool {
	return mf.Manager == ssa.FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == ""
}

var _ toolscache.TransformFunc = trimManagedFields
