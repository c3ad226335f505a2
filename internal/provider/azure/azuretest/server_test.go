package azuretest

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// client returns an HTTP client that trusts srv and sends every request to
// it, keeping the request's host name (as the provider's azure.vault
// override does).
func client(srv *Server) *http.Client {
	target, _ := url.Parse(srv.URL)
	base := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}}
	return &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		out := r.Clone(r.Context())
		out.Host = r.URL.Host
		out.URL.Scheme, out.URL.Host = target.Scheme, target.Host
		return base.RoundTrip(out)
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// do sends a request and returns the status, a header and the decoded body.
func do(t *testing.T, c *http.Client, method, u string, header http.Header, form url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

func TestServerWireProtocol(t *testing.T) {
	t.Parallel()
	srv := New(t, Options{})
	srv.AddVault("kv", false)
	srv.SetSecret("kv", "db", "value", ObjectOptions{})
	id := srv.AddApplication("s3cret")
	srv.Grant("kv", id, SecretsGet)
	mi := srv.AddManagedIdentity()
	c := client(srv)
	vault := VaultURL("kv")
	tokenURL := srv.URL + "/" + srv.TenantID + "/oauth2/v2.0/token"
	token := func(t *testing.T) string {
		t.Helper()
		status, _, body := do(t, c, http.MethodPost, tokenURL, nil, url.Values{
			"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"s3cret"}, "scope": {KeyVaultResource + "/.default"},
		})
		if status != http.StatusOK {
			t.Fatalf("token: HTTP %d %v", status, body)
		}
		return body["access_token"].(string)
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

	cases := []struct {
		name       string
		send       func(t *testing.T) (int, http.Header, map[string]any)
		wantStatus int
		check      func(t *testing.T, h http.Header, body map[string]any)
	}{
		{name: "unauthenticated request is challenged", wantStatus: http.StatusUnauthorized,
			send: func(t *testing.T) (int, http.Header, map[string]any) {
				return do(t, c, http.MethodGet, vault+"/secrets/db?api-version=2025-07-01", nil, nil)
			},
			check: func(t *testing.T, h http.Header, _ map[string]any) {
				want := `Bearer authorization="` + srv.URL + "/" + srv.TenantID + `", resource="https://vault.azure.net"`
				if got := h.Get("WWW-Authenticate"); got != want {
					t.Fatalf("challenge %q, want %q", got, want)
				}
			}},
		{name: "api-version is required", wantStatus: http.StatusBadRequest,
			send: func(t *testing.T) (int, http.Header, map[string]any) {
				return do(t, c, http.MethodGet, vault+"/secrets/db", bearer(token(t)), nil)
			}},
		{name: "secret read", wantStatus: http.StatusOK,
			send: func(t *testing.T) (int, http.Header, map[string]any) {
				return do(t, c, http.MethodGet, vault+"/secrets/db?api-version=7.5", bearer(token(t)), nil)
			},
			check: func(t *testing.T, _ http.Header, body map[string]any) {
				if body["value"] != "value" || !strings.HasPrefix(body["id"].(string), vault+"/secrets/db/") {
					t.Fatalf("body %v", body)
				}
			}},
		{name: "list without permission", wantStatus: http.StatusForbidden,
			send: func(t *testing.T) (int, http.Header, map[string]any) {
				return do(t, c, http.MethodGet, vault+"/secrets?api-version=7.5", bearer(token(t)), nil)
			},
			check: func(t *testing.T, _ http.Header, body map[string]any) {
				msg := body["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, "does not have secrets list permission on key vault 'kv;") {
					t.Fatalf("message %q", msg)
				}
			}},
		{name: "wrong client secret", wantStatus: http.StatusUnauthorized,
			send: func(t *testing.T) (int, http.Header, map[string]any) {
				return do(t, c, http.MethodPost, tokenURL, nil, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"nope"}, "scope": {KeyVaultResource + "/.default"}})
			},
			check: func(t *testing.T, _ http.Header, body map[string]any) {
				if !strings.HasPrefix(body["error_description"].(string), "AADSTS7000215:") {
					t.Fatalf("body %v", body)
				}
			}},
		{name: "IMDS without Metadata header", wantStatus: http.StatusBadRequest,
			send: func(t *testing.T) (int, http.Header, map[string]any) {
				return do(t, c, http.MethodGet, srv.URL+"/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net", nil, nil)
			}},
		{name: "IMDS token", wantStatus: http.StatusOK,
			send: func(t *testing.T) (int, http.Header, map[string]any) {
				return do(t, c, http.MethodGet, srv.URL+"/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net&client_id="+mi, http.Header{"Metadata": {"true"}}, nil)
			},
			check: func(t *testing.T, _ http.Header, body map[string]any) {
				if body["client_id"] != mi || body["access_token"] == "" {
					t.Fatalf("body %v", body)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := tc.send(t)
			if status != tc.wantStatus {
				t.Fatalf("HTTP %d %v, want %d", status, body, tc.wantStatus)
			}
			if tc.check != nil {
				tc.check(t, h, body)
			}
		})
	}
	if n := srv.Calls(OpChallenge); n != 1 {
		t.Errorf("%d challenges counted, want 1", n)
	}
}

func TestServerFaults(t *testing.T) {
	t.Parallel()
	srv := New(t, Options{})
	srv.AddVault("kv", false)
	srv.SetSecret("kv", "db", "value", ObjectOptions{})
	id := srv.AddApplication("s3cret")
	srv.Grant("kv", id, AllPermissions...)
	c := client(srv)
	_, _, body := do(t, c, http.MethodPost, srv.URL+"/"+srv.TenantID+"/oauth2/v2.0/token", nil, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"s3cret"}, "scope": {KeyVaultResource + "/.default openid"},
	})
	auth := http.Header{"Authorization": {"Bearer " + body["access_token"].(string)}}
	get := VaultURL("kv") + "/secrets/db?api-version=7.5"

	srv.Inject(OpGetSecret, Throttled(1500*time.Millisecond, 1))
	status, h, _ := do(t, c, http.MethodGet, get, auth, nil)
	if status != http.StatusTooManyRequests || h.Get("Retry-After") != "2" || h.Get("retry-after-ms") != "1500" {
		t.Fatalf("throttled: HTTP %d Retry-After %q retry-after-ms %q", status, h.Get("Retry-After"), h.Get("retry-after-ms"))
	}
	if status, _, _ := do(t, c, http.MethodGet, get, auth, nil); status != http.StatusOK {
		t.Fatalf("after the fault: HTTP %d", status)
	}
	srv.ExpireTokens()
	if status, _, body := do(t, c, http.MethodGet, get, auth, nil); status != http.StatusUnauthorized || !strings.Contains(body["error"].(map[string]any)["message"].(string), "TokenExpired") {
		t.Fatalf("expired token: HTTP %d %v", status, body)
	}
	if n := srv.Calls(OpGetSecret); n != 2 {
		t.Errorf("%d reads counted, want 2 (the expired token is refused before the operation)", n)
	}
}
