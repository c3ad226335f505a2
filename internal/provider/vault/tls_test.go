package vault

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// tlsVault is a `vault server -dev -dev-tls` started by a test.
type tlsVault struct {
	addr string
	root string
	ca   []byte
	http *http.Client
}

// startTLSVault starts a dev Vault with a TLS listener and its own CA, with
// its own HOME and no VAULT_* variables; it stops with the test.
func startTLSVault(t *testing.T, env *testenv.Env) *tlsVault {
	t.Helper()
	bin := filepath.Join(env.RepoRoot, "bin", "vault")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run `make tools` in %s", bin, env.RepoRoot)
	}
	dir := t.TempDir()
	certs, home := filepath.Join(dir, "certs"), filepath.Join(dir, "home")
	for _, d := range []string{certs, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ports, err := testenv.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	v := &tlsVault{addr: fmt.Sprintf("https://127.0.0.1:%d", ports[0]), root: unique("root-")}
	cmd := exec.Command(bin, "server", "-dev", "-dev-tls", "-dev-tls-cert-dir="+certs,
		"-dev-root-token-id="+v.root, fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", ports[0]),
		"-dev-no-store-token", "-log-level=warn")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home, fmt.Sprintf("VAULT_CLUSTER_ADDR=https://127.0.0.1:%d", ports[1]))
	logf, err := os.Create(filepath.Join(dir, "vault.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logf.Close()
	})
	testenv.Eventually(t, 60*time.Second, func() error {
		ca, err := os.ReadFile(filepath.Join(certs, "vault-ca.pem"))
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return errors.New("vault-ca.pem is not complete yet")
		}
		v.ca = ca
		v.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := v.http.Get(v.addr + "/v1/sys/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: HTTP %d", resp.StatusCode)
		}
		return nil
	})
	return v
}

// write sends a root request to the TLS Vault.
func (v *tlsVault) write(t *testing.T, method, path string, body any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), method, v.addr+"/v1/"+path, bytes.NewReader(raw))
	req.Header.Set("X-Vault-Token", v.root)
	resp, err := v.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
}

