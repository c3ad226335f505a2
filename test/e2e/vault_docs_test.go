package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/secretbridge/secretbridge/internal/testenv"
)

// docsSection is the section of docs/providers/vault.md whose examples
// TestVaultDocExamples runs.
const docsSection = "## Examples, one per auth method"

// docExample is one "### " subsection of docsSection: its sh and yaml code
// blocks, in order.
type docExample struct {
	title string
	sh    []string
	yaml  []string
}

// readDocExamples parses the subsections of docsSection in the markdown file.
func readDocExamples(t *testing.T, path string) []docExample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out            []docExample
		inSection      bool
		lang           string
		block          strings.Builder
		inBlock        bool
		currentExample *docExample
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inBlock && strings.HasPrefix(line, "```"):
			inBlock = false
			if currentExample != nil {
				switch lang {
				case "sh":
					currentExample.sh = append(currentExample.sh, block.String())
				case "yaml":
					currentExample.yaml = append(currentExample.yaml, block.String())
				}
			}
		case inBlock:
			block.WriteString(line + "\n")
		case strings.HasPrefix(line, "```"):
			inBlock, lang = true, strings.TrimPrefix(line, "```")
			block.Reset()
		case strings.HasPrefix(line, "## "):
			inSection = line == docsSection
			currentExample = nil
		case inSection && strings.HasPrefix(line, "### "):
			out = append(out, docExample{title: strings.TrimPrefix(line, "### ")})
			currentExample = &out[len(out)-1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no section %q", path, docsSection)
	}
	return out
}

// The examples of docs/providers/vault.md, one per auth method, work as
// written: their shell blocks run with bash against a Vault dev server with
// a TLS listener and the test API server, their manifests are applied with
// kubectl, and every ExternalSecret syncs with no interpretation. Only the
// placeholders the page lists are replaced.
func TestVaultDocExamples(t *testing.T) {
	env := testenv.Get(t)
	examples := readDocExamples(t, filepath.Join(env.RepoRoot, "docs", "providers", "vault.md"))
	var methods []string
	for _, ex := range examples[1:] {
		methods = append(methods, ex.title)
	}
	wantMethods := []string{"tokenSecretRef", "appRole", "kubernetes", "jwt", "userPass", "cert"}
	for _, m := range wantMethods {
		if !slices.Contains(methods, "Example: `"+m+"`") {
			t.Errorf("docs/providers/vault.md has no example for auth method %s (examples: %v)", m, methods)
		}
	}
	if examples[0].title != "Before the examples" {
		t.Fatalf("the first subsection of %q is %q, want the setup", docsSection, examples[0].title)
	}

	v := startTLSVault(t, env)
	work := t.TempDir()
	ns := "docs-" + randomHex(4)
	files := map[string][]byte{
		"vault-ca.pem": v.ca,
		"k8s-ca.crt":   env.APIServerCA,
		"sa.pub":       env.ServiceAccountPublicKey,
	}
	for name, raw := range files {
		if err := os.WriteFile(filepath.Join(work, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(work, "home"), 0o700); err != nil {
		t.Fatal(err)
	}
	replacer := strings.NewReplacer(
		"https://vault.example.com:8200", v.addr,
		"https://kubernetes.example.com:6443", strings.TrimSuffix(env.APIServerURL, "/"),
		"https://kubernetes.default.svc.cluster.local", env.ServiceAccountIssuer,
		"team-a", ns,
	)
	shellEnv := []string{
		"PATH=" + filepath.Join(env.RepoRoot, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + filepath.Join(work, "home"),
		"KUBECONFIG=" + env.KubeconfigPath,
		"VAULT_ADDR=" + v.addr,
		"VAULT_CACERT=" + filepath.Join(work, "vault-ca.pem"),
		"VAULT_TOKEN=" + v.root,
	}
	runShell := func(t *testing.T, script string) {
		t.Helper()
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", replacer.Replace(script))
		cmd.Dir, cmd.Env = work, shellEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the documented commands failed: %v\n%s\n--- output:\n%s", err, replacer.Replace(script), out)
		}
	}
	t.Cleanup(func() {
		// t.Context() is cancelled when cleanups run.
		ctx := context.Background()
		_ = env.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		crbs, err := env.Kube.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, crb := range crbs.Items {
				if strings.Contains(crb.Name, ns) {
					_ = env.Kube.RbacV1().ClusterRoleBindings().Delete(ctx, crb.Name, metav1.DeleteOptions{})
				}
			}
		}
	})

	p := runController(t, env)
	logOnFailure(t, p)
	for _, script := range examples[0].sh {
		runShell(t, script)
	}
	want := map[string]string{"username": "app", "password": "example-password"}

	for _, ex := range examples[1:] {
		t.Run(strings.Trim(strings.TrimPrefix(ex.title, "Example: "), "`"), func(t *testing.T) {
			if len(ex.sh) == 0 || len(ex.yaml) == 0 {
				t.Fatalf("example %q has %d sh and %d yaml blocks, want both", ex.title, len(ex.sh), len(ex.yaml))
			}
			for _, script := range ex.sh {
				runShell(t, script)
			}
			var externalSecrets []*unstructured.Unstructured
			start := time.Now()
			for _, doc := range ex.yaml {
				text := replacer.Replace(doc)
				apply := exec.Command(filepath.Join(env.RepoRoot, "bin", "kubectl"), "apply", "-f", "-")
				apply.Dir, apply.Env = work, shellEnv
				apply.Stdin = strings.NewReader(text)
				if out, err := apply.CombinedOutput(); err != nil {
					t.Fatalf("kubectl apply of the documented manifests: %v\n%s", err, out)
				}
				dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
				for {
					obj := &unstructured.Unstructured{}
					if err := dec.Decode(&obj.Object); err != nil {
						break
					}
					if obj.GetKind() == "ExternalSecret" {
						externalSecrets = append(externalSecrets, obj)
					}
				}
			}
			if len(externalSecrets) == 0 {
				t.Fatalf("example %q applies no ExternalSecret", ex.title)
			}
			for _, es := range externalSecrets {
				target, _, _ := unstructured.NestedString(es.Object, "spec", "target", "name")
				ready, took := waitReady(t, env, es.GetNamespace(), es.GetName(), corev1.ConditionTrue, start)
				t.Logf("ExternalSecret %s Ready (%s) %s after kubectl apply: %s", es.GetName(), ready.Reason, took.Round(time.Millisecond), ready.Message)
				if strings.Contains(ready.Message, "interpreted") {
					t.Errorf("the documented manifests needed interpretation: %s", ready.Message)
				}
				var s corev1.Secret
				if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: es.GetNamespace(), Name: target}, &s); err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for k, v := range s.Data {
					got[k] = string(v)
				}
				if !maps.Equal(got, want) {
					t.Errorf("Secret %s has keys %v, want username and password from Vault", target, slices.Sorted(maps.Keys(got)))
				}
			}
		})
	}
	assertNoSecretValues(t, env, p, []string{"example-password"}, []string{ns}, nil)
}

