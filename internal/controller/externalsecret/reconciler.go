// Package externalsecret reconciles ExternalSecrets: it reads the referenced
// store's data through a cached provider client, shapes it, writes the target
// Secret with server-side apply and reports the outcome in status.
package externalsecret

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// ClientSource hands out provider clients; provider.Cache implements it.
type ClientSource interface {
	Get(ctx context.Context, store provider.Store, kube ctrl.Client, namespace string) (provider.Client, error)
}

// Reconciler syncs ExternalSecrets.
type Reconciler struct {
	// Client is the manager's cached client; Secrets are cached only when
	// they carry the managed label.
	Client ctrl.Client
	// APIReader reads uncached: Secrets that are not (yet) managed,
	// templateFrom sources, namespaces.
	APIReader ctrl.Reader
	// ProviderKube is an uncached client handed to providers, which read
	// credential Secrets and request ServiceAccount tokens with it.
	ProviderKube ctrl.Client
	// Recorder emits Events on condition transitions.
	Recorder events.EventRecorder
	// Clients builds and caches provider clients.
	Clients ClientSource
	// ControllerClass selects the stores this instance serves.
	ControllerClass string
	// Now returns the current time; tests may replace it.
	Now func() time.Time

	// synced records, per ExternalSecret, the syncedResourceVersion of the
	// last status this process wrote, until the cache shows it (see cacheBehind).
	synced sync.Map
}

// syncOutcome is what one sync did; report turns it into status.
type syncOutcome struct {
	err     error
	wrote   bool
	deleted bool
	// warnings are the interpretations made on the user's behalf.
	warnings []string
	// took is how long the sync ran.
	took time.Duration
}

// sync fetches, shapes and writes, collecting the interpretations providers
// and the engine made on the way. It guarantees that the last good Secret
// stays in place whenever anything fails before the write.
func (r *Reconciler) sync(ctx context.Context, es *esv1.ExternalSecret, live *corev1.Secret) syncOutcome {
	start := time.Now()
	var w provider.Warnings
	out := r.syncData(provider.WithWarnings(ctx, &w), es, live)
	out.warnings, out.took = w.List(), time.Since(start)
	return out
}

func (r *Reconciler) syncData(ctx context.Context, es *esv1.ExternalSecret, live *corev1.Secret) syncOutcome {
	p, err := r.prepare(ctx, es, r.clientFor(es))
	if err != nil {
		return syncOutcome{err: err}
	}
	if p.delete {
		return r.deleteTarget(ctx, es, live)
	}
	wrote, err := r.applyTarget(ctx, es, live, p.want)
	return syncOutcome{err: err, wrote: wrote}
}

// prepared is what a sync will write: the desired Secret, or its deletion.
type prepared struct {
	want    desiredSecret
	delete  bool // deletionPolicy Delete and no remote data left
	missing int  // entries skipped because their remote secret is missing
}

// prepare runs the part of a sync that writes nothing: fetch through
// clients, decide on deletion, template, and build the desired Secret.
// `secretbridge render` runs it too (Render), so that it shows exactly
// what a sync writes.
func (r *Reconciler) prepare(ctx context.Context, es *esv1.ExternalSecret, clients clientFor) (prepared, error) {
	got, err := fetchData(ctx, es, memoClients(clients))
	if err != nil {
		return prepared{}, err
	}
	target := es.Spec.TargetOrDefault()
	if got.missing > 0 && len(got.data) == 0 && target.DeletionPolicyOrDefault() == esv1.DeletionPolicyDelete {
		return prepared{delete: true, missing: got.missing}, nil
	}
	res, err := r.render(ctx, es, got.data)
	if err != nil {
		return prepared{}, err
	}
	return prepared{want: desired(es, res), missing: got.missing}, nil
}

// clientFor resolves the store of an entry (default: spec.secretStoreRef) and
// returns its cached provider client.
func (r *Reconciler) clientFor(es *esv1.ExternalSecret) clientFor {
	return func(ctx context.Context, override *esv1.SecretStoreRef) (provider.Client, error) {
		ref, err := storeRef(es, override)
		if err != nil {
			return nil, err
		}
		store, err := r.resolveStore(ctx, es, ref)
		if err != nil {
			return nil, err
		}
		namespace := ""
		if store.StoreKind() == string(esv1.SecretStoreKindClusterSecretStore) {
			namespace = es.Namespace
		}
		c, err := r.Clients.Get(ctx, store, r.ProviderKube, namespace)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", store.StoreKind(), store.GetName(), err)
		}
		return c, nil
	}
}

// render applies spec.target.template, reading templateFrom sources from the
// ExternalSecret's namespace. Without a template the data passes through.
func (r *Reconciler) render(ctx context.Context, es *esv1.ExternalSecret, data map[string][]byte) (*shape.Result, error) {
	tpl := es.Spec.TargetOrDefault().Template
	var sources []shape.TemplateSource
	for _, ref := range shape.RequiredSources(tpl) {
		key := ctrl.ObjectKey{Namespace: es.Namespace, Name: ref.Name}
		var err error
		switch ref.Kind {
		case shape.SourceConfigMap:
			var cm corev1.ConfigMap
			if err = r.APIReader.Get(ctx, key, &cm); err == nil {
				sources = append(sources, shape.ConfigMapSource(&cm))
			}
		case shape.SourceSecret:
			var s corev1.Secret
			if err = r.APIReader.Get(ctx, key, &s); err == nil {
				sources = append(sources, shape.SecretSource(&s))
			}
		}
		if apierrors.IsNotFound(err) {
			return nil, stall(esv1.ReasonSecretSyncedError, fmt.Errorf("spec.target.template.templateFrom: %s not found in namespace %s", ref, es.Namespace))
		}
		if err != nil {
			return nil, fmt.Errorf("reading templateFrom %s: %w", ref, err)
		}
	}
	res, err := shape.Render(tpl, data, sources)
	if err != nil {
		return nil, fmt.Errorf("spec.target.%w", err)
	}
	return res, nil
}

// deleteTarget deletes the target Secret because the provider no longer has
// any of its data (deletionPolicy Delete).
func (r *Reconciler) deleteTarget(ctx context.Context, es *esv1.ExternalSecret, live *corev1.Secret) syncOutcome {
	if live == nil {
		return syncOutcome{deleted: true}
	}
	if err := checkOwnable(es, live); err != nil {
		return syncOutcome{err: err}
	}
	err := r.Client.Delete(ctx, live, ctrl.Preconditions{UID: &live.UID})
	if err != nil && !apierrors.IsNotFound(err) {
		return syncOutcome{err: fmt.Errorf("deleting Secret %s/%s: %w", live.Namespace, live.Name, err)}
	}
	return syncOutcome{deleted: true}
}

// getTarget returns the target Secret or nil. The cache holds only managed
// Secrets, so a miss is confirmed with an uncached read: an unmanaged Secret
// of that name must be seen before anything is written.
func (r *Reconciler) getTarget(ctx context.Context, es *esv1.ExternalSecret) (*corev1.Secret, error) {
	key := ctrl.ObjectKey{Namespace: es.Namespace, Name: es.Spec.TargetOrDefault().NameOrDefault(es.Name)}
	var s corev1.Secret
	err := r.Client.Get(ctx, key, &s)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, key, &s)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading target Secret %s: %w", key, err)
	}
	return &s, nil
}
