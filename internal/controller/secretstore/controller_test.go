package secretstore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// TestFakeValidationResults: the fake provider's validationResult 0, 1 and 2
// become Valid, ValidationUnknown and ValidationFailed, each with one Event.
func TestFakeValidationResults(t *testing.T) {
	t.Parallel()
	h := start(t)
	ns := h.env.Namespace(t)
	tests := []struct {
		result     esv1.ValidationResult
		wantStatus corev1.ConditionStatus
		wantReason string
		wantMsg    string
		wantEvent  string
		wantStall  bool
	}{
		{esv1.ValidationResultReady, corev1.ConditionTrue, esv1.ReasonStoreValid, "store validated; authenticated as fake", evValid, false},
		{esv1.ValidationResultUnknown, corev1.ConditionTrue, esv1.ReasonValidationUnknown, msgUnknown, evUnknown, false},
		{esv1.ValidationResultError, corev1.ConditionFalse, esv1.ReasonValidationFailed, "validation failed: provider fake: spec.provider.fake.validationResult is 2 (Error)", evFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.wantReason, func(t *testing.T) {
			t.Parallel()
			s := &esv1.SecretStore{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("result-%d", tt.result), Namespace: ns},
				Spec:       fakeSpec(h.class, ptr.To(tt.result)),
			}
			h.create(t, s)
			ready := h.waitReady(t, s, tt.wantReason)
			if ready.Status != tt.wantStatus || ready.Message != tt.wantMsg {
				t.Errorf("Ready = %s %q, want %s %q", ready.Status, ready.Message, tt.wantStatus, tt.wantMsg)
			}
			if s.Status.Capabilities != esv1.SecretStoreReadOnly {
				t.Errorf("capabilities = %q, want ReadOnly", s.Status.Capabilities)
			}
			if stalled := findCondition(&s.Status, esv1.ConditionStalled) != nil; stalled != tt.wantStall {
				t.Errorf("Stalled present = %v, want %v", stalled, tt.wantStall)
			}
			h.waitEvents(t, s, map[string]int{tt.wantEvent: 1})
		})
	}
}

// TestOtherControllerClassIsLeftAlone: a store of another controller class
// gets no status, no Event and no validation.
func TestOtherControllerClassIsLeftAlone(t *testing.T) {
	t.Parallel()
	h := start(t)
	ns := h.env.Namespace(t)
	other := &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns},
		Spec:       fakeSpec(h.class+"-other", nil),
	}
	h.create(t, other)
	// A store of this class, created after the other one, shows that the
	// controller has seen both.
	mine := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: ns}, Spec: fakeSpec(h.class, nil)}
	h.create(t, mine)
	h.waitReady(t, mine, esv1.ReasonStoreValid)

	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if err := h.env.Client.Get(t.Context(), client.ObjectKeyFromObject(other), other); err != nil {
			t.Fatal(err)
		}
		if len(other.Status.Conditions) > 0 || other.Status.Capabilities != "" {
			t.Fatalf("the store of another class got status %+v", other.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := h.validations.count(other.UID); n != 0 {
		t.Errorf("the store of another class was validated %d times", n)
	}
	if got := h.eventCounts(t, other); len(got) != 0 {
		t.Errorf("the store of another class got Events %v", got)
	}
}

// TestStaticConfigErrors: a spec the provider refuses without any call, and
// a provider this build does not have, are reported (Ready False and
// Stalled) with a message that names the field.
func TestStaticConfigErrors(t *testing.T) {
	t.Parallel()
	h := start(t)
	ns := h.env.Namespace(t)
	tests := []struct {
		name       string
		provider   esv1.SecretStoreProvider
		wantReason string
		wantMsg    string
		wantCaps   esv1.SecretStoreCapabilities
	}{
		{
			name:       "bad-validation-result",
			provider:   fakeSpec("", ptr.To(esv1.ValidationResult(7))).Provider,
			wantReason: esv1.ReasonInvalidProviderConfig,
			wantMsg:    "spec.provider.fake.validationResult: 7 is not a validation result: use 0 (Ready), 1 (Unknown) or 2 (Error)",
			wantCaps:   esv1.SecretStoreReadOnly,
		},
		{
			name: "duplicate-key",
			provider: esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{Data: []esv1.FakeProviderData{
				{Key: "a", Value: "1"}, {Key: "a", Value: "2"},
			}}},
			wantReason: esv1.ReasonInvalidProviderConfig,
			wantMsg:    `spec.provider.fake.data[1]: key "a" is listed twice without a version; keep one entry`,
			wantCaps:   esv1.SecretStoreReadOnly,
		},
		{
			name:       "provider-not-built-in",
			provider:   esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager, Region: "eu-west-1"}},
			wantReason: esv1.ReasonInvalidStoreConfiguration,
			wantMsg:    "spec.provider: no supported provider configured",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &esv1.SecretStore{
				ObjectMeta: metav1.ObjectMeta{Name: tt.name, Namespace: ns},
				Spec:       esv1.SecretStoreSpec{Controller: h.class, Provider: tt.provider},
			}
			h.create(t, s)
			ready := h.waitReady(t, s, tt.wantReason)
			if ready.Status != corev1.ConditionFalse || !strings.HasPrefix(ready.Message, tt.wantMsg) {
				t.Errorf("Ready = %s %q, want False starting %q", ready.Status, ready.Message, tt.wantMsg)
			}
			stalled := findCondition(&s.Status, esv1.ConditionStalled)
			if stalled == nil || stalled.Status != corev1.ConditionTrue || stalled.Reason != tt.wantReason {
				t.Errorf("Stalled = %+v, want True %s", stalled, tt.wantReason)
			}
			if s.Status.Capabilities != tt.wantCaps {
				t.Errorf("capabilities = %q, want %q", s.Status.Capabilities, tt.wantCaps)
			}
			if n := h.validations.count(s.UID); n != 0 {
				t.Errorf("a store that fails static checks was validated %d times", n)
			}
			h.waitEvents(t, s, map[string]int{corev1.EventTypeWarning + "/" + tt.wantReason: 1})
		})
	}
}

