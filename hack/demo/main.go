// Command demo runs the article's scenario on this machine: it starts a real
// kube-apiserver, etcd, kube-controller-manager and Vault (internal/testenv),
// prepares Vault as the article does, starts bin/secretbridge, applies the
// article's two manifests verbatim (only the Vault address changed), shows
// the resulting Secret, rotates the value in Vault and shows the Secret
// follow, then stays up until Ctrl-C and cleans every process up.
//
// Run it with `make demo` (which builds what is missing first).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// options configure one demo run.
type options struct {
	// binary is the secretbridge binary to run.
	binary string
	// exitAfterRotation ends the demo after the rotation instead of waiting for Ctrl-C.
	exitAfterRotation bool
	out               io.Writer
}

func main() {
	var o options
	exitDefault, _ := strconv.ParseBool(os.Getenv("DEMO_EXIT_AFTER_ROTATION"))
	flag.StringVar(&o.binary, "binary", "bin/secretbridge", "the secretbridge binary to run")
	flag.BoolVar(&o.exitAfterRotation, "exit", exitDefault, "exit after the rotation instead of waiting for Ctrl-C (default from DEMO_EXIT_AFTER_ROTATION=1)")
	flag.Parse()
	o.out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first Ctrl-C the demo cleans up; a second one kills it
		// at once (the servers' reaper and the controller's parent-death
		// signal still stop every process).
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

const (
	ctrlNS   = "external-secrets"
	ctrlSA   = "external-secrets"
	appNS    = "default"
	kvPath   = "secret/data/prod/app-db"
	esName   = "database-credentials"
	secretNm = "prod-database-creds"
)

func run(ctx context.Context, o options) error {
	say := func(format string, args ...any) { fmt.Fprintf(o.out, "==> "+format+"\n", args...) }
	binary, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s is missing: run `make build` (or `make demo`, which builds it)", binary)
	}

	say("Starting kube-apiserver, etcd, kube-controller-manager and Vault (from bin/)")
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	env, err := testenv.Start(startCtx)
	cancel()
	if err != nil {
		return err
	}
	defer env.Stop()
	say("Up in %s", env.StartupTime.Round(time.Millisecond))

	say("Preparing Vault as the article does: KV v2 secret %s, Kubernetes auth role external-secrets-role for %s/%s, read policy on secret/data/prod/*", kvPath, ctrlNS, ctrlSA)
	if err := prepare(ctx, env); err != nil {
		return err
	}

	say("Starting %s controller as %s/%s", binary, ctrlNS, ctrlSA)
	logf, err := os.CreateTemp("", "secretbridge-demo-*.log")
	if err != nil {
		return err
	}
	logPath := logf.Name()
	defer os.Remove(logPath)
	defer logf.Close()
	ports, err := testenv.FreePorts(1)
	if err != nil {
		return err
	}
	ctrl := exec.Command(binary, "controller", "--kubeconfig", env.KubeconfigPath,
		"--pod-namespace", ctrlNS, "--service-account-name", ctrlSA,
		"--metrics-bind-address", "0", "--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--log-format", "text")
	ctrl.Stdout, ctrl.Stderr = logf, logf
	// Its own process group, and killed if the demo dies without cleaning up.
	ctrl.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := ctrl.Start(); err != nil {
		return err
	}
	defer stopController(ctrl)
	// failed adds the end of the controller's log to err: the log file is
	// removed when the demo ends.
	failed := func(err error) error {
		if ctx.Err() != nil {
			return nil // interrupted
		}
		return fmt.Errorf("%w\nthe controller's log ends with:\n%s", err, tail(logPath, 30))
	}

	say("Applying the article's two manifests (test/testdata/seed/, server set to %s)", env.Vault.Addr)
	start := time.Now()
	if err := applySeed(ctx, env); err != nil {
		return failed(err)
	}
	data, err := waitSecret(ctx, env, func(d map[string][]byte) bool { return len(d) > 0 })
	if err != nil {
		return failed(err)
	}
	say("Secret %s/%s is there %s after applying", appNS, secretNm, time.Since(start).Round(time.Millisecond))
	kubectl(o.out, env, "get", "externalsecrets", "-A")
	printSecret(o.out, data)
	if msg, err := readyMessage(ctx, env); err == nil {
		say("Ready message (what secretbridge interpreted in the article's YAML):\n    %s", strings.ReplaceAll(msg, "; ", ";\n    "))
	}

	say("Rotating: a new password in Vault, then the force-sync annotation")
	if _, err := env.Vault.Request(ctx, env.Vault.RootToken, "POST", kvPath, map[string]any{"data": map[string]any{"username": "app", "password": "rotated-" + time.Now().Format("150405")}}); err != nil {
		return failed(err)
	}
	start = time.Now()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, esv1.AnnotationForceSync, start.Format(time.RFC3339Nano))
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: esName}}
	if err := env.Client.Patch(ctx, es, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return failed(err)
	}
	data, err = waitSecret(ctx, env, func(d map[string][]byte) bool { return strings.HasPrefix(string(d["password"]), "rotated-") })
	if err != nil {
		return failed(err)
	}
	say("The Secret followed in %s", time.Since(start).Round(time.Millisecond))
	printSecret(o.out, data)

	if o.exitAfterRotation {
		say("Done; stopping everything")
		return nil
	}
	say("Still running.\n"+
		"    kubeconfig:  %s\n"+
		"    Vault:       %s (root token %s)\n"+
		"    controller:  log in %s\n"+
		"Try, from %s:\n"+
		"    export KUBECONFIG=%s VAULT_ADDR=%s VAULT_TOKEN=%s\n"+
		"    bin/kubectl get es -A\n"+
		"    bin/vault kv put secret/prod/app-db username=app password=changed\n"+
		"    bin/kubectl annotate es -n %s %s %s=\"$(date +%%s)\" --overwrite\n"+
		"    bin/kubectl get secret -n %s %s -o jsonpath='{.data.password}' | base64 -d; echo\n"+
		"    bin/kubectl describe es -n %s %s\n"+
		"Press Ctrl-C to stop everything and clean up.",
		env.KubeconfigPath, env.Vault.Addr, env.Vault.RootToken, logPath,
		env.RepoRoot, env.KubeconfigPath, env.Vault.Addr, env.Vault.RootToken,
		appNS, esName, esv1.AnnotationForceSync,
		appNS, secretNm,
		appNS, esName)
	<-ctx.Done()
	say("Stopping and cleaning up")
	return nil
}

