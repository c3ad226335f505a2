package provider

import (
	"errors"
	"fmt"
)

// NotFoundError means the remote secret (or the requested version) does not exist.
type NotFoundError struct {
	// Key is the remote key that was asked for.
	Key string
	// Detail says where the provider looked (a path, an ARN), never a value.
	Detail string
}

// Error implements error.
func (e *NotFoundError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("remote secret %q not found (%s)", e.Key, e.Detail)
	}
	return fmt.Sprintf("remote secret %q not found", e.Key)
}

// IsNotFound reports whether err is or wraps a *NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// ConfigError means the store or the reference is wrong and only a change to
// the spec (or to a referenced object) can fix it: the engine stalls instead
// of retrying in a hot loop.
type ConfigError struct {
	// Field is the path of the offending field, e.g. spec.provider.vault.auth.
	Field string
	// Err says what is wrong and how to fix it.
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *ConfigError) Unwrap() error { return e.Err }

// NewConfigError builds a *ConfigError for field with a formatted message.
func NewConfigError(field, format string, args ...any) error {
	return &ConfigError{Field: field, Err: fmt.Errorf(format, args...)}
}

// ErrNoReferentNamespace means a ClusterSecretStore refers to credentials
// without a namespace ("referent" authentication) and no ExternalSecret
// namespace was given to resolve them in: the store can be validated only
// when an ExternalSecret uses it (the store's Ready reason is then
// ValidationUnknown, not a failure).
var ErrNoReferentNamespace = errors.New("the credentials are resolved in the namespace of the ExternalSecret that uses the store, and none was given")
