package externalsecret

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// storeIndex indexes ExternalSecrets by the stores they read from
// ("SecretStore/name" or "ClusterSecretStore/name").
const storeIndex = "secretbridge.storeRefs"

// Reconcile syncs one ExternalSecret: it skips objects of another controller
// class, decides whether a refresh is due, syncs, and reports.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var es esv1.ExternalSecret
	if err := r.Client.Get(ctx, req.NamespacedName, &es); err != nil {
		if apierrors.IsNotFound(err) {
			r.synced.Delete(req.NamespacedName)
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !es.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil // owned Secrets go with the garbage collector
	}
	// The primary store decides the controller class; its generation is
	// part of what a sync is made from.
	var storeGeneration int64
	if ref, err := storeRef(&es, nil); err == nil {
		store, err := r.resolveStore(ctx, &es, ref)
		if errors.Is(err, errOtherClass) {
			return reconcile.Result{}, nil
		}
		if store != nil {
			storeGeneration = store.GetGeneration()
		}
	}
	live, err := r.getTarget(ctx, &es)
	if err != nil {
		return reconcile.Result{}, err
	}
	target := inspectTarget(&es, live)
	if r.cacheBehind(&es, target, storeGeneration) {
		// This process synced this very state a moment ago and the cache
		// has not caught up with the status it wrote: do not sync twice.
		return reconcile.Result{RequeueAfter: time.Second}, nil
	}
	decision, err := decideRefresh(&es, target, storeGeneration, r.now())
	if err != nil {
		return r.report(ctx, &es, syncOutcome{err: stall(esv1.ReasonSecretSyncedError, err)}, storeGeneration)
	}
	if !decision.sync {
		return reconcile.Result{RequeueAfter: decision.after, Priority: ptr.To(priorityRefresh)}, nil
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Syncing", "why", decision.why)
	out := r.sync(provider.WithReadsSince(ctx, decision.readsSince), &es, live)
	if errors.Is(out.err, errNamespaceTerminating) {
		return reconcile.Result{}, nil
	}
	return r.report(ctx, &es, out, storeGeneration)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager registers the controller: it watches ExternalSecrets
// (spec, label and annotation changes; not status), the managed Secrets they
// own (so a deleted or edited Secret is repaired at once), and both store
// kinds (so a store that changes or turns Ready re-queues its users at once).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &esv1.ExternalSecret{}, storeIndex, storeKeys); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&esv1.ExternalSecret{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Secret{}, builder.WithPredicates(changedByOthers{})).
		Watches(&esv1.SecretStore{}, handler.EnqueueRequestsFromMapFunc(r.usersOf)).
		Watches(&esv1.ClusterSecretStore{}, handler.EnqueueRequestsFromMapFunc(r.usersOf)).
		WithOptions(controllerOptions(concurrency)).
		Named("externalsecret").
		Complete(r)
}

// storeKeys lists the stores an ExternalSecret reads from, for storeIndex.
func storeKeys(obj client.Object) []string {
	es := obj.(*esv1.ExternalSecret)
	var keys []string
	add := func(ref *esv1.SecretStoreRef) {
		if ref != nil && ref.Name != "" {
			keys = append(keys, string(ref.KindOrDefault())+"/"+ref.Name)
		}
	}
	add(es.Spec.SecretStoreRef)
	for _, d := range es.Spec.Data {
		if d.SourceRef != nil {
			add(d.SourceRef.SecretStoreRef)
		}
	}
	for _, d := range es.Spec.DataFrom {
		if d.SourceRef != nil {
			add(d.SourceRef.SecretStoreRef)
		}
	}
	return keys
}

// usersOf maps a store to the ExternalSecrets that read from it.
func (r *Reconciler) usersOf(ctx context.Context, obj client.Object) []reconcile.Request {
	kind := string(esv1.SecretStoreKindSecretStore)
	opts := []client.ListOption{client.InNamespace(obj.GetNamespace())}
	if _, ok := obj.(*esv1.ClusterSecretStore); ok {
		kind = string(esv1.SecretStoreKindClusterSecretStore)
		opts = nil
	}
	var list esv1.ExternalSecretList
	if err := r.Client.List(ctx, &list, append(opts, client.MatchingFields{storeIndex: kind + "/" + obj.GetName()})...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the ExternalSecrets of a store", kind, obj.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, len(list.Items))
	for i := range list.Items {
		reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])}
	}
	return reqs
}

// changedByOthers passes the events of owned Secrets that someone other than
// secretbridge caused: deletions, and creations or updates whose most recent
// managed-fields entry belongs to another field manager (a tampered value).
// Our own writes would otherwise re-queue the ExternalSecret at once and
// make it sync again from a cache that has not yet seen its new status.
type changedByOthers struct{ predicate.Funcs }

func (changedByOthers) Create(e event.CreateEvent) bool { return !lastWriterIsUs(e.Object) }
func (changedByOthers) Update(e event.UpdateEvent) bool { return !lastWriterIsUs(e.ObjectNew) }
func (changedByOthers) Delete(event.DeleteEvent) bool   { return true }
func (changedByOthers) Generic(event.GenericEvent) bool { return true }

// lastWriterIsUs reports whether fieldManager made the object's most recent
// change. On a tie (managed-fields times have one-second resolution) it says
// no, so a possible tamper is always looked at.
func lastWriterIsUs(obj client.Object) bool {
	var ours, others time.Time
	for _, mf := range obj.GetManagedFields() {
		if mf.Time == nil {
			continue
		}
		if mf.Manager == fieldManager {
			if mf.Time.After(ours) {
				ours = mf.Time.Time
			}
		} else if mf.Time.After(others) {
			others = mf.Time.Time
		}
	}
	return !ours.IsZero() && ours.After(others)
}

// cacheBehind reports whether the cached ExternalSecret predates a status
// this process wrote: the last sync recorded for it is exactly the object
// state now seen (same syncedResourceVersion), while the cached status still
// shows an older one. The target Secret must be intact; a repair is never
// deferred. The record is dropped once the cache has caught up.
func (r *Reconciler) cacheBehind(es *esv1.ExternalSecret, target targetState, storeGeneration int64) bool {
	key := types.NamespacedName{Namespace: es.Namespace, Name: es.Name}
	recorded, ok := r.synced.Load(key)
	if !ok {
		return false
	}
	if es.Status.SyncedResourceVersion == recorded {
		r.synced.Delete(key)
		return false
	}
	return recorded == syncedResourceVersion(es, storeGeneration) && target.exists && target.intact
}
