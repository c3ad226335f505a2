package secretstore

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"

	// The kubernetes provider reads Secrets of this test API server: a
	// provider with real credentials, identities and referent auth.
	_ "github.com/secretbridge/secretbridge/internal/provider/kubernetes"
)

// kubernetesProvider is a kubernetes provider block for the test API server
// with auth.
func kubernetesProvider(h *harness, auth esv1.KubernetesAuth, remoteNamespace string) esv1.SecretStoreProvider {
	return esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{
		Server:          &esv1.KubernetesServer{URL: h.env.APIServerURL, CABundle: h.env.APIServerCA},
		Auth:            &auth,
		RemoteNamespace: remoteNamespace,
	}}
}

// TestReferentClusterSecretStore: a ClusterSecretStore whose credentials
// name no namespace is resolved per ExternalSecret namespace, so the store
// itself cannot be validated: Ready True, ValidationUnknown, saying why.
func TestReferentClusterSecretStore(t *testing.T) {
	t.Parallel()
	h := start(t)
	css := &esv1.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "referent-" + h.class},
		Spec: esv1.SecretStoreSpec{
			Controller: h.class,
			Provider:   kubernetesProvider(h, esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "reader"}}, ""),
		},
	}
	h.create(t, css)
	ready := h.waitReady(t, css, esv1.ReasonValidationUnknown)
	if ready.Status != corev1.ConditionTrue || !strings.Contains(ready.Message, "spec.provider.kubernetes.auth.serviceAccount has no namespace") {
		t.Errorf("Ready = %s %q, want True naming the referent field", ready.Status, ready.Message)
	}
	if findCondition(&css.Status, esv1.ConditionStalled) != nil {
		t.Errorf("a referent store is Stalled: %+v", css.Status.Conditions)
	}
	h.waitEvents(t, css, map[string]int{evUnknown: 1})
}

// TestMissingCredentialSecret: a credential reference to a Secret that does
// not exist is a configuration error: InvalidProviderConfig, Stalled, and a
// message naming the field and the Secret.
func TestMissingCredentialSecret(t *testing.T) {
	t.Parallel()
	h := start(t)
	ns := h.env.Namespace(t)
	s := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "token", Namespace: ns},
		Spec: esv1.SecretStoreSpec{
			Controller: h.class,
			Provider: kubernetesProvider(h, esv1.KubernetesAuth{Token: &esv1.TokenAuth{
				BearerToken: esv1.SecretKeySelector{Name: "missing", Key: "token"},
			}}, ns),
		},
	}
	h.create(t, s)
	ready := h.waitReady(t, s, esv1.ReasonInvalidProviderConfig)
	want := "spec.provider.kubernetes.auth.token.bearerToken: Secret " + ns + "/missing not found"
	if ready.Status != corev1.ConditionFalse || !strings.Contains(ready.Message, want) {
		t.Errorf("Ready = %s %q, want False containing %q", ready.Status, ready.Message, want)
	}
	if c := findCondition(&s.Status, esv1.ConditionStalled); c == nil || c.Status != corev1.ConditionTrue {
		t.Errorf("Stalled = %+v, want True", c)
	}
	h.waitEvents(t, s, map[string]int{corev1.EventTypeWarning + "/" + esv1.ReasonInvalidProviderConfig: 1})
}

// TestIdentityInMessage: a store validated by the provider says who it
// authenticated as.
func TestIdentityInMessage(t *testing.T) {
	t.Parallel()
	h := start(t)
	ns := h.env.Namespace(t)
	h.env.ServiceAccount(t, ns, "reader")
	h.create(t, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read-secrets", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}}},
	})
	h.create(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "read-secrets"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "reader", Namespace: ns}},
	})
	s := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "sa", Namespace: ns},
		Spec: esv1.SecretStoreSpec{
			Controller: h.class,
			Provider:   kubernetesProvider(h, esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "reader"}}, ns),
		},
	}
	h.create(t, s)
	ready := h.waitReady(t, s, esv1.ReasonStoreValid)
	t.Logf("Ready: %s", ready.Message)
	want := "store validated; authenticated as "
	if ready.Status != corev1.ConditionTrue || !strings.HasPrefix(ready.Message, want) || !strings.Contains(ready.Message, "system:serviceaccount:"+ns+":reader") {
		t.Errorf("Ready = %s %q, want True %q… naming system:serviceaccount:%s:reader", ready.Status, ready.Message, want, ns)
	}
	if strings.Contains(ready.Message, "eyJ") {
		t.Errorf("the message looks like it carries a token: %q", ready.Message)
	}
	h.waitEvents(t, s, map[string]int{evValid: 1})
}
