package chart

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// seedSA is the ServiceAccount the article's ClusterSecretStore names; the
// chart's controller runs as it so the store's "log in as the controller"
// reading applies (DESIGN.md §2).
const seedSA = "external-secrets"

// seedValue is the Vault password; it must never show up in logs.
const seedValue = "CHART-S3CR3T-VALUE"

// install is the chart's identity and RBAC, applied for real, and the
// controller binary running with exactly those permissions and the chart's
// Deployment arguments.
type install struct {
	sysNS, appNS string
	proc         *controllerProcess
}

// installChart renders the chart into a fresh release namespace, applies
// its ServiceAccount, Roles, ClusterRoles and bindings (after mutate, which
// may remove a permission), and starts the binary the Dockerfile builds with
// the Deployment's arguments and environment and a kubeconfig holding only
// a TokenRequest token of the chart's ServiceAccount.
func installChart(t *testing.T, env *testenv.Env, namespaced bool, mutate func(*unstructured.Unstructured)) *install {
	t.Helper()
	in := &install{sysNS: env.Namespace(t), appNS: env.Namespace(t)}
	values := map[string]any{"serviceAccount": map[string]any{"name": seedSA}}
	if namespaced {
		values["watchNamespace"] = in.appNS
	}
	// The release is named after its namespace so concurrent or leftover
	// cluster-scoped objects of other tests never collide.
	objs := render(t, env, in.sysNS, in.sysNS, values)
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
		default:
			continue
		}
		if mutate != nil {
			mutate(o)
		}
		if err := env.Client.Create(t.Context(), o); err != nil {
			t.Fatalf("creating the chart's %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		// The test namespaces take their objects with them; anything else
		// (cluster-scoped, or the events Role in "default") is removed here.
		if ns := o.GetNamespace(); ns != in.sysNS && ns != in.appNS {
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), o) })
		}
	}
	d := one[appsv1.Deployment](t, objs, "Deployment")
	c := d.Spec.Template.Spec.Containers[0]
	if d.Spec.Template.Spec.ServiceAccountName != seedSA {
		t.Fatalf("the Deployment runs as %q, want %q", d.Spec.Template.Spec.ServiceAccountName, seedSA)
	}

	// Vault as the article sets it up, for the chart's ServiceAccount.
	// system:auth-delegator is Vault's need (it reviews the login's token
	// with that token), not the controller's.
	env.AllowTokenReview(t, in.sysNS, seedSA)
	env.Vault.Write(t, "POST", "secret/data/prod/app-db", map[string]any{"data": map[string]any{"username": "app", "password": seedValue}})
	env.VaultKubernetesRole(t, "external-secrets-role", in.sysNS, seedSA, map[string]string{
		"read-prod-" + in.sysNS: `path "secret/data/prod/*" { capabilities = ["read"] }`,
	})

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: env.APIServerURL, CertificateAuthorityData: env.APIServerCA}
	cfg.AuthInfos[seedSA] = &clientcmdapi.AuthInfo{Token: env.Token(t, in.sysNS, seedSA)}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: seedSA}
	cfg.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	// The downward API's values, as the pod would have them.
	podEnv := []string{"POD_NAMESPACE=" + in.sysNS, "SERVICE_ACCOUNT_NAME=" + seedSA}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			podEnv = append(podEnv, e.Name+"="+e.Value)
		}
	}
	if !slices.Contains(c.Args, "--leader-elect") {
		t.Fatalf("the Deployment's args %v lack --leader-elect", c.Args)
	}
	in.proc = startController(t, env, kubeconfig, podEnv, c.Args,
		// In a pod, controller-runtime reads the Lease namespace from the
		// ServiceAccount mount, which a process on the test machine lacks.
		"--leader-election-namespace="+in.sysNS)
	return in
}

// applySeed applies the article's two manifests, verbatim but for the Vault
// address and the store's name (cluster-scoped, so unique per test), with
// the ExternalSecret in the app namespace.
func (in *install) applySeed(t *testing.T, env *testenv.Env) {
	t.Helper()
	store := "vault-backend-" + in.appNS
	for _, file := range []string{"clustersecretstore.yaml", "externalsecret.yaml"} {
		raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "test", "testdata", "seed", file))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(raw), "https://vault.example.com:8200", env.Vault.Addr, 1)
		text = strings.Replace(text, "name: vault-backend", "name: "+store, 1)
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(text), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if obj.GetKind() == "ExternalSecret" {
			obj.SetNamespace(in.appNS)
		}
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatalf("applying the seed's %s: %v", obj.GetKind(), err)
		}
		if obj.GetKind() == "ClusterSecretStore" {
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
		}
	}
}

// The controller, with exactly the chart's RBAC for all namespaces (bound
// to the chart's ServiceAccount, used through a TokenRequest token) and the
// chart's Deployment arguments, syncs the article's seed scenario with no
// permission error.
func TestChartRBACSyncsSeed(t *testing.T) {
	env := testenv.Get(t)
	in := installChart(t, env, false, nil)
	in.applySeed(t, env)
	in.waitSynced(t, env)
}

// The same in single-namespace mode: the namespaced permissions exist only
// as a Role in the watched namespace, and the login as the controller's own
// ServiceAccount uses the one resourceNames-limited token permission.
func TestChartNamespacedRBACSyncsSeed(t *testing.T) {
	env := testenv.Get(t)
	in := installChart(t, env, true, nil)
	if !slices.Contains(in.proc.cmd.Args, "--namespace="+in.appNS) {
		t.Fatalf("the controller runs without --namespace=%s: %v", in.appNS, in.proc.cmd.Args)
	}
	in.applySeed(t, env)
	in.waitSynced(t, env)
}

