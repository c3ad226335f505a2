package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// The token lifecycle: a client logs in once (NewClient) and keeps its
// token. A background loop renews it (renew-self) when two thirds of its
// TTL have passed, and logs in again when the token is not renewable, when
// renewal fails, or when renewal no longer restores at least half of the
// login TTL (the token's max TTL is near). Reads make sure the token is not
// expired before they use it, and a read that Vault refuses because the
// token was replaced or revoked is retried once with a fresh token. Close
// revokes the token if the client created it.
const (
	// renewTimeout bounds one background renewal or login.
	renewTimeout = 30 * time.Second
	// expiryMargin is how long before its expiry a token counts as expired.
	expiryMargin = 2 * time.Second
	// minRetryWait and maxRetryWait bound the wait between failed
	// background logins.
	minRetryWait = time.Second
	maxRetryWait = time.Minute
	// idleRecheck is how often the renewal loop looks at a token that
	// does not expire.
	idleRecheck = time.Minute
)

// tokenState is the client's token and what is known about its lifetime.
type tokenState struct {
	token     string
	created   bool // by our login (so ours to revoke), not from tokenSecretRef
	renewable bool
	nearMax   bool          // renewal no longer restores the TTL: log in next time
	loginTTL  time.Duration // the TTL granted at login
	ttl       time.Duration // the TTL granted at the last login or renewal
	refreshed time.Time     // when the token was issued or last renewed
	expires   time.Time     // zero: the token does not expire (or it is not known)
	retryAt   time.Time     // set after a failed refresh: when to try again
	failures  int           // consecutive failed refreshes
	gen       uint64        // incremented whenever the token changes

	// api calls the token's own endpoints (lookup, renew, revoke) in the
	// auth namespace, where the token was created. It is made for this
	// token and never changed, so concurrent callers need no lock.
	api *vaultapi.Client
}

// expired reports whether the token is expired (or about to be) at now:
// within expiryMargin, or a fifth of its TTL if that is shorter, of its
// expiry.
func (t tokenState) expired(now time.Time) bool {
	margin := min(expiryMargin, t.ttl/5)
	return !t.expires.IsZero() && !now.Before(t.expires.Add(-margin))
}

// refreshAt is when the background loop should renew the token or log in
// again; zero when the token never needs it.
func (t tokenState) refreshAt() time.Time {
	if !t.retryAt.IsZero() {
		return t.retryAt
	}
	if !t.created || t.expires.IsZero() {
		return time.Time{}
	}
	return t.refreshed.Add(t.ttl * 2 / 3)
}

// errClosed is returned by calls on a closed client.
var errClosed = errors.New("the Vault client was closed")

// Locking: tokenMu guards tok and is held only to read or swap it, never
// across a call to Vault, so reads do not wait for a renewal. loginMu
// serialises logins and renewals (and guards the auth methods' state);
// it is taken before tokenMu, never after.

// closed reports whether Close has been called.
func (c *Client) closed() bool {
	select {
	case <-c.stopRenw:
		return true
	default:
		return false
	}
}

// current returns a copy of the token state.
func (c *Client) current() tokenState {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	return c.tok
}

// start obtains the client's first token: from tokenSecretRef, or by
// logging in (and then starts the renewal loop).
func (c *Client) start(ctx context.Context) error {
	if st, ok := c.auth.(staticToken); ok {
		tok, err := st.token(ctx, c)
		if err != nil {
			return err
		}
		api, err := c.newTokenAPI(tok)
		if err != nil {
			return err
		}
		c.tokenMu.Lock()
		c.tok = tokenState{token: tok, gen: 1, api: api}
		c.data.SetToken(tok)
		c.tokenMu.Unlock()
		return nil
	}
	c.loginMu.Lock()
	err := c.loginLocked(ctx)
	c.loginMu.Unlock()
	if err != nil {
		return err
	}
	c.renwDone = make(chan struct{})
	go c.renewLoop()
	return nil
}

