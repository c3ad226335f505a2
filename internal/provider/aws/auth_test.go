package aws

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/aws/awstest"
)

// lastPrincipal returns the caller of the last GetSecretValue.
func lastPrincipal(t *testing.T, srv *awstest.Server) string {
	t.Helper()
	reqs := srv.Requests(awstest.OpGetSecretValue)
	if len(reqs) == 0 {
		t.Fatal("no GetSecretValue request")
	}
	return reqs[len(reqs)-1].Principal
}

func TestSecretRefNamespaces(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	good := f.srv.AddUser("good", awstest.AllowAll)
	bad := f.srv.AddUser("bad", nil)
	other := f.env.Namespace(t)

	// The same Secret name holds different keys in two namespaces.
	f.createSecret(t, f.ns, "aws", map[string]string{"id": good.AccessKeyID, "key": good.SecretAccessKey})
	f.createSecret(t, other, "aws", map[string]string{"id": bad.AccessKeyID, "key": bad.SecretAccessKey})
	f.createSecret(t, other, "aws-good", map[string]string{"id": good.AccessKeyID, "key": good.SecretAccessKey})
	keys := func(ns, name string) *esv1.AWSAuth {
		return &esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{
			AccessKeyID:     &esv1.SecretKeySelector{Name: name, Namespace: ns, Key: "id"},
			SecretAccessKey: &esv1.SecretKeySelector{Name: name, Namespace: ns, Key: "key"},
		}}
	}
	withAuth := func(a *esv1.AWSAuth) *esv1.AWSProvider {
		spec := f.spec(esv1.AWSServiceSecretsManager)
		spec.Auth = a
		return spec
	}
	cases := []struct {
		name      string
		store     provider.Store
		referent  string
		wantUser  string
		wantErr   error
		wantInErr string
	}{
		{name: "SecretStore ignores the selector's namespace", store: namespacedStore(f.ns, withAuth(keys(other, "aws"))), referent: f.ns, wantUser: "good"},
		{name: "ClusterSecretStore uses the selector's namespace", store: clusterStore(withAuth(keys(other, "aws-good"))), referent: f.ns, wantUser: "good"},
		{name: "ClusterSecretStore without namespace uses the referent", store: clusterStore(withAuth(keys("", "aws"))), referent: f.ns, wantUser: "good"},
		{name: "ClusterSecretStore referent in another namespace", store: clusterStore(withAuth(keys("", "aws"))), referent: other, wantUser: "bad"},
		{name: "ClusterSecretStore without namespace or referent", store: clusterStore(withAuth(keys("", "aws"))), wantErr: provider.ErrNoReferentNamespace},
		{name: "missing Secret", store: namespacedStore(f.ns, withAuth(keys("", "nope"))), wantInErr: "Secret " + f.ns + "/nope not found"},
		{name: "missing key", store: namespacedStore(f.ns, withAuth(&esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{
			AccessKeyID:     &esv1.SecretKeySelector{Name: "aws", Key: "id"},
			SecretAccessKey: &esv1.SecretKeySelector{Name: "aws", Key: "secret"},
		}})), wantInErr: `has no key "secret" (its keys: "id", "key")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := f.p.NewClient(t.Context(), tc.store, f.env.Client, tc.referent)
			if tc.wantErr != nil || tc.wantInErr != "" {
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("NewClient = %v, want %v", err, tc.wantErr)
				}
				var ce *provider.ConfigError
				if tc.wantInErr != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), tc.wantInErr)) {
					t.Fatalf("NewClient = %v, want a ConfigError containing %q", err, tc.wantInErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			defer cl.Close(t.Context())
			_, err = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
			if tc.wantUser == "bad" {
				var denied *AccessDeniedError
				if !errors.As(err, &denied) || denied.Principal != f.srv.UserARN("bad") {
					t.Fatalf("GetSecret = %v, want access denied to user bad", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetSecret: %v", err)
			}
			if got := lastPrincipal(t, f.srv); got != f.srv.UserARN(tc.wantUser) {
				t.Fatalf("signed as %s, want user %s", got, tc.wantUser)
			}
		})
	}
}

// serviceAccount creates a ServiceAccount in ns with annotations.
func (f *fixture) serviceAccount(t *testing.T, ns, name string, annotations map[string]string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations}}
	if _, err := f.env.Kube.CoreV1().ServiceAccounts(ns).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ServiceAccount %s/%s: %v", ns, name, err)
	}
}

// webRole creates a role that ServiceAccount ns/sa may assume with a token
// of audience from the test API server, verified with its signing key.
func (f *fixture) webRole(ns, sa, audience string, policy awstest.Policy) string {
	return f.srv.AddRole(awstest.Role{
		Name:   unique("web-"),
		Policy: policy,
		WebIdentity: &awstest.WebIdentityTrust{
			Audience:     audience,
			Subject:      fmt.Sprintf("system:serviceaccount:%s:%s", ns, sa),
			Issuer:       f.env.ServiceAccountIssuer,
			PublicKeyPEM: f.env.ServiceAccountPublicKey,
		},
	})
}

// jwtSpec returns a spec that authenticates as ServiceAccount name.
func (f *fixture) jwtSpec(service esv1.AWSServiceType, sa esv1.ServiceAccountSelector) *esv1.AWSProvider {
	spec := f.spec(service)
	spec.Auth = &esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &sa}}
	return spec
}

func TestJWTAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	ns := f.ns
	annotated := f.webRole(ns, "annotated", "sts.amazonaws.com", awstest.AllowAll)
	f.serviceAccount(t, ns, "annotated", map[string]string{roleAnnotation: annotated})
	bare := f.webRole(ns, "bare", "sts.amazonaws.com", awstest.AllowAll)
	f.serviceAccount(t, ns, "bare", nil)
	custom := f.webRole(ns, "custom", "my-audience", awstest.AllowAll)
	f.serviceAccount(t, ns, "custom", map[string]string{roleAnnotation: custom, audienceAnnotation: "my-audience"})
	untrusted := f.webRole(ns, "someone-else", "sts.amazonaws.com", awstest.AllowAll)
	f.serviceAccount(t, ns, "untrusted", map[string]string{roleAnnotation: untrusted})
	onTop := f.srv.AddRole(awstest.Role{Name: unique("on-top-"), Policy: awstest.AllowAll, TrustedPrincipals: []string{annotated}})

	cases := []struct {
		name          string
		store         provider.Store
		referent      string
		wantRoles     []string // roles assumed, in order
		wantAudiences []string
		wantBuildErr  string
		wantReadErr   string
	}{
		{name: "role from the annotation", store: namespacedStore(ns, f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "annotated"})),
			wantRoles: []string{annotated}, wantAudiences: []string{"sts.amazonaws.com"}},
		{name: "role assumed on top of the annotation's", store: namespacedStore(ns, func() *esv1.AWSProvider {
			s := f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "annotated"})
			s.Role = onTop
			return s
		}()), wantRoles: []string{annotated, onTop}},
		{name: "role without annotation", store: namespacedStore(ns, func() *esv1.AWSProvider {
			s := f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "bare"})
			s.Role = bare
			return s
		}()), wantRoles: []string{bare}},
		{name: "audience annotation and extra audiences", store: namespacedStore(ns, f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "custom", Audiences: []string{"extra"}})),
			wantRoles: []string{custom}, wantAudiences: []string{"my-audience", "extra"}},
		{name: "ClusterSecretStore uses the referent namespace", store: clusterStore(f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "annotated"})),
			referent: ns, wantRoles: []string{annotated}},
		{name: "ClusterSecretStore with the ServiceAccount's namespace", store: clusterStore(f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "annotated", Namespace: ns})),
			wantRoles: []string{annotated}},
		{name: "no annotation and no role", store: namespacedStore(ns, f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "bare"})),
			wantBuildErr: "has no eks.amazonaws.com/role-arn annotation"},
		{name: "externalID needs the annotation", store: namespacedStore(ns, func() *esv1.AWSProvider {
			s := f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "bare"})
			s.Role, s.ExternalID = bare, "ext"
			return s
		}()), wantBuildErr: "takes no externalID or session tags"},
		{name: "missing ServiceAccount", store: namespacedStore(ns, f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "nope"})),
			wantBuildErr: "ServiceAccount " + ns + "/nope not found"},
		{name: "trust policy for another subject", store: namespacedStore(ns, f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "untrusted"})),
			wantReadErr: "cannot assume role " + untrusted + " (the eks.amazonaws.com/role-arn annotation of ServiceAccount " + ns + "/untrusted) with sts:AssumeRoleWithWebIdentity as ServiceAccount " + ns + "/untrusted: AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cl, err := f.p.NewClient(t.Context(), tc.store, f.env.Client, tc.referent)
			if tc.wantBuildErr != "" {
				var ce *provider.ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.wantBuildErr) {
					t.Fatalf("NewClient = %v, want a ConfigError containing %q", err, tc.wantBuildErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			defer cl.Close(t.Context())
			got, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
			if tc.wantReadErr != "" {
				var re *RoleError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.wantReadErr) {
					t.Fatalf("GetSecret = %v, want a RoleError containing %q", err, tc.wantReadErr)
				}
				mustContain(t, "error", err.Error(), "sub = system:serviceaccount:"+ns+":untrusted")
				return
			}
			if err != nil || string(got) != "value" {
				t.Fatalf("GetSecret = %q, %v", got, err)
			}
			var roles []string
			var audiences []string
			for _, c := range f.srv.AssumeRoleCalls() {
				if c.Credentials.AccessKeyID == "" {
					continue
				}
				if c.Op == awstest.OpAssumeRoleWithWebIdentity && c.RoleARN == tc.wantRoles[0] {
					roles, audiences = []string{c.RoleARN}, c.Audience
					if c.Caller != "system:serviceaccount:"+ns+":"+serviceAccountOf(tc.store) {
						t.Errorf("token subject = %s", c.Caller)
					}
				}
			}
			for _, c := range f.srv.AssumeRoleCalls() {
				if c.Op == awstest.OpAssumeRole && len(tc.wantRoles) > 1 && c.RoleARN == tc.wantRoles[1] {
					roles = append(roles, c.RoleARN)
				}
			}
			if !slices.Equal(roles, tc.wantRoles) {
				t.Errorf("roles assumed = %v, want %v", roles, tc.wantRoles)
			}
			if tc.wantAudiences != nil && !slices.Equal(audiences, tc.wantAudiences) {
				t.Errorf("token audiences = %v, want %v", audiences, tc.wantAudiences)
			}
			last := tc.wantRoles[len(tc.wantRoles)-1]
			wantPrincipal := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", f.srv.AccountID, strings.TrimPrefix(last[strings.LastIndex(last, ":")+1:], "role/"), sessionName)
			if p := principalOf(t, f.srv, cl); p != wantPrincipal {
				t.Errorf("read as %s, want %s", p, wantPrincipal)
			}
		})
	}
}

// serviceAccountOf returns the ServiceAccount a jwt store names.
func serviceAccountOf(s provider.Store) string {
	return s.StoreSpec().Provider.AWS.Auth.JWTAuth.ServiceAccountRef.Name
}

// principalOf returns who cl's requests are signed as, by Validate's
// sts:GetCallerIdentity (the identity is known even when the list call
// that follows is denied).
func principalOf(t *testing.T, _ *awstest.Server, cl provider.Client) string {
	t.Helper()
	v, err := cl.Validate(t.Context())
	if v.Identity == "" {
		t.Fatalf("Validate = %+v, %v", v, err)
	}
	return v.Identity
}

func TestRoleChaining(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	spec, _ := f.staticSpec(t, esv1.AWSServiceSecretsManager, nil)
	// The user's ARN is what the first role trusts: ask GetCallerIdentity
	// through a client without roles.
	base := principalOf(t, f.srv, f.client(t, namespacedStore(f.ns, spec), f.ns))

	first := f.srv.AddRole(awstest.Role{Name: "first", TrustedPrincipals: []string{base}})
	second := f.srv.AddRole(awstest.Role{Name: "second", TrustedPrincipals: []string{first}})
	final := f.srv.AddRole(awstest.Role{Name: "final", Policy: awstest.AllowAll, TrustedPrincipals: []string{second}, ExternalID: "ext-42", AllowTagSession: true})
	chained := *spec
	chained.AdditionalRoles = []string{first, second}
	chained.Role = final
	chained.ExternalID = "ext-42"
	chained.SessionTags = []esv1.Tag{{Key: "team", Value: "payments"}}
	chained.TransitiveTagKeys = []string{"team"}
	chained.SessionTagsPolicy = esv1.AWSSessionTagsPolicySimple

	cl := f.client(t, namespacedStore(f.ns, &chained), f.ns)
	if got, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil || string(got) != "value" {
		t.Fatalf("GetSecret = %q, %v", got, err)
	}
	calls := f.srv.AssumeRoleCalls()
	if len(calls) != 3 {
		t.Fatalf("AssumeRole calls = %+v, want 3", calls)
	}
	wantCallers := []string{base, "arn:aws:sts::123456789012:assumed-role/first/secretbridge", "arn:aws:sts::123456789012:assumed-role/second/secretbridge"}
	for i, role := range []string{first, second, final} {
		if calls[i].RoleARN != role || calls[i].Caller != wantCallers[i] || calls[i].SessionName != sessionName || calls[i].DurationSeconds != 3600 {
			t.Errorf("call %d = %+v, want role %s by %s", i, calls[i], role, wantCallers[i])
		}
	}
	if calls[0].ExternalID != "" || len(calls[0].Tags) != 0 {
		t.Errorf("additional roles carry externalID or tags: %+v", calls[0])
	}
	wantTags := map[string]string{"team": "payments", tagNamespace: f.ns, tagStoreName: "aws", tagStoreKind: "SecretStore"}
	if c := calls[2]; c.ExternalID != "ext-42" || !mapsEqual(c.Tags, wantTags) || !slices.Equal(c.TransitiveTagKeys, []string{"team"}) {
		t.Errorf("final call = %+v, want externalID ext-42, tags %v, transitive [team]", c, wantTags)
	}
	if p := lastPrincipal(t, f.srv); p != "arn:aws:sts::123456789012:assumed-role/final/secretbridge" {
		t.Errorf("read as %s", p)
	}

	t.Run("custom session tags", func(t *testing.T) {
		custom := chained
		custom.AdditionalRoles = nil
		custom.Role = f.srv.AddRole(awstest.Role{Name: unique("custom-"), Policy: awstest.AllowAll, TrustedPrincipals: []string{base}, ExternalID: "ext-42", AllowTagSession: true})
		custom.SessionTagsPolicy = esv1.AWSSessionTagsPolicyCustom
		custom.CustomSessionTags = map[string]string{"costCenter": "42"}
		cl := f.client(t, clusterStore(&custom), f.ns)
		if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
			t.Fatal(err)
		}
		calls := f.srv.AssumeRoleCalls()
		got := calls[len(calls)-1].Tags
		if !mapsEqual(got, map[string]string{"team": "payments", "costCenter": "42"}) {
			t.Errorf("tags = %v", got)
		}
	})

	t.Run("denied", func(t *testing.T) {
		cases := []struct {
			name   string
			mutate func(*esv1.AWSProvider)
			want   []string
		}{
			{name: "wrong external ID", mutate: func(s *esv1.AWSProvider) { s.ExternalID = "wrong" },
				want: []string{"cannot assume role " + final + " (spec.provider.aws.role) with sts:AssumeRole as role " + second, "AccessDenied", "sts:ExternalId condition"}},
			{name: "untrusted additional role", mutate: func(s *esv1.AWSProvider) { s.AdditionalRoles = []string{second} },
				want: []string{"cannot assume role " + second + " (spec.provider.aws.additionalRoles[0])", "is not authorized to perform: sts:AssumeRole on resource: " + second, "trust policy must allow sts:AssumeRole"}},
			{name: "tags without sts:TagSession", mutate: func(s *esv1.AWSProvider) {
				s.AdditionalRoles = nil
				s.Role = f.srv.AddRole(awstest.Role{Name: unique("no-tags-"), TrustedPrincipals: []string{base}, ExternalID: "ext-42"})
			}, want: []string{"sts:TagSession"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := chained
				tc.mutate(&s)
				cl := f.client(t, namespacedStore(f.ns, &s), f.ns)
				_, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
				var re *RoleError
				if !errors.As(err, &re) {
					t.Fatalf("GetSecret = %v, want a RoleError", err)
				}
				mustContain(t, "error", err.Error(), tc.want...)
			})
		}
	})
}

// mapsEqual compares two string maps.
func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestCredentialsCachedAcrossReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	web := f.webRole(f.ns, "app", "sts.amazonaws.com", nil)
	f.serviceAccount(t, f.ns, "app", map[string]string{roleAnnotation: web})
	reader := f.srv.AddRole(awstest.Role{Name: unique("reader-"), Policy: awstest.AllowAll, TrustedPrincipals: []string{web}})
	spec := f.jwtSpec(esv1.AWSServiceSecretsManager, esv1.ServiceAccountSelector{Name: "app"})
	spec.Role = reader
	cl := f.client(t, namespacedStore(f.ns, spec), f.ns)

	const reads = 50
	var wg sync.WaitGroup
	errs := make(chan error, reads)
	for range reads {
		wg.Go(func() {
			if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := f.srv.Calls(awstest.OpAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d over %d reads, want 1", n, reads)
	}
	if n := f.srv.Calls(awstest.OpAssumeRole); n != 1 {
		t.Errorf("AssumeRole calls = %d over %d reads, want 1", n, reads)
	}
	if n := f.srv.Calls(awstest.OpGetSecretValue); n != reads {
		t.Errorf("GetSecretValue calls = %d, want %d", n, reads)
	}
}

func TestCredentialsRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	window := 2 * time.Second
	f.p.hooks.expiryWindow = &window
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	spec, _ := f.staticSpec(t, esv1.AWSServiceSecretsManager, nil)
	spec.Role = f.srv.AddRole(awstest.Role{Name: unique("short-"), Policy: awstest.AllowAll, TrustedPrincipals: []string{"*"}, SessionDuration: 3 * time.Second})
	cl := f.client(t, namespacedStore(f.ns, spec), f.ns)
	read := func() string {
		t.Helper()
		if _, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil {
			t.Fatal(err)
		}
		reqs := f.srv.Requests(awstest.OpGetSecretValue)
		return reqs[len(reqs)-1].AccessKeyID
	}
	start := time.Now()
	k1 := read()
	if k := read(); k != k1 || f.srv.Calls(awstest.OpAssumeRole) != 1 {
		t.Fatalf("second read used %s after %d AssumeRole calls, want the same session", k, f.srv.Calls(awstest.OpAssumeRole))
	}
	// Credentials valid for 3 s are refreshed once they are within the
	// window (2 s, less up to 20% jitter) of expiry: after 1.5 s, well
	// before they expire.
	time.Sleep(time.Until(start.Add(1500 * time.Millisecond)))
	k2 := read()
	if k2 == k1 || f.srv.Calls(awstest.OpAssumeRole) != 2 {
		t.Fatalf("after 1.5 s the read used %s (first %s) after %d AssumeRole calls, want a refreshed session", k2, k1, f.srv.Calls(awstest.OpAssumeRole))
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("the test took too long to prove the refresh came before expiry")
	}
}

// checkNoAmbientAWS fails the test when the process environment would
// change what the SDK default chain finds.
func checkNoAmbientAWS(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ENDPOINT_URL"} {
		if os.Getenv(k) != "" {
			t.Fatalf("the process environment sets %s, which the SDK default chain would use: unset it to run this test", k)
		}
	}
}

func TestDefaultChain(t *testing.T) {
	t.Parallel()
	checkNoAmbientAWS(t)
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	creds := f.srv.AddUser("ambient", nil)
	role := f.srv.AddRole(awstest.Role{Name: "via-default", Policy: awstest.AllowAll, TrustedPrincipals: []string{f.srv.UserARN("ambient")}})
	file := filepath.Join(t.TempDir(), "credentials")
	content := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", creds.AccessKeyID, creds.SecretAccessKey)
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f.p.hooks.defaultChain = []func(*config.LoadOptions) error{
		config.WithSharedCredentialsFiles([]string{file}),
		config.WithSharedConfigFiles([]string{}),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
	}
	spec := f.spec(esv1.AWSServiceSecretsManager)
	spec.Role = role
	cl := f.client(t, clusterStore(spec), "")
	if got, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil || string(got) != "value" {
		t.Fatalf("GetSecret = %q, %v", got, err)
	}
	if c := f.srv.AssumeRoleCalls(); len(c) != 1 || c[0].Caller != f.srv.UserARN("ambient") {
		t.Fatalf("AssumeRole calls = %+v, want one by the ambient user", c)
	}

	t.Run("nothing found", func(t *testing.T) {
		p := f.p
		p.hooks = &hooks{endpoint: f.srv.URL, backoff: time.Millisecond, defaultChain: []func(*config.LoadOptions) error{
			config.WithSharedCredentialsFiles([]string{filepath.Join(t.TempDir(), "none")}),
			config.WithSharedConfigFiles([]string{}),
			config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
		}}
		cl, err := p.NewClient(t.Context(), clusterStore(f.spec(esv1.AWSServiceSecretsManager)), f.env.Client, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"})
		var se *SourceError
		if !errors.As(err, &se) {
			t.Fatalf("GetSecret = %v, want a SourceError", err)
		}
		mustContain(t, "error", err.Error(), "no AWS credentials from the SDK default credential chain", "auth.secretRef")
	})
}

// TestDefaultChainHonoursEndpointEnvironment is how an end-to-end test
// points the built binary at a test server: a store without auth uses the
// SDK default chain, which reads AWS_ENDPOINT_URL and the keys from the
// environment. It sets environment variables, so it does not run in
// parallel.
func TestDefaultChainHonoursEndpointEnvironment(t *testing.T) {
	checkNoAmbientAWS(t)
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	creds := f.srv.AddUser("env", awstest.AllowAll)
	t.Setenv("AWS_ENDPOINT_URL", f.srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cl, err := Provider{}.NewClient(t.Context(), clusterStore(f.spec(esv1.AWSServiceSecretsManager)), f.env.Client, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close(t.Context())
	if got, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil || string(got) != "value" {
		t.Fatalf("GetSecret = %q, %v", got, err)
	}
	if v, err := cl.Validate(t.Context()); err != nil || v.Identity != f.srv.UserARN("env") {
		t.Fatalf("Validate = %+v, %v", v, err)
	}
}

// TestExplicitAuthIgnoresEnvironment proves a store with secretRef reads
// neither AWS_* credentials nor endpoints from the process environment. It
// sets environment variables, so it does not run in parallel.
func TestExplicitAuthIgnoresEnvironment(t *testing.T) {
	f := newFixture(t)
	f.srv.PutSecret(awstest.Secret{Name: "s", String: "value"})
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "from-environment")
	t.Setenv("AWS_REGION", "us-east-1")
	spec, creds := f.staticSpec(t, esv1.AWSServiceSecretsManager, awstest.AllowAll)
	cl := f.client(t, namespacedStore(f.ns, spec), f.ns)
	if got, err := cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "s"}); err != nil || string(got) != "value" {
		t.Fatalf("GetSecret = %q, %v", got, err)
	}
	if reqs := f.srv.Requests(awstest.OpGetSecretValue); reqs[0].AccessKeyID != creds.AccessKeyID {
		t.Fatalf("signed with %s, want the Secret's key %s", reqs[0].AccessKeyID, creds.AccessKeyID)
	}
}
