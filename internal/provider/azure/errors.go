package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// The operations of a call, for messages and permissions.
const (
	opGet  = "get"
	opList = "list"
)

// call describes one Key Vault request, for error messages.
type call struct {
	op      string     // opGet or opList
	kind    objectKind // what is read
	key     string     // the remote key as the ExternalSecret names it
	name    string     // the object's name
	version string     // the requested version, if any
}

// permission returns the access-policy permission the call needs
// ("secrets/get").
func (cl call) permission() string {
	return map[objectKind]string{kindSecret: "secrets", kindCert: "certificates", kindKey: "keys"}[cl.kind] + "/" + cl.op
}

// role returns the built-in Azure RBAC role that grants the call.
func (cl call) role() string {
	switch cl.kind {
	case kindCert:
		return "Key Vault Certificate User"
	case kindKey:
		return "Key Vault Crypto User"
	default:
		return "Key Vault Secrets User"
	}
}

// what says what the call read, for messages.
func (cl call) what(vault string) string {
	if cl.op == opList {
		return fmt.Sprintf("listing the %ss of Key Vault %s", cl.kind.noun(), vault)
	}
	w := fmt.Sprintf("reading %s %q", cl.kind.noun(), cl.name)
	if cl.version != "" {
		w += fmt.Sprintf(" (version %q)", cl.version)
	}
	return w + " from Key Vault " + vault
}

// AccessDeniedError means Key Vault refused a read to the store's identity.
// It names the vault, the object, the caller, and the access-policy
// permission or RBAC role that would allow it.
type AccessDeniedError struct {
	// Vault is the vault's name.
	Vault string
	// Key is the remote key; empty for list calls.
	Key string
	// Permission is the access-policy permission needed, e.g. "secrets/get".
	Permission string
	// Role is the built-in RBAC role that grants it, e.g. "Key Vault
	// Secrets User".
	Role string
	// RBAC is set when the vault uses Azure RBAC (Key Vault said
	// ForbiddenByRbac).
	RBAC bool
	// Caller is the identity as Key Vault named it (appid=…;oid=…), or as
	// the store configures it.
	Caller string
	// Err is the SDK's error.
	Err error

	what string
}

// Error implements error.
func (e *AccessDeniedError) Error() string {
	msg := fmt.Sprintf("access denied %s: %s may not %s", e.what, e.Caller, e.Permission)
	if e.RBAC {
		return msg + fmt.Sprintf("; the vault uses Azure RBAC: assign the role %q to the identity on the vault (or the object)", e.Role)
	}
	return msg + fmt.Sprintf("; add %s to the identity's access policy on the vault, or, with Azure RBAC, assign it the role %q", e.Permission, e.Role)
}

// Unwrap returns the SDK's error.
func (e *AccessDeniedError) Unwrap() error { return e.Err }

// ThrottledError means Key Vault or Entra ID kept throttling a call after
// the SDK's retries, which honour Retry-After.
type ThrottledError struct {
	// Vault is the vault's name.
	Vault string
	// What says what was attempted.
	What string
	// Err is the SDK's error.
	Err error
}

// Error implements error.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("Key Vault %s throttled %s after the SDK's retries (%s): the sync is retried with backoff; if it persists, lower the refresh rate of the ExternalSecrets that use this vault, or spread them over several vaults", e.Vault, e.What, responseCause(e.Err))
}

// Unwrap returns the SDK's error.
func (e *ThrottledError) Unwrap() error { return e.Err }

// CredentialsError means Entra ID (or Key Vault) rejected the store's
// credential: a wrong or expired client secret, an unknown application or
// tenant, a certificate or federated credential that is not registered.
type CredentialsError struct {
	// Source says who the store signs in as and with what.
	Source string
	// Code is the AADSTS code, if Entra ID sent one (e.g. "AADSTS7000215").
	Code string
	// Cause is Entra ID's or Key Vault's explanation.
	Cause string
	// Hint says what to do.
	Hint string
	// Err is the SDK's error.
	Err error
}

// Error implements error.
func (e *CredentialsError) Error() string {
	msg := fmt.Sprintf("signing in as %s failed: %s", e.Source, e.Cause)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap returns the SDK's error.
func (e *CredentialsError) Unwrap() error { return e.Err }

// kvErrorBody is Key Vault's error body.
type kvErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *struct {
			Code string `json:"code"`
		} `json:"innererror"`
	} `json:"error"`
}

