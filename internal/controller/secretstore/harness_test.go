package secretstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/manager"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// waitTimeout bounds every wait for the controller.
const waitTimeout = 30 * time.Second

// harness runs the reconciler in a manager of its own that serves a
// controller class of its own, so that tests run in parallel and never
// validate each other's stores.
type harness struct {
	env   *testenv.Env
	class string
	// validations counts Validate calls per store.
	validations *countingSource
}

// start starts a manager with the store reconciler for a new controller
// class and stops it when the test ends.
func start(t *testing.T) *harness {
	t.Helper()
	env := testenv.Get(t)
	h := &harness{env: env, class: "test-" + randomSuffix(t)}
	cache := provider.NewCache(provider.CacheOptions{CloseDelay: -1})
	h.validations = &countingSource{inner: cache, counts: map[types.UID]int{}}
	setup := func(mgr ctrl.Manager, opts manager.Options) error {
		r := &Reconciler{
			Client:             mgr.GetClient(),
			ProviderKube:       env.Client,
			Recorder:           mgr.GetEventRecorder("secretbridge"),
			Clients:            h.validations,
			ControllerClass:    opts.ControllerClass,
			skipNameValidation: true,
		}
		return r.SetupWithManager(mgr, opts.Concurrent)
	}
	mgr, err := manager.New(env.Config, manager.Options{MetricsAddr: "0", ProbeAddr: "0", ControllerClass: h.class, Concurrent: 2}, setup)
	if err != nil {
		t.Fatalf("building the manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
		cache.Close()
	})
	return h
}

func randomSuffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// countingSource counts the Validate calls of the clients it hands out.
type countingSource struct {
	inner *provider.Cache

	mu     sync.Mutex
	counts map[types.UID]int
}

func (c *countingSource) Get(ctx context.Context, store provider.Store, kube client.Client, namespace string) (provider.Client, error) {
	cl, err := c.inner.Get(ctx, store, kube, namespace)
	if err != nil {
		return nil, err
	}
	return countingClient{Client: cl, source: c, uid: store.GetUID()}, nil
}

func (c *countingSource) Invalidate(uid types.UID) { c.inner.Invalidate(uid) }

// count returns how often the clients of the store with uid were validated.
func (c *countingSource) count(uid types.UID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[uid]
}

type countingClient struct {
	provider.Client
	source *countingSource
	uid    types.UID
}

func (c countingClient) Validate(ctx context.Context) (provider.Validation, error) {
	c.source.mu.Lock()
	c.source.counts[c.uid]++
	c.source.mu.Unlock()
	return c.Client.Validate(ctx)
}

// create creates obj and deletes it when the test ends.
func (h *harness) create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := h.env.Client.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() {
		if err := client.IgnoreNotFound(h.env.Client.Delete(context.Background(), obj)); err != nil {
			t.Errorf("deleting %T %s: %v", obj, obj.GetName(), err)
		}
	})
}

// waitReady waits until the store's Ready condition has reason and returns
// the store as last read.
func (h *harness) waitReady(t *testing.T, s store, reason string) esv1.SecretStoreStatusCondition {
	t.Helper()
	var ready esv1.SecretStoreStatusCondition
	testenv.Eventually(t, waitTimeout, func() error {
		if err := h.env.Client.Get(t.Context(), client.ObjectKeyFromObject(s), s); err != nil {
			return err
		}
		c := ReadyCondition(s.StoreStatus())
		if c == nil {
			return errors.New("no Ready condition yet")
		}
		if c.Reason != reason {
			return fmt.Errorf("Ready is %s %s (%s), want reason %s", c.Status, c.Reason, c.Message, reason)
		}
		ready = *c
		return nil
	})
	return ready
}

// waitValidations waits until the store has been validated at least n times.
func (h *harness) waitValidations(t *testing.T, s store, n int) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() error {
		if got := h.validations.count(s.GetUID()); got < n {
			return fmt.Errorf("validated %d times, want at least %d", got, n)
		}
		return nil
	})
}

// eventCounts counts the Events about obj by type/reason. An Event that
// stands for a series counts as many as the series says.
func (h *harness) eventCounts(t *testing.T, obj client.Object) map[string]int {
	t.Helper()
	var list eventsv1.EventList
	if err := h.env.Client.List(t.Context(), &list); err != nil {
		t.Fatalf("listing Events: %v", err)
	}
	counts := map[string]int{}
	for _, e := range list.Items {
		if e.Regarding.UID != obj.GetUID() {
			continue
		}
		n := 1
		if e.Series != nil {
			n = int(e.Series.Count)
		}
		counts[e.Type+"/"+e.Reason] += n
	}
	return counts
}

// waitEvents waits until the Events about obj are exactly want (by
// type/reason).
func (h *harness) waitEvents(t *testing.T, obj client.Object, want map[string]int) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() error {
		got := h.eventCounts(t, obj)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("events %v, want %v", got, want)
		}
		return nil
	})
}

// Event keys for waitEvents.
const (
	evValid   = corev1.EventTypeNormal + "/" + esv1.ReasonStoreValid
	evUnknown = corev1.EventTypeNormal + "/" + esv1.ReasonValidationUnknown
	evFailed  = corev1.EventTypeWarning + "/" + esv1.ReasonValidationFailed
)
