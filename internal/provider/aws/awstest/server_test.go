package awstest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/secretbridge/secretbridge/internal/provider/aws/awstest"
)

// config returns an SDK configuration for srv with creds, fast retries.
func config(srv *awstest.Server, region string, creds awstest.Credentials) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}

// apiError returns err's AWS error code and message.
func apiError(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an AWS API error", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func TestSecretsManagerWire(t *testing.T) {
	t.Parallel()
	srv := awstest.New(t, awstest.Options{})
	creds := srv.AddUser("reader", awstest.AllowAll)
	sm := secretsmanager.NewFromConfig(config(srv, srv.Region, creds))
	ctx := t.Context()

	arn, v1 := srv.PutSecret(awstest.Secret{Name: "prod/db", String: `{"user":"app"}`, Tags: map[string]string{"team": "payments"}})
	_, v2 := srv.PutSecret(awstest.Secret{Name: "prod/db", String: `{"user":"app2"}`})
	srv.PutSecret(awstest.Secret{Name: "prod/db", String: "custom", Stages: []string{"blue"}})
	srv.PutSecret(awstest.Secret{Name: "bin", Binary: []byte{0, 1, 2, 255}})

	cases := []struct {
		name       string
		in         secretsmanager.GetSecretValueInput
		wantString string
		wantBinary []byte
		wantCode   string
	}{
		{name: "current by name", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/db")}, wantString: `{"user":"app2"}`},
		{name: "current by ARN", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}, wantString: `{"user":"app2"}`},
		{name: "previous stage", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/db"), VersionStage: aws.String("AWSPREVIOUS")}, wantString: `{"user":"app"}`},
		{name: "custom stage", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/db"), VersionStage: aws.String("blue")}, wantString: "custom"},
		{name: "version id", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/db"), VersionId: aws.String(v1)}, wantString: `{"user":"app"}`},
		{name: "binary", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("bin")}, wantBinary: []byte{0, 1, 2, 255}},
		{name: "missing secret", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")}, wantCode: "ResourceNotFoundException"},
		{name: "missing stage", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/db"), VersionStage: aws.String("green")}, wantCode: "ResourceNotFoundException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := sm.GetSecretValue(ctx, &tc.in)
			if tc.wantCode != "" {
				if code, _ := apiError(t, err); code != tc.wantCode {
					t.Fatalf("code = %s, want %s", code, tc.wantCode)
				}
				var nf *smtypes.ResourceNotFoundException
				if !errors.As(err, &nf) {
					t.Fatalf("error %T is not the SDK's typed ResourceNotFoundException", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantBinary != nil {
				if string(out.SecretBinary) != string(tc.wantBinary) || out.SecretString != nil {
					t.Fatalf("binary = %v (string %v)", out.SecretBinary, out.SecretString)
				}
				return
			}
			if aws.ToString(out.SecretString) != tc.wantString {
				t.Fatalf("SecretString = %q, want %q", aws.ToString(out.SecretString), tc.wantString)
			}
			if out.CreatedDate == nil || time.Since(*out.CreatedDate) > time.Minute {
				t.Fatalf("CreatedDate = %v", out.CreatedDate)
			}
		})
	}

	desc, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("prod/db")})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Tags) != 1 || aws.ToString(desc.Tags[0].Key) != "team" || len(desc.VersionIdsToStages[v2]) != 1 || desc.VersionIdsToStages[v2][0] != "AWSCURRENT" {
		t.Fatalf("DescribeSecret = tags %v, stages %v", desc.Tags, desc.VersionIdsToStages)
	}
	list, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeTagValue, Values: []string{"pay"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.SecretList) != 1 || aws.ToString(list.SecretList[0].Name) != "prod/db" {
		t.Fatalf("ListSecrets by tag-value prefix = %v", list.SecretList)
	}
	batch, err := sm.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: []string{"prod/db", "bin", "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.SecretValues) != 2 || len(batch.Errors) != 1 || aws.ToString(batch.Errors[0].ErrorCode) != "ResourceNotFoundException" {
		t.Fatalf("BatchGetSecretValue = %d values, errors %v", len(batch.SecretValues), batch.Errors)
	}
	if n := srv.Calls(awstest.OpGetSecretValue); n != len(cases) {
		t.Fatalf("GetSecretValue calls = %d, want %d", n, len(cases))
	}
}

func TestListSecretsPagination(t *testing.T) {
	t.Parallel()
	srv := awstest.New(t, awstest.Options{})
	sm := secretsmanager.NewFromConfig(config(srv, srv.Region, srv.AddUser("u", awstest.AllowAll)))
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		srv.PutSecret(awstest.Secret{Name: n, String: n})
	}
	p := secretsmanager.NewListSecretsPaginator(sm, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(2)})
	var names []string
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.SecretList {
			names = append(names, aws.ToString(e.Name))
		}
	}
	if strings.Join(names, ",") != "a,b,c,d,e" || srv.Calls(awstest.OpListSecrets) != 3 {
		t.Fatalf("names = %v after %d calls", names, srv.Calls(awstest.OpListSecrets))
	}
}

