package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider/azure/azuretest"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// The built binary, pointed at the Azure wire-protocol test server with
// --endpoint-override azure.login (Entra ID) and azure.vault (where vault
// requests go; the store keeps a real *.vault.azure.net URL, so the SDK's
// challenge check runs as in production) and trusting the server's CA
// through SSL_CERT_FILE, syncs one ExternalSecret through a service
// principal with a client secret and one through workload identity (a
// ServiceAccount token from the real API server's TokenRequest, matched by
// a federated credential and checked with the API server's signing key).
// Each identity signs in once over three syncs, and no value reaches the
// log.
func TestBinarySyncsAzure(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	srv := azuretest.New(t, azuretest.Options{})
	caFile, err := srv.WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const vault = "e2e-vault"
	srv.AddVault(vault, false)
	const (
		spValue = marker + "-azure-sp"
		wiValue = marker + "-azure-wi"
	)
	srv.SetSecret(vault, "app-db", fmt.Sprintf(`{"username":"app","password":%q}`, spValue), azuretest.ObjectOptions{})
	srv.SetSecret(vault, "wi-token", wiValue, azuretest.ObjectOptions{})

	// Service principal: an application with a client secret.
	clientSecret := marker + "-client-secret"
	spID := srv.AddApplication(clientSecret)
	srv.Grant(vault, spID, azuretest.SecretsGet, azuretest.SecretsList)
	creds := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "azure-sp", Namespace: ns},
		StringData: map[string]string{"client-id": spID, "client-secret": clientSecret},
	}

	// Workload identity: an application trusting this namespace's
	// ServiceAccount "app-reader".
	wiID := srv.AddFederatedApplication(azuretest.FederatedCredential{
		Issuer:       env.ServiceAccountIssuer,
		Subject:      fmt.Sprintf("system:serviceaccount:%s:app-reader", ns),
		PublicKeyPEM: env.ServiceAccountPublicKey,
	})
	srv.Grant(vault, wiID, azuretest.SecretsGet, azuretest.SecretsList)
	sa := env.ServiceAccount(t, ns, "app-reader")
	sa.Annotations = map[string]string{"azure.workload.identity/client-id": wiID, "azure.workload.identity/tenant-id": srv.TenantID}
	if err := env.Client.Update(t.Context(), sa); err != nil {
		t.Fatal(err)
	}

	sel := func(k string) *esv1.SecretKeySelector { return &esv1.SecretKeySelector{Name: "azure-sp", Key: k} }
	spStore := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "azure-sp", Namespace: ns}}
	spStore.Spec.Provider.AzureKV = &esv1.AzureKVProvider{
		VaultURL:      azuretest.VaultURL(vault),
		TenantID:      srv.TenantID,
		AuthSecretRef: &esv1.AzureKVAuth{ClientID: sel("client-id"), ClientSecret: sel("client-secret")},
	}
	wiStore := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "azure-wi", Namespace: ns}}
	wiStore.Spec.Provider.AzureKV = &esv1.AzureKVProvider{
		VaultURL:          azuretest.VaultURL(vault),
		AuthType:          esv1.AzureWorkloadIdentity,
		ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "app-reader"},
	}
	externalSecret := func(name, storeName string, data ...esv1.ExternalSecretData) *esv1.ExternalSecret {
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		es.Spec.SecretStoreRef = &esv1.SecretStoreRef{Name: storeName}
		es.Spec.RefreshInterval = &metav1.Duration{Duration: time.Hour}
		es.Spec.Data = data
		return es
	}
	ref := func(secretKey, key, property string) esv1.ExternalSecretData {
		return esv1.ExternalSecretData{SecretKey: secretKey, RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: property}}
	}

	p := runControllerWithEnv(t, env, []string{"SSL_CERT_FILE=" + caFile},
		"--endpoint-override", "azure.login="+srv.URL,
		"--endpoint-override", "azure.vault="+srv.URL,
	)
	logOnFailure(t, p)
	start := time.Now()
	for _, obj := range []client.Object{
		creds, spStore, wiStore,
		externalSecret("sp", "azure-sp", ref("username", "app-db", "username"), ref("password", "secret/app-db", "password")),
		externalSecret("wi", "azure-wi", ref("token", "wi-token", "")),
	} {
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		want map[string]string
	}{
		{"sp", map[string]string{"username": "app", "password": spValue}},
		{"wi", map[string]string{"token": wiValue}},
	} {
		took := waitTargetData(t, env, ns, c.name, c.want, start)
		t.Logf("%s: Secret synced %s after creating the objects", c.name, took.Round(time.Millisecond))
		waitReason(t, env, ns, c.name, esv1.ReasonSecretSynced)
	}

	// Two more forced syncs read again but sign in again never.
	base := srv.Calls(azuretest.OpGetSecret)
	for round := 1; round <= 2; round++ {
		for _, name := range []string{"sp", "wi"} {
			forceSyncES(t, env, ns, name)
		}
		testenv.Eventually(t, 30*time.Second, func() error {
			if n, want := srv.Calls(azuretest.OpGetSecret), base+2*round; n < want {
				return fmt.Errorf("%d secret reads so far, want %d", n, want)
			}
			return nil
		})
	}
	// Store validation lists secrets with the same token; each identity
	// (two stores) signs in once.
	if n := srv.Calls(azuretest.OpToken); n != 2 {
		t.Errorf("%d token requests over 3 syncs of 2 stores, want 2 (tokens cached per store identity)", n)
	}
	log := p.log(t)
	for _, leak := range []string{spValue, wiValue, clientSecret} {
		if strings.Contains(log, leak) {
			t.Errorf("the controller logged a secret value or credential")
		}
	}
}
