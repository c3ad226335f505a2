package azure

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// managedIdentityAuth uses the managed identity of the node (IMDS): the
// one identityId names (a client ID, or a resource ID starting with
// /subscriptions/), else the only one assigned.
type managedIdentityAuth struct {
	id string
}

// newManagedIdentityAuth checks the fields ManagedIdentity reads.
func newManagedIdentityAuth(spec *esv1.AzureKVProvider) (authMethod, error) {
	if spec.AuthSecretRef != nil || spec.ServiceAccountRef != nil {
		return nil, provider.NewConfigError(field, "authSecretRef and serviceAccountRef are not read with authType ManagedIdentity: remove them, or set authType ServicePrincipal or WorkloadIdentity")
	}
	id := spec.IdentityID
	if id != "" && !guidPattern.MatchString(id) && !strings.HasPrefix(strings.ToLower(id), "/subscriptions/") {
		return nil, provider.NewConfigError(field+".identityId", "%q is neither a client ID (a GUID) nor a resource ID (/subscriptions/…/userAssignedIdentities/<name>)", id)
	}
	return managedIdentityAuth{id: id}, nil
}

// credential returns a ManagedIdentityCredential. azidentity picks the
// managed-identity source (IMDS, App Service, Arc…) from the environment it
// runs in; nothing is set.
func (a managedIdentityAuth) credential(_ context.Context, _ refs, _ *esv1.AzureKVProvider, _ environment, opts credentialOptions) (credential, error) {
	o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts.client}
	identity := "the system-assigned managed identity"
	switch {
	case a.id == "":
	case guidPattern.MatchString(a.id):
		o.ID = azidentity.ClientID(a.id)
		identity = "managed identity " + a.id
	default:
		o.ID = azidentity.ResourceID(a.id)
		identity = "managed identity " + a.id
	}
	cred, err := azidentity.NewManagedIdentityCredential(o)
	if err != nil {
		return credential{}, provider.NewConfigError(field+".authType", "%v", err)
	}
	return credential{TokenCredential: cred, identity: identity, kind: esv1.AzureManagedIdentity, source: identity}, nil
}