func TestAuthenticationFailures(t *testing.T) {
	t.Parallel()
	srv := awstest.New(t, awstest.Options{})
	good := srv.AddUser("u", awstest.AllowAll)
	srv.PutSecret(awstest.Secret{Name: "s", String: "v"})
	session := srv.SessionCredentials("u", time.Hour)
	expired := srv.SessionCredentials("u", time.Hour)
	srv.ExpireCredentials(expired.AccessKeyID)

	cases := []struct {
		name    string
		region  string
		creds   awstest.Credentials
		code    string
		message string
	}{
		{name: "valid keys", region: srv.Region, creds: good},
		{name: "valid session", region: srv.Region, creds: session},
		{name: "wrong secret key", region: srv.Region, creds: awstest.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: "wrong"}, code: "InvalidSignatureException", message: "signature we calculated does not match"},
		{name: "unknown key", region: srv.Region, creds: awstest.Credentials{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: "x"}, code: "UnrecognizedClientException", message: "security token included in the request is invalid"},
		{name: "session without token", region: srv.Region, creds: awstest.Credentials{AccessKeyID: session.AccessKeyID, SecretAccessKey: session.SecretAccessKey}, code: "UnrecognizedClientException"},
		{name: "expired session", region: srv.Region, creds: expired, code: "ExpiredTokenException", message: "expired"},
		{name: "wrong region", region: "us-east-1", creds: good, code: "InvalidSignatureException", message: "scoped to a valid region"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sm := secretsmanager.NewFromConfig(config(srv, tc.region, tc.creds))
			_, err := sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			code, msg := apiError(t, err)
			if code != tc.code || !strings.Contains(msg, tc.message) {
				t.Fatalf("got %s: %s; want %s containing %q", code, msg, tc.code, tc.message)
			}
		})
	}

	t.Run("anonymous", func(t *testing.T) {
		cfg := config(srv, srv.Region, good)
		cfg.Credentials = aws.AnonymousCredentials{}
		_, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
		if code, _ := apiError(t, err); code != "MissingAuthenticationTokenException" {
			t.Fatalf("code = %s", code)
		}
	})
	t.Run("signed for another service", func(t *testing.T) {
		body := `{"SecretId":"s"}`
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", awstest.OpGetSecretValue)
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: good.SecretAccessKey}
		if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "ssm", srv.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&got)
		if resp.StatusCode != 400 || got["__type"] != "InvalidSignatureException" || !strings.Contains(got["Message"], "'secretsmanager'") {
			t.Fatalf("answer %d %v", resp.StatusCode, got)
		}
	})
}

func TestAccessDeniedAndThrottling(t *testing.T) {
	t.Parallel()
	srv := awstest.New(t, awstest.Options{})
	arn, _ := srv.PutSecret(awstest.Secret{Name: "team-a/db", String: "v"})
	srv.PutSecret(awstest.Secret{Name: "team-b/db", String: "v"})
	creds := srv.AddUser("limited", awstest.Allow([]string{"secretsmanager:GetSecretValue"}, "arn:aws:secretsmanager:*:*:secret:team-a/*"))
	sm := secretsmanager.NewFromConfig(config(srv, srv.Region, creds))
	ctx := t.Context()
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("team-b/db")})
	code, msg := apiError(t, err)
	want := "User: " + srv.UserARN("limited") + " is not authorized to perform: secretsmanager:GetSecretValue on resource: " + srv.SecretARN("team-b/db")
	if code != "AccessDeniedException" || !strings.HasPrefix(msg, want) {
		t.Fatalf("got %s: %s\nwant AccessDeniedException: %s…", code, msg, want)
	}

	srv.FailNext(awstest.OpGetSecretValue, 2, awstest.Throttling(50*time.Millisecond))
	start := time.Now()
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}); err != nil {
		t.Fatalf("after two throttles the SDK's third attempt should succeed: %v", err)
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Fatalf("two retries took %s: x-amz-retry-after (50ms) was not honoured", took)
	}
	srv.FailNext(awstest.OpGetSecretValue, 3, awstest.Throttling(0))
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	var re *retry.MaxAttemptsError
	if code, _ := apiError(t, err); code != "ThrottlingException" || !errors.As(err, &re) {
		t.Fatalf("err = %v", err)
	}
}

