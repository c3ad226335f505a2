package azure

import (
	"context"
	"fmt"
	"regexp"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// guidPattern is what a tenant or client ID looks like.
var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// tenantPattern is what Entra ID accepts as a tenant: a GUID or a domain
// name (contoso.onmicrosoft.com).
var tenantPattern = regexp.MustCompile(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+)$`)

// servicePrincipalAuth signs in as an application with a client secret or
// a client certificate held in Secrets (authSecretRef).
type servicePrincipalAuth struct {
	ref esv1.AzureKVAuth
}

// newServicePrincipalAuth checks authSecretRef.
func newServicePrincipalAuth(spec *esv1.AzureKVProvider) (authMethod, error) {
	const f = field + ".authSecretRef"
	a := spec.AuthSecretRef
	switch {
	case a == nil:
		return nil, provider.NewConfigError(f, "is required with authType ServicePrincipal: name the Secret keys that hold clientId and clientSecret (or clientCertificate)")
	case a.ClientID == nil:
		return nil, provider.NewConfigError(f+".clientId", "is required with authType ServicePrincipal: name the Secret key that holds the application (client) ID")
	case a.ClientSecret != nil && a.ClientCertificate != nil:
		return nil, provider.NewConfigError(f, "set clientSecret or clientCertificate, not both")
	case a.ClientSecret == nil && a.ClientCertificate == nil:
		return nil, provider.NewConfigError(f+".clientSecret", "is required with authType ServicePrincipal unless clientCertificate is set: name the Secret key that holds the client secret")
	case spec.TenantID == "" && a.TenantID == nil:
		return nil, provider.NewConfigError(field+".tenantId", "is required with authType ServicePrincipal: set the Entra ID tenant, or authSecretRef.tenantId")
	}
	if spec.TenantID != "" && !tenantPattern.MatchString(spec.TenantID) {
		return nil, provider.NewConfigError(field+".tenantId", "%q is not a tenant ID (a GUID) or a tenant domain name", spec.TenantID)
	}
	if spec.ServiceAccountRef != nil || spec.IdentityID != "" {
		return nil, provider.NewConfigError(field, "serviceAccountRef and identityId are not read with authType ServicePrincipal: remove them, or set authType WorkloadIdentity or ManagedIdentity")
	}
	return servicePrincipalAuth{ref: *a}, nil
}

// credential reads the client ID, the tenant and the secret or certificate
// and returns a ClientSecretCredential or ClientCertificateCredential.
func (a servicePrincipalAuth) credential(ctx context.Context, r refs, spec *esv1.AzureKVProvider, env environment, opts credentialOptions) (credential, error) {
	const f = field + ".authSecretRef"
	clientID, idSecret, err := r.secretValue(ctx, f+".clientId", *a.ref.ClientID)
	if err != nil {
		return credential{}, err
	}
	if !guidPattern.MatchString(clientID) {
		return credential{}, provider.NewConfigError(f+".clientId", "key %q of Secret %s is not an application (client) ID (a GUID)", a.ref.ClientID.Key, idSecret)
	}
	tenant, err := tenantOf(ctx, r, spec, "")
	if err != nil {
		return credential{}, err
	}
	o := opts.client
	o.Cloud.ActiveDirectoryAuthorityHost = env.authority
	identity := fmt.Sprintf("application %s in tenant %s", clientID, tenant)
	if a.ref.ClientSecret != nil {
		secret, secretName, err := r.secretValue(ctx, f+".clientSecret", *a.ref.ClientSecret)
		if err != nil {
			return credential{}, err
		}
		cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions:            o,
			DisableInstanceDiscovery: opts.disableInstanceDiscovery,
		})
		if err != nil {
			return credential{}, provider.NewConfigError(f, "%v", err)
		}
		return credential{TokenCredential: cred, identity: identity, kind: esv1.AzureServicePrincipal,
			source: fmt.Sprintf("%s (client secret from key %q of Secret %s)", identity, a.ref.ClientSecret.Key, secretName)}, nil
	}
	pemBytes, certSecret, err := r.SecretKey(ctx, f+".clientCertificate", *a.ref.ClientCertificate, "")
	if err != nil {
		return credential{}, err
	}
	certs, key, err := azidentity.ParseCertificates(pemBytes, nil)
	if err != nil {
		// ParseCertificates's message names what is missing (certificate or
		// key), never the key material.
		return credential{}, provider.NewConfigError(f+".clientCertificate", "key %q of Secret %s must hold a PEM certificate and its unencrypted private key: %v", a.ref.ClientCertificate.Key, certSecret, err)
	}
	cred, err := azidentity.NewClientCertificateCredential(tenant, clientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
		ClientOptions:            o,
		DisableInstanceDiscovery: opts.disableInstanceDiscovery,
	})
	if err != nil {
		return credential{}, provider.NewConfigError(f+".clientCertificate", "%v", err)
	}
	return credential{TokenCredential: cred, identity: identity, kind: esv1.AzureServicePrincipal,
		source: fmt.Sprintf("%s (client certificate from key %q of Secret %s)", identity, a.ref.ClientCertificate.Key, certSecret)}, nil
}

// tenantOf returns the tenant from the first source that sets it:
// annotation (a ServiceAccount's azure.workload.identity/tenant-id), the
// store's tenantId, authSecretRef.tenantId. Two sources that disagree are a
// ConfigError: a silent choice would sign in to the wrong tenant.
func tenantOf(ctx context.Context, r refs, spec *esv1.AzureKVProvider, annotation string) (string, error) {
	type source struct{ where, value string }
	var found []source
	if annotation != "" {
		found = append(found, source{"the " + tenantAnnotation + " annotation", annotation})
	}
	if spec.TenantID != "" {
		found = append(found, source{field + ".tenantId", spec.TenantID})
	}
	if spec.AuthSecretRef != nil && spec.AuthSecretRef.TenantID != nil {
		v, secret, err := r.secretValue(ctx, field+".authSecretRef.tenantId", *spec.AuthSecretRef.TenantID)
		if err != nil {
			return "", err
		}
		found = append(found, source{fmt.Sprintf("key %q of Secret %s", spec.AuthSecretRef.TenantID.Key, secret), v})
	}
	if len(found) == 0 {
		return "", provider.NewConfigError(field+".tenantId", "is required: set the Entra ID tenant (or authSecretRef.tenantId, or the %s annotation of the ServiceAccount)", tenantAnnotation)
	}
	for _, s := range found[1:] {
		if s.value != found[0].value {
			return "", provider.NewConfigError(field+".tenantId", "%s says tenant %q but %s says %q: keep one, or make them agree", found[0].where, found[0].value, s.where, s.value)
		}
	}
	if !tenantPattern.MatchString(found[0].value) {
		return "", provider.NewConfigError(field+".tenantId", "%s is %q, not a tenant ID (a GUID) or a tenant domain name", found[0].where, found[0].value)
	}
	return found[0].value, nil
}
