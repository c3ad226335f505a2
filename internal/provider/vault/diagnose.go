package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
)

// PermissionDeniedError is a request Vault refused with 403, with what the
// token may do on the exact path (from sys/capabilities-self) and who the
// token is (from auth/token/lookup-self).
type PermissionDeniedError struct {
	// Address is the Vault address.
	Address string
	// Method is the request method: GET or LIST.
	Method string
	// Path is the exact API path, for example secret/data/prod/app-db.
	Path string
	// Need is the capability the request needs: read or list.
	Need string
	// Capabilities are the token's capabilities on Path, when known.
	Capabilities []string
	// Role is the role the token was issued for, when known.
	Role string
	// Policies are the token's policies, when known.
	Policies []string
	// ServiceAccount is the Kubernetes ServiceAccount that logged in, when
	// known.
	ServiceAccount string
	// Detail adds what could not be found out, or a hint about the path.
	Detail string
}

// PolicyLine returns a Vault policy rule that grants the missing
// capability on the exact path.
func (e *PermissionDeniedError) PolicyLine() string {
	return fmt.Sprintf("path %q { capabilities = [%q] }", e.Path, e.Need)
}

// Error implements error.
func (e *PermissionDeniedError) Error() string {
	var who []string
	if e.Role != "" {
		who = append(who, fmt.Sprintf("role %q", e.Role))
	}
	if e.ServiceAccount != "" {
		who = append(who, "ServiceAccount "+e.ServiceAccount)
	}
	if e.Policies != nil {
		who = append(who, fmt.Sprintf("policies [%s]", strings.Join(e.Policies, " ")))
	}
	token := "the token"
	if len(who) > 0 {
		token += " (" + strings.Join(who, ", ") + ")"
	}
	msg := fmt.Sprintf("permission denied: %s %s at Vault %s: ", e.Method, e.Path, e.Address)
	switch {
	case e.Capabilities == nil:
		msg += fmt.Sprintf("%s needs %q there; a policy rule that grants it: %s", token, e.Need, e.PolicyLine())
	case slices.Contains(e.Capabilities, e.Need) || slices.Contains(e.Capabilities, "root"):
		msg += fmt.Sprintf("%s has %v there, which includes %q, yet Vault refused (a Sentinel policy, a control group or another namespace?)", token, e.Capabilities, e.Need)
	default:
		msg += fmt.Sprintf("%s has %v there but needs %q; a policy rule that grants it: %s", token, e.Capabilities, e.Need, e.PolicyLine())
	}
	if e.Detail != "" {
		msg += "; " + e.Detail
	}
	return msg
}

// errTokenRejected means Vault no longer accepts the client's token (it
// refused even sys/capabilities-self, which every valid token may call).
var errTokenRejected = errors.New("the token was rejected by Vault (expired or revoked)")

// diagnose explains a 403 on path: it asks sys/capabilities-self what the
// token may do there and auth/token/lookup-self who the token is. It
// returns errTokenRejected when the token itself is no longer valid.
func (c *Client) diagnose(ctx context.Context, method, path, hint string) error {
	pd := &PermissionDeniedError{Address: c.server, Method: method, Path: path, Need: "read", Detail: hint}
	if method == "LIST" {
		pd.Need = "list"
	}
	caps, err := c.data.Sys().CapabilitiesSelfWithContext(ctx, path)
	switch {
	case statusOf(err) == 403:
		return fmt.Errorf("%s %s: %w", method, path, errTokenRejected)
	case err != nil:
		pd.Detail = joinDetail(pd.Detail, "sys/capabilities-self failed: "+c.callError("POST", "sys/capabilities-self", err).Error())
	default:
		if caps == nil {
			caps = []string{}
		}
		slices.Sort(caps)
		pd.Capabilities = caps
	}
	var sec *vaultapi.Secret
	t := c.current()
	if t.api == nil {
		err = errClosed
	} else {
		sec, err = t.api.Auth().Token().LookupSelfWithContext(ctx)
	}
	if err != nil || sec == nil || sec.Data == nil {
		pd.Detail = joinDetail(pd.Detail, "auth/token/lookup-self failed, so the token's policies are unknown")
		return pd
	}
	info := parseTokenInfo(sec.Data)
	pd.Role, pd.Policies, pd.ServiceAccount = info.Role, info.Policies, info.ServiceAccount
	if pd.Policies == nil {
		pd.Policies = []string{}
	}
	return pd
}

// joinDetail appends b to a with "; ".
func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
