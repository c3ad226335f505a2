package externalsecret

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/ssa"
)

// fieldManager is the server-side-apply field manager of every Secret write.
// The keys it owns on a Secret are the keys secretbridge wrote there.
const fieldManager = ssa.FieldManager

// ownedDataKeys returns the data keys fieldManager owns on s.
func ownedDataKeys(s *corev1.Secret) map[string]bool { return ssa.AppliedKeys(s, "f:data") }

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