// clientCA makes a CA and a client certificate it signs, in PEM.
func clientCA(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "secretbridge test client CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "secretbridge"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// Against a Vault with a TLS listener and its own CA: caBundle and
// caProvider (Secret and ConfigMap) make the handshake succeed, no CA is
// diagnosed as an unknown authority, and the cert auth method logs in with
// a client certificate from auth.cert or from spec.tls.
func TestTLS(t *testing.T) {
	env := testenv.Get(t)
	ns, other := env.Namespace(t), env.Namespace(t)
	v := startTLSVault(t, env)
	v.write(t, "POST", "secret/data/tls/db", map[string]any{"data": map[string]any{"pw": "over-tls"}})
	createSecret(t, env, ns, "root", map[string]string{"token": v.root})
	createSecret(t, env, ns, "ca", map[string]string{"ca.crt": string(v.ca)})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "vault-ca"}, Data: map[string]string{"ca.crt": string(v.ca)}}
	if err := env.Client.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	tokenAuth := &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "root", Key: "token"}}
	read := func(t *testing.T, cl *Client) error {
		t.Helper()
		raw, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "secret/tls/db"})
		if err == nil && !strings.Contains(string(raw), "over-tls") {
			err = fmt.Errorf("read %s", raw)
		}
		return err
	}

	t.Run("caBundle", func(t *testing.T) {
		cl := newTestClient(t, t.Context(), namespacedStore(ns, &esv1.VaultProvider{Server: v.addr, CABundle: v.ca, Auth: tokenAuth}), env, "")
		if err := read(t, cl); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("caProvider Secret of a SecretStore", func(t *testing.T) {
		// A SecretStore reads its own namespace; the namespace field is ignored.
		spec := &esv1.VaultProvider{Server: v.addr, Auth: tokenAuth, CAProvider: &esv1.CAProvider{Type: esv1.CAProviderTypeSecret, Name: "ca", Key: "ca.crt", Namespace: other}}
		cl := newTestClient(t, t.Context(), namespacedStore(ns, spec), env, "")
		if err := read(t, cl); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("caProvider ConfigMap of a ClusterSecretStore", func(t *testing.T) {
		auth := &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "root", Namespace: ns, Key: "token"}}
		spec := &esv1.VaultProvider{Server: v.addr, Auth: auth, CAProvider: &esv1.CAProvider{Type: esv1.CAProviderTypeConfigMap, Name: "vault-ca", Key: "ca.crt", Namespace: other}}
		cl := newTestClient(t, t.Context(), clusterStore(spec), env, "")
		if err := read(t, cl); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		cl := newTestClient(t, t.Context(), namespacedStore(ns, &esv1.VaultProvider{Server: v.addr, Auth: tokenAuth}), env, "")
		err := read(t, cl)
		var ne *NetworkError
		if !errors.As(err, &ne) || ne.Kind != NetworkTLSUnknownAuthority {
			t.Fatalf("read without the CA: %v, want a TLS unknown-authority *NetworkError", err)
		}
		if miss := containsAll(err.Error(), v.addr, "caBundle", "caProvider"); miss != "" {
			t.Errorf("%q lacks %q", err, miss)
		}
	})

	caPEM, certPEM, keyPEM := clientCA(t)
	mount := unique("cert-")
	v.write(t, "POST", "sys/auth/"+mount, map[string]any{"type": "cert"})
	v.write(t, "PUT", "sys/policies/acl/tls-read", map[string]any{"policy": `path "secret/data/tls/*" { capabilities = ["read"] }`})
	v.write(t, "POST", "auth/"+mount+"/certs/bridge", map[string]any{"certificate": string(caPEM), "token_policies": []string{"tls-read"}, "token_ttl": "10m"})
	createSecret(t, env, ns, "client", map[string]string{"tls.crt": string(certPEM), "tls.key": string(keyPEM)})
	certRef := &esv1.SecretKeySelector{Name: "client", Key: "tls.crt"}
	keyRef := &esv1.SecretKeySelector{Name: "client", Key: "tls.key"}

	t.Run("cert auth", func(t *testing.T) {
		spec := &esv1.VaultProvider{Server: v.addr, CABundle: v.ca, Auth: &esv1.VaultAuth{Cert: &esv1.VaultCertAuth{
			Path: mount, VaultRole: "bridge", ClientCert: certRef, SecretRef: keyRef,
		}}}
		cl := newTestClient(t, t.Context(), namespacedStore(ns, spec), env, "")
		if err := read(t, cl); err != nil {
			t.Fatal(err)
		}
		if id, err := cl.Validate(t.Context()); err != nil || !strings.Contains(id.Identity, "tls-read") {
			t.Errorf("Validate: %+v, %v", id, err)
		}
	})
	t.Run("client certificate of spec.tls", func(t *testing.T) {
		spec := &esv1.VaultProvider{
			Server: v.addr, CABundle: v.ca,
			ClientTLS: &esv1.VaultClientTLS{CertSecretRef: certRef, KeySecretRef: keyRef},
			Auth:      &esv1.VaultAuth{Cert: &esv1.VaultCertAuth{Path: mount}},
		}
		cl := newTestClient(t, t.Context(), namespacedStore(ns, spec), env, "")
		if err := read(t, cl); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		createSecret(t, env, ns, "other-client", map[string]string{"tls.crt": string(v.ca), "tls.key": string(keyPEM)})
		spec := &esv1.VaultProvider{Server: v.addr, CABundle: v.ca, Auth: &esv1.VaultAuth{Cert: &esv1.VaultCertAuth{
			Path: mount, ClientCert: &esv1.SecretKeySelector{Name: "other-client", Key: "tls.crt"}, SecretRef: keyRef,
		}}}
		_, err := Provider{}.NewClient(context.Background(), namespacedStore(ns, spec), env.Client, "")
		if err == nil || !strings.Contains(err.Error(), "spec.provider.vault.auth.cert") {
			t.Errorf("a certificate that does not match its key: %v", err)
		}
	})
}
