package azure

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// The ServiceAccount annotations of Azure Workload Identity.
const (
	// clientIDAnnotation names the application or user-assigned managed
	// identity whose federated credential trusts the ServiceAccount.
	clientIDAnnotation = "azure.workload.identity/client-id"
	// tenantAnnotation names its tenant.
	tenantAnnotation = "azure.workload.identity/tenant-id"
	// tokenExchangeAudience is the audience Entra ID expects of federated
	// ServiceAccount tokens.
	tokenExchangeAudience = "api://AzureADTokenExchange"
)

// workloadIdentityAuth exchanges a Kubernetes ServiceAccount token for an
// Entra ID token, as Azure Workload Identity does: a token requested with
// the TokenRequest API (audience api://AzureADTokenExchange plus
// serviceAccountRef.audiences) is the client assertion of a
// client_credentials request for the application in the ServiceAccount's
// azure.workload.identity/client-id annotation (or authSecretRef.clientId),
// which must have a federated credential for the cluster's issuer and
// subject system:serviceaccount:<namespace>:<name>.
//
// Tokens are requested only when the credential needs a new Entra ID token
// (about once an hour), not per read. Without serviceAccountRef, the
// controller's own projected token (the workload-identity webhook's
// AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID) is used.
type workloadIdentityAuth struct {
	sa *esv1.ServiceAccountSelector
}

// newWorkloadIdentityAuth checks the fields WorkloadIdentity reads.
func newWorkloadIdentityAuth(spec *esv1.AzureKVProvider) (authMethod, error) {
	if spec.IdentityID != "" {
		return nil, provider.NewConfigError(field+".identityId", "is not read with authType WorkloadIdentity: put the client ID in the %s annotation of the ServiceAccount, or set authType ManagedIdentity", clientIDAnnotation)
	}
	if a := spec.AuthSecretRef; a != nil && (a.ClientSecret != nil || a.ClientCertificate != nil) {
		return nil, provider.NewConfigError(field+".authSecretRef", "clientSecret and clientCertificate are not read with authType WorkloadIdentity: remove them, or set authType ServicePrincipal")
	}
	if spec.TenantID != "" && !tenantPattern.MatchString(spec.TenantID) {
		return nil, provider.NewConfigError(field+".tenantId", "%q is not a tenant ID (a GUID) or a tenant domain name", spec.TenantID)
	}
	if spec.ServiceAccountRef != nil && spec.ServiceAccountRef.Name == "" {
		return nil, provider.NewConfigError(field+".serviceAccountRef.name", "is empty: name the ServiceAccount whose token is exchanged")
	}
	return workloadIdentityAuth{sa: spec.ServiceAccountRef}, nil
}

// credential reads the ServiceAccount and returns a
// ClientAssertionCredential whose assertion is a fresh ServiceAccount
// token.
func (a workloadIdentityAuth) credential(ctx context.Context, r refs, spec *esv1.AzureKVProvider, env environment, opts credentialOptions) (credential, error) {
	if a.sa == nil {
		return a.ownCredential(spec, env, opts)
	}
	const f = field + ".serviceAccountRef"
	ns, err := r.NamespaceFor(f, a.sa.Namespace)
	if err != nil {
		return credential{}, err
	}
	sa := provider.ServiceAccount{Namespace: ns, Name: a.sa.Name}
	obj, err := r.serviceAccount(ctx, f, sa)
	if err != nil {
		return credential{}, err
	}
	clientID, err := clientIDOf(ctx, r, spec, obj.Annotations[clientIDAnnotation], sa)
	if err != nil {
		return credential{}, err
	}
	tenant, err := tenantOf(ctx, r, spec, obj.Annotations[tenantAnnotation])
	if err != nil {
		return credential{}, err
	}
	audiences := []string{tokenExchangeAudience}
	for _, aud := range a.sa.Audiences {
		if !slices.Contains(audiences, aud) {
			audiences = append(audiences, aud)
		}
	}
	assertion := func(ctx context.Context) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, assertionTimeout)
		defer cancel()
		tok, err := r.RequestToken(ctx, sa, audiences, tokenLifetime)
		if err != nil {
			return "", &assertionError{sa: sa, err: err}
		}
		return tok, nil
	}
	o := opts.client
	o.Cloud.ActiveDirectoryAuthorityHost = env.authority
	cred, err := azidentity.NewClientAssertionCredential(tenant, clientID, assertion, &azidentity.ClientAssertionCredentialOptions{
		ClientOptions:            o,
		DisableInstanceDiscovery: opts.disableInstanceDiscovery,
	})
	if err != nil {
		return credential{}, provider.NewConfigError(f, "%v", err)
	}
	identity := fmt.Sprintf("application %s in tenant %s", clientID, tenant)
	return credential{TokenCredential: cred, identity: identity, kind: esv1.AzureWorkloadIdentity,
		source: fmt.Sprintf("%s via the federated token of ServiceAccount %s", identity, sa)}, nil
}

