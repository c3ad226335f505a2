package externalsecret

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/controller/secretstore"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// errOtherClass means the store is served by another controller class; the
// ExternalSecret is left alone, status included.
var errOtherClass = errors.New("store belongs to another controller class")

// storeRef returns the store an entry reads from: its own sourceRef.storeRef
// (override) when set, else spec.secretStoreRef.
func storeRef(es *esv1.ExternalSecret, override *esv1.SecretStoreRef) (esv1.SecretStoreRef, error) {
	if override != nil && override.Name != "" {
		return *override, nil
	}
	if es.Spec.SecretStoreRef == nil || es.Spec.SecretStoreRef.Name == "" {
		return esv1.SecretStoreRef{}, stall(esv1.ReasonSecretSyncedError,
			errors.New("spec.secretStoreRef.name is empty: name the SecretStore or ClusterSecretStore to read from"))
	}
	return *es.Spec.SecretStoreRef, nil
}

// resolveStore fetches the store ref names and checks that this controller
// serves it and that the ExternalSecret's namespace may use it. A missing or
// forbidding store stalls the sync with a message that names it and the fix.
func (r *Reconciler) resolveStore(ctx context.Context, es *esv1.ExternalSecret, ref esv1.SecretStoreRef) (provider.Store, error) {
	var store provider.Store
	if ref.KindOrDefault() == esv1.SecretStoreKindClusterSecretStore {
		store = &esv1.ClusterSecretStore{}
	} else {
		store = &esv1.SecretStore{}
	}
	key := client.ObjectKey{Name: ref.Name}
	if store.StoreKind() == string(esv1.SecretStoreKindSecretStore) {
		key.Namespace = es.Namespace
	}
	if err := r.Client.Get(ctx, key, store); err != nil {
		if apierrors.IsNotFound(err) {
			where := "in namespace " + es.Namespace
			if key.Namespace == "" {
				where = "in the cluster"
			}
			return nil, stall(esv1.ReasonSecretSyncedError, fmt.Errorf("%s %q not found %s: create it or fix spec.secretStoreRef", store.StoreKind(), ref.Name, where))
		}
		return nil, fmt.Errorf("reading %s %q: %w", store.StoreKind(), ref.Name, err)
	}
	if store.StoreSpec().Controller != r.ControllerClass {
		return nil, errOtherClass
	}
	if css, ok := store.(*esv1.ClusterSecretStore); ok {
		allowed, err := r.namespaceAllowed(ctx, css, es.Namespace)
		if err != nil {
			return nil, err
		}
		if !allowed {
			return nil, stall(esv1.ReasonSecretSyncedError, fmt.Errorf(
				"ClusterSecretStore %q does not allow namespace %q: its spec.conditions admit no such namespace; add it there or use another store", css.Name, es.Namespace))
		}
	}
	if ready := secretstore.ReadyCondition(store.StoreStatus()); ready != nil && ready.Status == corev1.ConditionFalse {
		return nil, stall(esv1.ReasonSecretSyncedError, fmt.Errorf("%s %q is not ready (%s): %s", store.StoreKind(), store.GetName(), ready.Reason, ready.Message))
	}
	return store, nil
}

// namespaceAllowed applies a ClusterSecretStore's conditions: without any,
// every namespace may use it; otherwise a namespace matching any one may.
func (r *Reconciler) namespaceAllowed(ctx context.Context, css *esv1.ClusterSecretStore, namespace string) (bool, error) {
	if len(css.Spec.Conditions) == 0 {
		return true, nil
	}
	var nsLabels labels.Set
	for i, c := range css.Spec.Conditions {
		if slices.Contains(c.Namespaces, namespace) {
			return true, nil
		}
		for j, expr := range c.NamespaceRegexes {
			re, err := regexp.Compile(expr)
			if err != nil {
				return false, stall(esv1.ReasonSecretSyncedError, fmt.Errorf("ClusterSecretStore %q: spec.conditions[%d].namespaceRegexes[%d] is not a valid regular expression: %w", css.Name, i, j, err))
			}
			if re.MatchString(namespace) {
				return true, nil
			}
		}
		if c.NamespaceSelector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.NamespaceSelector)
		if err != nil {
			return false, stall(esv1.ReasonSecretSyncedError, fmt.Errorf("ClusterSecretStore %q: spec.conditions[%d].namespaceSelector: %w", css.Name, i, err))
		}
		if nsLabels == nil {
			var ns corev1.Namespace
			if err := r.APIReader.Get(ctx, client.ObjectKey{Name: namespace}, &ns); err != nil {
				return false, fmt.Errorf("reading namespace %q to evaluate ClusterSecretStore %q conditions: %w", namespace, css.Name, err)
			}
			nsLabels = labels.Set(ns.Labels)
		}
		if sel.Matches(nsLabels) {
			return true, nil
		}
	}
	return false, nil
}
