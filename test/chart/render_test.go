package chart

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/secretbridge/secretbridge/internal/testenv"
)

// helm lint passes, strictly (warnings fail), in both modes.
func TestHelmLint(t *testing.T) {
	env := testenv.Get(t)
	for _, args := range [][]string{nil, {"--set", "watchNamespace=team-a"}} {
		out, stderr, err := runHelm(t, env, append([]string{"lint", "--strict", chartDir(env)}, args...)...)
		if err != nil {
			t.Errorf("helm lint %v failed: %v\n%s%s", args, err, out, stderr)
		}
	}
}

// The default values render a cluster-wide controller with every setting
// the chart promises; namespaced mode adds --namespace and moves the
// namespaced permissions into a Role in that namespace.
func TestTemplateDefaults(t *testing.T) {
	env := testenv.Get(t)
	objs := render(t, env, "sb", "secretbridge", nil)

	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		if ns := o.GetNamespace(); ns != "" && ns != "secretbridge" {
			t.Errorf("%s %s is in namespace %q, want the release namespace", o.GetKind(), o.GetName(), ns)
		}
	}
	want := map[string]int{"CustomResourceDefinition": 4, "ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1,
		"Role": 1, "RoleBinding": 1, "Deployment": 1, "Service": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("rendered %d %s, want %d (all kinds: %v)", kinds[k], k, n, kinds)
		}
	}
	for _, k := range []string{"ServiceMonitor", "PodDisruptionBudget", "NetworkPolicy"} {
		if kinds[k] != 0 {
			t.Errorf("%s is optional and off by default, but was rendered", k)
		}
	}
	// The CRDs are exactly config/crd/bases, plus the chart's labels and the keep policy.
	for _, crd := range find(objs, "CustomResourceDefinition") {
		raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "config", "crd", "bases", "external-secrets.io_"+crd.GetName()[:strings.Index(crd.GetName(), ".")]+".yaml"))
		if err != nil {
			t.Fatalf("CRD %s has no source in config/crd/bases: %v", crd.GetName(), err)
		}
		var src unstructured.Unstructured
		if err := yaml.Unmarshal(raw, &src.Object); err != nil {
			t.Fatal(err)
		}
		a, _ := yaml.Marshal(src.Object["spec"])
		b, _ := yaml.Marshal(crd.Object["spec"])
		if !bytes.Equal(a, b) {
			t.Errorf("CRD %s: the chart's spec differs from config/crd/bases; run make generate", crd.GetName())
		}
		if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy: keep", crd.GetName())
		}
	}

	d := one[appsv1.Deployment](t, objs, "Deployment")
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2", *d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	for _, arg := range []string{"controller", "--leader-elect", "--concurrent=1", "--metrics-bind-address=:8080",
		"--health-probe-bind-address=:8081", "--log-level=info", "--log-format=json"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %v lack %s", c.Args, arg)
		}
	}
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--namespace") }) {
		t.Errorf("args %v limit the namespace by default", c.Args)
	}
	if c.Image != "ghcr.io/secretbridge/secretbridge:0.1.0" {
		t.Errorf("image %q, want the appVersion tag", c.Image)
	}
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil || !ptrTrue(psc.RunAsNonRoot) || !ptrTrue(sc.RunAsNonRoot) || !ptrTrue(sc.ReadOnlyRootFilesystem) ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || sc.SeccompProfile == nil ||
		sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault || psc.SeccompProfile == nil {
		t.Errorf("security contexts are not restricted: pod %+v container %+v", psc, sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v lack requests or a memory limit", c.Resources)
	}
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
		c.LivenessProbe.HTTPGet.Port.StrVal != "probes" || c.ReadinessProbe.HTTPGet.Port.StrVal != "probes" {
		t.Errorf("probes: liveness %+v readiness %+v", c.LivenessProbe.HTTPGet, c.ReadinessProbe.HTTPGet)
	}
	fields := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			fields[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	if fields["POD_NAMESPACE"] != "metadata.namespace" || fields["SERVICE_ACCOUNT_NAME"] != "spec.serviceAccountName" {
		t.Errorf("downward API env %v", fields)
	}
	if pod.ServiceAccountName != "sb-secretbridge" {
		t.Errorf("serviceAccountName %q", pod.ServiceAccountName)
	}
	svc := one[corev1.Service](t, objs, "Service")
	if svc.Spec.Ports[0].TargetPort.StrVal != "metrics" || svc.Spec.Ports[0].Port != 8080 {
		t.Errorf("metrics Service ports %+v", svc.Spec.Ports)
	}
}

// Every optional setting renders and lands where it should.
func TestTemplateSettings(t *testing.T) {
	env := testenv.Get(t)
	objs := render(t, env, "sb", "secretbridge", map[string]any{
		"watchNamespace":      "team-a",
		"controllerClass":     "blue",
		"concurrent":          4,
		"replicaCount":        3,
		"log":                 map[string]any{"level": "debug", "format": "text"},
		"extraArgs":           []string{"--endpoint-override=aws-sts=https://sts.internal"},
		"extraEnv":            []map[string]any{{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}},
		"image":               map[string]any{"repository": "registry.internal/sb", "digest": "sha256:" + strings.Repeat("a", 64)},
		"podDisruptionBudget": map[string]any{"enabled": true},
		"networkPolicy":       map[string]any{"enabled": true},
		"metrics":             map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]string{"release": "prom"}}},
	})
	d := one[appsv1.Deployment](t, objs, "Deployment")
	c := d.Spec.Template.Spec.Containers[0]
	for _, arg := range []string{"--namespace=team-a", "--controller-class=blue", "--concurrent=4", "--log-level=debug",
		"--log-format=text", "--endpoint-override=aws-sts=https://sts.internal"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %v lack %s", c.Args, arg)
		}
	}
	if *d.Spec.Replicas != 3 || c.Image != "registry.internal/sb@sha256:"+strings.Repeat("a", 64) {
		t.Errorf("replicas %d image %q", *d.Spec.Replicas, c.Image)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "HTTPS_PROXY" }) {
		t.Errorf("env %v lacks extraEnv", c.Env)
	}
	for _, k := range []string{"PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"} {
		if len(find(objs, k)) != 1 {
			t.Errorf("%s enabled but not rendered", k)
		}
	}
	roles := find(objs, "Role")
	var inWatched bool
	for _, r := range roles {
		inWatched = inWatched || r.GetNamespace() == "team-a"
	}
	if !inWatched {
		t.Errorf("namespaced mode rendered no Role in the watched namespace")
	}
}

