package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// The controller, running as a ServiceAccount that holds exactly the
// generated ClusterRole (config/rbac/role.yaml), with leader election on,
// syncs an ExternalSecret and a ClusterExternalSecret without any
// permission error.
func TestBinaryRunsWithGeneratedRBAC(t *testing.T) {
	env := testenv.Get(t)
	sysNS, appNS := env.Namespace(t), env.Namespace(t)
	env.ServiceAccount(t, sysNS, "secretbridge")

	raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(raw, &role); err != nil {
		t.Fatal(err)
	}
	role.Name = "secretbridge-controller-" + sysNS
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: sysNS, Name: "secretbridge"}},
	}
	for _, obj := range []client.Object{&role, binding} {
		if err := env.Client.Create(t.Context(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
	}

	// A kubeconfig holding only that ServiceAccount's token.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: env.APIServerURL, CertificateAuthorityData: env.APIServerCA}
	cfg.AuthInfos["secretbridge"] = &clientcmdapi.AuthInfo{Token: env.Token(t, sysNS, "secretbridge")}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "secretbridge"}
	cfg.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	p := runControllerWithKubeconfig(t, env, kubeconfig, "--leader-elect", "--leader-election-namespace", sysNS,
		"--pod-namespace", sysNS, "--service-account-name", "secretbridge")

	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: appNS}}
	store.Spec.Provider.Fake = &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "app", Value: `{"token":"t"}`}}}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: appNS}}
	es.Spec.SecretStoreRef = &esv1.SecretStoreRef{Name: "store"}
	es.Spec.Data = []esv1.ExternalSecretData{{SecretKey: "token", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "token"}}}
	ces := &esv1.ClusterExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "fanout-" + appNS}}
	ces.Spec.Namespaces = []string{appNS}
	ces.Spec.ExternalSecretName = "fanned"
	ces.Spec.ExternalSecretSpec = es.Spec
	for _, obj := range []client.Object{store, es, ces} {
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), ces) })
	waitReason(t, env, appNS, "app", esv1.ReasonSecretSynced)
	waitReason(t, env, appNS, "fanned", esv1.ReasonSecretSynced)
	var s corev1.Secret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: appNS, Name: "fanned"}, &s); err != nil {
		t.Fatal(err)
	}
	// An RBAC denial reads `… is forbidden: User "system:serviceaccount:…"
	// cannot <verb> resource …`. The controller watches the whole cluster, so
	// it also sees other tests' namespaces being deleted, whose "forbidden:
	// unable to create new content" answers are not about permissions.
	if denied := testenv.RBACDenials(p.log(t)); len(denied) > 0 {
		t.Errorf("the controller hit a permission error with the generated RBAC:\n%s", strings.Join(denied, "\n"))
	}
}