// aadErrorBody is Entra ID's (and IMDS's) OAuth error body.
type aadErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// body returns the body of the response an SDK error carries, with the
// SDK's own reader (which keeps the body readable for the SDK's message).
func body(resp *http.Response) []byte {
	if resp == nil || resp.Body == nil {
		return nil
	}
	b, _ := runtime.Payload(resp)
	return b
}

// keyVaultError returns the code, inner code and message of a Key Vault
// error response.
func keyVaultError(re *azcore.ResponseError) (code, inner, message string) {
	var b kvErrorBody
	_ = json.Unmarshal(body(re.RawResponse), &b)
	code, message = b.Error.Code, b.Error.Message
	if code == "" {
		code = re.ErrorCode
	}
	if b.Error.InnerError != nil {
		inner = b.Error.InnerError.Code
	}
	return code, inner, strings.TrimSpace(message)
}

// responseCause says what Key Vault answered: status, code and the first
// line of its message.
func responseCause(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err.Error()
	}
	code, _, message := keyVaultError(re)
	s := fmt.Sprintf("HTTP %d %s", re.StatusCode, code)
	if line, _, _ := strings.Cut(message, "\n"); line != "" {
		s += ": " + strings.TrimSpace(line)
	}
	return s
}

// callerPattern finds the caller in Key Vault's 403 messages.
var callerPattern = regexp.MustCompile(`(appid=[^;'\s]+;oid=[^;'\s]+)`)

// tenantMismatch matches azidentity's refusal to ask a tenant other than
// its own for a token, which happens when Key Vault's challenge names the
// vault's tenant and the store configures another.
var tenantMismatch = regexp.MustCompile(`isn't configured to acquire tokens for tenant "([^"]+)"`)

// aadstsPattern finds the first AADSTS code and its sentence.
var aadstsPattern = regexp.MustCompile(`(AADSTS\d+):\s*([^\r\n]*)`)

// wrapError turns the error of a Key Vault call into the error the engine
// reports: *provider.NotFoundError, *AccessDeniedError, *ThrottledError,
// *CredentialsError, or the cause with the call named. Errors carry no
// secret value and no credential: they are built from status codes and
// the error bodies of Key Vault and Entra ID, never from a request.
func (c *Client) wrapError(err error, cl call) error {
	if err == nil {
		return nil
	}
	what := cl.what(c.vault)
	var (
		re       *azcore.ResponseError
		authErr  *azidentity.AuthenticationFailedError
		assertEr *assertionError
	)
	switch {
	case errors.As(err, &assertEr):
		return fmt.Errorf("%s: %w", what, &CredentialsError{Source: c.cred.source, Cause: assertEr.Error(), Err: err})
	case errors.As(err, &authErr):
		return fmt.Errorf("%s: %w", what, c.credentialsError(authErr))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, err)
	case tenantMismatch.MatchString(err.Error()):
		m := tenantMismatch.FindStringSubmatch(err.Error())
		return fmt.Errorf("%s: %w", what, &CredentialsError{Source: c.cred.source, Cause: fmt.Sprintf("Key Vault %s belongs to tenant %q (its challenge says so)", c.vault, m[1]),
			Hint: "set tenantId (or authSecretRef.tenantId, or the ServiceAccount's " + tenantAnnotation + " annotation) to the vault's tenant", Err: err})
	case !errors.As(err, &re):
		var unavailable interface{ NonRetriable() }
		if errors.As(err, &unavailable) && c.cred.kind == esv1.AzureManagedIdentity {
			return fmt.Errorf("%s: no token from %s: %w; the node must have a managed identity (and identityId, when it has several)", what, c.cred.source, err)
		}
		return fmt.Errorf("%s failed before Key Vault answered: %w", what, err)
	}
	code, inner, message := keyVaultError(re)
	switch re.StatusCode {
	case http.StatusNotFound:
		detail := fmt.Sprintf("Key Vault %s has no %s %q", c.vault, cl.kind.noun(), cl.name)
		if cl.version != "" {
			detail += fmt.Sprintf(" with version %q", cl.version)
		}
		detail += ": " + code
		if code == "VaultNotFound" {
			detail = fmt.Sprintf("there is no Key Vault at %s: check %s.vaultUrl", c.vaultURL, field)
		}
		return &provider.NotFoundError{Key: cl.key, Detail: detail}
	case http.StatusForbidden:
		if strings.HasSuffix(inner, "Disabled") {
			return fmt.Errorf("%s: the %s is disabled in Key Vault (%s): enable it, or read another version", what, cl.kind.noun(), inner)
		}
		e := &AccessDeniedError{Vault: c.vault, Key: cl.key, Permission: cl.permission(), Role: cl.role(),
			RBAC: inner == "ForbiddenByRbac" || strings.Contains(message, "role assignments"), Caller: c.cred.identity, Err: err, what: what}
		if m := callerPattern.FindString(message); m != "" {
			e.Caller = c.cred.identity + " (" + m + ")"
		}
		return e
	case http.StatusTooManyRequests:
		return &ThrottledError{Vault: c.vault, What: what, Err: err}
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: %w", what, &CredentialsError{Source: c.cred.source, Cause: fmt.Sprintf("Key Vault rejected the token (%s)", responseCause(err)),
			Hint: "the token was issued for another tenant or cloud than the vault's (check tenantId and environmentType), or was revoked (it is replaced when it expires)", Err: err})
	}
	return &requestError{what: what, cause: responseCause(err), err: err}
}

