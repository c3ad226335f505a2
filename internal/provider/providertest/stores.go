package providertest

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// SecretStore returns SecretStore ns/name for p, as the engine would hand it
// to a provider: with a fresh UID and generation 1 (the client cache's key),
// not created in the API server.
func SecretStore(ns, name string, p esv1.SecretStoreProvider) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: uuid.NewUUID(), Generation: 1},
		Spec:       esv1.SecretStoreSpec{Provider: p},
	}
}

// ClusterSecretStore returns a ClusterSecretStore named prefix plus random
// characters for p, with a fresh UID and generation 1.
func ClusterSecretStore(prefix string, p esv1.SecretStoreProvider) *esv1.ClusterSecretStore {
	return &esv1.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: prefix + string(uuid.NewUUID())[:8], UID: uuid.NewUUID(), Generation: 1},
		Spec:       esv1.SecretStoreSpec{Provider: p},
	}
}

// NewClient builds p's client for store as used from namespace, failing the
// test on error, and closes it when the test ends.
func NewClient(t testing.TB, p provider.Provider, store provider.Store, kube client.Client, namespace string) provider.Client {
	t.Helper()
	cl, err := p.NewClient(t.Context(), store, kube, namespace)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = cl.Close(context.Background()) })
	return cl
}
