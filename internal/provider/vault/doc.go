// Package vault implements the HashiCorp Vault provider (spec.provider.vault):
// it reads KV v1 and v2 secrets with one Vault token per store identity.
//
// A Client is built once per store identity by the engine's client cache and
// shared by every reconcile that uses the store, so:
//
//   - it logs in once (NewClient), keeps the token, renews it in the
//     background at about two thirds of its TTL and logs in again only when
//     the token cannot be renewed; Close revokes the token only if this
//     client created it by logging in (never a tokenSecretRef token);
//   - it never reads the process's VAULT_* environment, the token helper or
//     ~/.vault-token: the vault/api client is built from an explicit
//     configuration and every ambient setting NewClient picks up is cleared;
//   - interpretations it makes on the user's behalf (a seed-style store, a
//     KV v2 spelling on a KV v1 mount) are kept in the client and reported
//     with provider.Warn on every read that relies on them.
//
// Paths: the KV mount a key lives in is discovered with
// sys/internal/ui/mounts/<path> (cached per client), so "prod/app-db" with
// path "secret", "secret/prod/app-db" and "secret/data/prod/app-db" all read
// secret/data/prod/app-db on a KV v2 mount, and the mount prefix is never
// added twice. See docs/providers/vault.md for the full rules, the auth
// methods and the diagnostics.
package vault
