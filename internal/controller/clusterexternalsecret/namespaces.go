package clusterexternalsecret

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// specError means the spec cannot be evaluated as written (an invalid label
// selector): the user must change it, so the reconcile stalls instead of
// retrying.
type specError struct{ err error }

func (e *specError) Error() string { return e.err.Error() }
func (e *specError) Unwrap() error { return e.err }

// namespaceSelectors returns the selectors of spec.namespaceSelector
// (deprecated) and spec.namespaceSelectors, which are ORed. An empty selector
// matches every namespace; a null entry matches none.
func namespaceSelectors(spec *esv1.ClusterExternalSecretSpec) ([]labels.Selector, error) {
	var out []labels.Selector
	if spec.NamespaceSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(spec.NamespaceSelector)
		if err != nil {
			return nil, &specError{fmt.Errorf("spec.namespaceSelector: %w", err)}
		}
		out = append(out, s)
	}
	for i, ls := range spec.NamespaceSelectors {
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			return nil, &specError{fmt.Errorf("spec.namespaceSelectors[%d]: %w", i, err)}
		}
		out = append(out, s)
	}
	return out, nil
}

// targetNamespaces returns, sorted and without duplicates, the namespaces
// among nss that spec selects: matched by any selector or listed in
// spec.namespaces. Terminating namespaces are left out (nothing new can be
// created in them), and so are listed names that do not exist. It fails only
// with a *specError.
func targetNamespaces(spec *esv1.ClusterExternalSecretSpec, nss []corev1.Namespace) ([]string, error) {
	selectors, err := namespaceSelectors(spec)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range nss {
		ns := &nss[i]
		if terminating(ns) {
			continue
		}
		if slices.Contains(spec.Namespaces, ns.Name) || slices.ContainsFunc(selectors, func(s labels.Selector) bool {
			return s.Matches(labels.Set(ns.Labels))
		}) {
			out = append(out, ns.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// terminating reports whether a namespace is being deleted.
func terminating(ns *corev1.Namespace) bool {
	return ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating
}