// values.schema.json refuses values of the wrong type, unknown keys and
// invalid enums before anything is rendered.
func TestSchemaRejectsWrongValues(t *testing.T) {
	env := testenv.Get(t)
	for name, values := range map[string]map[string]any{
		"replicaCount string":       {"replicaCount": "two"},
		"concurrent zero":           {"concurrent": 0},
		"log level unknown":         {"log": map[string]any{"level": "verbose"}},
		"log format unknown":        {"log": map[string]any{"format": "xml"}},
		"watchNamespace list":       {"watchNamespace": []string{"a", "b"}},
		"unknown top-level key":     {"replicas": 3},
		"unknown nested key":        {"image": map[string]any{"name": "x"}},
		"pullPolicy unknown":        {"image": map[string]any{"pullPolicy": "Sometimes"}},
		"extraArgs not strings":     {"extraArgs": []any{1}},
		"leaderElection not bool":   {"leaderElection": map[string]any{"enabled": "yes"}},
		"metrics port out of range": {"metrics": map[string]any{"port": 70000}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := renderRaw(t, env, "sb", "secretbridge", values)
			if err == nil {
				t.Fatalf("helm template accepted %v", values)
			}
			if !strings.Contains(err.Error(), "schema") {
				t.Errorf("refused for another reason than the schema: %v", err)
			}
		})
	}
}

