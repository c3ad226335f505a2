package externalsecret

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/eventnote"
	"github.com/secretbridge/secretbridge/internal/metrics"
)

// priorityRefresh is the work-queue priority of periodic refreshes: below
// the default of new and changed objects, so first syncs never wait behind
// a wave of refreshes.
const priorityRefresh = -10

// readyFrom derives the Ready condition from what a sync did.
func readyFrom(out syncOutcome) (status corev1.ConditionStatus, reason, msg string) {
	switch {
	case out.err != nil:
		reason, _ := classify(out.err)
		return corev1.ConditionFalse, reason, withWarnings(message(out.err), out.warnings)
	case out.deleted:
		return corev1.ConditionFalse, esv1.ReasonSecretDeleted, "the provider no longer has any of the data; the target Secret was deleted (deletionPolicy Delete)"
	default:
		return corev1.ConditionTrue, esv1.ReasonSecretSynced, withWarnings("Secret was synced", out.warnings)
	}
}

// withWarnings appends the interpretations made on the user's behalf.
func withWarnings(msg string, warnings []string) string {
	if len(warnings) == 0 {
		return msg
	}
	return msg + "; interpreted: " + strings.Join(warnings, "; ")
}

// setCondition sets a condition, keeping lastTransitionTime unless the status
// changes. It returns the previous condition (zero if none).
func setCondition(st *esv1.ExternalSecretStatus, c esv1.ExternalSecretStatusCondition, now metav1.Time) esv1.ExternalSecretStatusCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type != c.Type {
			continue
		}
		prev := st.Conditions[i]
		c.LastTransitionTime = prev.LastTransitionTime
		if prev.Status != c.Status {
			c.LastTransitionTime = now
		}
		st.Conditions[i] = c
		return prev
	}
	c.LastTransitionTime = now
	st.Conditions = append(st.Conditions, c)
	return esv1.ExternalSecretStatusCondition{}
}

// removeCondition drops a condition type.
func removeCondition(st *esv1.ExternalSecretStatus, t esv1.ConditionType) {
	kept := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	st.Conditions = kept
}

// report writes the sync's outcome to status (a patch), emits an Event when
// Ready changes, and says when to reconcile again: a success at the next
// refresh, a stall after stallRetry, a transient error through the rate
// limiter.
func (r *Reconciler) report(ctx context.Context, es *esv1.ExternalSecret, out syncOutcome, storeGeneration int64) (reconcile.Result, error) {
	log := logf.FromContext(ctx)
	before := es.DeepCopy()
	now := metav1.NewTime(r.now())
	status, reason, msg := readyFrom(out)
	prev := setCondition(&es.Status, esv1.ExternalSecretStatusCondition{Type: esv1.ConditionReady, Status: status, Reason: reason, Message: msg}, now)
	_, stalled := classify(out.err)
	if out.err != nil && stalled {
		setCondition(&es.Status, esv1.ExternalSecretStatusCondition{Type: esv1.ConditionStalled, Status: corev1.ConditionTrue, Reason: reason, Message: msg}, now)
	} else {
		removeCondition(&es.Status, esv1.ConditionStalled)
	}
	if out.err == nil {
		es.Status.RefreshTime = &now
		es.Status.SyncedResourceVersion = syncedResourceVersion(es, storeGeneration)
		if !out.deleted && es.Spec.TargetOrDefault().CreationPolicyOrDefault() != esv1.CreatePolicyNone {
			es.Status.Binding = &esv1.SecretBinding{Name: es.Spec.TargetOrDefault().NameOrDefault(es.Name)}
		}
	}
	// The optimistic lock refuses a status computed from a stale copy (the
	// cache may lag behind our own last patch); the object is then looked
	// at again shortly, without an event for a transition that did not happen.
	if err := r.Client.Status().Patch(ctx, es, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) {
			return reconcile.Result{RequeueAfter: time.Second}, nil
		}
		return reconcile.Result{}, fmt.Errorf("writing status: %w", err)
	}

	if out.err == nil {
		r.synced.Store(types.NamespacedName{Namespace: es.Namespace, Name: es.Name}, es.Status.SyncedResourceVersion)
	}
	metrics.ObserveSync(syncResult(out, stalled), out.wrote, out.took)

	transition := prev.Status != status || prev.Reason != reason || (status != corev1.ConditionTrue && prev.Message != msg)
	switch {
	case out.err != nil && transition:
		log.Info("Sync failed", "reason", reason, "error", msg)
		r.Recorder.Eventf(es, nil, corev1.EventTypeWarning, reason, "Sync", "%s", eventnote.Fit(msg))
	case out.err == nil && len(out.warnings) > 0 && prev.Message != msg:
		log.Info("Synced with interpretations", "warnings", out.warnings)
		r.Recorder.Eventf(es, nil, corev1.EventTypeWarning, "Interpreted", "Sync", "%s", eventnote.Fit(strings.Join(out.warnings, "; ")))
	case out.err == nil && (transition || out.wrote):
		log.Info("Synced", "secret", es.Spec.TargetOrDefault().NameOrDefault(es.Name), "wrote", out.wrote, "deleted", out.deleted)
		r.Recorder.Eventf(es, nil, corev1.EventTypeNormal, reason, "Sync", "%s", eventnote.Fit(msg))
	}

	switch {
	case out.err == nil:
		d, err := decideRefresh(es, targetState{exists: true, intact: true}, storeGeneration, r.now())
		if err != nil || d.sync {
			return reconcile.Result{}, err
		}
		return reconcile.Result{RequeueAfter: d.after, Priority: ptr.To(priorityRefresh)}, nil
	case stalled:
		return reconcile.Result{RequeueAfter: stallRetry}, nil
	default:
		return reconcile.Result{}, out.err
	}
}

// syncResult names the outcome for the sync metric.
func syncResult(out syncOutcome, stalled bool) string {
	switch {
	case out.err != nil && stalled:
		return metrics.ResultStalled
	case out.err != nil:
		return metrics.ResultError
	case out.deleted:
		return metrics.ResultDeleted
	default:
		return metrics.ResultSynced
	}
}
