// Package controller wires the reconcilers of every kind into the manager:
// ExternalSecret, SecretStore, ClusterSecretStore and ClusterExternalSecret,
// sharing one provider client cache.
package controller

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/secretbridge/secretbridge/internal/controller/clusterexternalsecret"
	"github.com/secretbridge/secretbridge/internal/controller/externalsecret"
	"github.com/secretbridge/secretbridge/internal/controller/secretstore"
	sbmanager "github.com/secretbridge/secretbridge/internal/manager"
	"github.com/secretbridge/secretbridge/internal/provider"

	// The providers register themselves.
	_ "github.com/secretbridge/secretbridge/internal/provider/fake"
	_ "github.com/secretbridge/secretbridge/internal/provider/kubernetes"
	_ "github.com/secretbridge/secretbridge/internal/provider/vault"
)

// Setup registers every reconciler with mgr. It is a manager.Setup.
func Setup(mgr ctrl.Manager, opts sbmanager.Options) error {
	clients := provider.NewCache(provider.CacheOptions{
		Log:        mgr.GetLogger().WithName("provider-cache"),
		Controller: provider.Controller{Namespace: opts.PodNamespace, ServiceAccount: opts.ServiceAccountName},
	})
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		defer clients.Close()
		return clients.Run(ctx)
	})); err != nil {
		return err
	}
	// Providers read credential Secrets and request tokens uncached: the
	// manager's cache holds only managed Secrets.
	direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return fmt.Errorf("building the provider client: %w", err)
	}
	es := &externalsecret.Reconciler{
		Client:          mgr.GetClient(),
		APIReader:       mgr.GetAPIReader(),
		ProviderKube:    direct,
		Recorder:        mgr.GetEventRecorder("secretbridge"),
		Clients:         clients,
		ControllerClass: opts.ControllerClass,
	}
	if err := es.SetupWithManager(mgr, opts.Concurrent); err != nil {
		return fmt.Errorf("setting up the ExternalSecret controller: %w", err)
	}
	stores := &secretstore.Reconciler{
		Client:          mgr.GetClient(),
		ProviderKube:    direct,
		Recorder:        mgr.GetEventRecorder("secretbridge"),
		Clients:         clients,
		ControllerClass: opts.ControllerClass,
	}
	if err := stores.SetupWithManager(mgr, opts.Concurrent); err != nil {
		return fmt.Errorf("setting up the store controllers: %w", err)
	}
	// A ClusterExternalSecret writes into many namespaces, which a controller
	// limited to one namespace can neither watch nor write.
	if opts.Namespace != "" {
		mgr.GetLogger().Info("ClusterExternalSecrets are not served in single-namespace mode", "namespace", opts.Namespace)
		return nil
	}
	ces := &clusterexternalsecret.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("secretbridge")}
	if err := ces.SetupWithManager(mgr, opts.Concurrent); err != nil {
		return fmt.Errorf("setting up the ClusterExternalSecret controller: %w", err)
	}
	return nil
}
