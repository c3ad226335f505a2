package secretstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

func TestReadyFrom(t *testing.T) {
	cfgErr := provider.NewConfigError("spec.provider.fake.validationResult", "7 is not a validation result")
	tests := []struct {
		name       string
		out        outcome
		wantStatus corev1.ConditionStatus
		wantMsg    string
	}{
		{
			name:       "valid with identity",
			out:        outcome{reason: esv1.ReasonStoreValid, identity: "system:serviceaccount:ns:sa"},
			wantStatus: corev1.ConditionTrue,
			wantMsg:    "store validated; authenticated as system:serviceaccount:ns:sa",
		},
		{
			name:       "valid without identity",
			out:        outcome{reason: esv1.ReasonStoreValid},
			wantStatus: corev1.ConditionTrue,
			wantMsg:    "store validated",
		},
		{
			name:       "unknown without a cause",
			out:        outcome{reason: esv1.ReasonValidationUnknown},
			wantStatus: corev1.ConditionTrue,
			wantMsg:    msgUnknown,
		},
		{
			name:       "unknown because of referent credentials",
			out:        outcome{reason: esv1.ReasonValidationUnknown, err: provider.ErrNoReferentNamespace},
			wantStatus: corev1.ConditionTrue,
			wantMsg:    "store not validated: " + provider.ErrNoReferentNamespace.Error(),
		},
		{
			name:       "invalid store configuration",
			out:        outcome{reason: esv1.ReasonInvalidStoreConfiguration, err: errors.New("spec.provider: no supported provider configured")},
			wantStatus: corev1.ConditionFalse,
			wantMsg:    "spec.provider: no supported provider configured",
		},
		{
			name:       "invalid provider config names the field",
			out:        outcome{reason: esv1.ReasonInvalidProviderConfig, err: cfgErr},
			wantStatus: corev1.ConditionFalse,
			wantMsg:    "spec.provider.fake.validationResult: 7 is not a validation result",
		},
		{
			name:       "validation failed",
			out:        outcome{reason: esv1.ReasonValidationFailed, err: errors.New("dial tcp 127.0.0.1:1: connection refused")},
			wantStatus: corev1.ConditionFalse,
			wantMsg:    "validation failed: dial tcp 127.0.0.1:1: connection refused",
		},
		{
			name:       "failure without an error says the reason",
			out:        outcome{reason: esv1.ReasonInvalidProviderConfig},
			wantStatus: corev1.ConditionFalse,
			wantMsg:    esv1.ReasonInvalidProviderConfig,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readyFrom(tt.out)
			if got.Type != esv1.ConditionReady || got.Status != tt.wantStatus || got.Reason != tt.out.reason || got.Message != tt.wantMsg {
				t.Errorf("readyFrom = %+v, want Ready %s %s %q", got, tt.wantStatus, tt.out.reason, tt.wantMsg)
			}
			if !got.LastTransitionTime.IsZero() {
				t.Errorf("readyFrom set lastTransitionTime %v", got.LastTransitionTime)
			}
		})
	}
}

func TestReadyFromBoundsTheMessage(t *testing.T) {
	got := readyFrom(outcome{reason: esv1.ReasonValidationFailed, err: errors.New(strings.Repeat("x", 10_000))})
	if len(got.Message) != maxMessage || !strings.HasSuffix(got.Message, "...") {
		t.Errorf("message of %d bytes ending %q, want %d ending ...", len(got.Message), got.Message[len(got.Message)-5:], maxMessage)
	}
}

func TestDeriveStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(t0.Add(time.Hour))
	ready := func(status corev1.ConditionStatus, reason, msg string, at metav1.Time) esv1.SecretStoreStatusCondition {
		return esv1.SecretStoreStatusCondition{Type: esv1.ConditionReady, Status: status, Reason: reason, Message: msg, LastTransitionTime: at}
	}
	stalled := func(reason, msg string, at metav1.Time) esv1.SecretStoreStatusCondition {
		return esv1.SecretStoreStatusCondition{Type: esv1.ConditionStalled, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastTransitionTime: at}
	}
	valid := outcome{reason: esv1.ReasonStoreValid, identity: "fake", capabilities: esv1.SecretStoreReadOnly}
	validMsg := "store validated; authenticated as fake"
	badField := outcome{reason: esv1.ReasonInvalidProviderConfig, err: errors.New("spec.x: bad"), capabilities: esv1.SecretStoreReadOnly, stalled: true}
	tests := []struct {
		name string
		prev esv1.SecretStoreStatus
		out  outcome
		want esv1.SecretStoreStatus
	}{
		{
			name: "first validation sets Ready and capabilities at now",
			out:  valid,
			want: esv1.SecretStoreStatus{
				Conditions:   []esv1.SecretStoreStatusCondition{ready(corev1.ConditionTrue, esv1.ReasonStoreValid, validMsg, now)},
				Capabilities: esv1.SecretStoreReadOnly,
			},
		},
		{
			name: "re-validation keeps lastTransitionTime",
			prev: esv1.SecretStoreStatus{
				Conditions:   []esv1.SecretStoreStatusCondition{ready(corev1.ConditionTrue, esv1.ReasonStoreValid, validMsg, t0)},
				Capabilities: esv1.SecretStoreReadOnly,
			},
			out: valid,
			want: esv1.SecretStoreStatus{
				Conditions:   []esv1.SecretStoreStatusCondition{ready(corev1.ConditionTrue, esv1.ReasonStoreValid, validMsg, t0)},
				Capabilities: esv1.SecretStoreReadOnly,
			},
		},
		{
			name: "a new reason under the same status keeps lastTransitionTime",
			prev: esv1.SecretStoreStatus{
				Conditions: []esv1.SecretStoreStatusCondition{ready(corev1.ConditionTrue, esv1.ReasonStoreValid, validMsg, t0)},
			},
			out: outcome{reason: esv1.ReasonValidationUnknown, capabilities: esv1.SecretStoreReadOnly},
			want: esv1.SecretStoreStatus{
				Conditions:   []esv1.SecretStoreStatusCondition{ready(corev1.ConditionTrue, esv1.ReasonValidationUnknown, msgUnknown, t0)},
				Capabilities: esv1.SecretStoreReadOnly,
			},
		},
		{
			name: "a config error sets Ready False and Stalled at now",
			prev: esv1.SecretStoreStatus{
				Conditions:   []esv1.SecretStoreStatusCondition{ready(corev1.ConditionTrue, esv1.ReasonStoreValid, validMsg, t0)},
				Capabilities: esv1.SecretStoreReadOnly,
			},
			out: badField,
			want: esv1.SecretStoreStatus{
				Conditions: []esv1.SecretStoreStatusCondition{
					ready(corev1.ConditionFalse, esv1.ReasonInvalidProviderConfig, "spec.x: bad", now),
					stalled(esv1.ReasonInvalidProviderConfig, "spec.x: bad", now),
				},
				Capabilities: esv1.SecretStoreReadOnly,
			},
		},
		{
			name: "a transient failure is not Stalled",
			prev: esv1.SecretStoreStatus{
				Conditions: []esv1.SecretStoreStatusCondition{
					ready(corev1.ConditionFalse, esv1.ReasonInvalidProviderConfig, "spec.x: bad", t0),
					stalled(esv1.ReasonInvalidProviderConfig, "spec.x: bad", t0),
				},
				Capabilities: esv1.SecretStoreReadOnly,
			},
			out: outcome{reason: esv1.ReasonValidationFailed, err: errors.New("timeout"), capabilities: esv1.SecretStoreReadOnly, transient: true},
			want: esv1.SecretStoreStatus{
				Conditions:   []esv1.SecretStoreStatusCondition{ready(corev1.ConditionFalse, esv1.ReasonValidationFailed, "validation failed: timeout", t0)},
				Capabilities: esv1.SecretStoreReadOnly,
			},
		},
		{
			name: "recovery removes Stalled and moves lastTransitionTime",
			prev: esv1.SecretStoreStatus{
				Conditions: []esv1.SecretStoreStatusCondition{
					ready(corev1.ConditionFalse, esv1.ReasonInvalidProviderConfig, "spec.x: bad", t0),
					stalled(esv1.ReasonInvalidProviderConfig, "spec.x: bad", t0),
				},
				Capabilities: esv1.SecretStoreReadOnly,
			},
			out: valid,
			want: esv1.SecretStoreStatus{
				Conditions:   []esv1.SecretStoreStatusCondition{ready(corev1.ConditionTrue, esv1.ReasonStoreValid, validMsg, now)},
				Capabilities: esv1.SecretStoreReadOnly,
			},
		},
		{
			name: "an unknown provider clears the capabilities",
			prev: esv1.SecretStoreStatus{
				Conditions:   []esv1.SecretStoreStatusCondition{ready(corev1.ConditionTrue, esv1.ReasonStoreValid, validMsg, t0)},
				Capabilities: esv1.SecretStoreReadOnly,
			},
			out: outcome{reason: esv1.ReasonInvalidStoreConfiguration, err: errors.New("spec.provider: none"), stalled: true},
			want: esv1.SecretStoreStatus{
				Conditions: []esv1.SecretStoreStatusCondition{
					ready(corev1.ConditionFalse, esv1.ReasonInvalidStoreConfiguration, "spec.provider: none", now),
					stalled(esv1.ReasonInvalidStoreConfiguration, "spec.provider: none", now),
				},
			},
		},
		{
			name: "other condition types are kept",
			prev: esv1.SecretStoreStatus{
				Conditions: []esv1.SecretStoreStatusCondition{{Type: "Custom", Status: corev1.ConditionTrue, LastTransitionTime: t0}},
			},
			out: valid,
			want: esv1.SecretStoreStatus{
				Conditions: []esv1.SecretStoreStatusCondition{
					{Type: "Custom", Status: corev1.ConditionTrue, LastTransitionTime: t0},
					ready(corev1.ConditionTrue, esv1.ReasonStoreValid, validMsg, now),
				},
				Capabilities: esv1.SecretStoreReadOnly,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prevCopy := tt.prev.DeepCopy()
			got := deriveStatus(&tt.prev, tt.out, now)
			if !statusEqual(got, tt.want) {
				t.Errorf("deriveStatus =\n%+v\nwant\n%+v", got, tt.want)
			}
			if !statusEqual(tt.prev, *prevCopy) {
				t.Errorf("deriveStatus modified prev: %+v", tt.prev)
			}
		})
	}
}

