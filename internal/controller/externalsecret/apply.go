package externalsecret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/shape"
	"github.com/secretbridge/secretbridge/internal/ssa"
)

// AnnotationAdopt on an ExternalSecret with creationPolicy Owner allows it to
// take over an existing Secret of the same name that secretbridge does not
// manage. Without it, such a Secret is left alone and the condition says so.
const AnnotationAdopt = "secretbridge.io/adopt-existing-secret"

// errSecretMissing means creationPolicy Merge found no Secret to merge into.
var errSecretMissing = errors.New("target Secret does not exist and creationPolicy Merge only updates an existing Secret: create it, or use creationPolicy Owner, Orphan or CreateOrMerge")

// errNamespaceTerminating means the namespace is being deleted, and the
// ExternalSecret with it: nothing to report.
var errNamespaceTerminating = errors.New("namespace is terminating")

// desiredSecret is the target Secret a sync wants.
type desiredSecret struct {
	name        string
	data        map[string][]byte
	labels      map[string]string
	annotations map[string]string
	secretType  corev1.SecretType
}

// desired builds the target Secret from shaped data and the template result.
func desired(es *esv1.ExternalSecret, res *shape.Result) desiredSecret {
	target := es.Spec.TargetOrDefault()
	d := desiredSecret{
		name:        target.NameOrDefault(es.Name),
		data:        res.Data,
		labels:      maps.Clone(res.Labels),
		annotations: maps.Clone(res.Annotations),
		secretType:  corev1.SecretType(res.Type),
	}
	if d.labels == nil {
		d.labels = map[string]string{}
	}
	if d.annotations == nil {
		d.annotations = map[string]string{}
	}
	if target.CreationPolicyOrDefault() != esv1.CreatePolicyMerge {
		d.labels[esv1.LabelManaged] = esv1.LabelManagedValue
		if d.secretType == "" {
			d.secretType = corev1.SecretTypeOpaque
		}
	}
	d.annotations[esv1.AnnotationDataHash] = dataHash(es.UID, d.data)
	return d
}

// applyTarget writes the target Secret with server-side apply under
// fieldManager, following creationPolicy, and only when the live Secret
// differs from what is wanted. It returns whether it wrote. Keys the field
// manager wrote before and no longer applies disappear; keys other managers
// wrote survive.
func (r *Reconciler) applyTarget(ctx context.Context, es *esv1.ExternalSecret, live *corev1.Secret, want desiredSecret) (bool, error) {
	target := es.Spec.TargetOrDefault()
	policy := target.CreationPolicyOrDefault()
	switch policy {
	case esv1.CreatePolicyNone:
		return false, nil
	case esv1.CreatePolicyMerge:
		if live == nil {
			return false, stall(esv1.ReasonSecretMissing, errSecretMissing)
		}
	case esv1.CreatePolicyOwner:
		if err := checkOwnable(es, live); err != nil {
			return false, err
		}
	}
	if live != nil && live.Immutable != nil && *live.Immutable && !bytesMapEqual(live.Data, want.data) {
		return false, stall(esv1.ReasonSecretSyncedError, fmt.Errorf(
			"target Secret %q is immutable and the data changed: delete the Secret to let it be recreated, or set spec.target.immutable: false", want.name))
	}
	if live != nil && upToDate(es, live, want) {
		return false, nil
	}

	ac := corev1ac.Secret(want.name, es.Namespace).
		WithLabels(want.labels).
		WithAnnotations(want.annotations).
		WithData(want.data)
	if want.secretType != "" {
		ac.WithType(want.secretType)
	}
	if target.Immutable {
		ac.WithImmutable(true)
	}
	if policy == esv1.CreatePolicyOwner {
		ac.WithOwnerReferences(metav1ac.OwnerReference().
			WithAPIVersion(esv1.GroupVersion.String()).WithKind("ExternalSecret").
			WithName(es.Name).WithUID(es.UID).
			WithController(true).WithBlockOwnerDeletion(true))
	}
	if err := r.Client.Apply(ctx, ac, client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return false, errNamespaceTerminating
		}
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return false, stall(esv1.ReasonSecretSyncedError, fmt.Errorf("writing Secret %s/%s: %w", es.Namespace, want.name, err))
		}
		return false, fmt.Errorf("writing Secret %s/%s: %w", es.Namespace, want.name, err)
	}
	return true, nil
}

// checkOwnable refuses to take over, under creationPolicy Owner, a Secret
// that secretbridge does not manage or that another ExternalSecret owns.
func checkOwnable(es *esv1.ExternalSecret, live *corev1.Secret) error {
	if live == nil {
		return nil
	}
	if owner := metav1.GetControllerOf(live); owner != nil {
		if owner.UID == es.UID {
			return nil
		}
		return stall(esv1.ReasonSecretSyncedError, fmt.Errorf(
			"target Secret %q is already controlled by %s %q: give this ExternalSecret another spec.target.name, or use creationPolicy Merge", live.Name, owner.Kind, owner.Name))
	}
	if live.Labels[esv1.LabelManaged] == esv1.LabelManagedValue || es.Annotations[AnnotationAdopt] == "true" {
		return nil
	}
	return stall(esv1.ReasonSecretSyncedError, fmt.Errorf(
		"target Secret %q already exists and is not managed by secretbridge, so creationPolicy Owner will not take it over: use creationPolicy Merge to add keys to it, or annotate the ExternalSecret with %s=true to adopt it",
		live.Name, AnnotationAdopt))
}

// upToDate reports whether live already holds everything want would apply
// and nothing the field manager wrote before and no longer wants.
func upToDate(es *esv1.ExternalSecret, live *corev1.Secret, want desiredSecret) bool {
	owned := ownedDataKeys(live)
	if len(owned) != len(want.data) {
		return false
	}
	for k, v := range want.data {
		if !owned[k] || !bytes.Equal(live.Data[k], v) {
			return false
		}
	}
	if !ssa.AppliesExactly(live, live.Labels, want.labels, "f:metadata", "f:labels") ||
		!ssa.AppliesExactly(live, live.Annotations, want.annotations, "f:metadata", "f:annotations") {
		return false
	}
	if want.secretType != "" && live.Type != want.secretType {
		return false
	}
	if es.Spec.TargetOrDefault().CreationPolicyOrDefault() == esv1.CreatePolicyOwner {
		if owner := metav1.GetControllerOf(live); owner == nil || owner.UID != es.UID {
			return false
		}
	}
	return true
}

func bytesMapEqual(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, bytes.Equal)
}