// The rendered manifests, default and namespaced, are accepted by the real
// API server in a server-side dry-run apply. The CRDs are already installed
// by testenv (created, not applied), so --force-conflicts lets the dry run
// take over fields another manager set, as `helm upgrade` over a kubectl
// install would.
func TestManifestsPassServerSideDryRun(t *testing.T) {
	env := testenv.Get(t)
	for name, values := range map[string]func(watched string) map[string]any{
		"default":    func(string) map[string]any { return nil },
		"namespaced": func(w string) map[string]any { return map[string]any{"watchNamespace": w} },
		"all optional objects but the ServiceMonitor": func(string) map[string]any {
			return map[string]any{"podDisruptionBudget": map[string]any{"enabled": true, "maxUnavailable": 1},
				"networkPolicy": map[string]any{"enabled": true, "egress": []map[string]any{{"ports": []map[string]any{{"port": 53, "protocol": "UDP"}}}}}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			ns, watched := env.Namespace(t), env.Namespace(t)
			out, err := renderRaw(t, env, "sb", ns, values(watched))
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "manifests.yaml")
			if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(filepath.Join(env.RepoRoot, "bin", "kubectl"), "--kubeconfig", env.KubeconfigPath,
				"apply", "--server-side", "--dry-run=server", "--force-conflicts", "--field-manager=chart-test", "-f", file)
			res, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("server-side dry-run apply refused the chart: %v\n%s", err, res)
			}
			objs, _ := parseManifests(out)
			if n := strings.Count(string(res), "serverside-applied (server dry run)"); n != len(objs) {
				t.Errorf("%d of %d objects applied:\n%s", n, len(objs), res)
			}
		})
	}
}

// The controller pod satisfies the "restricted" Pod Security Standard: the
// API server's PodSecurity admission accepts the chart's pod in a namespace
// that enforces it, and refuses the same pod with one setting loosened (so
// the check is really on).
func TestPodIsRestricted(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	var nsObj corev1.Namespace
	if err := env.Client.Get(t.Context(), client.ObjectKey{Name: ns}, &nsObj); err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if err := env.Client.Update(t.Context(), &nsObj); err != nil {
		t.Fatal(err)
	}
	d := one[appsv1.Deployment](t, render(t, env, "sb", ns, nil), "Deployment")
	pod := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "sb-", Namespace: ns, Labels: d.Spec.Template.Labels},
			Spec: *d.Spec.Template.Spec.DeepCopy()}
	}
	dryRun := func(p *corev1.Pod) error {
		return env.Client.Create(context.Background(), p, client.DryRunAll)
	}
	// The ServiceAccount must exist for the pod to be admitted at all.
	env.ServiceAccount(t, ns, d.Spec.Template.Spec.ServiceAccountName)
	if err := dryRun(pod()); err != nil {
		t.Fatalf("the chart's pod is refused under restricted Pod Security: %v", err)
	}
	loose := pod()
	loose.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr(true)
	if err := dryRun(loose); err == nil || !strings.Contains(err.Error(), "PodSecurity") {
		t.Fatalf("a pod with allowPrivilegeEscalation=true was not refused by PodSecurity (%v): the check proves nothing", err)
	}
}

func ptrTrue(b *bool) bool { return b != nil && *b }

func ptr[T any](v T) *T { return &v }

// The switches that turn parts of the chart off do so, and combinations
// that cannot work are refused with a message that names the value.
func TestTemplateToggles(t *testing.T) {
	env := testenv.Get(t)
	objs := render(t, env, "sb", "secretbridge", map[string]any{
		"crds":           map[string]any{"install": false},
		"rbac":           map[string]any{"create": false},
		"serviceAccount": map[string]any{"create": false, "name": "existing"},
		"metrics":        map[string]any{"service": map[string]any{"enabled": false}},
	})
	for _, k := range []string{"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount", "Service"} {
		if n := len(find(objs, k)); n != 0 {
			t.Errorf("%d %s rendered although switched off", n, k)
		}
	}
	if sa := one[appsv1.Deployment](t, objs, "Deployment").Spec.Template.Spec.ServiceAccountName; sa != "existing" {
		t.Errorf("serviceAccountName %q, want the existing one", sa)
	}
	if d := one[appsv1.Deployment](t, render(t, env, "sb", "secretbridge", map[string]any{"leaderElection": map[string]any{"enabled": false}}), "Deployment"); slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--leader-elect") {
		t.Errorf("leaderElection.enabled=false still passes --leader-elect")
	}
	for name, tc := range map[string]struct {
		values map[string]any
		want   string
	}{
		"existing ServiceAccount without a name": {map[string]any{"serviceAccount": map[string]any{"create": false}}, "serviceAccount.name is required"},
		"ServiceMonitor without the Service": {map[string]any{"metrics": map[string]any{"service": map[string]any{"enabled": false},
			"serviceMonitor": map[string]any{"enabled": true}}}, "metrics.service.enabled"},
	} {
		if _, err := renderRaw(t, env, "sb", "secretbridge", tc.values); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", name, err, tc.want)
		}
	}
}