// clientIDOf returns the client ID from the ServiceAccount's annotation or
// authSecretRef.clientId; both set and different is a ConfigError.
func clientIDOf(ctx context.Context, r refs, spec *esv1.AzureKVProvider, annotation string, sa provider.ServiceAccount) (string, error) {
	var fromSecret, secret string
	if spec.AuthSecretRef != nil && spec.AuthSecretRef.ClientID != nil {
		v, s, err := r.secretValue(ctx, field+".authSecretRef.clientId", *spec.AuthSecretRef.ClientID)
		if err != nil {
			return "", err
		}
		fromSecret, secret = v, s
	}
	switch {
	case annotation == "" && fromSecret == "":
		return "", provider.NewConfigError(field+".serviceAccountRef", "ServiceAccount %s has no %s annotation and authSecretRef.clientId is not set: annotate the ServiceAccount with the client ID of the application or managed identity that trusts it", sa, clientIDAnnotation)
	case annotation != "" && fromSecret != "" && annotation != fromSecret:
		return "", provider.NewConfigError(field+".authSecretRef.clientId", "Secret %s says client %q but the %s annotation of ServiceAccount %s says %q: keep one", secret, fromSecret, clientIDAnnotation, sa, annotation)
	case annotation != "":
		fromSecret = annotation
	}
	if !guidPattern.MatchString(fromSecret) {
		return "", provider.NewConfigError(field+".serviceAccountRef", "client ID %q (of ServiceAccount %s or authSecretRef.clientId) is not a GUID", fromSecret, sa)
	}
	return fromSecret, nil
}

// ownCredential is the workload identity of the controller's own pod, as
// the Azure Workload Identity webhook injects it: the environment is read
// (never written) once, here, and passed to the explicit constructor.
func (a workloadIdentityAuth) ownCredential(spec *esv1.AzureKVProvider, env environment, opts credentialOptions) (credential, error) {
	file, clientID, tenant := os.Getenv("AZURE_FEDERATED_TOKEN_FILE"), os.Getenv("AZURE_CLIENT_ID"), os.Getenv("AZURE_TENANT_ID")
	if spec.TenantID != "" {
		tenant = spec.TenantID
	}
	if file == "" || clientID == "" || tenant == "" {
		return credential{}, provider.NewConfigError(field+".serviceAccountRef", "is not set and the controller's pod has no Azure Workload Identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID from the webhook): name a ServiceAccount, or label the controller's pod azure.workload.identity/use=true")
	}
	o := opts.client
	o.Cloud.ActiveDirectoryAuthorityHost = env.authority
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions:            o,
		ClientID:                 clientID,
		TenantID:                 tenant,
		TokenFilePath:            file,
		DisableInstanceDiscovery: opts.disableInstanceDiscovery,
	})
	if err != nil {
		return credential{}, provider.NewConfigError(field+".serviceAccountRef", "%v", err)
	}
	identity := fmt.Sprintf("application %s in tenant %s", clientID, tenant)
	return credential{TokenCredential: cred, identity: identity, kind: esv1.AzureWorkloadIdentity,
		source: identity + " via the controller's own federated token"}, nil
}

// assertionError means no ServiceAccount token could be requested.
type assertionError struct {
	sa  provider.ServiceAccount
	err error
}

// Error implements error.
func (e *assertionError) Error() string {
	return fmt.Sprintf("requesting a token of ServiceAccount %s for the federated credential: %v; the controller needs permission to create serviceaccounts/token for it", e.sa, e.err)
}

// Unwrap returns the cause.
func (e *assertionError) Unwrap() error { return e.err }
