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
	"github.com/secretbridge/secretbridge/internal/provider/aws/awstest"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// The built binary, pointed at the AWS wire-protocol test server with
// --endpoint-override, syncs one ExternalSecret per AWS service and auth
// method: Secrets Manager and Parameter Store with static keys from a
// Secret, and Secrets Manager through a ServiceAccount token exchanged by
// AssumeRoleWithWebIdentity (the IRSA flow, the role taken from the
// ServiceAccount's eks.amazonaws.com/role-arn annotation). Each identity
// logs in once, whatever the number of syncs, and no value reaches the log.
func TestBinarySyncsAWS(t *testing.T) {
	env := testenv.Get(t)
	ns := env.Namespace(t)
	srv := awstest.New(t, awstest.Options{})

	const (
		smValue  = marker + "-aws-sm"
		psValue  = marker + "-aws-ps"
		irsaPass = marker + "-aws-irsa"
	)
	srv.PutSecret(awstest.Secret{Name: "prod/app-db", String: fmt.Sprintf(`{"username":"app","password":%q}`, smValue)})
	srv.PutParameter(awstest.Parameter{Name: "/prod/app/api-key", Value: psValue, Type: "SecureString"})
	srv.PutSecret(awstest.Secret{Name: "prod/irsa", String: fmt.Sprintf(`{"password":%q}`, irsaPass)})

	// Static keys: a user allowed to read exactly these two objects.
	user := srv.AddUser("e2e-reader", awstest.Policy{
		{Actions: []string{"secretsmanager:GetSecretValue", "secretsmanager:ListSecrets"}, Resources: []string{"*"}},
		{Actions: []string{"ssm:GetParameter*", "ssm:DescribeParameters"}, Resources: []string{"*"}},
	})
	keys := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "aws-keys", Namespace: ns},
		StringData: map[string]string{"access-key": user.AccessKeyID, "secret-key": user.SecretAccessKey},
	}
	keyRef := func(k string) *esv1.SecretKeySelector { return &esv1.SecretKeySelector{Name: "aws-keys", Key: k} }
	static := &esv1.AWSAuth{SecretRef: &esv1.AWSAuthSecretRef{AccessKeyID: keyRef("access-key"), SecretAccessKey: keyRef("secret-key")}}

	// IRSA: a role trusting this namespace's ServiceAccount tokens, verified
	// with the test API server's signing key.
	roleARN := srv.AddRole(awstest.Role{
		Name:   "e2e-irsa",
		Policy: awstest.Allow([]string{"secretsmanager:GetSecretValue", "secretsmanager:ListSecrets"}, "*"),
		WebIdentity: &awstest.WebIdentityTrust{
			Audience:     "sts.amazonaws.com",
			Subject:      fmt.Sprintf("system:serviceaccount:%s:app-reader", ns),
			Issuer:       env.ServiceAccountIssuer,
			PublicKeyPEM: env.ServiceAccountPublicKey,
		},
	})
	sa := env.ServiceAccount(t, ns, "app-reader")
	sa.Annotations = map[string]string{"eks.amazonaws.com/role-arn": roleARN}
	if err := env.Client.Update(t.Context(), sa); err != nil {
		t.Fatal(err)
	}
	irsa := &esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "app-reader"}}}

	store := func(name string, service esv1.AWSServiceType, auth *esv1.AWSAuth) *esv1.SecretStore {
		s := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		s.Spec.Provider.AWS = &esv1.AWSProvider{Service: service, Region: srv.Region, Auth: auth}
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

	p := runController(t, env, "--endpoint-override", "aws="+srv.URL)
	logOnFailure(t, p)
	start := time.Now()
	for _, obj := range []client.Object{
		keys,
		store("aws-sm", esv1.AWSServiceSecretsManager, static),
		store("aws-ps", esv1.AWSServiceParameterStore, static),
		store("aws-irsa", esv1.AWSServiceSecretsManager, irsa),
		externalSecret("sm", "aws-sm", ref("username", "prod/app-db", "username"), ref("password", "prod/app-db", "password")),
		externalSecret("ps", "aws-ps", ref("api-key", "/prod/app/api-key", "")),
		externalSecret("irsa", "aws-irsa", ref("password", "prod/irsa", "password")),
	} {
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		want map[string]string
	}{
		{"sm", map[string]string{"username": "app", "password": smValue}},
		{"ps", map[string]string{"api-key": psValue}},
		{"irsa", map[string]string{"password": irsaPass}},
	} {
		took := waitTargetData(t, env, ns, c.name, c.want, start)
		t.Logf("%s: Secret synced %s after creating the objects", c.name, took.Round(time.Millisecond))
		waitReason(t, env, ns, c.name, esv1.ReasonSecretSynced)
	}

	// Two more forced syncs of every ExternalSecret read again but log in
	// again never: one web-identity exchange for the IRSA store in total.
	for round := 1; round <= 2; round++ {
		for _, name := range []string{"sm", "ps", "irsa"} {
			forceSyncES(t, env, ns, name)
		}
		// Per round: one GetSecretValue for each Secrets Manager
		// ExternalSecret (two properties of one secret are one read).
		testenv.Eventually(t, 30*time.Second, func() error {
			if n, want := srv.Calls(awstest.OpGetSecretValue), 2+2*round; n < want {
				return fmt.Errorf("%d GetSecretValue calls so far, want %d", n, want)
			}
			if n, want := srv.Calls(awstest.OpGetParameter), 1+round; n < want {
				return fmt.Errorf("%d GetParameter calls so far, want %d", n, want)
			}
			return nil
		})
	}
	if n := srv.Calls(awstest.OpAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity called %d times over 3 syncs, want 1 (credentials cached per store identity)", n)
	}
	for _, r := range srv.Requests(awstest.OpGetSecretValue) {
		if strings.Contains(string(r.Input), "prod/irsa") && !strings.Contains(r.Principal, "assumed-role/e2e-irsa") {
			t.Errorf("prod/irsa read as %q, want the e2e-irsa role session", r.Principal)
		}
	}
	assertNoSecretValues(t, env, p, []string{marker}, []string{ns}, nil)
}
