// Package clusterexternalsecret reconciles ClusterExternalSecrets: it creates
// the same ExternalSecret in every namespace the selectors match, with server-
// side apply and a controller owner reference, removes it from namespaces that
// stop matching, and reports provisioned and failed namespaces in status.
package clusterexternalsecret

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// ownerIndex indexes ExternalSecrets by the UID of the ClusterExternalSecret
// that controls them.
const ownerIndex = "secretbridge.clusterExternalSecretUID"

// Reconciler provisions the ExternalSecrets of ClusterExternalSecrets.
type Reconciler struct {
	// Client is the manager's cached client; SetupWithManager adds the index
	// it lists a ClusterExternalSecret's children with.
	Client client.Client
	// Recorder emits Events when the Ready condition changes.
	Recorder events.EventRecorder
	// Now returns the current time (default time.Now); tests may replace it.
	Now func() time.Time

	// skipNameValidation lets tests register the controller in more than one
	// manager of the same process.
	skipNameValidation bool
}

// Reconcile provisions one ClusterExternalSecret: it selects the target
// namespaces, writes the ExternalSecret where it is missing or differs,
// removes it where it is no longer wanted, and reports.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	began := r.now()
	var ces esv1.ClusterExternalSecret
	if err := r.Client.Get(ctx, req.NamespacedName, &ces); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if ces.DeletionTimestamp != nil {
		return reconcile.Result{}, nil // the children go with the garbage collector
	}
	log := logf.FromContext(ctx)
	name := ces.Spec.ExternalSecretNameOrDefault(ces.Name)
	targets, err := r.targets(ctx, &ces)
	var invalid *specError
	if errors.As(err, &invalid) {
		return r.report(ctx, &ces, outcome{name: name, specErr: err})
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	children, err := r.children(ctx, &ces)
	if err != nil {
		return reconcile.Result{}, err
	}
	out := r.provision(ctx, &ces, targets)
	out.failures = append(out.failures, r.prune(ctx, &ces, name, targets, children)...)
	res, err := r.report(ctx, &ces, out)
	log.V(1).Info("Reconciled", "namespaces", out.matched, "provisioned", len(out.provisioned), "failed", len(out.failures), "took", r.now().Sub(began))
	return res, err
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// targets lists the namespaces (from the cache) and returns those ces selects.
// It fails with a *specError when a selector is invalid.
func (r *Reconciler) targets(ctx context.Context, ces *esv1.ClusterExternalSecret) ([]string, error) {
	var nss corev1.NamespaceList
	if err := r.Client.List(ctx, &nss); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	return targetNamespaces(&ces.Spec, nss.Items)
}

// children lists the ExternalSecrets ces controls, in every namespace and
// under any name (a previous spec.externalSecretName included).
func (r *Reconciler) children(ctx context.Context, ces *esv1.ClusterExternalSecret) ([]esv1.ExternalSecret, error) {
	var list esv1.ExternalSecretList
	if err := r.Client.List(ctx, &list, client.MatchingFields{ownerIndex: string(ces.UID)}); err != nil {
		return nil, fmt.Errorf("listing the ExternalSecrets of ClusterExternalSecret %q: %w", ces.Name, err)
	}
	return list.Items, nil
}

// provision makes every target namespace hold ces's ExternalSecret. It
// guarantees that an ExternalSecret ces does not control is never written
// (that namespace is reported as failed, naming the owner), and that a child
// is written only when it differs from what ces wants.
func (r *Reconciler) provision(ctx context.Context, ces *esv1.ClusterExternalSecret, targets []string) outcome {
	out := outcome{name: ces.Spec.ExternalSecretNameOrDefault(ces.Name), matched: len(targets)}
	for _, ns := range targets {
		ok, f := r.provisionOne(ctx, ces, desiredChild(ces, ns))
		switch {
		case f != nil:
			out.failures = append(out.failures, *f)
		case ok:
			out.provisioned = append(out.provisioned, ns)
		default:
			out.matched-- // the namespace began terminating after it was listed
		}
	}
	return out
}

// provisionOne writes want unless it is in place already. It returns whether
// want is in place, or why not.
func (r *Reconciler) provisionOne(ctx context.Context, ces *esv1.ClusterExternalSecret, want *esv1.ExternalSecret) (bool, *failure) {
	fail := func(retry bool, format string, args ...any) (bool, *failure) {
		return false, &failure{namespace: want.Namespace, reason: fmt.Sprintf(format, args...), retry: retry}
	}
	var live esv1.ExternalSecret
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(want), &live)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fail(true, "reading ExternalSecret %q: %v", want.Name, err)
	default:
		if reason, retry := conflict(ces, &live); reason != "" {
			return fail(retry, "%s", reason)
		}
		if upToDate(&live, want) {
			return true, nil
		}
	}
	ac, err := applyConfiguration(want)
	if err != nil {
		return fail(false, "%v", err)
	}
	err = r.Client.Apply(ctx, ac, client.FieldOwner(fieldManager), client.ForceOwnership)
	switch {
	case err == nil:
		logf.FromContext(ctx).V(1).Info("Applied ExternalSecret", "ExternalSecret", want.Namespace+"/"+want.Name)
		return true, nil
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return false, nil
	case apierrors.IsInvalid(err) || apierrors.IsForbidden(err):
		return fail(false, "writing ExternalSecret %q: %v", want.Name, err)
	default:
		return fail(true, "writing ExternalSecret %q: %v", want.Name, err)
	}
}

