package testenv

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { Main(m) }

// A token minted by the test API server logs into Vault through a role bound
// to its ServiceAccount; another ServiceAccount's token is refused.
func TestVaultKubernetesAuthAgainstAPIServer(t *testing.T) {
	env := Get(t)
	ns := env.Namespace(t)
	for _, sa := range []string{"app", "intruder"} {
		env.ServiceAccount(t, ns, sa)
		env.AllowTokenReview(t, ns, sa)
	}
	env.VaultKubernetesRole(t, "app-"+ns, ns, "app", map[string]string{
		"read-app-" + ns: `path "secret/data/app/*" { capabilities = ["read"] }`,
	})

	out, err := env.Vault.Request(t.Context(), "", http.MethodPost, "auth/kubernetes/login",
		map[string]any{"role": "app-" + ns, "jwt": env.Token(t, ns, "app")})
	if err != nil {
		t.Fatalf("login as %s/app: %v", ns, err)
	}
	auth, _ := out["auth"].(map[string]any)
	if tok, _ := auth["client_token"].(string); tok == "" {
		t.Fatalf("login answered without a client token: %v", out)
	}
	if pols := fmt.Sprint(auth["token_policies"]); !strings.Contains(pols, "read-app-"+ns) {
		t.Errorf("token policies %s do not include read-app-%s", pols, ns)
	}
	meta, _ := auth["metadata"].(map[string]any)
	if meta["service_account_name"] != "app" || meta["service_account_namespace"] != ns {
		t.Errorf("Vault saw identity %v, want %s/app", meta, ns)
	}

	_, err = env.Vault.Request(t.Context(), "", http.MethodPost, "auth/kubernetes/login",
		map[string]any{"role": "app-" + ns, "jwt": env.Token(t, ns, "intruder")})
	var verr *VaultError
	if !errors.As(err, &verr) || verr.StatusCode != http.StatusForbidden {
		t.Fatalf("login as %s/intruder: got %v, want HTTP 403", ns, err)
	}
	if !strings.Contains(strings.Join(verr.Errors, " "), "not authorized") {
		t.Errorf("refusal does not say why: %v", verr)
	}
}

// The kube-controller-manager's garbage collector deletes dependents of a
// deleted owner, which the sync engine's creationPolicy Owner relies on.
func TestGarbageCollectorDeletesDependents(t *testing.T) {
	env := Get(t)
	ns := env.Namespace(t)
	owner, err := env.Kube.CoreV1().ConfigMaps(ns).Create(t.Context(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "dependent", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID,
	}}}}
	if _, err := env.Kube.CoreV1().Secrets(ns).Create(t.Context(), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Kube.CoreV1().ConfigMaps(ns).Delete(t.Context(), owner.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 60*time.Second, func() error {
		_, err := env.Kube.CoreV1().Secrets(ns).Get(t.Context(), dep.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("secret %s/%s still exists (err %v)", ns, dep.Name, err)
	})
}

// The namespace controller empties and removes a deleted namespace.
func TestNamespaceControllerFinalizesNamespaces(t *testing.T) {
	env := Get(t)
	ns := env.Namespace(t)
	if _, err := env.Kube.CoreV1().ConfigMaps(ns).Create(t.Context(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Kube.CoreV1().Namespaces().Delete(t.Context(), ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 60*time.Second, func() error {
		_, err := env.Kube.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s not finalized yet (err %v)", ns, err)
	})
}

// If the test process dies, the reaper kills the process groups it was told
// about: closing its input is what the kernel does when we exit.
func TestReaperKillsProcessesWhenTestsDie(t *testing.T) {
	r, err := startReaper()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "600")
	child.SysProcAttr = procAttr()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	r.watch(child.Process.Pid)
	r.in.Close() // as if this process had died
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("child ended with %v, want killed by SIGKILL", err)
		}
	case <-time.After(10 * time.Second):
		_ = child.Process.Kill()
		t.Fatal("reaper did not kill the watched process within 10s")
	}
	_ = r.cmd.Wait()
}

// Every server runs as our child and is known to the reaper.
func TestServersAreTrackedChildren(t *testing.T) {
	env := Get(t)
	children := map[int]bool{}
	for _, pid := range childPIDs() {
		children[pid] = true
	}
	for _, cmd := range env.procs {
		if !children[cmd.Process.Pid] {
			t.Errorf("%s (pid %d) is not a child of the test process", cmd.Path, cmd.Process.Pid)
		}
	}
	if len(children) < 5 { // etcd, kube-apiserver, kube-controller-manager, vault, reaper
		t.Errorf("expected at least 5 child processes, found %d", len(children))
	}
	if _, err := os.Stat(env.KubeconfigPath); err != nil {
		t.Errorf("kubeconfig: %v", err)
	}
}

// A checkout without the server binaries fails with the command that builds them.
func TestMissingBinaryNamesTheBuildCommand(t *testing.T) {
	root := t.TempDir()
	err := checkBinaries(root)
	if err == nil || !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), root+"/bin/etcd") {
		t.Fatalf("got %v, want an error naming %s/bin/etcd and `make tools`", err, root)
	}
	if err := checkBinaries(Get(t).RepoRoot); err != nil {
		t.Fatalf("the repository's own bin/: %v", err)
	}
}
