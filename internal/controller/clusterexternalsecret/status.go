package clusterexternalsecret

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/eventnote"
)

// Reasons of the Events emitted when Ready changes. The condition itself has
// no reason field (as upstream).
const (
	// eventReasonProvisioned: Ready turned True.
	eventReasonProvisioned = "Provisioned"
	// eventReasonFailed: Ready turned False, or the set of failures changed.
	eventReasonFailed = "ProvisioningFailed"
)

// priorityRefresh is the work-queue priority of periodic re-evaluations:
// below the default of new and changed objects.
const priorityRefresh = -10

// conflictRetry is how soon a reconcile whose status patch met a newer
// object runs again (the cache catches up within milliseconds).
const conflictRetry = 100 * time.Millisecond

// maxListedFailures bounds how many failed namespaces the Ready message
// names; status.failedNamespaces has all of them.
const maxListedFailures = 10

// maxMessage bounds condition messages and event notes.
const maxMessage = 2048

// failure is a namespace the ExternalSecret could not be provisioned in (or
// removed from).
type failure struct {
	namespace string
	reason    string
	// retry is true for transient failures, which go back to the work queue
	// with backoff; false when a change by the user is needed.
	retry bool
}

// outcome is what one reconcile observed and did; statusFrom turns it into
// status.
type outcome struct {
	// name is the name of the ExternalSecrets.
	name string
	// matched counts the namespaces the spec selects.
	matched int
	// provisioned are the namespaces that hold the up-to-date ExternalSecret.
	provisioned []string
	// failures are the namespaces that do not, or still hold one that should
	// have been removed.
	failures []failure
	// specErr means the spec could not be evaluated; nothing was changed.
	specErr error
}

// retryErr returns an error for the work queue when a failure is transient,
// so the rate limiter backs off; nil otherwise.
func (o outcome) retryErr() error {
	var retry []string
	for _, f := range o.failures {
		if f.retry {
			retry = append(retry, f.namespace+": "+f.reason)
		}
	}
	if len(retry) == 0 {
		return nil
	}
	return fmt.Errorf("provisioning ExternalSecret %q failed in %d namespaces and will be retried: %s", o.name, len(retry), strings.Join(retry, "; "))
}

// statusFrom derives the status from a reconcile's outcome. When the spec
// could not be evaluated, the namespace lists stay as last observed, since
// nothing was changed.
func statusFrom(prev esv1.ClusterExternalSecretStatus, o outcome) esv1.ClusterExternalSecretStatus {
	st := *prev.DeepCopy()
	st.ExternalSecretName = o.name
	if o.specErr == nil {
		st.ProvisionedNamespaces = slices.Sorted(slices.Values(o.provisioned))
		st.FailedNamespaces = nil
		for _, f := range mergeFailures(o.failures) {
			st.FailedNamespaces = append(st.FailedNamespaces, esv1.ClusterExternalSecretNamespaceFailure{Namespace: f.namespace, Reason: f.reason})
		}
	}
	ready, msg := readyFrom(o)
	st.Conditions = setCondition(st.Conditions, esv1.ClusterExternalSecretStatusCondition{Type: esv1.ConditionReady, Status: ready, Message: msg})
	if stalled, msg := stalledFrom(o); stalled {
		st.Conditions = setCondition(st.Conditions, esv1.ClusterExternalSecretStatusCondition{Type: esv1.ConditionStalled, Status: corev1.ConditionTrue, Message: msg})
	} else {
		st.Conditions = removeCondition(st.Conditions, esv1.ConditionStalled)
	}
	st.Conditions = removeCondition(st.Conditions, esv1.ConditionReconciling)
	return st
}

// readyFrom derives Ready: True when every matched namespace holds the
// ExternalSecret and nothing failed, else False with a message naming the
// failed namespaces and why.
func readyFrom(o outcome) (corev1.ConditionStatus, string) {
	if o.specErr != nil {
		return corev1.ConditionFalse, bound("Invalid spec: " + o.specErr.Error())
	}
	if len(o.failures) == 0 {
		if o.matched == 0 {
			return corev1.ConditionTrue, "No namespace matches spec.namespaceSelectors, spec.namespaceSelector or spec.namespaces"
		}
		return corev1.ConditionTrue, fmt.Sprintf("ExternalSecret %q is provisioned in %d %s", o.name, len(o.provisioned), plural(len(o.provisioned), "namespace", "namespaces"))
	}
	fs := mergeFailures(o.failures)
	parts := make([]string, 0, min(len(fs), maxListedFailures)+1)
	for _, f := range fs[:min(len(fs), maxListedFailures)] {
		parts = append(parts, f.namespace+" ("+f.reason+")")
	}
	if len(fs) > maxListedFailures {
		parts = append(parts, fmt.Sprintf("and %d more", len(fs)-maxListedFailures))
	}
	total := len(fs) + len(o.provisioned)
	return corev1.ConditionFalse, bound(fmt.Sprintf("ExternalSecret %q failed in %d of %d %s: %s",
		o.name, len(fs), total, plural(total, "namespace", "namespaces"), strings.Join(parts, "; ")))
}

