// Package secretstore validates SecretStores and ClusterSecretStores. For a
// store of its controller class it checks the provider configuration, gets a
// client for the store from the shared provider client cache, asks the
// provider to validate it, and reports the outcome in the store's Ready
// condition and capabilities. It re-validates every spec.refreshInterval.
//
// ExternalSecrets read the Ready condition (see ReadyCondition): a store
// that is Ready False stalls its ExternalSecrets with the store's message.
package secretstore

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// The controller reads stores, patches their status and emits Events.
//
// +kubebuilder:rbac:groups=external-secrets.io,resources=secretstores;clustersecretstores,verbs=get;list;watch
// +kubebuilder:rbac:groups=external-secrets.io,resources=secretstores/status;clustersecretstores/status,verbs=get;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// ClientSource hands out provider clients; provider.Cache implements it.
type ClientSource interface {
	// Get returns the client for store as used from namespace.
	Get(ctx context.Context, store provider.Store, kube client.Client, namespace string) (provider.Client, error)
}

// invalidator is implemented by client sources that can drop the cached
// clients of a store (provider.Cache).
type invalidator interface {
	Invalidate(storeUID types.UID)
}

// Reconciler validates SecretStores and ClusterSecretStores. One Reconciler
// serves both kinds; SetupWithManager registers a controller for each.
type Reconciler struct {
	// Client is the manager's cached client: it reads stores and patches
	// their status.
	Client client.Client
	// ProviderKube is handed to providers, which read credential Secrets
	// and request ServiceAccount tokens with it. It should be uncached (the
	// manager's cache holds only managed Secrets). When nil, Client.
	ProviderKube client.Client
	// Recorder emits an Event when a store's Ready condition changes.
	Recorder events.EventRecorder
	// Clients builds and caches provider clients.
	Clients ClientSource
	// ControllerClass selects the stores this instance serves: those whose
	// spec.controller equals it.
	ControllerClass string
	// Now returns the current time; when nil, time.Now.
	Now func() time.Time

	// skipNameValidation lets tests start one manager per test in one
	// process (controller names must otherwise be unique per process).
	skipNameValidation bool
}

// store is what the reconciler needs of a SecretStore or ClusterSecretStore.
type store interface {
	provider.Store
	StoreStatus() *esv1.SecretStoreStatus
}

var (
	_ store = &esv1.SecretStore{}
	_ store = &esv1.ClusterSecretStore{}
)

// kindReconciler reconciles the stores of one kind with the shared
// Reconciler.
type kindReconciler struct {
	*Reconciler
	newStore func() store
}

// Reconcile reads the store the request names and validates it.
func (k kindReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	s := k.newStore()
	if err := k.Client.Get(ctx, req.NamespacedName, s); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	return k.reconcileStore(ctx, s)
}

// reconcileStore validates one store and reports the outcome. A store of
// another controller class, or one being deleted, is left alone (its status
// included). A valid store, or one that needs a change of its spec or of a
// referenced object, is looked at again after its refresh interval (with
// jitter); a transient failure is returned to the work queue, whose rate
// limiter backs off.
func (r *Reconciler) reconcileStore(ctx context.Context, s store) (reconcile.Result, error) {
	if s.StoreSpec().Controller != r.ControllerClass {
		logf.FromContext(ctx).V(1).Info("Skipping a store of another controller class", "controller", s.StoreSpec().Controller)
		return reconcile.Result{}, nil
	}
	if !s.GetDeletionTimestamp().IsZero() {
		return reconcile.Result{}, nil
	}
	out := r.validate(ctx, s)
	if err := r.report(ctx, s, out); err != nil {
		return reconcile.Result{}, err
	}
	if out.transient {
		return reconcile.Result{}, out.err
	}
	interval := refreshInterval(s.StoreSpec())
	return reconcile.Result{RequeueAfter: interval + jitter(interval), Priority: ptr.To(priorityRefresh)}, nil
}

// SetupWithManager registers one controller per store kind. Each watches its
// kind for spec changes (a new generation); status-only updates, including
// this controller's own, do not trigger a reconcile.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.Client == nil || r.Recorder == nil || r.Clients == nil {
		return errors.New("the store reconciler needs Client, Recorder and Clients")
	}
	kinds := []struct {
		name     string
		newStore func() store
	}{
		{"secretstore", func() store { return &esv1.SecretStore{} }},
		{"clustersecretstore", func() store { return &esv1.ClusterSecretStore{} }},
	}
	for _, kind := range kinds {
		err := ctrl.NewControllerManagedBy(mgr).
			For(kind.newStore(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
			WithOptions(r.controllerOptions(concurrency)).
			Named(kind.name).
			Complete(kindReconciler{Reconciler: r, newStore: kind.newStore})
		if err != nil {
			return err
		}
	}
	return nil
}

// Backoff of transient validation failures: the first retry after
// failureBackoffBase, doubling up to failureBackoffMax.
const (
	failureBackoffBase = time.Second
	failureBackoffMax  = 5 * time.Minute
)

// controllerOptions runs concurrency workers on a priority queue (periodic
// re-validations are queued below new and changed stores) with a gentler
// backoff than the default: a failing store is usually a provider that is
// down, and each retry may log in to it.
func (r *Reconciler) controllerOptions(concurrency int) controller.Options {
	opts := controller.Options{
		MaxConcurrentReconciles: concurrency,
		UsePriorityQueue:        ptr.To(true),
		RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](failureBackoffBase, failureBackoffMax),
	}
	if r.skipNameValidation {
		opts.SkipNameValidation = ptr.To(true)
	}
	return opts
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) providerKube() client.Client {
	if r.ProviderKube != nil {
		return r.ProviderKube
	}
	return r.Client
}
