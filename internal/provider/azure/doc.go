// Package azure implements the Azure Key Vault provider
// (spec.provider.azurekv): it reads secrets, keys (as JWK JSON) and
// certificates (as DER) with the official Azure SDK for Go (azidentity,
// azsecrets, azkeys, azcore).
//
// A Client is built once per store identity by the engine's client cache and
// shared by every reconcile that uses the store, so:
//
//   - credentials are resolved once: client secrets and certificates are
//     read from their Secrets and the ServiceAccount is read when the client
//     is built; access tokens are requested on first use and cached by the
//     credential (MSAL's cache) and by the SDK's bearer-token policy, which
//     refreshes them about five minutes before they expire, never once per
//     reconcile;
//   - credentials come from azidentity's explicit constructors with every
//     option set here: no environment variable is read for them (except
//     the workload-identity webhook's, when a WorkloadIdentity store names
//     no ServiceAccount), none is set, and no process-wide lock is taken;
//   - every SDK client of a store shares one HTTP transport, closed with the
//     client.
//
// Auth methods live one per file: auth_serviceprincipal.go (client secret
// or certificate), auth_workloadidentity.go (a ServiceAccount token from the
// TokenRequest API as a federated client assertion),
// auth_managedidentity.go (IMDS). Reads live in client.go and objects.go;
// errors.go turns Key Vault and Entra ID errors into messages that name the
// vault, the object, the missing permission or role and the credential, and
// never a value or a credential.
//
// See docs/providers/azure.md for the manifests, permissions and errors.
package azure