// tlsVault is a `vault server -dev -dev-tls` started by a test: a Vault
// with a TLS listener whose certificate its own CA signed.
type tlsVault struct {
	addr, root string
	ca         []byte
}

// startTLSVault starts a TLS dev Vault (own HOME, no VAULT_* variables) and
// stops it when the test ends.
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
	v := &tlsVault{addr: fmt.Sprintf("https://127.0.0.1:%d", ports[0]), root: "root-" + randomHex(8)}
	cmd := exec.Command(bin, "server", "-dev", "-dev-tls", "-dev-tls-cert-dir="+certs,
		"-dev-root-token-id="+v.root, fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", ports[0]),
		"-dev-no-store-token", "-log-level=warn")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home, fmt.Sprintf("VAULT_CLUSTER_ADDR=https://127.0.0.1:%d", ports[1]))
	var vaultLog bytes.Buffer // read only once the process has exited
	cmd.Stdout, cmd.Stderr = &vaultLog, &vaultLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	testenv.Eventually(t, 2*time.Minute, func() error {
		select {
		case <-exited:
			t.Fatalf("vault server -dev-tls exited:\n%s", vaultLog.String())
		default:
		}
		ca, err := os.ReadFile(filepath.Join(certs, "vault-ca.pem"))
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return errors.New("vault-ca.pem is not complete yet")
		}
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := hc.Get(v.addr + "/v1/sys/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: HTTP %d", resp.StatusCode)
		}
		v.ca = ca
		return nil
	})
	return v
}

// randomHex returns 2n random hex characters.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