// waitSynced waits for the seed's Secret and a SecretSynced condition, and
// checks the controller hit no permission error and logged no secret value.
func (in *install) waitSynced(t *testing.T, env *testenv.Env) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, func() error {
		var s corev1.Secret
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: in.appNS, Name: "prod-database-creds"}, &s); err != nil {
			return err
		}
		if string(s.Data["username"]) != "app" || string(s.Data["password"]) != seedValue || len(s.Data) != 2 {
			return fmt.Errorf("Secret prod-database-creds has %d keys, not yet username and password", len(s.Data))
		}
		return nil
	})
	es := waitReady(t, env, in.appNS, "database-credentials", esv1.ReasonSecretSynced)
	t.Logf("Ready: %s", es.Status.Conditions[0].Message)
	log := in.proc.log(t)
	// Only authorization denials count: the controller watches the cluster
	// and may meet other tests' terminating namespaces ("forbidden: unable
	// to create new content"), which say nothing about the chart's RBAC.
	if denied := testenv.RBACDenials(log); len(denied) > 0 {
		t.Errorf("the controller hit a permission error with the chart's RBAC:\n%s", strings.Join(denied, "\n"))
	}
	if strings.Contains(log, seedValue) {
		t.Errorf("the controller logged a secret value")
	}
}

// With one permission removed from the chart's ClusterRole (patch on
// Secrets, which server-side apply needs), the controller stays up and
// healthy and says exactly what is missing in the ExternalSecret's Ready
// condition and its log, and writes nothing.
func TestChartRBACMissingPermissionIsReported(t *testing.T) {
	env := testenv.Get(t)
	removed := false
	in := installChart(t, env, false, func(o *unstructured.Unstructured) {
		if o.GetKind() != "ClusterRole" {
			return
		}
		var role rbacv1.ClusterRole
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role); err != nil {
			t.Fatal(err)
		}
		for i, r := range role.Rules {
			if slices.Equal(r.Resources, []string{"secrets"}) && slices.Contains(r.Verbs, "patch") {
				role.Rules[i].Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == "patch" })
				removed = true
			}
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&role)
		if err != nil {
			t.Fatal(err)
		}
		o.Object = u
	})
	if !removed {
		t.Fatal("the chart's ClusterRole has no secrets rule with patch to remove")
	}
	in.applySeed(t, env)

	es := waitReady(t, env, in.appNS, "database-credentials", esv1.ReasonSecretSyncedError)
	msg := es.Status.Conditions[0].Message
	t.Logf("Ready False: %s", msg)
	for _, want := range []string{"prod-database-creds", "forbidden", `cannot patch resource "secrets"`, "system:serviceaccount:" + in.sysNS + ":" + seedSA} {
		if !strings.Contains(msg, want) {
			t.Errorf("the Ready message lacks %q: %s", want, msg)
		}
	}
	var s corev1.Secret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: in.appNS, Name: "prod-database-creds"}, &s); err == nil {
		t.Errorf("the Secret was written without the patch permission")
	}
	// Still running and healthy: a missing permission is the user's to fix,
	// not a reason to crash-loop.
	time.Sleep(2 * time.Second)
	select {
	case <-in.proc.exited:
		t.Fatalf("the controller exited: %v\n%s", in.proc.cmd.ProcessState, in.proc.log(t))
	default:
	}
	if err := in.proc.get("/healthz"); err != nil {
		t.Errorf("/healthz after the permission error: %v", err)
	}
	if log := in.proc.log(t); !strings.Contains(log, `cannot patch resource \"secrets\"`) && !strings.Contains(log, `cannot patch resource "secrets"`) {
		t.Errorf("the log does not name the missing permission:\n%s", log)
	}
	if log := in.proc.log(t); strings.Contains(log, "panic") {
		t.Errorf("the controller panicked:\n%s", log)
	}
}

// waitReady waits for the ExternalSecret's Ready condition to have reason.
func waitReady(t *testing.T, env *testenv.Env, ns, name, reason string) *esv1.ExternalSecret {
	t.Helper()
	var es esv1.ExternalSecret
	testenv.Eventually(t, 60*time.Second, func() error {
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
	return &es
}

// controllerProcess is a running `secretbridge controller`.
type controllerProcess struct {
	cmd     *exec.Cmd
	logPath string
	probes  string
	// exited is closed once the process has exited.
	exited chan struct{}
}

// startController starts the image's binary with the chart's args, then the
// test machine's overrides (a later flag wins), and stops it when the test
// ends.
func startController(t *testing.T, env *testenv.Env, kubeconfig string, extraEnv, args []string, overrides ...string) *controllerProcess {
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
	args = append(slices.Clone(args), append(overrides,
		"--kubeconfig="+kubeconfig,
		// The chart's ports (:8080, :8081) on all interfaces would collide
		// with other test packages on this machine.
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", ports[0]),
		"--health-probe-bind-address="+p.probes)...)
	p.cmd = exec.Command(imageBinary(t, env), args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN="), extraEnv...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	p.exited = exited
	go func() { _ = p.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("controller did not stop within 20s of SIGTERM")
		}
		logf.Close()
	})
	testenv.Eventually(t, 30*time.Second, func() error {
		select {
		case <-exited:
			t.Fatalf("the controller exited at start: %v\n%s", p.cmd.ProcessState, p.log(t))
		default:
		}
		return p.get("/readyz")
	})
	return p
}

// get fails unless the probe endpoint answers 200.
func (p *controllerProcess) get(path string) error {
	resp, err := http.Get("http://" + p.probes + path)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	return nil
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