// stopController sends SIGTERM to the controller's process group and waits
// for it, killing it after 20 seconds.
func stopController(ctrl *exec.Cmd) {
	done := make(chan struct{})
	go func() { _ = ctrl.Wait(); close(done) }()
	_ = syscall.Kill(-ctrl.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-ctrl.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// prepare creates the controller's namespace and ServiceAccount, lets it
// review tokens (Vault's Kubernetes auth needs that), and configures Vault.
func prepare(ctx context.Context, env *testenv.Env) error {
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ctrlNS}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ctrlSA, Namespace: ctrlNS}},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "external-secrets-auth-delegator"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ctrlNS, Name: ctrlSA}},
		},
	}
	for _, obj := range objs {
		if err := env.Client.Create(ctx, obj); err != nil {
			return err
		}
	}
	v := env.Vault
	for _, req := range []struct {
		method, path string
		body         map[string]any
	}{
		{"POST", kvPath, map[string]any{"data": map[string]any{"username": "app", "password": "s3cr3t-demo"}}},
		{"PUT", "sys/policies/acl/read-prod", map[string]any{"policy": `path "secret/data/prod/*" { capabilities = ["read"] }`}},
		{"POST", "auth/kubernetes/role/external-secrets-role", map[string]any{
			"bound_service_account_names": []string{ctrlSA}, "bound_service_account_namespaces": []string{ctrlNS},
			"token_policies": []string{"read-prod"}, "token_ttl": "1h"}},
	} {
		if _, err := v.Request(ctx, v.RootToken, req.method, req.path, req.body); err != nil {
			return err
		}
	}
	return nil
}

// applySeed applies the two seed manifests with the test Vault's address.
func applySeed(ctx context.Context, env *testenv.Env) error {
	for _, file := range []string{"clustersecretstore.yaml", "externalsecret.yaml"} {
		raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "test", "testdata", "seed", file))
		if err != nil {
			return err
		}
		text := strings.Replace(string(raw), "https://vault.example.com:8200", env.Vault.Addr, 1)
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(text), &obj.Object); err != nil {
			return err
		}
		if obj.GetKind() == "ExternalSecret" {
			obj.SetNamespace(appNS)
		}
		if err := env.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("applying %s: %w", file, err)
		}
	}
	return nil
}

// waitSecret waits up to 30s for the target Secret to satisfy ok.
func waitSecret(ctx context.Context, env *testenv.Env, ok func(map[string][]byte) bool) (map[string][]byte, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var s corev1.Secret
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: appNS, Name: secretNm}, &s)
		if err == nil && ok(s.Data) {
			return s.Data, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the Secret %s/%s is not as expected within 30s", appNS, secretNm)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func readyMessage(ctx context.Context, env *testenv.Env) (string, error) {
	var es esv1.ExternalSecret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: appNS, Name: esName}, &es); err != nil {
		return "", err
	}
	for _, c := range es.Status.Conditions {
		if c.Type == esv1.ConditionReady {
			return c.Message, nil
		}
	}
	return "", fmt.Errorf("no Ready condition")
}

// kubectl runs bin/kubectl against the demo cluster and prints its output.
func kubectl(out io.Writer, env *testenv.Env, args ...string) {
	cmd := exec.Command(filepath.Join(env.RepoRoot, "bin", "kubectl"), append([]string{"--kubeconfig", env.KubeconfigPath}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	fmt.Fprintf(out, "$ kubectl %s\n", strings.Join(args, " "))
	_ = cmd.Run()
}

// printSecret prints the demo Secret decoded; these are demo values.
func printSecret(out io.Writer, data map[string][]byte) {
	fmt.Fprintf(out, "Secret %s/%s (demo values, shown decoded):\n", appNS, secretNm)
	for _, k := range []string{"username", "password"} {
		fmt.Fprintf(out, "    %s: %s\n", k, data[k])
	}
}
