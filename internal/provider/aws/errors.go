package aws

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/secretbridge/secretbridge/internal/provider"
)

// The AWS error codes this provider interprets. AWS JSON services and STS
// (Query) spell some of them differently.
var (
	notFoundCodes     = []string{"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound", "InvalidResourceId"}
	accessDeniedCodes = []string{"AccessDeniedException", "AccessDenied"}
	throttlingCodes   = []string{"ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded", "TooManyUpdates", "ProvisionedThroughputExceededException"}
	credentialCodes   = []string{
		"ExpiredTokenException", "ExpiredToken",
		"UnrecognizedClientException", "InvalidClientTokenId",
		"InvalidSignatureException", "SignatureDoesNotMatch",
		"MissingAuthenticationTokenException", "MissingAuthenticationToken",
		"IncompleteSignatureException", "IncompleteSignature",
	}
)

// errNoCredentials is the cause when the default chain yields no provider.
var errNoCredentials = errors.New("no credentials found")

// apiError returns the AWS error code and message err carries, if any.
func apiError(err error) (code, message string, ok bool) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", "", false
	}
	return ae.ErrorCode(), ae.ErrorMessage(), true
}

// cause returns err as AWS put it ("Code: message") when it is an AWS
// error, else err's text.
func cause(err error) string {
	if code, msg, ok := apiError(err); ok {
		if msg == "" || msg == code {
			return code
		}
		return code + ": " + msg
	}
	return err.Error()
}

// deniedMessage parses AWS's access-denied message: "User: <principal> is
// not authorized to perform: <action> [on resource: <resource>] [because …]".
var deniedMessage = regexp.MustCompile(`User: (\S+) is not authorized to perform: (\S+)(?: on resource: (\S+))?(?: (because .*))?`)

// AccessDeniedError means AWS refused an action to the store's identity. It
// names the principal (from AWS's message), the action, the secret and the
// policy statement that would allow it.
type AccessDeniedError struct {
	// Service is the AWS service, e.g. "Secrets Manager".
	Service string
	// Action is the IAM action refused, e.g. "secretsmanager:GetSecretValue".
	Action string
	// Key is the remote key as the ExternalSecret names it; empty for list
	// calls.
	Key string
	// Resource is the ARN (or ID) AWS checked; "*" for list calls.
	Resource string
	// Principal is the ARN AWS says made the call; empty if AWS did not say.
	Principal string
	// Region is the store's region.
	Region string
	// Reason is AWS's explanation ("because no identity-based policy
	// allows …"), if any.
	Reason string
	// Err is the SDK's error.
	Err error

	noun string // "secret" or "parameter"
}

// Error implements error.
func (e *AccessDeniedError) Error() string {
	who := e.Principal
	if who == "" {
		who = "the store's AWS identity"
	}
	on := "every resource"
	switch {
	case e.Key != "":
		noun := e.noun
		if noun == "" {
			noun = "secret"
		}
		on = fmt.Sprintf("%s %q", noun, e.Key)
		if e.Resource != "" && e.Resource != e.Key {
			on += " (" + e.Resource + ")"
		}
	case e.Resource != "" && e.Resource != "*":
		on = e.Resource
	}
	msg := fmt.Sprintf("access denied: %s may not call %s on %s in %s", who, e.Action, on, e.Region)
	if e.Reason != "" {
		msg += " " + e.Reason
	}
	resource := e.Resource
	if !strings.HasPrefix(resource, "arn:") {
		resource = "*"
	}
	return msg + fmt.Sprintf(`; allow it with an IAM policy statement {"Effect":"Allow","Action":%q,"Resource":%q} for %s`, e.Action, resource, who)
}

// Unwrap returns the SDK's error.
func (e *AccessDeniedError) Unwrap() error { return e.Err }

// ThrottledError means AWS kept throttling a call after the SDK's retries.
type ThrottledError struct {
	// Service is the AWS service.
	Service string
	// Action is the IAM action of the call.
	Action string
	// Key is the remote key, if the call reads one.
	Key string
	// Region is the store's region.
	Region string
	// Attempts is how many times the SDK tried.
	Attempts int
	// Err is the SDK's error.
	Err error
}

