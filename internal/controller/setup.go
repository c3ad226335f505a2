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
	_ "github.com/secretbridge/secretbridge/internal/provider/aws"
	_ "github.com/secretbridge/secretbridge/internal/provider/azure"
	_ "github.com/secretbridge/secretbridge/internal/provider/fake"
	_ "github.com/secretbridge/secretbridge/internal/provider/gcp"
	_ "github.com/secretbridge/secretbridge/internal/provider/kubernetes"
	_ "github.com/secretbridge/secretbridge/internal/provider/vault"
)

// The permissions of the controller, generated into config/rbac/role.yaml
// (make generate). Each line says why it is needed.
//
// ExternalSecrets: read, write status; ClusterExternalSecrets create and retract them.
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets/status,verbs=get;patch
// +kubebuilder:rbac:groups=external-secrets.io,resources=clusterexternalsecrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=external-secrets.io,resources=clusterexternalsecrets/status,verbs=get;patch
// Children carry blockOwnerDeletion owner references to ClusterExternalSecrets,
// and target Secrets to ExternalSecrets.
// +kubebuilder:rbac:groups=external-secrets.io,resources=clusterexternalsecrets/finalizers;externalsecrets/finalizers,verbs=update
// Target Secrets: written with server-side apply (patch), deleted under
// deletionPolicy Delete; credential Secrets and templateFrom Secrets read.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch;delete
// templateFrom ConfigMaps and caProvider ConfigMaps.
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get
// ClusterSecretStore conditions and ClusterExternalSecret selectors.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// Provider logins with a ServiceAccount's identity (TokenRequest).
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get
// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create
// Leader election: the Lease, and the core Event it records on a leadership change.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

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
