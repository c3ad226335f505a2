// Package gcp implements the Google Cloud Secret Manager provider
// (spec.provider.gcpsm) with the official Secret Manager client
// (cloud.google.com/go/secretmanager/apiv1) over gRPC and the oauth2
// packages for tokens.
//
// A Client is built once per store identity by the engine's client cache
// and shared by every reconcile that uses the store, so:
//
//   - access tokens are fetched on first use and cached by the client,
//     refreshed five minutes (or half their lifetime, when shorter) before
//     they expire, and dropped when Google answers Unauthenticated; a
//     ServiceAccount token, an STS exchange or a key sign-in happens about
//     once an hour per store, never once per reconcile;
//   - each client holds its own token lock and connection: stores never
//     wait for each other, no environment variable is set and no
//     process-wide lock is taken;
//   - ResourceExhausted and Unavailable answers are retried with
//     exponential backoff (spec.retrySettings tunes it).
//
// Auth methods live one per file: auth_key.go (a service-account JSON
// key), auth_workloadidentity.go (GKE workload identity),
// auth_federation.go (workload identity federation with a ServiceAccount
// token), auth_default.go (Application Default Credentials);
// auth_federated.go holds the token exchange the two federated methods
// share. Reads live in secrets.go; errors.go turns gRPC statuses into
// messages that name the resource, the permission and the role to grant,
// and never a value or a token.
//
// gcptest is the wire-protocol test server the tests, the e2e tests and
// the benchmark use. See docs/providers/gcp.md for manifests and IAM roles.
package gcp
