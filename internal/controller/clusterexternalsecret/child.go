package clusterexternalsecret

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/ssa"
)

// LabelClusterExternalSecret is put on every ExternalSecret a
// ClusterExternalSecret creates; its value is the ClusterExternalSecret's
// name (shortened with a hash when longer than a label value may be), so
// `kubectl get es -A -l secretbridge.io/cluster-external-secret=<name>` lists
// them. The controller itself finds its children by their controller owner
// reference, so removing the label does not orphan a child.
const LabelClusterExternalSecret = "secretbridge.io/cluster-external-secret"

// fieldManager is the server-side-apply field manager of every child.
const fieldManager = ssa.FieldManager

// kindClusterExternalSecret is the owner-reference kind of the children.
const kindClusterExternalSecret = "ClusterExternalSecret"

// labelValue turns a ClusterExternalSecret name (a DNS subdomain of up to 253
// characters) into a valid label value: the name itself when it fits,
// otherwise a prefix and a hash of the whole name.
func labelValue(name string) string {
	if len(name) <= validation.LabelValueMaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	prefix := strings.TrimRight(name[:validation.LabelValueMaxLength-17], ".-")
	return prefix + "-" + hex.EncodeToString(sum[:8])
}

// desiredChild builds the ExternalSecret that ces wants in namespace:
// spec.externalSecretSpec under spec.externalSecretName (default: the
// ClusterExternalSecret's name), with the labels and annotations of
// spec.externalSecretMetadata, LabelClusterExternalSecret, the
// ClusterExternalSecret's force-sync annotation if it has one, and a
// controller owner reference so the garbage collector removes it with ces.
func desiredChild(ces *esv1.ClusterExternalSecret, namespace string) *esv1.ExternalSecret {
	labels := map[string]string{}
	annotations := map[string]string{}
	if md := ces.Spec.ExternalSecretMetadata; md != nil {
		maps.Copy(labels, md.Labels)
		maps.Copy(annotations, md.Annotations)
	}
	labels[LabelClusterExternalSecret] = labelValue(ces.Name)
	if v, ok := ces.Annotations[esv1.AnnotationForceSync]; ok {
		annotations[esv1.AnnotationForceSync] = v
	}
	return &esv1.ExternalSecret{
		TypeMeta: metav1.TypeMeta{APIVersion: esv1.GroupVersion.String(), Kind: "ExternalSecret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        ces.Spec.ExternalSecretNameOrDefault(ces.Name),
			Namespace:   namespace,
			Labels:      labels,
			Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         esv1.GroupVersion.String(),
				Kind:               kindClusterExternalSecret,
				Name:               ces.Name,
				UID:                ces.UID,
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: *ces.Spec.ExternalSecretSpec.DeepCopy(),
	}
}

// controlledBy reports whether es has a controller owner reference to ces
// (the same object: the UID must match, not only the name).
func controlledBy(es *esv1.ExternalSecret, ces *esv1.ClusterExternalSecret) bool {
	owner := metav1.GetControllerOf(es)
	return owner != nil && isClusterExternalSecret(owner) && owner.UID == ces.UID
}

// isClusterExternalSecret reports whether an owner reference points to a
// ClusterExternalSecret of any served version.
func isClusterExternalSecret(ref *metav1.OwnerReference) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == esv1.GroupVersion.Group && ref.Kind == kindClusterExternalSecret
}

// conflict says why live, an ExternalSecret in the way of ces's child, is
// not taken over; retry is true when the obstacle goes away by itself (an
// earlier ClusterExternalSecret of the same name whose children the garbage
// collector is removing, or a child being deleted). It returns "" when ces
// controls live and may update it.
func conflict(ces *esv1.ClusterExternalSecret, live *esv1.ExternalSecret) (reason string, retry bool) {
	owner := metav1.GetControllerOf(live)
	switch {
	case owner == nil:
		return fmt.Sprintf("ExternalSecret %q exists and is not owned by this ClusterExternalSecret: delete it, or set spec.externalSecretName to another name", live.Name), false
	case owner.UID == ces.UID && isClusterExternalSecret(owner):
		if live.DeletionTimestamp != nil {
			return fmt.Sprintf("ExternalSecret %q is being deleted; it is created again once it is gone", live.Name), true
		}
		return "", false
	case isClusterExternalSecret(owner) && owner.Name == ces.Name:
		return fmt.Sprintf("ExternalSecret %q belongs to an earlier ClusterExternalSecret %q (uid %s) and is being garbage collected", live.Name, owner.Name, owner.UID), true
	default:
		return fmt.Sprintf("ExternalSecret %q exists and is controlled by %s %q", live.Name, owner.Kind, owner.Name), false
	}
}

// upToDate reports whether live, a child ces controls, already is what want
// would apply: the same spec (compared semantically, so a refreshInterval
// stored as "1h" equals "1h0m0s"), and exactly want's labels and annotations
// among those the field manager applied, so that keys removed from
// spec.externalSecretMetadata are removed from the child too.
func upToDate(live, want *esv1.ExternalSecret) bool {
	return equality.Semantic.DeepEqual(live.Spec, want.Spec) &&
		ssa.AppliesExactly(live, live.Labels, want.Labels, "f:metadata", "f:labels") &&
		ssa.AppliesExactly(live, live.Annotations, want.Annotations, "f:metadata", "f:annotations")
}

// applyConfiguration turns a desired child into a server-side apply request:
// only apiVersion, kind, metadata (name, namespace, labels, annotations,
// owner reference) and spec, so the field manager never claims status or
// server-set metadata.
func applyConfiguration(es *esv1.ExternalSecret) (runtime.ApplyConfiguration, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(es)
	if err != nil {
		return nil, fmt.Errorf("converting ExternalSecret %s/%s for apply: %w", es.Namespace, es.Name, err)
	}
	delete(obj, "status")
	unstructured.RemoveNestedField(obj, "metadata", "creationTimestamp")
	return client.ApplyConfigurationFromUnstructured(&unstructured.Unstructured{Object: obj}), nil
}
