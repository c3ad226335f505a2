package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Vault is a Vault dev server: in memory, unsealed, KV v2 mounted at secret/,
// Kubernetes auth enabled at auth/kubernetes and pointed at the test API server.
type Vault struct {
	// Addr is the server's http address on 127.0.0.1.
	Addr string
	// RootToken is the dev server's root token.
	RootToken string

	cmd  *exec.Cmd
	http *http.Client
}

// startVault runs `vault server -dev` on free loopback ports. The process gets
// its own HOME and no VAULT_* variables from the test process, so the dev
// server's token helper never writes to the user's ~/.vault-token.
func startVault(ctx context.Context, path, dir string) (*Vault, error) {
	ports, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	home := filepath.Join(dir, "vault-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	v := &Vault{
		Addr:      fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		RootToken: "root-" + randomSuffix(),
		http:      &http.Client{Timeout: 30 * time.Second},
	}
	v.cmd = exec.Command(path, "server", "-dev",
		"-dev-root-token-id="+v.RootToken,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", ports[0]),
		"-dev-no-store-token",
		"-log-level=warn",
	)
	v.cmd.Env = append(cleanEnv(), "HOME="+home, fmt.Sprintf("VAULT_CLUSTER_ADDR=https://127.0.0.1:%d", ports[1]))
	logf, err := os.Create(filepath.Join(dir, "vault.log"))
	if err != nil {
		return nil, err
	}
	v.cmd.Stdout, v.cmd.Stderr = logf, logf
	v.cmd.SysProcAttr = procAttr()
	if err := v.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting vault: %w", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, v.Addr+"/v1/sys/health", nil)
		resp, err := v.http.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return v, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return v, fmt.Errorf("vault did not become healthy within 2m (log: %s): %v", logf.Name(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cleanEnv is this process's environment without VAULT_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return env
}

// VaultError is a non-2xx answer from Vault.
type VaultError struct {
	Method, Path string
	StatusCode   int
	Errors       []string
}

func (e *VaultError) Error() string {
	return fmt.Sprintf("vault %s %s: HTTP %d: %s", e.Method, e.Path, e.StatusCode, strings.Join(e.Errors, "; "))
}

// Request sends one Vault API request (path without the /v1/ prefix) with the
// given token and returns the decoded JSON body (nil for 204).
func (v *Vault) Request(ctx context.Context, token, method, path string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, v.Addr+"/v1/"+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("vault %s %s: decoding the answer: %w", method, path, err)
		}
	}
	if resp.StatusCode >= 300 {
		verr := &VaultError{Method: method, Path: path, StatusCode: resp.StatusCode}
		if errs, ok := out["errors"].([]any); ok {
			for _, e := range errs {
				verr.Errors = append(verr.Errors, fmt.Sprint(e))
			}
		}
		return out, verr
	}
	return out, nil
}

// Write sends a root-token request and fails the test on error.
func (v *Vault) Write(t testing.TB, method, path string, body any) map[string]any {
	t.Helper()
	out, err := v.Request(t.Context(), v.RootToken, method, path, body)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// configureVaultKubernetesAuth enables auth/kubernetes and points it at the
// test API server. Vault reviews each login's token with that same token
// (disable_local_ca_jwt), so a logging-in ServiceAccount needs the
// system:auth-delegator ClusterRole; see Env.AllowTokenReview.
func (e *Env) configureVaultKubernetesAuth(ctx context.Context) error {
	if _, err := e.Vault.Request(ctx, e.Vault.RootToken, http.MethodPost, "sys/auth/kubernetes", map[string]any{"type": "kubernetes"}); err != nil {
		return err
	}
	_, err := e.Vault.Request(ctx, e.Vault.RootToken, http.MethodPost, "auth/kubernetes/config", map[string]any{
		"kubernetes_host":      e.APIServerURL,
		"kubernetes_ca_cert":   string(e.APIServerCA),
		"disable_local_ca_jwt": true,
	})
	return err
}

// FreePorts reserves n distinct free loopback ports. They are released before
// return, so a process started right after can bind them; the kernel does not
// hand a just-released ephemeral port out again at once.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
