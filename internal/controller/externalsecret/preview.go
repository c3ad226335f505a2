package externalsecret

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// This file exposes the sync's pure steps to the command line (`secretbridge
// render` and `doctor`), so that they run the controller's own code: the
// same fetch, property selection, decoding, rewrite and template, and the
// same store and target rules. Nothing here writes to the cluster.

// ClientFunc returns the provider client for the store an entry reads from
// (nil override: spec.secretStoreRef).
type ClientFunc func(ctx context.Context, override *esv1.SecretStoreRef) (provider.Client, error)

// StoreClients returns the ClientFunc a sync of es uses: it resolves the
// store as Reconcile does (class, ClusterSecretStore conditions, Ready) and
// asks r.Clients for its client. r needs Client, APIReader, ProviderKube,
// Clients and ControllerClass.
func (r *Reconciler) StoreClients(es *esv1.ExternalSecret) ClientFunc {
	f := r.clientFor(es)
	return func(ctx context.Context, override *esv1.SecretStoreRef) (provider.Client, error) {
		c, err := f(ctx, override)
		if errors.Is(err, errOtherClass) {
			return nil, errors.New("the store is served by another controller class (spec.controller); this controller would not sync it")
		}
		return c, err
	}
}

// Rendered is the target Secret a sync would write.
type Rendered struct {
	// Name is the target Secret's name.
	Name string
	// Type is the Secret's type.
	Type corev1.SecretType
	// Data is the Secret's data.
	Data map[string][]byte
	// Labels and Annotations are the metadata the sync applies.
	Labels, Annotations map[string]string
	// Warnings are the interpretations made on the user's behalf.
	Warnings []string
	// Missing counts entries skipped because their remote secret does not
	// exist (deletionPolicy Delete or Merge).
	Missing int
	// Deleted is true when the sync would delete the Secret instead
	// (deletionPolicy Delete and no data left).
	Deleted bool
}

// Render runs a sync of es up to, not including, the write (the same
// prepare step Reconcile runs): fetch through clients, shape, template
// (templateFrom sources read through reader, which may be nil when the
// template has none) and the desired Secret.
func Render(ctx context.Context, es *esv1.ExternalSecret, clients ClientFunc, reader ctrl.Reader) (*Rendered, error) {
	var w provider.Warnings
	ctx = provider.WithWarnings(ctx, &w)
	if reader == nil && len(shape.RequiredSources(es.Spec.TargetOrDefault().Template)) > 0 {
		return nil, errors.New("spec.target.template.templateFrom reads ConfigMaps or Secrets from the cluster; render it against a cluster, not offline")
	}
	p, err := (&Reconciler{APIReader: reader}).prepare(ctx, es, clientFor(clients))
	if err != nil {
		return nil, err
	}
	return &Rendered{
		Name: es.Spec.TargetOrDefault().NameOrDefault(es.Name), Type: p.want.secretType, Data: p.want.data,
		Labels: p.want.labels, Annotations: p.want.annotations, Warnings: w.List(), Missing: p.missing, Deleted: p.delete,
	}, nil
}

// Property selects ref.Property from a fetched secret exactly as a sync
// does, including the "data." fallback for KV v2 API paths.
func Property(ctx context.Context, raw []byte, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	return property(ctx, raw, ref)
}

// NamespaceAllowed applies a ClusterSecretStore's spec.conditions as a sync
// does: whether an ExternalSecret in namespace may use it. reader reads the
// namespace's labels when a condition has a namespaceSelector.
func NamespaceAllowed(ctx context.Context, reader ctrl.Reader, css *esv1.ClusterSecretStore, namespace string) (bool, error) {
	return (&Reconciler{APIReader: reader}).namespaceAllowed(ctx, css, namespace)
}

// TargetIntact reports whether s still holds, under the keys secretbridge
// owns, the data the sync of es last wrote (and, unless creationPolicy is
// Merge, carries the managed label): false means it was edited elsewhere.
func TargetIntact(es *esv1.ExternalSecret, s *corev1.Secret) bool {
	return inspectTarget(es, s).intact
}

// CheckOwnable returns why creationPolicy Owner would refuse to write s
// (owned by another object, or not managed by secretbridge), or nil.
func CheckOwnable(es *esv1.ExternalSecret, s *corev1.Secret) error {
	if es.Spec.TargetOrDefault().CreationPolicyOrDefault() != esv1.CreatePolicyOwner {
		return nil
	}
	return checkOwnable(es, s)
}
