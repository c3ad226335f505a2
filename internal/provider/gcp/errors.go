package gcp

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/secretbridge/secretbridge/internal/provider"
)

// roleFor is the predefined role that grants each Secret Manager
// permission this provider needs.
var roleFor = map[string]string{
	"secretmanager.versions.access": "roles/secretmanager.secretAccessor",
	"secretmanager.versions.list":   "roles/secretmanager.viewer",
	"secretmanager.secrets.get":     "roles/secretmanager.viewer",
	"secretmanager.secrets.list":    "roles/secretmanager.viewer",
}

// deniedMessage parses Google's PermissionDenied message: "Permission
// '<permission>' denied for resource '<resource>' (or it may not exist)."
var deniedMessage = regexp.MustCompile(`Permission '([^']+)' denied (?:for|on) resource '([^']*)'`)

// PermissionDeniedError means Google refused a call to the store's
// identity. It names the identity, the permission, the resource and the
// role that grants it.
type PermissionDeniedError struct {
	// Identity is who the call was made as.
	Identity string
	// Permission is the IAM permission refused, e.g.
	// secretmanager.versions.access.
	Permission string
	// Resource is the resource name checked, e.g.
	// projects/p/secrets/s/versions/latest.
	Resource string
	// Role is the predefined role that grants Permission.
	Role string
	// Err is the gRPC error.
	Err error
}

// Error implements error.
func (e *PermissionDeniedError) Error() string {
	msg := fmt.Sprintf("permission denied: %s lacks %s on %s (or it does not exist)", e.Identity, e.Permission, e.Resource)
	if e.Role != "" {
		msg += fmt.Sprintf("; grant it %s on the secret or the project", e.Role)
	}
	return msg
}

// Unwrap returns the gRPC error.
func (e *PermissionDeniedError) Unwrap() error { return e.Err }

// ThrottledError means Secret Manager kept answering ResourceExhausted or
// Unavailable after the retries.
type ThrottledError struct {
	// Op is the call, e.g. AccessSecretVersion.
	Op string
	// Resource is the resource name of the call.
	Resource string
	// Err is the gRPC error.
	Err error
}

// Error implements error.
func (e *ThrottledError) Error() string {
	st, _ := status.FromError(e.Err)
	return fmt.Sprintf("Secret Manager %s of %s failed after retries with backoff (%s: %s): the sync is retried later; if it persists, lower the refresh rate of the ExternalSecrets that use this store or raise the project's Secret Manager quota",
		e.Op, e.Resource, st.Code(), st.Message())
}

// Unwrap returns the gRPC error.
func (e *ThrottledError) Unwrap() error { return e.Err }

// CredentialsError means no access token could be obtained, or Google
// rejected the one sent.
type CredentialsError struct {
	// Source says where the credentials come from.
	Source string
	// Step says what was being done.
	Step string
	// Hint says what to check, if known.
	Hint string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *CredentialsError) Error() string {
	// Token endpoints answer JSON bodies that the oauth2 package quotes
	// with their trailing newline.
	cause := strings.Join(strings.Fields(e.Err.Error()), " ")
	msg := fmt.Sprintf("Google credentials from %s: %s: %s", e.Source, e.Step, cause)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap returns the cause.
func (e *CredentialsError) Unwrap() error { return e.Err }

// call describes one Secret Manager call, for messages.
type call struct {
	// op is the RPC, e.g. AccessSecretVersion.
	op string
	// permission is the IAM permission the call needs.
	permission string
	// key is the remote key as the ExternalSecret names it; empty for
	// list calls.
	key string
	// resource is the resource name sent.
	resource string
}

// wrapError turns the error of a Secret Manager call into the error the
// engine reports: *provider.NotFoundError, *PermissionDeniedError,
// *ThrottledError, *CredentialsError, or the gRPC error with the call
// named. None carries a secret value or a token.
func (c *Client) wrapError(err error, cl call) error {
	if err == nil {
		return nil
	}
	var credErr *CredentialsError
	switch {
	case errors.As(err, &credErr):
		return fmt.Errorf("calling Secret Manager %s on %s: %w", cl.op, cl.resource, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("calling Secret Manager %s on %s: %w", cl.op, cl.resource, err)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("calling Secret Manager %s on %s: %w", cl.op, cl.resource, err)
	}
	switch st.Code() {
	case codes.NotFound:
		key := cl.key
		if key == "" {
			key = cl.resource
		}
		return &provider.NotFoundError{Key: key, Detail: fmt.Sprintf("Secret Manager has no %s: %s", cl.resource, st.Message())}
	case codes.PermissionDenied:
		e := &PermissionDeniedError{Identity: c.creds.describe(), Permission: cl.permission, Resource: cl.resource, Err: err}
		if m := deniedMessage.FindStringSubmatch(st.Message()); m != nil {
			e.Permission, e.Resource = m[1], m[2]
		}
		e.Role = roleFor[e.Permission]
		return e
	case codes.ResourceExhausted, codes.Unavailable:
		return &ThrottledError{Op: cl.op, Resource: cl.resource, Err: err}
	case codes.Unauthenticated:
		return fmt.Errorf("calling Secret Manager %s on %s: %w", cl.op, cl.resource, &CredentialsError{
			Source: c.creds.describe(), Step: "Google rejected the access token (" + st.Message() + ")",
			Hint: "it expired or was revoked; a new token is requested on the next attempt, and if this persists check that the credentials are still valid", Err: err,
		})
	case codes.FailedPrecondition:
		return &hintedError{msg: fmt.Sprintf("calling Secret Manager %s on %s: %s: enable the version, request another one, or set %s.secretVersionSelectionPolicy: LatestOrFetch to fall back to the newest enabled version",
			cl.op, cl.resource, st.Message(), field), err: err}
	case codes.InvalidArgument:
		return &provider.ConfigError{Field: "remoteRef.key", Err: fmt.Errorf("calling Secret Manager %s on %s: %s", cl.op, cl.resource, st.Message())}
	}
	return &hintedError{msg: fmt.Sprintf("calling Secret Manager %s on %s: %s: %s", cl.op, cl.resource, st.Code(), st.Message()), err: err}
}

// hintedError is a gRPC error explained by msg, which already quotes the
// status, while errors.Is and status.FromError still see the cause.
type hintedError struct {
	msg string
	err error
}

func (e *hintedError) Error() string { return e.msg }
func (e *hintedError) Unwrap() error { return e.err }
