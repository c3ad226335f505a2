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
	"github.com/secretbridge/secretbridge/internal/provider/gcp/gcptest"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// The built binary, pointed at the Google Cloud wire-protocol test server
// with --endpoint-override and trusting its CA through SSL_CERT_FILE (no
// insecure option), syncs one ExternalSecret through a SecretStore with a
// service-account JSON key and one through GKE workload identity: a token
// of a ServiceAccount, requested from the real API server with the
// TokenRequest API, exchanged at STS and then for the Google service
// account named by the iam.gke.io/gcp-service-account annotation. Each
// identity gets one token, whatever the number of syncs, and no value
// reaches the log.
func TestBinarySyncsGCP(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	srv := gcptest.New(t, gcptest.Options{})

	const (
		project       = "e2e-project"
		pool          = project + ".svc.id.goog"
		keyValue      = marker + "-gcp-key"
		workloadValue = marker + "-gcp-wi"
	)
	srv.AddSecret("projects/"+project+"/secrets/app-db", map[string]string{"team": "a"}, nil)
	srv.AddVersion("projects/"+project+"/secrets/app-db", []byte(fmt.Sprintf(`{"username":"app","password":%q}`, keyValue)))
	srv.AddVersion("projects/"+project+"/secrets/wi", []byte(workloadValue))

	// Service-account key: an account allowed to read and list the project.
	keyEmail := "e2e-reader@" + project + ".iam.gserviceaccount.com"
	key, err := srv.ServiceAccountKey(keyEmail, project)
	if err != nil {
		t.Fatal(err)
	}
	srv.Grant(gcptest.Member(keyEmail), gcptest.RoleSecretAccessor, "projects/"+project)
	srv.Grant(gcptest.Member(keyEmail), gcptest.RoleViewer, "projects/"+project)
	keySecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gcp-key", Namespace: ns}, StringData: map[string]string{"sa.json": string(key)}}

	// Workload identity: the cluster's pool trusts the namespace's
	// ServiceAccount, which may impersonate a reader of secret "wi" only.
	const location, cluster = "europe-west1", "e2e"
	srv.TrustPool(fmt.Sprintf("identitynamespace:%s:https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s", pool, project, location, cluster), pool)
	gsa := "e2e-wi@" + project + ".iam.gserviceaccount.com"
	srv.AllowImpersonation(gcptest.GKEMember(pool, ns, "app-reader"), gsa)
	srv.Grant(gcptest.Member(gsa), gcptest.RoleSecretAccessor, "projects/"+project+"/secrets/wi")
	sa := env.ServiceAccount(t, ns, "app-reader")
	sa.Annotations = map[string]string{"iam.gke.io/gcp-service-account": gsa}
	if err := env.Client.Update(t.Context(), sa); err != nil {
		t.Fatal(err)
	}

	store := func(name string, auth *esv1.GCPSMAuth) *esv1.SecretStore {
		s := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		s.Spec.Provider.GCPSM = &esv1.GCPSMProvider{ProjectID: project, Auth: auth}
		return s
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
	keyAuth := &esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{SecretAccessKey: &esv1.SecretKeySelector{Name: "gcp-key", Key: "sa.json"}}}
	wiAuth := &esv1.GCPSMAuth{WorkloadIdentity: &esv1.GCPWorkloadIdentity{
		ServiceAccountRef: esv1.ServiceAccountSelector{Name: "app-reader"},
		ClusterLocation:   location,
		ClusterName:       cluster,
	}}

	p := runControllerWithEnv(t, env, []string{"SSL_CERT_FILE=" + srv.CAFile},
		"--endpoint-override", "gcp.secretmanager="+srv.GRPCURL,
		"--endpoint-override", "gcp.sts="+srv.URL,
		"--endpoint-override", "gcp.iamcredentials="+srv.URL,
	)
	logOnFailure(t, p)
	start := time.Now()
	for _, obj := range []client.Object{
		keySecret,
		store("gcp-key", keyAuth),
		store("gcp-wi", wiAuth),
		externalSecret("key", "gcp-key", ref("username", "app-db", "username"), ref("password", "app-db", "password")),
		externalSecret("wi", "gcp-wi", ref("value", "wi", "")),
	} {
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		want map[string]string
	}{
		{"key", map[string]string{"username": "app", "password": keyValue}},
		{"wi", map[string]string{"value": workloadValue}},
	} {
		took := waitTargetData(t, env, ns, c.name, c.want, start)
		t.Logf("%s: Secret synced %s after creating the objects", c.name, took.Round(time.Millisecond))
		waitReason(t, env, ns, c.name, esv1.ReasonSecretSynced)
	}

	// Validation proves read access by listing: the key's account may list
	// (Valid); the workload identity account may only read one secret, so
	// its store is ValidationUnknown with the missing permission named.
	for _, c := range []struct{ store, reason, text string }{
		{"gcp-key", esv1.ReasonStoreValid, ""},
		{"gcp-wi", esv1.ReasonValidationUnknown, "secretmanager.secrets.list"},
	} {
		testenv.Eventually(t, 30*time.Second, func() error {
			var st esv1.SecretStore
			if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: c.store}, &st); err != nil {
				return err
			}
			for _, cond := range st.Status.Conditions {
				if cond.Type == esv1.ConditionReady && cond.Reason == c.reason && strings.Contains(cond.Message, c.text) {
					return nil
				}
			}
			return fmt.Errorf("SecretStore %s: conditions %+v, want reason %s mentioning %q", c.store, st.Status.Conditions, c.reason, c.text)
		})
	}

	// Two more forced syncs read again but sign in again never.
	reads := srv.Calls(gcptest.OpAccessSecretVersion)
	for round := 1; round <= 2; round++ {
		for _, name := range []string{"key", "wi"} {
			forceSyncES(t, env, ns, name)
		}
		testenv.Eventually(t, 30*time.Second, func() error {
			if n, want := srv.Calls(gcptest.OpAccessSecretVersion), reads+2*round; n < want {
				return fmt.Errorf("%d AccessSecretVersion calls so far, want %d", n, want)
			}
			return nil
		})
	}
	for op, want := range map[string]int{gcptest.OpOAuthToken: 1, gcptest.OpSTSToken: 1, gcptest.OpGenerateAccessToken: 1} {
		if n := srv.Calls(op); n != want {
			t.Errorf("%s called %d times over 3 syncs, want %d (tokens cached per store identity)", op, n, want)
		}
	}
	assertNoSecretValues(t, env, p, []string{marker}, []string{ns}, nil)
}