// Error implements error.
func (e *ThrottledError) Error() string {
	what := e.Action
	if e.Key != "" {
		what += fmt.Sprintf(" of %q", e.Key)
	}
	attempts := ""
	if e.Attempts > 0 {
		attempts = fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return fmt.Sprintf("%s in %s throttled %s%s (%s): the sync is retried with backoff; if it persists, lower the refresh rate of the ExternalSecrets that use this store or raise the service quota",
		e.Service, e.Region, what, attempts, cause(e.Err))
}

// Unwrap returns the SDK's error.
func (e *ThrottledError) Unwrap() error { return e.Err }

// CredentialsError means AWS rejected the credentials a request was signed
// with: expired, unknown, or not matching their secret key.
type CredentialsError struct {
	// Code is AWS's error code.
	Code string
	// Source says where the credentials came from.
	Source string
	// Hint says what to do.
	Hint string
	// Err is the SDK's error.
	Err error
}

// Error implements error.
func (e *CredentialsError) Error() string {
	return fmt.Sprintf("AWS rejected the credentials of %s (%s); %s", e.Source, cause(e.Err), e.Hint)
}

// Unwrap returns the SDK's error.
func (e *CredentialsError) Unwrap() error { return e.Err }

// newCredentialsError explains a credential code for credentials from
// source; staticToken says they are a session token the user supplied.
func newCredentialsError(code, message, source, region string, staticToken bool, err error) *CredentialsError {
	e := &CredentialsError{Code: code, Source: source, Err: err}
	switch code {
	case "ExpiredTokenException", "ExpiredToken":
		if staticToken {
			e.Hint = "the session token is temporary and has expired: put fresh credentials in the Secrets, or use long-term access keys or auth.jwt, whose credentials are refreshed automatically"
		} else {
			e.Hint = "temporary credentials are refreshed before they expire, so check the clock of the controller's host"
		}
	case "UnrecognizedClientException", "InvalidClientTokenId":
		e.Hint = "AWS does not know this access key ID: it was deleted or deactivated, belongs to another partition, or the session token does not belong to it"
	case "InvalidSignatureException", "SignatureDoesNotMatch":
		if strings.Contains(message, "region") {
			e.Hint = fmt.Sprintf("the request was signed for region %s, which this endpoint does not serve: check %s.region", region, field)
		} else {
			e.Hint = "the secret access key does not match the access key ID: check the secretAccessKeySecretRef Secret"
		}
	default:
		e.Hint = "the request was not signed as AWS expects"
	}
	return e
}

// RoleError means AWS credentials could not be obtained for a role, with
// sts:AssumeRole or sts:AssumeRoleWithWebIdentity.
type RoleError struct {
	// Role is the role's ARN.
	Role string
	// Field says where the role is configured.
	Field string
	// Action is sts:AssumeRole or sts:AssumeRoleWithWebIdentity.
	Action string
	// Caller says who tried to assume it.
	Caller string
	// Err is the cause.
	Err error

	sa         *serviceAccount // set for AssumeRoleWithWebIdentity
	tokenStep  bool            // the ServiceAccount token could not be requested
	audiences  []string
	externalID bool
	tagged     bool
}

// Error implements error.
func (e *RoleError) Error() string {
	msg := fmt.Sprintf("cannot assume role %s (%s) with %s as %s: %s", e.Role, e.Field, e.Action, e.Caller, cause(e.Err))
	if h := e.hint(); h != "" {
		msg += "; " + h
	}
	return msg
}

// Unwrap returns the cause.
func (e *RoleError) Unwrap() error { return e.Err }

// hint says what to check for e's cause.
func (e *RoleError) hint() string {
	code, message, _ := apiError(e.Err)
	switch {
	case e.tokenStep:
		return fmt.Sprintf("the controller needs permission to create serviceaccounts/token for ServiceAccount %s", e.sa)
	case slices.Contains(accessDeniedCodes, code) && e.sa != nil:
		return fmt.Sprintf("the role's trust policy must allow sts:AssumeRoleWithWebIdentity for the cluster's OIDC provider, with conditions <issuer>:sub = system:serviceaccount:%s:%s and <issuer>:aud = %s",
			e.sa.Namespace, e.sa.Name, strings.Join(e.audiences, ", "))
	case slices.Contains(accessDeniedCodes, code):
		h := "the role's trust policy must allow sts:AssumeRole"
		if e.tagged {
			h += " and sts:TagSession"
		}
		h += " for the caller"
		if m := deniedMessage.FindStringSubmatch(message); m != nil {
			h += " " + m[1]
		}
		if e.externalID {
			h += ", with an sts:ExternalId condition equal to " + field + ".externalID"
		}
		return h + ", and the caller's own policy must allow sts:AssumeRole on the role"
	case code == "InvalidIdentityToken":
		return fmt.Sprintf("STS rejected the ServiceAccount token: register the cluster's ServiceAccount issuer as an IAM OIDC identity provider with audience %s, and check the role trusts it", strings.Join(e.audiences, ", "))
	case (code == "ExpiredTokenException" || code == "ExpiredToken") && e.sa != nil:
		return "the ServiceAccount token had expired when STS checked it: check the clock of the controller's host"
	case slices.Contains(credentialCodes, code):
		return newCredentialsError(code, message, e.Caller, "", strings.Contains(e.Caller, "session token"), e.Err).Hint
	case code == "RegionDisabledException":
		return "STS is not activated in this region for the account: activate it in IAM's account settings"
	}
	return ""
}

// SourceError means a credentials source yielded no credentials.
type SourceError struct {
	// Source names the source.
	Source string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *SourceError) Error() string {
	return fmt.Sprintf("no AWS credentials from %s: %v; give the controller an AWS identity, or set %s.auth.secretRef or %s.auth.jwt", e.Source, e.Err, field, field)
}

// Unwrap returns the cause.
func (e *SourceError) Unwrap() error { return e.Err }

// call describes one AWS request, for error messages.
type call struct {
	// service overrides the client's service name (e.g. "STS").
	service string
	// action is the IAM action, e.g. "secretsmanager:GetSecretValue".
	action string
	// key is the remote key as the ExternalSecret names it; empty for
	// list calls.
	key string
	// id is what was sent: a secret ID, a parameter name, a path.
	id string
	// version is the requested version, if any.
	version string
}

// what says what the call did, for messages.
func (cl call) what(service string) string {
	if cl.key == "" && (cl.id == "" || cl.id == "*") {
		return fmt.Sprintf("%s %s", service, cl.action)
	}
	if cl.key == "" {
		return fmt.Sprintf("%s %s of %q", service, cl.action, cl.id)
	}
	w := fmt.Sprintf("%s %s of %q", service, cl.action, cl.key)
	if cl.version != "" {
		w += fmt.Sprintf(" (version %q)", cl.version)
	}
	return w
}

// wrapError turns the error of an AWS call into the error the engine
// reports: *provider.NotFoundError, *AccessDeniedError, *ThrottledError,
// *CredentialsError, or the SDK's error with the call named. Errors carry
// no secret value and no credential.
func (c *Client) wrapError(err error, cl call) error {
	if err == nil {
		return nil
	}
	service := c.service
	if cl.service != "" {
		service = cl.service
	}
	var roleErr *RoleError
	var srcErr *SourceError
	switch {
	case errors.As(err, &roleErr):
		return fmt.Errorf("%s: getting AWS credentials: %w", cl.what(service), roleErr)
	case errors.As(err, &srcErr):
		return fmt.Errorf("%s: %w", cl.what(service), srcErr)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s in %s: %w", cl.what(service), c.region, err)
	}
	code, message, ok := apiError(err)
	if !ok {
		return fmt.Errorf("%s in %s failed before AWS answered: %w", cl.what(service), c.region, err)
	}
	switch {
	case slices.Contains(notFoundCodes, code), code == "InvalidRequestException" && strings.Contains(message, "marked for deletion"):
		detail := fmt.Sprintf("%s in region %s has no %s %q", c.service, c.region, c.noun, cl.id)
		if cl.version != "" {
			detail += fmt.Sprintf(" with version %q", cl.version)
		}
		if message != "" {
			detail += ": " + code + ": " + message
		} else {
			detail += ": " + code
		}
		key := cl.key
		if key == "" {
			key = cl.id
		}
		return &provider.NotFoundError{Key: key, Detail: detail}
	case slices.Contains(accessDeniedCodes, code):
		e := &AccessDeniedError{Service: service, Action: cl.action, Key: cl.key, Resource: cl.id, Region: c.region, Err: err, noun: c.noun}
		if cl.key == "" {
			e.Resource = "*"
		}
		if m := deniedMessage.FindStringSubmatch(message); m != nil {
			e.Principal, e.Action, e.Resource, e.Reason = m[1], m[2], m[3], m[4]
		} else if message != "" {
			e.Reason = "(" + message + ")"
		}
		return e
	case slices.Contains(throttlingCodes, code):
		e := &ThrottledError{Service: service, Action: cl.action, Key: cl.key, Region: c.region, Err: err}
		var maxErr *retry.MaxAttemptsError
		if errors.As(err, &maxErr) {
			e.Attempts = maxErr.Attempt
		}
		return e
	case slices.Contains(credentialCodes, code):
		return fmt.Errorf("%s: %w", cl.what(service), newCredentialsError(code, message, c.sess.describe(), c.region, c.sess.staticToken && len(c.sess.roles) == 0, err))
	}
	return fmt.Errorf("%s in %s: %w", cl.what(service), c.region, err)
}
