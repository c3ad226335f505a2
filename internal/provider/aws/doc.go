// Package aws implements the AWS provider (spec.provider.aws): it reads AWS
// Secrets Manager (service: SecretsManager) and Systems Manager Parameter
// Store (service: ParameterStore) with the official aws-sdk-go-v2 clients.
//
// A Client is built once per store identity by the engine's client cache and
// shared by every reconcile that uses the store, so:
//
//   - credentials are resolved once and cached: static keys are read from
//     their Secrets when the client is built; temporary credentials
//     (AssumeRoleWithWebIdentity, AssumeRole, role chains) are requested on
//     first use and refreshed by the SDK's credentials cache a few minutes
//     before they expire, never once per reconcile;
//   - SDK clients are built only here, from an explicit aws.Config: the
//     process environment and the shared config files are read only when
//     the store asks for the SDK's default credential chain (neither
//     auth.secretRef nor auth.jwt set);
//   - no environment variable is set and no process-wide lock is taken.
//
// Auth methods live one per file: auth_secretref.go (static keys),
// auth_jwt.go (a ServiceAccount token exchanged with
// AssumeRoleWithWebIdentity), auth_default.go (the SDK default chain);
// auth_assumerole.go assumes role and additionalRoles on top of any of them.
// Reads live in secretsmanager.go and parameterstore.go; errors.go turns AWS
// errors into messages that name the secret, the region, the IAM action and
// the principal, and never a value or a credential.
//
// See docs/providers/aws.md for the manifests and IAM policies.
package aws