// loginLocked logs in and installs the new token; the caller holds
// loginMu. A previous token of ours that has not expired is revoked: reads
// that were still using it are retried with the new one.
func (c *Client) loginLocked(ctx context.Context) error {
	if c.closed() {
		return errClosed
	}
	c.pending = nil
	auth, err := c.auth.login(ctx, c)
	if err != nil {
		return err
	}
	c.interpMu.Lock()
	c.interp = c.pending
	c.interpMu.Unlock()
	api, err := c.newTokenAPI(auth.ClientToken)
	if err != nil {
		return err
	}
	now := time.Now()
	ttl := time.Duration(auth.LeaseDuration) * time.Second
	c.tokenMu.Lock()
	old := c.tok
	c.tok = tokenState{
		token:     auth.ClientToken,
		created:   true,
		renewable: auth.Renewable,
		loginTTL:  ttl,
		ttl:       ttl,
		refreshed: now,
		gen:       old.gen + 1,
		api:       api,
	}
	if ttl > 0 {
		c.tok.expires = now.Add(ttl)
	}
	c.data.SetToken(auth.ClientToken)
	c.tokenMu.Unlock()
	if old.created && old.api != nil && !old.expired(now) {
		_ = c.revoke(ctx, old)
	}
	return nil
}

// ensureToken returns the current token and its generation, logging in
// first when a token of ours has expired.
func (c *Client) ensureToken(ctx context.Context) (string, uint64, error) {
	if c.closed() {
		return "", 0, errClosed
	}
	t := c.current()
	if _, static := c.auth.(staticToken); static || (t.token != "" && !t.expired(time.Now())) {
		return t.token, t.gen, nil
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if t = c.current(); t.token != "" && !t.expired(time.Now()) {
		return t.token, t.gen, nil // another caller logged in meanwhile
	}
	if err := c.loginLocked(ctx); err != nil {
		return "", 0, err
	}
	t = c.current()
	return t.token, t.gen, nil
}

// relogin logs in again unless the token changed since generation gen
// (another caller already replaced it). A static token is reported, not
// replaced.
func (c *Client) relogin(ctx context.Context, gen uint64) error {
	if _, static := c.auth.(staticToken); static {
		return errStaticTokenRejected
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.current().gen != gen {
		return nil
	}
	return c.loginLocked(ctx)
}

// tokenGen returns the generation of the current token.
func (c *Client) tokenGen() uint64 {
	return c.current().gen
}

// renewLoop renews the token, or logs in again, before it expires, until
// the client is closed.
func (c *Client) renewLoop() {
	defer close(c.renwDone)
	for {
		at := c.current().refreshAt()
		idle := at.IsZero() // a token without expiry: look again later, as a read may log in anew
		if idle {
			at = time.Now().Add(idleRecheck)
		}
		timer := time.NewTimer(time.Until(at))
		select {
		case <-c.stopRenw:
			timer.Stop()
			return
		case <-timer.C:
		}
		if idle {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), renewTimeout)
		c.refresh(ctx)
		cancel()
	}
}

// refresh renews the token, or logs in again when it cannot be renewed.
// After a failure it schedules another attempt.
func (c *Client) refresh(ctx context.Context) {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.closed() {
		return
	}
	t := c.current()
	now := time.Now()
	if t.renewable && !t.nearMax && !t.expired(now) {
		if auth, err := c.renewSelf(ctx, t); err == nil {
			ttl := time.Duration(auth.LeaseDuration) * time.Second
			c.tokenMu.Lock()
			if c.tok.gen == t.gen {
				c.tok.renewable = auth.Renewable
				c.tok.ttl = ttl
				c.tok.refreshed = now
				c.tok.expires = now.Add(ttl)
				c.tok.nearMax = ttl < t.loginTTL/2
				c.tok.retryAt, c.tok.failures = time.Time{}, 0
			}
			c.tokenMu.Unlock()
			return
		}
	}
	if err := c.loginLocked(ctx); err != nil {
		// Keep the current token (it may still be valid) and try again:
		// before it expires if it has not, else with a growing wait.
		c.tokenMu.Lock()
		c.tok.failures++
		wait := min(minRetryWait<<min(c.tok.failures, 6), maxRetryWait)
		if !t.expires.IsZero() && t.expires.After(now) {
			wait = min(wait, max(time.Until(t.expires)/3, minRetryWait))
		}
		c.tok.retryAt = now.Add(wait)
		c.tokenMu.Unlock()
	}
}

// renewSelf renews t's token by its login TTL.
func (c *Client) renewSelf(ctx context.Context, t tokenState) (*vaultapi.SecretAuth, error) {
	sec, err := t.api.Auth().Token().RenewSelfWithContext(ctx, int(t.loginTTL/time.Second))
	if err != nil {
		return nil, c.callError("PUT", "auth/token/renew-self", err)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.LeaseDuration <= 0 {
		return nil, errors.New("renew-self answered without a lease")
	}
	return sec.Auth, nil
}

// revoke revokes t's token (one of ours) with revoke-self.
func (c *Client) revoke(ctx context.Context, t tokenState) error {
	if err := t.api.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
		return fmt.Errorf("revoking the client's Vault token: %w", c.callError("PUT", "auth/token/revoke-self", err))
	}
	return nil
}

// tokenInfo is what lookup-self says about the token, without the token.
type tokenInfo struct {
	Role           string
	User           string // the user name of userpass logins
	DisplayName    string
	Policies       []string
	TTL            time.Duration // the TTL the token was created with
	ServiceAccount string        // namespace/name for Kubernetes logins
}

// String describes the token as Validate reports it, for example
// "role external-secrets-role, policies [default read-prod], ttl 1h".
func (i tokenInfo) String() string {
	var parts []string
	switch {
	case i.Role != "":
		parts = append(parts, "role "+i.Role)
	case i.User != "":
		parts = append(parts, "user "+i.User)
	case i.DisplayName != "":
		parts = append(parts, "token "+i.DisplayName)
	}
	parts = append(parts, fmt.Sprintf("policies [%s]", strings.Join(i.Policies, " ")))
	if i.TTL > 0 {
		parts = append(parts, "ttl "+shortDuration(i.TTL))
	} else {
		parts = append(parts, "no expiry")
	}
	if i.ServiceAccount != "" {
		parts = append(parts, "ServiceAccount "+i.ServiceAccount)
	}
	return strings.Join(parts, ", ")
}

// shortDuration formats d without zero units: 1h, 10m, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// lookupSelf describes the current token. With retry, a token Vault
// rejects is replaced by a new login (when it is ours) and looked up again.
func (c *Client) lookupSelf(ctx context.Context, retry bool) (tokenInfo, error) {
	for attempt := 0; ; attempt++ {
		_, gen, err := c.ensureToken(ctx)
		if err != nil {
			return tokenInfo{}, err
		}
		t := c.current()
		if t.gen != gen && attempt < 3 {
			continue // replaced meanwhile
		}
		if t.api == nil {
			return tokenInfo{}, errClosed
		}
		sec, err := t.api.Auth().Token().LookupSelfWithContext(ctx)
		if statusOf(err) == 403 {
			if _, static := c.auth.(staticToken); static {
				return tokenInfo{}, c.staticTokenRejected()
			}
			if retry && attempt == 0 {
				if err := c.relogin(ctx, t.gen); err != nil {
					return tokenInfo{}, err
				}
				continue
			}
		}
		if err != nil {
			return tokenInfo{}, c.callError("GET", "auth/token/lookup-self", err)
		}
		if sec == nil || sec.Data == nil {
			return tokenInfo{}, errors.New("auth/token/lookup-self answered without data")
		}
		return parseTokenInfo(sec.Data), nil
	}
}

// parseTokenInfo reads the fields of a lookup-self answer that describe the
// token. It never reads the token's id.
func parseTokenInfo(d map[string]any) tokenInfo {
	var info tokenInfo
	if ps, ok := d["policies"].([]any); ok {
		for _, p := range ps {
			if s, ok := p.(string); ok {
				info.Policies = append(info.Policies, s)
			}
		}
	}
	slices.Sort(info.Policies)
	info.DisplayName, _ = d["display_name"].(string)
	// The TTL the token was created with, not what remains of it, so that
	// the store's status does not change with every validation.
	for _, k := range []string{"creation_ttl", "ttl"} {
		if n, ok := d[k].(json.Number); ok {
			if s, err := n.Int64(); err == nil && s > 0 {
				info.TTL = time.Duration(s) * time.Second
				break
			}
		}
	}
	if meta, ok := d["meta"].(map[string]any); ok {
		info.Role, _ = meta["role"].(string)
		if info.Role == "" {
			info.Role, _ = meta["role_name"].(string)
		}
		info.User, _ = meta["username"].(string)
		ns, _ := meta["service_account_namespace"].(string)
		name, _ := meta["service_account_name"].(string)
		if ns != "" && name != "" {
			info.ServiceAccount = ns + "/" + name
		}
	}
	return info
}
