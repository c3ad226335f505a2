package secretstore

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/eventnote"
)

// ReadyCondition returns the Ready condition of a store's status, or nil
// when there is none (the store was never validated, or is served by
// another controller class).
func ReadyCondition(status *esv1.SecretStoreStatus) *esv1.SecretStoreStatusCondition {
	return findCondition(status, esv1.ConditionReady)
}

// findCondition returns the condition of type t, or nil.
func findCondition(status *esv1.SecretStoreStatus, t esv1.ConditionType) *esv1.SecretStoreStatusCondition {
	if status == nil {
		return nil
	}
	for i := range status.Conditions {
		if status.Conditions[i].Type == t {
			return &status.Conditions[i]
		}
	}
	return nil
}

// Messages of the Ready condition that carry no error.
const (
	msgValid          = "store validated"
	msgUnknown        = "store not validated: the provider cannot check it without reading a secret; it is checked when an ExternalSecret uses it"
	msgUnknownPrefix  = "store not validated: "
	msgFailedPrefix   = "validation failed: "
	msgIdentityPrefix = "; authenticated as "
)

// readyFrom derives the Ready condition, without lastTransitionTime, from
// what a validation observed. Valid and ValidationUnknown are True (an
// ExternalSecret may use the store); every other reason is False. The
// message is the error as the provider layer built it (naming the field and
// the fix, never a credential), bounded in length.
func readyFrom(out outcome) esv1.SecretStoreStatusCondition {
	c := esv1.SecretStoreStatusCondition{Type: esv1.ConditionReady, Status: corev1.ConditionFalse, Reason: out.reason}
	switch out.reason {
	case esv1.ReasonStoreValid:
		c.Status, c.Message = corev1.ConditionTrue, msgValid
		if out.identity != "" {
			c.Message += msgIdentityPrefix + out.identity
		}
	case esv1.ReasonValidationUnknown:
		c.Status, c.Message = corev1.ConditionTrue, msgUnknown
		if out.err != nil {
			c.Message = msgUnknownPrefix + out.err.Error()
		}
	case esv1.ReasonValidationFailed:
		c.Message = msgFailedPrefix + errText(out)
	default:
		c.Message = errText(out)
	}
	c.Message = bound(c.Message)
	return c
}

// errText is out.err's text, or the reason when there is no error.
func errText(out outcome) string {
	if out.err == nil {
		return out.reason
	}
	return out.err.Error()
}

// maxMessage bounds condition messages and event notes.
const maxMessage = 2048

// bound cuts s to maxMessage bytes.
func bound(s string) string {
	if len(s) > maxMessage {
		return s[:maxMessage-3] + "..."
	}
	return s
}

// deriveStatus returns the status a store has after a validation: Ready from
// out; Stalled (same reason and message) while only a change of the spec or
// of a referenced object can help, removed otherwise; the provider's
// capabilities. A condition keeps its lastTransitionTime unless its status
// changes; now is used for the ones that do. prev is not modified.
func deriveStatus(prev *esv1.SecretStoreStatus, out outcome, now metav1.Time) esv1.SecretStoreStatus {
	st := *prev.DeepCopy()
	ready := readyFrom(out)
	setCondition(&st, ready, now)
	if out.stalled {
		stalled := ready
		stalled.Type, stalled.Status = esv1.ConditionStalled, corev1.ConditionTrue
		setCondition(&st, stalled, now)
	} else {
		removeCondition(&st, esv1.ConditionStalled)
	}
	st.Capabilities = out.capabilities
	return st
}

// setCondition sets c in st, keeping lastTransitionTime unless the status
// changes.
func setCondition(st *esv1.SecretStoreStatus, c esv1.SecretStoreStatusCondition, now metav1.Time) {
	c.LastTransitionTime = now
	if prev := findCondition(st, c.Type); prev != nil {
		if prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
		}
		*prev = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}

// removeCondition drops the conditions of type t.
func removeCondition(st *esv1.SecretStoreStatus, t esv1.ConditionType) {
	kept := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		kept = nil
	}
	st.Conditions = kept
}

// isTransition reports whether the Ready condition changed in a way worth an
// Event: its status or its reason. A new message under the same reason (a
// different error, a new identity) updates the condition only; the events
// API would fold it into the previous Event anyway, which it matches on
// reason.
func isTransition(prev *esv1.SecretStoreStatusCondition, next esv1.SecretStoreStatusCondition) bool {
	return prev == nil || prev.Status != next.Status || prev.Reason != next.Reason
}

// report writes the status derived from out with a merge patch of the status
// subresource (only when it changed), then announces a Ready transition. The
// Event follows a successful patch only, so a failed patch (retried) never
// yields two Events for one transition.
func (r *Reconciler) report(ctx context.Context, s store, out outcome) error {
	var prevReady *esv1.SecretStoreStatusCondition
	if c := ReadyCondition(s.StoreStatus()); c != nil {
		prevReady = c.DeepCopy()
	}
	next := deriveStatus(s.StoreStatus(), out, metav1.NewTime(r.now()).Rfc3339Copy())
	if !equality.Semantic.DeepEqual(*s.StoreStatus(), next) {
		before := s.DeepCopyObject().(client.Object)
		*s.StoreStatus() = next
		if err := r.Client.Status().Patch(ctx, s, client.MergeFrom(before)); err != nil {
			return fmt.Errorf("writing the status of %s %s: %w", s.StoreKind(), client.ObjectKeyFromObject(s), err)
		}
	}
	if ready := ReadyCondition(&next); isTransition(prevReady, *ready) {
		r.announce(ctx, s, *ready)
	}
	return nil
}

// eventAction is the action of the Events this controller emits.
const eventAction = "Validate"

// announce writes the same message to the log and, as an Event, to the
// store: Normal when the store became usable, Warning when it did not.
func (r *Reconciler) announce(ctx context.Context, s store, ready esv1.SecretStoreStatusCondition) {
	log := logf.FromContext(ctx)
	eventType := corev1.EventTypeNormal
	if ready.Status == corev1.ConditionTrue {
		log.Info("Store is ready", "reason", ready.Reason, "message", ready.Message)
	} else {
		eventType = corev1.EventTypeWarning
		log.Info("Store is not ready", "reason", ready.Reason, "message", ready.Message)
	}
	r.Recorder.Eventf(s, nil, eventType, ready.Reason, eventAction, "%s", eventnote.Fit(ready.Message))
}
