package e2e

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// The article's gotcha 2 with the seed's manifests: a Vault address that
// does not resolve, a port nobody listens on, and a TLS server whose CA the
// store does not give. The ExternalSecret's and the store's Ready messages
// name the address, the kind of failure and what to check.
func TestSeedUnreachableVault(t *testing.T) {
	env := testenv.Get(t)
	ctrlNS := env.Namespace(t)
	env.ServiceAccount(t, ctrlNS, "external-secrets")
	runController(t, env, "--pod-namespace", ctrlNS, "--service-account-name", "external-secrets")

	tlsServer := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot) // never reached: the handshake fails
	}))
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	ports, err := testenv.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, server string
		want         []string
	}{
		{"dns", "https://vault.example.invalid:8200", []string{"DNS lookup failed", "check the host name in server"}},
		{"refused", fmt.Sprintf("http://127.0.0.1:%d", ports[0]), []string{"connection refused", "is Vault listening on that host and port?"}},
		{"unknown-ca", tlsServer.URL, []string{"TLS certificate signed by an unknown authority", "caBundle or caProvider"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			appNS := env.Namespace(t)
			store := "vault-unreachable-" + tc.name
			start := time.Now()
			applySeedAs(t, env, tc.server, store, appNS, "")
			ready, took := waitReady(t, env, appNS, seedES, corev1.ConditionFalse, start)
			t.Logf("ExternalSecret Ready False (%s) after %s: %s", ready.Reason, took.Round(time.Millisecond), ready.Message)
			for _, want := range append([]string{"cannot reach Vault at " + tc.server}, tc.want...) {
				if !strings.Contains(ready.Message, want) {
					t.Errorf("the ExternalSecret's Ready message lacks %q", want)
				}
			}
			testenv.Eventually(t, 60*time.Second, func() error {
				var css esv1.ClusterSecretStore
				if err := env.Client.Get(t.Context(), client.ObjectKey{Name: store}, &css); err != nil {
					return err
				}
				for _, c := range css.Status.Conditions {
					if c.Type == esv1.ConditionReady && c.Status == corev1.ConditionFalse && strings.Contains(c.Message, tc.want[0]) {
						t.Logf("ClusterSecretStore %s Ready False (%s): %s", store, c.Reason, c.Message)
						return nil
					}
				}
				return fmt.Errorf("store conditions %+v, want Ready False naming %q", css.Status.Conditions, tc.want[0])
			})
			if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: appNS, Name: seedTarget}, &corev1.Secret{}); err == nil {
				t.Errorf("a Secret was written although Vault is unreachable")
			}
		})
	}
}
