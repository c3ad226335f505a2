package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	vaultapi "github.com/hashicorp/vault/api"
)

// NetworkErrorKind says why Vault could not be reached.
type NetworkErrorKind string

// The kinds of network failure.
const (
	// NetworkDNS means the server's host name does not resolve.
	NetworkDNS NetworkErrorKind = "DNS lookup failed"
	// NetworkRefused means nothing listens at the address.
	NetworkRefused NetworkErrorKind = "connection refused"
	// NetworkTimeout means the server did not answer in time.
	NetworkTimeout NetworkErrorKind = "timed out"
	// NetworkTLSUnknownAuthority means the server's certificate is signed by
	// a CA the client does not trust.
	NetworkTLSUnknownAuthority NetworkErrorKind = "TLS certificate signed by an unknown authority"
	// NetworkTLS means another TLS failure (host name mismatch, expired
	// certificate, a plain-HTTP server behind an https:// address…).
	NetworkTLS NetworkErrorKind = "TLS handshake failed"
	// NetworkOther is any other transport failure.
	NetworkOther NetworkErrorKind = "request failed"
)

// NetworkError is a request to Vault that failed before Vault answered. It
// names the address and the kind of failure, with a hint.
type NetworkError struct {
	// Kind is the kind of failure.
	Kind NetworkErrorKind
	// Address is the Vault address (spec.provider.vault.server).
	Address string
	// Op is the request, for example "GET secret/data/prod/app-db".
	Op string
	// Hint says what to check.
	Hint string
	// Err is the transport error.
	Err error
}

// Error implements error.
func (e *NetworkError) Error() string {
	msg := fmt.Sprintf("cannot reach Vault at %s (%s): %s", e.Address, e.Op, e.Kind)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns the transport error.
func (e *NetworkError) Unwrap() error { return e.Err }

// classifyNetwork returns a *NetworkError for a transport failure, or nil
// when err is not one (Vault answered).
func classifyNetwork(addr, op string, err error) *NetworkError {
	var respErr *vaultapi.ResponseError
	if err == nil || errors.As(err, &respErr) {
		return nil
	}
	ne := &NetworkError{Address: addr, Op: op, Err: err, Kind: NetworkOther}
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var opErr *net.OpError
	switch {
	case errors.As(err, &unknownCA):
		ne.Kind = NetworkTLSUnknownAuthority
		ne.Hint = "give the CA that signed Vault's certificate in caBundle or caProvider"
	case errors.As(err, &hostErr):
		ne.Kind = NetworkTLS
		ne.Hint = "the certificate does not name this host; use an address the certificate names"
	case errors.As(err, &invalidCert):
		ne.Kind = NetworkTLS
		ne.Hint = "Vault's certificate is not valid (expired or not yet valid?)"
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		ne.Kind = NetworkTLS
		ne.Hint = "the server does not speak TLS; use an http:// address or enable TLS on its listener"
	case errors.As(err, &dnsErr):
		ne.Kind = NetworkDNS
		ne.Hint = "check the host name in server"
	case errors.Is(err, syscall.ECONNREFUSED):
		ne.Kind = NetworkRefused
		ne.Hint = "is Vault listening on that host and port?"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		ne.Kind = NetworkTimeout
		ne.Hint = "check network policies and firewalls between the controller and Vault"
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		ne.Kind = NetworkTLS
		ne.Hint = "Vault refused the TLS handshake (does it require a client certificate?)"
	}
	return ne
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// vaultError is a non-2xx answer of Vault, on one line. It unwraps to the
// *vaultapi.ResponseError.
type vaultError struct {
	op   string
	addr string
	resp *vaultapi.ResponseError
	msgs string // Vault's messages, cleaned and scrubbed
	hint string // what to do about a message secretbridge recognises
}

// Error implements error.
func (e *vaultError) Error() string {
	msg := fmt.Sprintf("%s: Vault at %s answered HTTP %d: %s", e.op, e.addr, e.resp.StatusCode, e.msgs)
	if e.hint != "" {
		msg += "; " + e.hint
	}
	return msg
}

// knownHints are hints for Vault messages that do not speak for themselves.
var knownHints = []struct{ contains, hint string }{
	{"X-Vault-Inconsistent", "forwardInconsistent needs Vault Enterprise performance standbys that allow forwarding; remove it from the store"},
	{"no handler for route", "no secrets engine or auth method is mounted at that path"},
}

// Unwrap returns the vault/api error.
func (e *vaultError) Unwrap() error { return e.resp }

// statusOf returns the HTTP status of a Vault answer in err, or 0.
func statusOf(err error) int {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// vaultMessages joins Vault's error messages on one line, without
// go-multierror's decoration, with any of the scrub strings removed and a
// raw (non-JSON) body shortened.
func vaultMessages(re *vaultapi.ResponseError, scrub ...string) string {
	var out []string
	for _, m := range re.Errors {
		for _, line := range strings.Split(m, "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
			if line == "" || strings.HasSuffix(line, "error occurred:") || strings.HasSuffix(line, "errors occurred:") {
				continue
			}
			out = append(out, line)
		}
	}
	msg := strings.Join(out, "; ")
	if msg == "" {
		msg = "no error message"
	}
	if re.RawError && len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return scrubbed(msg, scrub...)
}

// scrubbed returns msg with every non-trivial secret replaced.
func scrubbed(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// callError turns the failure of a call into an error that names the
// address and the request: a *NetworkError, or a *vaultError for an answer.
func (c *Client) callError(method, path string, err error, scrub ...string) error {
	op := method + " " + path
	if ne := classifyNetwork(c.server, op, err); ne != nil {
		return ne
	}
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		ve := &vaultError{op: op, addr: c.server, resp: re, msgs: vaultMessages(re, scrub...)}
		for _, k := range knownHints {
			if strings.Contains(ve.msgs, k.contains) {
				ve.hint = k.hint
				break
			}
		}
		return ve
	}
	return fmt.Errorf("%s at Vault %s: %w", op, c.server, err)
}

// LoginError is a failed login. It names the auth method, its mount, the
// role and the identity used (a ServiceAccount, a user name), never the
// credential.
type LoginError struct {
	// Method is the auth method, for example "kubernetes".
	Method string
	// Mount is the auth mount, for example "auth/kubernetes".
	Mount string
	// Role is the Vault role, when the method has one.
	Role string
	// Identity is who logged in, for example "ServiceAccount ns/name".
	Identity string
	// Address is the Vault address.
	Address string
	// Hint says what to check, when there is something specific.
	Hint string
	// Err is the cause: a *NetworkError, or Vault's answer.
	Err error
}

// Error implements error.
func (e *LoginError) Error() string {
	var what []string
	what = append(what, "mount "+e.Mount)
	if e.Role != "" {
		what = append(what, fmt.Sprintf("role %q", e.Role))
	}
	if e.Identity != "" {
		what = append(what, e.Identity)
	}
	msg := fmt.Sprintf("login to Vault with %s auth (%s) failed: %v", e.Method, strings.Join(what, ", "), e.Err)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap returns the cause.
func (e *LoginError) Unwrap() error { return e.Err }

// errStaticTokenRejected means Vault refused the token of tokenSecretRef.
var errStaticTokenRejected = errors.New("the token was rejected by Vault (expired, revoked or wrong)")

// staticTokenRejected explains a tokenSecretRef token that Vault refuses.
func (c *Client) staticTokenRejected() error {
	sel := c.spec.Auth.TokenSecretRef
	return fmt.Errorf("%s.auth.tokenSecretRef (Secret %q, key %q): %w; put a valid token in the Secret", field, sel.Name, sel.Key, errStaticTokenRejected)
}