// TestClusterSecretStoreValidated: a ClusterSecretStore is validated like a
// SecretStore; its Event goes to the default namespace.
func TestClusterSecretStoreValidated(t *testing.T) {
	t.Parallel()
	h := start(t)
	css := &esv1.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "css-" + h.class},
		Spec:       fakeSpec(h.class, nil),
	}
	h.create(t, css)
	ready := h.waitReady(t, css, esv1.ReasonStoreValid)
	if ready.Status != corev1.ConditionTrue || ready.Message != "store validated; authenticated as fake" {
		t.Errorf("Ready = %s %q", ready.Status, ready.Message)
	}
	if css.Status.Capabilities != esv1.SecretStoreReadOnly {
		t.Errorf("capabilities = %q, want ReadOnly", css.Status.Capabilities)
	}
	h.waitEvents(t, css, map[string]int{evValid: 1})
}

// TestTransitions: re-validation every refreshInterval keeps the condition
// (lastTransitionTime included) and emits no Event; each change of Ready's
// status or reason emits exactly one, and lastTransitionTime moves only when
// the status does.
func TestTransitions(t *testing.T) {
	t.Parallel()
	h := start(t)
	ns := h.env.Namespace(t)
	s := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: ns}, Spec: fakeSpec(h.class, nil)}
	s.Spec.RefreshInterval = intOrString(1)
	h.create(t, s)

	first := h.waitReady(t, s, esv1.ReasonStoreValid)
	h.waitValidations(t, s, 4) // the first validation and three refreshes
	again := h.waitReady(t, s, esv1.ReasonStoreValid)
	if !again.LastTransitionTime.Equal(&first.LastTransitionTime) || again.Message != first.Message {
		t.Errorf("re-validation changed Ready from %+v to %+v", first, again)
	}
	h.waitEvents(t, s, map[string]int{evValid: 1})

	// Valid → ValidationUnknown: same status, so the same lastTransitionTime.
	setResult(t, h, s, esv1.ValidationResultUnknown)
	unknown := h.waitReady(t, s, esv1.ReasonValidationUnknown)
	if !unknown.LastTransitionTime.Equal(&first.LastTransitionTime) {
		t.Errorf("lastTransitionTime moved from %v to %v without a status change", first.LastTransitionTime, unknown.LastTransitionTime)
	}
	h.waitEvents(t, s, map[string]int{evValid: 1, evUnknown: 1})

	// ValidationUnknown → ValidationFailed: the status changes. The store
	// keeps failing (and being retried) without further Events.
	before := h.validations.count(s.UID)
	setResult(t, h, s, esv1.ValidationResultError)
	failed := h.waitReady(t, s, esv1.ReasonValidationFailed)
	if !failed.LastTransitionTime.After(first.LastTransitionTime.Time) {
		t.Errorf("lastTransitionTime %v did not move past %v on a status change", failed.LastTransitionTime, first.LastTransitionTime)
	}
	h.waitValidations(t, s, before+3)
	h.waitEvents(t, s, map[string]int{evValid: 1, evUnknown: 1, evFailed: 1})

	// Back to Valid: a second Valid Event (folded by the events API into a
	// series of two).
	setResult(t, h, s, esv1.ValidationResultReady)
	h.waitReady(t, s, esv1.ReasonStoreValid)
	if findCondition(&s.Status, esv1.ConditionStalled) != nil {
		t.Errorf("Stalled is still set: %+v", s.Status.Conditions)
	}
	h.waitEvents(t, s, map[string]int{evValid: 2, evUnknown: 1, evFailed: 1})
}

// setResult changes the fake store's validationResult (a new generation).
func setResult(t *testing.T, h *harness, s *esv1.SecretStore, result esv1.ValidationResult) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() error {
		if err := h.env.Client.Get(t.Context(), client.ObjectKeyFromObject(s), s); err != nil {
			return err
		}
		s.Spec.Provider.Fake.ValidationResult = ptr.To(result)
		return h.env.Client.Update(t.Context(), s)
	})
}