func TestSSMWire(t *testing.T) {
	t.Parallel()
	srv := awstest.New(t, awstest.Options{})
	client := ssm.NewFromConfig(config(srv, srv.Region, srv.AddUser("u", awstest.AllowAll)))
	ctx := t.Context()
	srv.PutParameter(awstest.Parameter{Name: "/app/db/password", Value: "s3cret", Type: "SecureString", Tags: map[string]string{"env": "prod"}})
	srv.PutParameter(awstest.Parameter{Name: "/app/db/password", Value: "n3w", Type: "SecureString", Labels: []string{"blue"}})
	srv.PutParameter(awstest.Parameter{Name: "/app/url", Value: "https://x"})
	srv.PutParameter(awstest.Parameter{Name: "/other/x", Value: "x"})

	get := func(name string, decrypt bool) (string, error) {
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(decrypt)})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Parameter.Value), nil
	}
	for name, want := range map[string]string{"/app/db/password": "n3w", "/app/db/password:1": "s3cret", "/app/db/password:blue": "n3w", srv.ParameterARN("/app/url"): "https://x"} {
		if got, err := get(name, true); err != nil || got != want {
			t.Errorf("GetParameter(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if got, _ := get("/app/db/password", false); got == "n3w" {
		t.Errorf("a SecureString read without decryption returned the plain value")
	}
	_, err := get("/nope", true)
	var nf *ssmtypes.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Errorf("missing parameter: %v", err)
	}
	_, err = get("/app/db/password:7", true)
	var vnf *ssmtypes.ParameterVersionNotFound
	if !errors.As(err, &vnf) {
		t.Errorf("missing version: %v", err)
	}

	var names []string
	p := ssm.NewGetParametersByPathPaginator(client, &ssm.GetParametersByPathInput{Path: aws.String("/app"), Recursive: aws.Bool(true), MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, prm := range out.Parameters {
			names = append(names, aws.ToString(prm.Name))
		}
	}
	if strings.Join(names, ",") != "/app/db/password,/app/url" {
		t.Errorf("GetParametersByPath = %v", names)
	}
	out, err := client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/app")})
	if err != nil || len(out.Parameters) != 1 {
		t.Errorf("non-recursive GetParametersByPath = %v, %v", out, err)
	}
	tags, err := client.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String("/app/db/password")})
	if err != nil || len(tags.TagList) != 1 || aws.ToString(tags.TagList[0].Value) != "prod" {
		t.Errorf("ListTagsForResource = %v, %v", tags, err)
	}
}

// unsignedJWT returns a JWT with claims and no valid signature.
func unsignedJWT(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	b, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

func TestSTSWire(t *testing.T) {
	t.Parallel()
	srv := awstest.New(t, awstest.Options{})
	ctx := t.Context()
	user := srv.AddUser("base", nil)
	role := srv.AddRole(awstest.Role{Name: "reader", Policy: awstest.AllowAll, TrustedPrincipals: []string{srv.UserARN("base")}, ExternalID: "ext-1", AllowTagSession: true})
	web := srv.AddRole(awstest.Role{Name: "web", Policy: awstest.AllowAll, WebIdentity: &awstest.WebIdentityTrust{Audience: "sts.amazonaws.com", Subject: "system:serviceaccount:ns:sa"}})
	client := sts.NewFromConfig(config(srv, srv.Region, user))

	id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != srv.UserARN("base") || aws.ToString(id.Account) != srv.AccountID {
		t.Fatalf("GetCallerIdentity = %v, %v", id, err)
	}
	_, err = client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("s1")})
	if code, msg := apiError(t, err); code != "AccessDenied" || !strings.Contains(msg, "sts:AssumeRole on resource: "+role) {
		t.Fatalf("AssumeRole without external ID: %s: %s", code, msg)
	}
	out, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(role), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-1"),
		Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}, TransitiveTagKeys: []string{"team"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(aws.ToTime(out.Credentials.Expiration)) < 50*time.Minute || !strings.HasSuffix(aws.ToString(out.AssumedRoleUser.Arn), ":assumed-role/reader/s1") {
		t.Fatalf("AssumeRole = %+v %+v", out.Credentials, out.AssumedRoleUser)
	}
	calls := srv.AssumeRoleCalls()
	if len(calls) != 1 || calls[0].Tags["team"] != "a" || calls[0].TransitiveTagKeys[0] != "team" || calls[0].ExternalID != "ext-1" {
		t.Fatalf("recorded %+v", calls)
	}

	anon := sts.NewFromConfig(aws.Config{Region: srv.Region, BaseEndpoint: aws.String(srv.URL)})
	tok := unsignedJWT(map[string]any{"sub": "system:serviceaccount:ns:sa", "aud": []string{"sts.amazonaws.com"}, "exp": time.Now().Add(time.Hour).Unix(), "iss": "https://issuer"})
	w, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(web), RoleSessionName: aws.String("web"), WebIdentityToken: aws.String(tok)})
	if err != nil || aws.ToString(w.SubjectFromWebIdentityToken) != "system:serviceaccount:ns:sa" || aws.ToString(w.Credentials.AccessKeyId) == "" {
		t.Fatalf("AssumeRoleWithWebIdentity = %+v, %v", w, err)
	}
	bad := unsignedJWT(map[string]any{"sub": "system:serviceaccount:ns:sa", "aud": "other", "exp": time.Now().Add(time.Hour).Unix()})
	_, err = anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(web), RoleSessionName: aws.String("web"), WebIdentityToken: aws.String(bad)})
	var iit *ststypes.InvalidIdentityTokenException
	if !errors.As(err, &iit) {
		t.Fatalf("wrong audience: %v", err)
	}
}
