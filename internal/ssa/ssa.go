// Package ssa holds what every secretbridge writer shares about server-side
// apply: the field manager name, and reading from an object's managed fields
// which map keys that manager applied, so a writer can tell what it wrote
// from what others wrote.
package ssa

import (
	"encoding/json"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FieldManager is the field manager of every object secretbridge applies.
const FieldManager = "secretbridge"

// AppliedKeys returns the keys under a map field (a path of "f:" names such
// as "f:data" or "f:metadata", "f:labels") that FieldManager applied on obj.
func AppliedKeys(obj metav1.Object, path ...string) map[string]bool {
	owned := map[string]bool{}
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != FieldManager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		var fields map[string]any
		if json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields) != nil {
			continue
		}
		for _, p := range path {
			fields, _ = fields[p].(map[string]any)
		}
		for k := range fields {
			if name, ok := strings.CutPrefix(k, "f:"); ok {
				owned[name] = true
			}
		}
	}
	return owned
}

// AppliesExactly reports whether FieldManager applied exactly the keys of
// want under path on obj and live (obj's map at that path) holds want's values.
func AppliesExactly(obj metav1.Object, live, want map[string]string, path ...string) bool {
	owned := AppliedKeys(obj, path...)
	if len(owned) != len(want) {
		return false
	}
	for k, v := range want {
		got, ok := live[k]
		if !owned[k] || !ok || got != v {
			return false
		}
	}
	return true
}
