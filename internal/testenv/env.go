package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/secretbridge/secretbridge/internal/manager"
)

// Env is the running set of servers for one test package.
type Env struct {
	// Config is an admin (system:masters) client configuration for the API server.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file with the same admin credentials.
	KubeconfigPath string
	// Client is a controller-runtime client with the secretbridge scheme plus
	// apiextensions (to read CRDs).
	Client client.Client
	// Kube is a client-go clientset.
	Kube kubernetes.Interface
	// APIServerURL is the API server's https URL on 127.0.0.1.
	APIServerURL string
	// APIServerCA is the PEM CA that signed the API server's serving certificate.
	APIServerCA []byte
	// ServiceAccountIssuer is the issuer of the API server's ServiceAccount tokens.
	ServiceAccountIssuer string
	// ServiceAccountPublicKey is the PEM public key that verifies ServiceAccount tokens.
	ServiceAccountPublicKey []byte
	// Vault is the Vault dev server.
	Vault *Vault
	// RepoRoot is the checkout's root directory.
	RepoRoot string
	// StartupTime is how long Start took.
	StartupTime time.Duration

	dir    string
	onStop []func()
	kube   *envtest.Environment
	procs  []*exec.Cmd
	reaper *reaper
}

// required lists the binaries Start needs in bin/.
var required = []string{"etcd", "kube-apiserver", "kubectl", "kube-controller-manager", "vault"}

var (
	current  *Env
	startErr error
)

// Main starts the environment, runs the package's tests and stops it, then
// exits with the tests' code. A start failure fails the whole package.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	current, startErr = Start(ctx)
	cancel()
	if startErr != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", startErr)
		return 1
	}
	defer current.Stop()
	fmt.Fprintf(os.Stderr, "testenv: servers up in %s (API server %s, Vault %s)\n",
		current.StartupTime.Round(time.Millisecond), current.APIServerURL, current.Vault.Addr)
	return m.Run()
}

// Get returns the environment Main started, or fails the test if Main was not used.
func Get(t testing.TB) *Env {
	t.Helper()
	if current == nil {
		t.Fatalf("testenv: not started; add `func TestMain(m *testing.M) { testenv.Main(m) }` to the package (start error: %v)", startErr)
	}
	return current
}

// Start launches every server and returns once all of them answer.
func Start(ctx context.Context) (_ *Env, err error) {
	began := time.Now()
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "bin")
	if err := checkBinaries(root); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "secretbridge-testenv-")
	if err != nil {
		return nil, err
	}
	e := &Env{RepoRoot: root, dir: dir}
	if e.reaper, err = startReaper(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()

	// Vault and the API server start in parallel; Vault's Kubernetes auth is
	// configured once both are up.
	var wg sync.WaitGroup
	var vaultErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.Vault, vaultErr = startVault(ctx, filepath.Join(bin, "vault"), dir)
		if e.Vault != nil {
			e.track(e.Vault.cmd)
		}
	}()
	kubeErr := e.startKube(bin)
	wg.Wait()
	if err := errors.Join(kubeErr, vaultErr); err != nil {
		return nil, err
	}
	if err := e.startControllerManager(filepath.Join(bin, "kube-controller-manager")); err != nil {
		return nil, err
	}
	if err := e.configureVaultKubernetesAuth(ctx); err != nil {
		return nil, err
	}
	e.StartupTime = time.Since(began)
	return e, nil
}

// checkBinaries fails with the command that builds the first missing server binary.
func checkBinaries(root string) error {
	for _, name := range required {
		path := filepath.Join(root, "bin", name)
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s is missing: run `make tools` in %s (or `hack/build-tools.sh %s`); a cold build takes 10-35 minutes", path, root, name)
		}
	}
	return nil
}

// startKube starts etcd and kube-apiserver with envtest and installs our CRDs.
func (e *Env) startKube(bin string) error {
	e.kube = &envtest.Environment{
		BinaryAssetsDirectory: bin,
		CRDDirectoryPaths:     []string{filepath.Join(e.RepoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                manager.Scheme(),
	}
	cfg, err := e.kube.Start()
	// envtest's processes are its children: hand them to the reaper whether
	// or not the start succeeded.
	e.reaper.watch(childPIDs()...)
	if err != nil {
		return fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	e.Config = cfg
	e.APIServerURL = cfg.Host
	e.APIServerCA = cfg.CAData
	api := e.kube.ControlPlane.GetAPIServer()
	e.ServiceAccountIssuer = api.SecureServing.URL("https", "/").String()
	if e.ServiceAccountPublicKey, err = os.ReadFile(filepath.Join(api.CertDir, "sa-signer.crt")); err != nil {
		return fmt.Errorf("reading the ServiceAccount signing certificate: %w", err)
	}
	e.KubeconfigPath = filepath.Join(e.dir, "kubeconfig")
	if err := os.WriteFile(e.KubeconfigPath, e.kube.KubeConfig, 0o600); err != nil {
		return err
	}
	scheme := manager.Scheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return err
	}
	if e.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	e.Kube, err = kubernetes.NewForConfig(cfg)
	return err
}

// startControllerManager runs kube-controller-manager with the controllers
// tests rely on: garbage collection (owner references) and namespace deletion.
func (e *Env) startControllerManager(path string) error {
	cmd := exec.Command(path,
		"--kubeconfig="+e.KubeconfigPath,
		"--controllers=garbage-collector-controller,namespace-controller",
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
	)
	return e.startProcess(cmd, "kube-controller-manager")
}

// startProcess starts cmd with its output in the environment's directory,
// in its own process group, killed if this process dies.
func (e *Env) startProcess(cmd *exec.Cmd, name string) error {
	logf, err := os.Create(filepath.Join(e.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	e.track(cmd)
	return nil
}

var trackMu sync.Mutex

func (e *Env) track(cmd *exec.Cmd) {
	trackMu.Lock()
	defer trackMu.Unlock()
	e.procs = append(e.procs, cmd)
	e.reaper.watch(cmd.Process.Pid)
}

// LogPath returns the log file of a server this environment started
// ("vault", "kube-controller-manager").
func (e *Env) LogPath(name string) string { return filepath.Join(e.dir, name+".log") }

// OnStop registers f to run when the environment stops, before any server
// stops (for example to stop a controller manager started by the tests).
func (e *Env) OnStop(f func()) {
	trackMu.Lock()
	defer trackMu.Unlock()
	e.onStop = append(e.onStop, f)
}

// Stop stops every server and removes the environment's files.
func (e *Env) Stop() {
	for i := len(e.onStop) - 1; i >= 0; i-- {
		e.onStop[i]()
	}
	for i := len(e.procs) - 1; i >= 0; i-- {
		stopProcess(e.procs[i])
	}
	if e.kube != nil && e.kube.ControlPlane.APIServer != nil {
		_ = e.kube.Stop()
	}
	if e.reaper != nil {
		e.reaper.stop()
	}
	_ = os.RemoveAll(e.dir)
}

// stopProcess asks cmd's process group to terminate and kills it after 10s.
func stopProcess(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	_ = signalGroup(cmd.Process.Pid, false)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = signalGroup(cmd.Process.Pid, true)
		<-done
	}
}

// repoRoot finds the directory holding the module's go.mod, starting from the
// working directory (a test's working directory is its package folder).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if raw, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && isOurModule(raw) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no secretbridge go.mod above %s", dir)
		}
	}
}

func isOurModule(gomod []byte) bool {
	const want = "module github.com/secretbridge/secretbridge\n"
	return len(gomod) >= len(want) && string(gomod[:len(want)]) == want
}