// prune deletes the children that are no longer wanted: in namespaces that
// stopped matching, or under a previous spec.externalSecretName. A child that
// cannot be deleted is reported as a (transient) failure of its namespace.
func (r *Reconciler) prune(ctx context.Context, ces *esv1.ClusterExternalSecret, name string, targets []string, children []esv1.ExternalSecret) []failure {
	var failures []failure
	for i := range children {
		child := &children[i]
		if (child.Name == name && slices.Contains(targets, child.Namespace)) || child.DeletionTimestamp != nil || !controlledBy(child, ces) {
			continue
		}
		err := r.Client.Delete(ctx, child, client.Preconditions{UID: &child.UID})
		if err != nil && !apierrors.IsNotFound(err) {
			failures = append(failures, failure{namespace: child.Namespace, retry: true,
				reason: fmt.Sprintf("removing ExternalSecret %q, which is no longer wanted: %v", child.Name, err)})
			continue
		}
		logf.FromContext(ctx).Info("Removed ExternalSecret that is no longer wanted", "ExternalSecret", child.Namespace+"/"+child.Name)
	}
	return failures
}

// SetupWithManager registers the controller: it watches ClusterExternalSecrets
// (spec and annotation changes, so force-sync propagates; not status), the
// ExternalSecrets they control (so a child that someone edits or deletes is
// restored at once), and Namespaces (so a namespace that is created, changes
// labels or starts terminating is provisioned or dropped at once).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &esv1.ExternalSecret{}, ownerIndex, ownerKeys); err != nil {
		return err
	}
	changed := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{})
	return ctrl.NewControllerManagedBy(mgr).
		For(&esv1.ClusterExternalSecret{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&esv1.ExternalSecret{}, builder.WithPredicates(changed)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.all), builder.WithPredicates(namespaceChanged())).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: concurrency,
			UsePriorityQueue:        ptr.To(true),
			SkipNameValidation:      ptr.To(r.skipNameValidation),
		}).
		Named("clusterexternalsecret").
		Complete(r)
}

// ownerKeys returns, for ownerIndex, the UID of the ClusterExternalSecret
// that controls an ExternalSecret.
func ownerKeys(obj client.Object) []string {
	owner := metav1.GetControllerOf(obj)
	if owner == nil || !isClusterExternalSecret(owner) {
		return nil
	}
	return []string{string(owner.UID)}
}

// namespaceChanged passes the Namespace events that can change which
// namespaces are selected: creation, deletion, a label change, and the start
// of termination.
func namespaceChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldNS, okOld := e.ObjectOld.(*corev1.Namespace)
			newNS, okNew := e.ObjectNew.(*corev1.Namespace)
			if !okOld || !okNew {
				return true
			}
			return !maps.Equal(oldNS.Labels, newNS.Labels) || terminating(oldNS) != terminating(newNS)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// all maps any event to every ClusterExternalSecret.
func (r *Reconciler) all(ctx context.Context, _ client.Object) []reconcile.Request {
	var list esv1.ClusterExternalSecretList
	if err := r.Client.List(ctx, &list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing ClusterExternalSecrets after a Namespace change")
		return nil
	}
	reqs := make([]reconcile.Request, len(list.Items))
	for i := range list.Items {
		reqs[i] = reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}}
	}
	return reqs
}
