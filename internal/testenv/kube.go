package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace named after the test and deletes it (and, via
// the namespace controller, everything in it) when the test ends.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	prefix := nonName.ReplaceAllString(strings.ToLower(t.Name()), "-")
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: strings.Trim(prefix, "-") + "-"}}
	created, err := e.Kube.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a namespace for %s: %v", t.Name(), err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		err := e.Kube.CoreV1().Namespaces().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", created.Name, err)
		}
	})
	return created.Name
}

// ServiceAccount creates a ServiceAccount in ns.
func (e *Env) ServiceAccount(t testing.TB, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := e.Kube.CoreV1().ServiceAccounts(ns).Create(t.Context(),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating ServiceAccount %s/%s: %v", ns, name, err)
	}
	return sa
}

// Token mints a short-lived token for a ServiceAccount with the TokenRequest
// API, for the given audiences (none: the API server's own).
func (e *Env) Token(t testing.TB, ns, name string, audiences ...string) string {
	t.Helper()
	expiry := int64(600)
	tr, err := e.Kube.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for ServiceAccount %s/%s: %v", ns, name, err)
	}
	return tr.Status.Token
}

// AllowTokenReview binds a ServiceAccount to system:auth-delegator, which
// Vault's Kubernetes auth needs because it reviews a login's token with that
// same token. The binding is removed when the test ends.
func (e *Env) AllowTokenReview(t testing.TB, ns, name string) {
	t.Helper()
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "auth-delegator-" + ns + "-" + name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: name}},
	}
	if _, err := e.Kube.RbacV1().ClusterRoleBindings().Create(t.Context(), crb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("binding %s/%s to system:auth-delegator: %v", ns, name, err)
	}
	t.Cleanup(func() {
		_ = e.Kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
	})
}

// VaultKubernetesRole creates a role in auth/kubernetes bound to one
// ServiceAccount, granting the given policies, and a policy named after the
// role for each rules entry (policy name → HCL).
func (e *Env) VaultKubernetesRole(t testing.TB, role, ns, sa string, policies map[string]string) {
	t.Helper()
	names := []string{}
	for name, hcl := range policies {
		e.Vault.Write(t, "PUT", "sys/policies/acl/"+name, map[string]any{"policy": hcl})
		names = append(names, name)
	}
	e.Vault.Write(t, "POST", "auth/kubernetes/role/"+role, map[string]any{
		"bound_service_account_names":      []string{sa},
		"bound_service_account_namespaces": []string{ns},
		"token_policies":                   names,
		"token_ttl":                        "10m",
	})
}

// randomSuffix returns 8 random hex characters.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Unique returns prefix followed by 8 random hex characters, for names that
// must not collide between the tests sharing one set of servers.
func Unique(prefix string) string { return prefix + randomSuffix() }

// Secret creates Secret ns/name holding data; it goes with its namespace.
func (e *Env) Secret(t testing.TB, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	if err := e.Client.Create(context.Background(), s); err != nil {
		t.Fatalf("creating Secret %s/%s: %v", ns, name, err)
	}
}

// MustContain fails the test (without stopping it) for each of subs that s
// does not contain; what names s in the message.
func MustContain(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// rbacDenied matches the API server's authorization error for a
// ServiceAccount, plain or JSON-escaped as in a controller's log.
var rbacDenied = regexp.MustCompile(`forbidden: User \\?"system:serviceaccount:[^"\\]*\\?" cannot [a-z]+ resource[^\n]*`)

// RBACDenials returns the authorization denials of a ServiceAccount found in
// log, one per line. Other "forbidden" answers — a namespace being deleted
// refuses new objects, which a cluster-wide controller meets whenever another
// test's namespace goes away — say nothing about permissions and are left out.
func RBACDenials(log string) []string { return rbacDenied.FindAllString(log, -1) }
