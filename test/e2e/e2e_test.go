// Package e2e runs the built secretbridge binary as a separate process
// against the real test control plane, as it runs in a cluster.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/secretbridge once per test run.
func binary(t *testing.T, env *testenv.Env) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "secretbridge-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		env.OnStop(func() { _ = os.RemoveAll(dir) })
		binPath = filepath.Join(dir, "secretbridge")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/secretbridge")
		cmd.Dir = env.RepoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/secretbridge: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// controllerProcess is a running `secretbridge controller`.
type controllerProcess struct {
	cmd     *exec.Cmd
	logPath string
	probes  string
}

// runController starts the binary with the test kubeconfig and stops it when
// the test ends.
func runController(t *testing.T, env *testenv.Env, args ...string) *controllerProcess {
	t.Helper()
	return runControllerWithKubeconfig(t, env, env.KubeconfigPath, args...)
}

// runControllerWithKubeconfig starts the binary with the given kubeconfig.
func runControllerWithKubeconfig(t *testing.T, env *testenv.Env, kubeconfig string, args ...string) *controllerProcess {
	t.Helper()
	return startController(t, env, kubeconfig, nil, args...)
}

// runControllerWithEnv starts the binary with extra environment variables
// (NAME=value), e.g. SSL_CERT_FILE to trust a provider test server's CA.
func runControllerWithEnv(t *testing.T, env *testenv.Env, extraEnv []string, args ...string) *controllerProcess {
	t.Helper()
	return startController(t, env, env.KubeconfigPath, extraEnv, args...)
}

// startController starts the binary and stops it when the test ends.
func startController(t *testing.T, env *testenv.Env, kubeconfig string, extraEnv []string, args ...string) *controllerProcess {
	t.Helper()
	ports, err := testenv.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	p := &controllerProcess{logPath: filepath.Join(t.TempDir(), "controller.log"), probes: fmt.Sprintf("127.0.0.1:%d", ports[1])}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(binary(t, env), append([]string{"controller",
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--health-probe-bind-address", p.probes,
		"--log-level", "debug",
	}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN="), extraEnv...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("controller did not stop within 20s of SIGTERM")
		}
		logf.Close()
	})
	testenv.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get("http://" + p.probes + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: HTTP %d", resp.StatusCode)
		}
		return nil
	})
	return p
}

// log returns what the controller has logged so far.
func (p *controllerProcess) log(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

const marker = "E2E-S3CR3T-VALUE"

// The binary syncs a fake store's data into a Secret, and neither its logs
// nor the object's status and events carry the value.
func TestBinarySyncsFakeStore(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	p := runController(t, env)

	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: ns}}
	store.Spec.Provider.Fake = &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "app", Value: `{"token":"` + marker + `"}`}}}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns}}
	es.Spec.SecretStoreRef = &esv1.SecretStoreRef{Name: "store"}
	es.Spec.Data = []esv1.ExternalSecretData{
		{SecretKey: "token", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "token"}},
		{SecretKey: "broken", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "missing"}},
	}
	for _, obj := range []client.Object{store, es} {
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
	// First a failing sync (missing property), then a fixed one.
	waitReason(t, env, ns, "app", esv1.ReasonSecretSyncedError)
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(es), es); err != nil {
		t.Fatal(err)
	}
	es.Spec.Data = es.Spec.Data[:1]
	if err := env.Client.Update(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	waitReason(t, env, ns, "app", esv1.ReasonSecretSynced)
	// One event per transition: failed once, synced once.
	time.Sleep(2 * time.Second)
	var evs eventsv1.EventList
	if err := env.Client.List(t.Context(), &evs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	count := map[string]int32{}
	for _, e := range evs.Items {
		if e.Regarding.Kind == "ExternalSecret" {
			count[e.Reason] += max(1, seriesCount(e))
		}
	}
	if count[esv1.ReasonSecretSyncedError] != 1 || count[esv1.ReasonSecretSynced] != 1 {
		t.Errorf("ExternalSecret events by reason %v, want one SecretSyncedError and one SecretSynced", count)
	}
	var s corev1.Secret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "app"}, &s); err != nil {
		t.Fatal(err)
	}
	if string(s.Data["token"]) != marker {
		t.Errorf("token %q", s.Data["token"])
	}
	if log := p.log(t); strings.Contains(log, marker) {
		t.Errorf("the controller logged a secret value")
	} else if !strings.Contains(log, "Synced") || !strings.Contains(log, `property \"missing\" not found`) {
		t.Errorf("the log lacks the sync and the failure cause:\n%s", log)
	}
}

func seriesCount(e eventsv1.Event) int32 {
	if e.Series != nil {
		return e.Series.Count
	}
	return 1
}

func waitReason(t *testing.T, env *testenv.Env, ns, name, reason string) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, func() error {
		var es esv1.ExternalSecret
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &es); err != nil {
			return err
		}
		for _, c := range es.Status.Conditions {
			if c.Type == esv1.ConditionReady && c.Reason == reason {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v, want Ready reason %s", es.Status.Conditions, reason)
	})
}