// statusEqual compares statuses, treating nil and empty condition lists alike.
func statusEqual(a, b esv1.SecretStoreStatus) bool {
	if a.Capabilities != b.Capabilities || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || !x.LastTransitionTime.Equal(&y.LastTransitionTime) {
			return false
		}
	}
	return true
}

func TestIsTransition(t *testing.T) {
	cond := func(status corev1.ConditionStatus, reason, msg string) esv1.SecretStoreStatusCondition {
		return esv1.SecretStoreStatusCondition{Type: esv1.ConditionReady, Status: status, Reason: reason, Message: msg}
	}
	valid := cond(corev1.ConditionTrue, esv1.ReasonStoreValid, "store validated")
	tests := []struct {
		name string
		prev *esv1.SecretStoreStatusCondition
		next esv1.SecretStoreStatusCondition
		want bool
	}{
		{"first condition", nil, valid, true},
		{"same condition", &valid, valid, false},
		{"new identity only", &valid, cond(corev1.ConditionTrue, esv1.ReasonStoreValid, "store validated; authenticated as x"), false},
		{"same status, new reason", &valid, cond(corev1.ConditionTrue, esv1.ReasonValidationUnknown, msgUnknown), true},
		{"new status", &valid, cond(corev1.ConditionFalse, esv1.ReasonValidationFailed, "validation failed: x"), true},
		{"another error under the same reason", ptr.To(cond(corev1.ConditionFalse, esv1.ReasonValidationFailed, "validation failed: x")), cond(corev1.ConditionFalse, esv1.ReasonValidationFailed, "validation failed: y"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isTransition(tt.prev, tt.next); got != tt.want {
				t.Errorf("isTransition = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadyCondition(t *testing.T) {
	if ReadyCondition(nil) != nil {
		t.Error("ReadyCondition(nil) is not nil")
	}
	if ReadyCondition(&esv1.SecretStoreStatus{}) != nil {
		t.Error("ReadyCondition of an empty status is not nil")
	}
	st := &esv1.SecretStoreStatus{Conditions: []esv1.SecretStoreStatusCondition{
		{Type: esv1.ConditionStalled, Status: corev1.ConditionTrue},
		{Type: esv1.ConditionReady, Status: corev1.ConditionFalse, Reason: esv1.ReasonValidationFailed},
	}}
	got := ReadyCondition(st)
	if got == nil || got.Reason != esv1.ReasonValidationFailed {
		t.Fatalf("ReadyCondition = %+v, want the Ready condition", got)
	}
	if got != &st.Conditions[1] {
		t.Error("ReadyCondition does not point into the status")
	}
}

func TestRefreshInterval(t *testing.T) {
	tests := []struct {
		name string
		spec esv1.SecretStoreSpec
		want time.Duration
	}{
		{"omitted", esv1.SecretStoreSpec{}, DefaultRefreshInterval},
		{"zero", esv1.SecretStoreSpec{RefreshInterval: intOrString(0)}, DefaultRefreshInterval},
		{"seconds", esv1.SecretStoreSpec{RefreshInterval: intOrString(30)}, 30 * time.Second},
		{"duration", esv1.SecretStoreSpec{RefreshInterval: durationString("1h")}, time.Hour},
		{"negative", esv1.SecretStoreSpec{RefreshInterval: durationString("-1m")}, DefaultRefreshInterval},
		{"unparsable", esv1.SecretStoreSpec{RefreshInterval: durationString("soon")}, DefaultRefreshInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refreshInterval(&tt.spec); got != tt.want {
				t.Errorf("refreshInterval = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestJitter(t *testing.T) {
	tests := []struct {
		interval, limit time.Duration
	}{
		{0, 0},
		{time.Second, 50 * time.Millisecond},
		{5 * time.Minute, 15 * time.Second},
		{24 * time.Hour, time.Minute},
	}
	for _, tt := range tests {
		for range 100 {
			if got := jitter(tt.interval); got < 0 || (got >= tt.limit && tt.limit > 0) || (tt.limit == 0 && got != 0) {
				t.Fatalf("jitter(%s) = %s, want in [0, %s)", tt.interval, got, tt.limit)
			}
		}
	}
}
