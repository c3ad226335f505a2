package secretstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"

	// The fake provider serves the stores of these tests.
	_ "github.com/secretbridge/secretbridge/internal/provider/fake"
)

// stubSource is a ClientSource that returns a fixed client or error and
// records what it was asked.
type stubSource struct {
	client      provider.Client
	err         error
	namespaces  []string
	invalidated []types.UID
}

func (s *stubSource) Get(_ context.Context, _ provider.Store, _ client.Client, namespace string) (provider.Client, error) {
	s.namespaces = append(s.namespaces, namespace)
	return s.client, s.err
}

func (s *stubSource) Invalidate(uid types.UID) { s.invalidated = append(s.invalidated, uid) }

// stubClient is a provider.Client whose Validate returns fixed values.
type stubClient struct {
	provider.Client // nil: only Validate may be called
	validation      provider.Validation
	err             error
}

func (c stubClient) Validate(context.Context) (provider.Validation, error) {
	return c.validation, c.err
}

func TestValidate(t *testing.T) {
	referentErr := fmt.Errorf("building the kubernetes client: spec.provider.kubernetes.auth.token.bearerToken has no namespace: %w", provider.ErrNoReferentNamespace)
	missingSecret := provider.NewConfigError("spec.provider.x.auth.secretRef", "Secret ns/creds not found")
	tests := []struct {
		name            string
		store           provider.Store
		source          *stubSource
		want            outcome
		wantMsg         string // a part of the error's text
		wantGet         bool
		wantInvalidated bool
	}{
		{
			name:    "unparsable refreshInterval",
			store:   secretStore(func(s *esv1.SecretStoreSpec) { s.RefreshInterval = durationString("soon") }),
			source:  &stubSource{},
			want:    outcome{reason: esv1.ReasonInvalidStoreConfiguration, stalled: true},
			wantMsg: `spec.refreshInterval "soon"`,
		},
		{
			name: "provider this build does not have",
			store: secretStore(func(s *esv1.SecretStoreSpec) {
				s.Provider = esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager, Region: "eu-west-1"}}
			}),
			source:  &stubSource{},
			want:    outcome{reason: esv1.ReasonInvalidStoreConfiguration, stalled: true},
			wantMsg: "no supported provider configured",
		},
		{
			name:    "static check fails",
			store:   secretStore(func(s *esv1.SecretStoreSpec) { s.Provider.Fake.ValidationResult = ptr.To(esv1.ValidationResult(7)) }),
			source:  &stubSource{},
			want:    outcome{reason: esv1.ReasonInvalidProviderConfig, capabilities: esv1.SecretStoreReadOnly, stalled: true},
			wantMsg: "spec.provider.fake.validationResult: 7 is not a validation result",
		},
		{
			name:    "referent credentials",
			store:   clusterSecretStore(),
			source:  &stubSource{err: referentErr},
			want:    outcome{reason: esv1.ReasonValidationUnknown, capabilities: esv1.SecretStoreReadOnly},
			wantMsg: "has no namespace",
			wantGet: true,
		},
		{
			name:    "credentials reference is wrong",
			store:   secretStore(),
			source:  &stubSource{err: fmt.Errorf("building the client: %w", missingSecret)},
			want:    outcome{reason: esv1.ReasonInvalidProviderConfig, capabilities: esv1.SecretStoreReadOnly, stalled: true},
			wantMsg: "Secret ns/creds not found",
			wantGet: true,
		},
		{
			name:    "client build fails for another reason",
			store:   secretStore(),
			source:  &stubSource{err: errors.New("logging in to vault at https://vault:8200: connection refused")},
			want:    outcome{reason: esv1.ReasonValidationFailed, capabilities: esv1.SecretStoreReadOnly, transient: true},
			wantMsg: "connection refused",
			wantGet: true,
		},
		{
			name:    "valid with identity",
			store:   secretStore(),
			source:  &stubSource{client: stubClient{validation: provider.Validation{Identity: "role app"}}},
			want:    outcome{reason: esv1.ReasonStoreValid, identity: "role app", capabilities: esv1.SecretStoreReadOnly},
			wantGet: true,
		},
		{
			name:    "unknown",
			store:   clusterSecretStore(),
			source:  &stubSource{client: stubClient{validation: provider.Validation{Result: provider.ValidationUnknown}}},
			want:    outcome{reason: esv1.ReasonValidationUnknown, capabilities: esv1.SecretStoreReadOnly},
			wantGet: true,
		},
		{
			name:            "failed transiently",
			store:           secretStore(),
			source:          &stubSource{client: stubClient{validation: provider.Validation{Result: provider.ValidationFailed}, err: errors.New("i/o timeout")}},
			want:            outcome{reason: esv1.ReasonValidationFailed, capabilities: esv1.SecretStoreReadOnly, transient: true},
			wantMsg:         "provider fake: i/o timeout",
			wantGet:         true,
			wantInvalidated: true,
		},
		{
			name:            "failed on a config error",
			store:           secretStore(),
			source:          &stubSource{client: stubClient{validation: provider.Validation{Result: provider.ValidationFailed}, err: missingSecret}},
			want:            outcome{reason: esv1.ReasonValidationFailed, capabilities: esv1.SecretStoreReadOnly, stalled: true},
			wantMsg:         "Secret ns/creds not found",
			wantGet:         true,
			wantInvalidated: true,
		},
		{
			name:            "failed without an error",
			store:           secretStore(),
			source:          &stubSource{client: stubClient{validation: provider.Validation{Result: provider.ValidationFailed}}},
			want:            outcome{reason: esv1.ReasonValidationFailed, capabilities: esv1.SecretStoreReadOnly, transient: true},
			wantMsg:         "the provider reported the store as invalid",
			wantGet:         true,
			wantInvalidated: true,
		},
		{
			name:            "an error with a Ready result is a failure",
			store:           secretStore(),
			source:          &stubSource{client: stubClient{err: errors.New("permission denied")}},
			want:            outcome{reason: esv1.ReasonValidationFailed, capabilities: esv1.SecretStoreReadOnly, transient: true},
			wantMsg:         "permission denied",
			wantGet:         true,
			wantInvalidated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reconciler{Clients: tt.source}
			got := r.validate(t.Context(), tt.store)
			if got.reason != tt.want.reason || got.identity != tt.want.identity || got.capabilities != tt.want.capabilities ||
				got.stalled != tt.want.stalled || got.transient != tt.want.transient {
				t.Errorf("validate = %+v, want %+v", got, tt.want)
			}
			switch {
			case tt.wantMsg == "" && got.err != nil:
				t.Errorf("validate error = %v, want none", got.err)
			case tt.wantMsg != "" && (got.err == nil || !strings.Contains(got.err.Error(), tt.wantMsg)):
				t.Errorf("validate error = %v, want one containing %q", got.err, tt.wantMsg)
			}
			if tt.wantGet && (len(tt.source.namespaces) != 1 || tt.source.namespaces[0] != "") {
				t.Errorf("client requested for namespaces %q, want once for \"\"", tt.source.namespaces)
			}
			if !tt.wantGet && len(tt.source.namespaces) > 0 {
				t.Errorf("a client was requested after a static check failed")
			}
			if wantInv := tt.wantInvalidated; wantInv != (len(tt.source.invalidated) == 1 && tt.source.invalidated[0] == tt.store.GetUID()) || (!wantInv && len(tt.source.invalidated) > 0) {
				t.Errorf("invalidated %v, want invalidation %v of %s", tt.source.invalidated, wantInv, tt.store.GetUID())
			}
		})
	}
}

// secretStore returns a fake SecretStore, changed by edits.
func secretStore(edits ...func(*esv1.SecretStoreSpec)) *esv1.SecretStore {
	s := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: "ns", UID: "uid-ss"},
		Spec:       fakeSpec("", nil),
	}
	for _, edit := range edits {
		edit(&s.Spec)
	}
	return s
}

// clusterSecretStore returns a fake ClusterSecretStore.
func clusterSecretStore() *esv1.ClusterSecretStore {
	return &esv1.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "store", UID: "uid-css"},
		Spec:       fakeSpec("", nil),
	}
}

// fakeSpec is the spec of a fake store of controller class class that
// reports result when validated (nil: Ready).
func fakeSpec(class string, result *esv1.ValidationResult) esv1.SecretStoreSpec {
	return esv1.SecretStoreSpec{
		Controller: class,
		Provider: esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{
			Data:             []esv1.FakeProviderData{{Key: "greeting", Value: "hello"}},
			ValidationResult: result,
		}},
	}
}

func intOrString(seconds int) *intstr.IntOrString {
	v := intstr.FromInt32(int32(seconds))
	return &v
}

func durationString(d string) *intstr.IntOrString {
	v := intstr.FromString(d)
	return &v
}
