package gcptest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// sdkClient returns the official client connected to s over TLS.
func sdkClient(t *testing.T, s *Server) *secretmanager.Client {
	t.Helper()
	conn, err := grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: s.RootCAs(), MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	c, err := secretmanager.NewClient(t.Context(), option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

// keyToken signs in with a new key of email and returns its access token.
func keyToken(t *testing.T, s *Server, email string) string {
	t.Helper()
	key, err := s.ServiceAccountKey(email, "p")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := google.JWTConfigFromJSON(key, "https://www.googleapis.com/auth/cloud-platform")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.TokenSource(context.WithValue(t.Context(), oauth2.HTTPClient, s.HTTPClient())).Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func bearer(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

func TestSecretManagerChecksTokensAndIAM(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	s.AddVersion("projects/p/secrets/s", []byte("value"))
	c := sdkClient(t, s)
	reader := keyToken(t, s, "reader@p.iam.gserviceaccount.com")
	s.Grant(Member("reader@p.iam.gserviceaccount.com"), RoleSecretAccessor, "projects/p/secrets/s")
	stranger := keyToken(t, s, "stranger@p.iam.gserviceaccount.com")
	cases := []struct {
		name     string
		ctx      context.Context
		secret   string
		want     codes.Code
		wantText string
	}{
		{name: "granted", ctx: bearer(t.Context(), reader), secret: "projects/p/secrets/s/versions/latest", want: codes.OK},
		{name: "by project number", ctx: bearer(t.Context(), reader), secret: "projects/" + ProjectNumber("p") + "/secrets/s/versions/1", want: codes.OK},
		{name: "no token", ctx: t.Context(), secret: "projects/p/secrets/s/versions/latest", want: codes.Unauthenticated},
		{name: "unknown token", ctx: bearer(t.Context(), "ya29.forged"), secret: "projects/p/secrets/s/versions/latest", want: codes.Unauthenticated},
		{name: "not granted", ctx: bearer(t.Context(), stranger), secret: "projects/p/secrets/s/versions/latest", want: codes.PermissionDenied,
			wantText: "Permission 'secretmanager.versions.access' denied for resource 'projects/p/secrets/s/versions/latest'"},
		{name: "missing version", ctx: bearer(t.Context(), reader), secret: "projects/p/secrets/s/versions/2", want: codes.NotFound, wantText: "versions/2] not found"},
	}
	for _, tc := range cases {
		// Not parallel: ExpireTokens below must run after every case.
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.AccessSecretVersion(tc.ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: tc.secret})
			if got := status.Code(err); got != tc.want {
				t.Fatalf("AccessSecretVersion: %v, want %v", err, tc.want)
			}
			if tc.want == codes.OK && string(resp.GetPayload().GetData()) != "value" {
				t.Fatalf("payload = %q", resp.GetPayload().GetData())
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("error %q does not contain %q", err, tc.wantText)
			}
		})
	}
	s.ExpireTokens()
	if _, err := c.AccessSecretVersion(bearer(t.Context(), reader), &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/s/versions/1"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("after ExpireTokens: %v, want Unauthenticated", err)
	}
}

func TestListSecretsPagesAndFilters(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		s.AddSecret("projects/p/secrets/"+id, map[string]string{"odd": map[bool]string{true: "yes", false: "no"}[strings.Contains("ace", id)]}, nil)
	}
	c := sdkClient(t, s)
	tok := keyToken(t, s, "viewer@p.iam.gserviceaccount.com")
	s.Grant(Member("viewer@p.iam.gserviceaccount.com"), RoleViewer, "projects/p")
	list := func(filter string) []string {
		var ids []string
		it := c.ListSecrets(bearer(t.Context(), tok), &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: 2, Filter: filter})
		for {
			sec, err := it.Next()
			if err == iterator.Done {
				return ids
			}
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, sec.GetName()[strings.LastIndex(sec.GetName(), "/")+1:])
		}
	}
	if got := strings.Join(list(""), ","); got != "a,b,c,d,e" {
		t.Errorf("all = %s", got)
	}
	if got := strings.Join(list("labels.odd=yes"), ","); got != "a,c,e" {
		t.Errorf("labels.odd=yes = %s", got)
	}
	if n := s.Calls(OpListSecrets); n != 5 {
		t.Errorf("ListSecrets calls = %d, want 3 pages + 2 pages", n)
	}
}

func TestTokenEndpointsRejectForgeries(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	const aud = "identitynamespace:p.svc.id.goog:https://container.googleapis.com/v1/projects/p/locations/l/clusters/c"
	s.TrustPool(aud, "p.svc.id.goog")
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(claims jwt.Claims) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: otherKey}, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	if _, err := s.ServiceAccountKey("victim@p.iam.gserviceaccount.com", "p"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	post := func(path string, form url.Values) (int, string) {
		resp, err := s.HTTPClient().PostForm(s.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		b, _ := json.Marshal(body)
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		name     string
		path     string
		form     url.Values
		want     int
		wantText string
	}{
		{name: "assertion signed by another key", path: "/token", form: url.Values{"grant_type": {grantJWTBearer}, "assertion": {sign(jwt.Claims{
			Issuer: "victim@p.iam.gserviceaccount.com", Audience: jwt.Audience{s.URL + "/token"}, Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now),
		})}}, want: http.StatusBadRequest, wantText: "Invalid JWT Signature"},
		{name: "subject token for another audience", path: "/v1/token", form: url.Values{
			"grant_type": {grantTokenExchange}, "subject_token_type": {tokenTypeJWT}, "requested_token_type": {tokenTypeAccess}, "audience": {aud},
			"subject_token": {sign(jwt.Claims{Subject: "system:serviceaccount:ns:sa", Audience: jwt.Audience{"https://kubernetes.default.svc"}, Expiry: jwt.NewNumericDate(now.Add(time.Hour))})},
		}, want: http.StatusBadRequest, wantText: "does not match the expected audience"},
		{name: "unknown pool", path: "/v1/token", form: url.Values{
			"grant_type": {grantTokenExchange}, "subject_token_type": {tokenTypeJWT}, "requested_token_type": {tokenTypeAccess}, "audience": {"identitynamespace:x"},
			"subject_token": {sign(jwt.Claims{Subject: "system:serviceaccount:ns:sa", Audience: jwt.Audience{"p.svc.id.goog"}})},
		}, want: http.StatusBadRequest, wantText: "invalid_target"},
		{name: "exchange", path: "/v1/token", form: url.Values{
			"grant_type": {grantTokenExchange}, "subject_token_type": {tokenTypeJWT}, "requested_token_type": {tokenTypeAccess}, "audience": {aud},
			"subject_token": {sign(jwt.Claims{Subject: "system:serviceaccount:ns:sa", Audience: jwt.Audience{"p.svc.id.goog"}, Expiry: jwt.NewNumericDate(now.Add(time.Hour))})},
		}, want: http.StatusOK, wantText: "access_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, body := post(tc.path, tc.form)
			if code != tc.want || !strings.Contains(body, tc.wantText) {
				t.Fatalf("POST %s = %d %s, want %d with %q", tc.path, code, body, tc.want, tc.wantText)
			}
		})
	}
}
