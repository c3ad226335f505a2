package externalsecret

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// fieldManager is the server-side-apply field manager of every Secret write.
// The keys it owns on a Secret are the keys secretbridge wrote there.
const fieldManager = "secretbridge"

// ownedDataKeys returns the data keys fieldManager owns on s, read from the
// Secret's managed fields.
func ownedDataKeys(s *corev1.Secret) map[string]bool { return ownedKeys(s, "f:data") }

// ownedKeys returns the keys under a map field (f:data, f:metadata.f:labels,
// ...) that fieldManager owns on s, read from the Secret's managed fields.
func ownedKeys(s *corev1.Secret, path ...string) map[string]bool {
	owned := map[string]bool{}
	for _, mf := range s.ManagedFields {
		if mf.Manager != fieldManager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.FieldsV1 == nil {
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

// dataHash identifies the data secretbridge wrote. It is salted with the
// ExternalSecret's UID so that equal values in different Secrets do not hash
// alike, and it covers key names and values.
func dataHash(uid types.UID, data map[string][]byte) string {
	h := sha256.New()
	h.Write([]byte(uid))
	for _, k := range slices.Sorted(maps.Keys(data)) {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// inspectTarget reports whether the target Secret exists and still holds,
// under the keys secretbridge owns, the data it last wrote.
func inspectTarget(es *esv1.ExternalSecret, s *corev1.Secret) targetState {
	if s == nil {
		return targetState{}
	}
	owned := ownedDataKeys(s)
	ours := make(map[string][]byte, len(owned))
	for k := range owned {
		if v, ok := s.Data[k]; ok {
			ours[k] = v
		}
	}
	intact := s.Annotations[esv1.AnnotationDataHash] == dataHash(es.UID, ours)
	if es.Spec.TargetOrDefault().CreationPolicyOrDefault() != esv1.CreatePolicyMerge {
		intact = intact && s.Labels[esv1.LabelManaged] == esv1.LabelManagedValue
	}
	return targetState{exists: true, intact: intact}
}