// requestError is a Key Vault answer the provider has no better word for
// (a 5xx, an unexpected 4xx). Its message is built from the status and
// Key Vault's error code and message; the SDK's error, which also quotes
// the request, stays reachable with errors.As.
type requestError struct {
	what, cause string
	err         error
}

// Error implements error.
func (e *requestError) Error() string { return e.what + ": " + e.cause }

// Unwrap returns the SDK's error.
func (e *requestError) Unwrap() error { return e.err }

// credentialsError explains an Entra ID (or IMDS) refusal.
func (c *Client) credentialsError(authErr *azidentity.AuthenticationFailedError) error {
	e := &CredentialsError{Source: c.cred.source, Err: authErr}
	var b aadErrorBody
	_ = json.Unmarshal(body(authErr.RawResponse), &b)
	if m := aadstsPattern.FindStringSubmatch(b.Description); m != nil {
		e.Code, e.Cause = m[1], m[1]+": "+strings.TrimSpace(m[2])
	} else if b.Error != "" {
		e.Cause = b.Error
		if b.Description != "" {
			line, _, _ := strings.Cut(b.Description, "\n")
			e.Cause += ": " + strings.TrimSpace(line)
		}
	} else if authErr.RawResponse != nil {
		e.Cause = fmt.Sprintf("HTTP %d from %s", authErr.RawResponse.StatusCode, authErr.RawResponse.Request.URL.Host)
	} else {
		e.Cause = "no answer from Entra ID"
	}
	if authErr.RawResponse != nil && authErr.RawResponse.StatusCode == http.StatusTooManyRequests {
		return &ThrottledError{Vault: c.vault, What: "a token request to Entra ID", Err: authErr}
	}
	switch e.Code {
	case "AADSTS7000215":
		e.Hint = "the client secret is wrong: put the secret's value (not its ID) in the clientSecret Secret"
	case "AADSTS7000222":
		e.Hint = "the client secret has expired: create a new one for the application and update the clientSecret Secret"
	case "AADSTS700016":
		e.Hint = "no application with this client ID in the tenant: check clientId, tenantId and environmentType"
	case "AADSTS90002":
		e.Hint = "the tenant does not exist in this cloud: check tenantId and environmentType"
	case "AADSTS700027", "AADSTS700023":
		e.Hint = "upload the certificate (its public part) to the application's certificates and check it has not expired"
	case "AADSTS70021":
		e.Hint = "create a federated identity credential on the application or managed identity with the cluster's ServiceAccount issuer, subject system:serviceaccount:<namespace>:<name> and audience " + tokenExchangeAudience
	case "AADSTS700024":
		e.Hint = "the ServiceAccount token had expired when Entra ID checked it: check the clock of the controller's host"
	case "":
		if c.cred.kind == esv1.AzureManagedIdentity {
			e.Hint = "the managed identity is not assigned to the node (its VM or scale set): assign it, or fix identityId"
		}
	}
	return e
}