// stalledFrom derives the kstatus Stalled condition: True when progress needs
// a change by the user (an invalid spec, or only failures that retrying does
// not fix, such as an ExternalSecret of the same name owned by someone else).
func stalledFrom(o outcome) (bool, string) {
	if o.specErr != nil {
		_, msg := readyFrom(o)
		return true, msg
	}
	if len(o.failures) == 0 || slices.ContainsFunc(o.failures, func(f failure) bool { return f.retry }) {
		return false, ""
	}
	_, msg := readyFrom(o)
	return true, msg
}

// mergeFailures sorts failures by namespace and merges those of the same
// namespace (a child that could not be written and an old one, under a
// previous spec.externalSecretName, that could not be removed).
func mergeFailures(fs []failure) []failure {
	var out []failure
	for _, f := range slices.SortedStableFunc(slices.Values(fs), func(a, b failure) int { return cmp.Compare(a.namespace, b.namespace) }) {
		if n := len(out); n > 0 && out[n-1].namespace == f.namespace {
			out[n-1].reason += "; " + f.reason
			out[n-1].retry = out[n-1].retry || f.retry
			continue
		}
		out = append(out, f)
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func bound(s string) string {
	if len(s) > maxMessage {
		return s[:maxMessage-3] + "..."
	}
	return s
}

// setCondition replaces the condition of c's type, or appends c.
func setCondition(cs []esv1.ClusterExternalSecretStatusCondition, c esv1.ClusterExternalSecretStatusCondition) []esv1.ClusterExternalSecretStatusCondition {
	if i := slices.IndexFunc(cs, func(x esv1.ClusterExternalSecretStatusCondition) bool { return x.Type == c.Type }); i >= 0 {
		cs[i] = c
		return cs
	}
	return append(cs, c)
}

// removeCondition drops a condition type.
func removeCondition(cs []esv1.ClusterExternalSecretStatusCondition, t esv1.ConditionType) []esv1.ClusterExternalSecretStatusCondition {
	return slices.DeleteFunc(cs, func(c esv1.ClusterExternalSecretStatusCondition) bool { return c.Type == t })
}

// findCondition returns the condition of a type, or a zero condition.
func findCondition(cs []esv1.ClusterExternalSecretStatusCondition, t esv1.ConditionType) esv1.ClusterExternalSecretStatusCondition {
	if i := slices.IndexFunc(cs, func(c esv1.ClusterExternalSecretStatusCondition) bool { return c.Type == t }); i >= 0 {
		return cs[i]
	}
	return esv1.ClusterExternalSecretStatusCondition{}
}

// readyTransition reports whether Ready changed in a way worth an Event: its
// status changed, or it stayed False with other failures.
func readyTransition(prev, next esv1.ClusterExternalSecretStatusCondition) bool {
	return prev.Status != next.Status || (next.Status != corev1.ConditionTrue && prev.Message != next.Message)
}

// report writes the derived status (a merge patch, only when it changed,
// and only onto the object the reconcile read), announces a Ready transition, and says when to look again: transient
// failures through the rate limiter, otherwise after spec.refreshTime (never
// periodically when it is 0; the watches still apply).
func (r *Reconciler) report(ctx context.Context, ces *esv1.ClusterExternalSecret, o outcome) (reconcile.Result, error) {
	before := ces.DeepCopy()
	ces.Status = statusFrom(ces.Status, o)
	if !equality.Semantic.DeepEqual(before.Status, ces.Status) {
		// The optimistic lock makes a patch computed from a stale cached
		// object fail instead of announcing a transition twice.
		err := r.Client.Status().Patch(ctx, ces, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		switch {
		case apierrors.IsNotFound(err):
			return reconcile.Result{}, nil
		case apierrors.IsConflict(err):
			logf.FromContext(ctx).V(1).Info("ClusterExternalSecret changed meanwhile; evaluating it again")
			return reconcile.Result{RequeueAfter: conflictRetry}, nil
		case err != nil:
			return reconcile.Result{}, fmt.Errorf("writing status of ClusterExternalSecret %q: %w", ces.Name, err)
		}
	}
	prev, next := findCondition(before.Status.Conditions, esv1.ConditionReady), findCondition(ces.Status.Conditions, esv1.ConditionReady)
	if readyTransition(prev, next) {
		if next.Status == corev1.ConditionTrue {
			r.announce(ctx, ces, corev1.EventTypeNormal, eventReasonProvisioned, next.Message)
		} else {
			r.announce(ctx, ces, corev1.EventTypeWarning, eventReasonFailed, next.Message)
		}
	}
	if err := o.retryErr(); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: ces.Spec.RefreshTimeOrDefault(), Priority: ptr.To(priorityRefresh)}, nil
}

// announce writes the same message to the log and, as an Event, to the
// ClusterExternalSecret.
func (r *Reconciler) announce(ctx context.Context, ces *esv1.ClusterExternalSecret, eventType, reason, msg string) {
	logf.FromContext(ctx).Info(msg, "reason", reason)
	r.Recorder.Eventf(ces, nil, eventType, reason, "Provision", "%s", eventnote.Fit(msg))
}
