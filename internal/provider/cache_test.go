package provider

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// testProviderName is the name the cache tests register their provider
// under. It selects stores with a fake block: the real fake provider is not
// linked into this test binary.
const testProviderName = "cache-test"

var testProv = &countingProvider{}

func init() {
	Register(testProviderName, testProv, func(p *esv1.SecretStoreProvider) bool { return p.Fake != nil })
}

// countingProvider counts the clients it builds. Tests set gate to hold
// builds and fail to make them fail; reset clears both between tests.
type countingProvider struct {
	mu      sync.Mutex
	builds  int
	gate    chan struct{}
	fail    error
	clients []*countedClient
}

func (p *countingProvider) reset(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.builds, p.gate, p.fail, p.clients = 0, nil, nil, nil
}

func (p *countingProvider) set(gate chan struct{}, fail error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gate, p.fail = gate, fail
}

func (p *countingProvider) Builds() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.builds
}

func (p *countingProvider) client(i int) *countedClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clients[i]
}

func (p *countingProvider) ValidateStore(store Store) error {
	if len(store.StoreSpec().Provider.Fake.Data) > 0 && store.StoreSpec().Provider.Fake.Data[0].Key == "invalid" {
		return NewConfigError("spec.provider.fake.data[0].key", "is invalid")
	}
	return nil
}

func (p *countingProvider) NewClient(ctx context.Context, store Store, _ client.Client, namespace string) (Client, error) {
	p.mu.Lock()
	p.builds++
	gate, fail := p.gate, p.fail
	p.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		return nil, fail
	}
	c := &countedClient{store: store.GetName(), generation: store.GetGeneration(), namespace: namespace, controller: ControllerFrom(ctx)}
	p.mu.Lock()
	p.clients = append(p.clients, c)
	p.mu.Unlock()
	return c, nil
}

func (p *countingProvider) Capabilities() esv1.SecretStoreCapabilities {
	return esv1.SecretStoreReadOnly
}

// countedClient records which store and namespace it was built for and
// whether it was closed.
type countedClient struct {
	blockingClient
	store      string
	generation int64
	namespace  string
	controller Controller
	closed     atomic.Bool
}

func (c *countedClient) Close(context.Context) error {
	c.closed.Store(true)
	return nil
}

func unwrap(t *testing.T, c Client) *countedClient {
	t.Helper()
	cc, ok := c.(*coalescedClient)
	if !ok {
		t.Fatalf("the cache returned a %T; want a coalesced client", c)
	}
	return cc.Unwrap().(*meteredClient).Unwrap().(*countedClient)
}

func secretStore(name, uid string, gen int64) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", UID: types.UID(uid), Generation: gen},
		Spec:       esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}},
	}
}

func clusterStore(name, uid string, gen int64) *esv1.ClusterSecretStore {
	return &esv1.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(uid), Generation: gen},
		Spec:       esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}},
	}
}

// eventually waits up to 10s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustGet(t *testing.T, c *Cache, store Store, ns string) *countedClient {
	t.Helper()
	cl, err := c.Get(t.Context(), store, nil, ns)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return unwrap(t, cl)
}

func TestCacheHitAndMiss(t *testing.T) {
	testProv.reset(t)
	c := NewCache(CacheOptions{CloseDelay: -1})
	store := secretStore("s", "uid-1", 1)
	first := mustGet(t, c, store, "team-a")
	second := mustGet(t, c, store, "team-a")
	if first != second {
		t.Fatalf("second Get built another client")
	}
	if n := testProv.Builds(); n != 1 {
		t.Fatalf("%d builds; want 1", n)
	}
	st := c.Stats()
	if st.Hits != 1 || st.Misses != 1 || st.Entries != 1 {
		t.Fatalf("stats = %+v; want 1 hit, 1 miss, 1 entry", st)
	}
}

func TestCacheOneBuildForConcurrentGets(t *testing.T) {
	testProv.reset(t)
	gate := make(chan struct{})
	testProv.set(gate, nil)
	c := NewCache(CacheOptions{CloseDelay: -1})
	store := secretStore("s", "uid-1", 1)

	const callers = 30
	got := make([]Client, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var err error
			if got[i], err = c.Get(t.Context(), store, nil, "team-a"); err != nil {
				t.Error(err)
			}
		})
	}
	eventually(t, "every caller asked", func() bool { s := c.Stats(); return s.Hits+s.Misses == callers })
	close(gate)
	wg.Wait()
	if n := testProv.Builds(); n != 1 {
		t.Fatalf("%d builds; want 1", n)
	}
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("caller %d got another client", i)
		}
	}
}

func TestCacheKeys(t *testing.T) {
	tests := []struct {
		name   string
		gets   func(c *Cache, t *testing.T) []*countedClient
		builds int
	}{
		{
			name: "a SecretStore ignores the referent namespace",
			gets: func(c *Cache, t *testing.T) []*countedClient {
				s := secretStore("s", "uid-1", 1)
				return []*countedClient{mustGet(t, c, s, "team-a"), mustGet(t, c, s, "team-b")}
			},
			builds: 1,
		},
		{
			name: "a ClusterSecretStore has one client per referent namespace",
			gets: func(c *Cache, t *testing.T) []*countedClient {
				s := clusterStore("cs", "uid-2", 1)
				return []*countedClient{mustGet(t, c, s, "team-a"), mustGet(t, c, s, "team-b"), mustGet(t, c, s, "team-a")}
			},
			builds: 2,
		},
		{
			name: "stores are told apart by UID",
			gets: func(c *Cache, t *testing.T) []*countedClient {
				return []*countedClient{mustGet(t, c, secretStore("s", "uid-1", 1), ""), mustGet(t, c, secretStore("s", "uid-9", 1), "")}
			},
			builds: 2,
		},
		{
			name: "stores without UID are told apart by kind and name",
			gets: func(c *Cache, t *testing.T) []*countedClient {
				return []*countedClient{
					mustGet(t, c, secretStore("s", "", 1), ""), mustGet(t, c, clusterStore("s", "", 1), ""),
					mustGet(t, c, secretStore("t", "", 1), ""), mustGet(t, c, secretStore("s", "", 1), ""),
				}
			},
			builds: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testProv.reset(t)
			c := NewCache(CacheOptions{CloseDelay: -1})
			tt.gets(c, t)
			if n := testProv.Builds(); n != tt.builds {
				t.Fatalf("%d builds; want %d", n, tt.builds)
			}
		})
	}
}

func TestCacheReferentNamespaceReachesProvider(t *testing.T) {
	testProv.reset(t)
	c := NewCache(CacheOptions{CloseDelay: -1})
	if got := mustGet(t, c, clusterStore("cs", "uid-2", 1), "team-b"); got.namespace != "team-b" {
		t.Fatalf("the provider was asked for namespace %q; want team-b", got.namespace)
	}
}

func TestCacheBuildsSeeTheController(t *testing.T) {
	testProv.reset(t)
	me := Controller{Namespace: "secretbridge-system", ServiceAccount: "secretbridge"}
	c := NewCache(CacheOptions{CloseDelay: -1, Controller: me})
	if got := mustGet(t, c, secretStore("s", "uid-1", 1), ""); got.controller != me {
		t.Fatalf("the build saw controller %+v; want %+v", got.controller, me)
	}
}

func TestCacheNewGenerationReplacesClient(t *testing.T) {
	testProv.reset(t)
	c := NewCache(CacheOptions{CloseDelay: -1})
	v1 := mustGet(t, c, secretStore("s", "uid-1", 1), "")
	v2 := mustGet(t, c, secretStore("s", "uid-1", 2), "")
	if v1 == v2 || v2.generation != 2 {
		t.Fatalf("generation 2 got the client of generation %d", v2.generation)
	}
	eventually(t, "the generation 1 client is closed", v1.closed.Load)
	if v2.closed.Load() {
		t.Fatalf("the generation 2 client was closed")
	}
	// A stale copy of the store gets the newest client, without a build.
	if old := mustGet(t, c, secretStore("s", "uid-1", 1), ""); old != v2 {
		t.Fatalf("a Get with generation 1 got the client of generation %d", old.generation)
	}
	if n := testProv.Builds(); n != 2 {
		t.Fatalf("%d builds; want 2", n)
	}
}

func TestCacheInvalidate(t *testing.T) {
	testProv.reset(t)
	c := NewCache(CacheOptions{CloseDelay: -1})
	cs := clusterStore("cs", "uid-2", 1)
	a := mustGet(t, c, cs, "team-a")
	b := mustGet(t, c, cs, "team-b")
	other := mustGet(t, c, secretStore("s", "uid-1", 1), "")

	c.Invalidate("uid-2")
	eventually(t, "both clients of the store are closed", func() bool { return a.closed.Load() && b.closed.Load() })
	if other.closed.Load() {
		t.Fatalf("another store's client was closed")
	}
	if again := mustGet(t, c, cs, "team-a"); again == a {
		t.Fatalf("Get after Invalidate returned the dropped client")
	}
	if n := testProv.Builds(); n != 4 {
		t.Fatalf("%d builds; want 4", n)
	}
}

func TestCacheInvalidateDuringBuild(t *testing.T) {
	testProv.reset(t)
	gate := make(chan struct{})
	testProv.set(gate, nil)
	c := NewCache(CacheOptions{CloseDelay: -1})
	store := secretStore("s", "uid-1", 1)
	got := make(chan Client, 1)
	go func() {
		cl, err := c.Get(t.Context(), store, nil, "")
		if err != nil {
			t.Error(err)
		}
		got <- cl
	}()
	eventually(t, "the build started", func() bool { return testProv.Builds() == 1 })
	c.Invalidate("uid-1")
	close(gate)
	fresh := unwrap(t, <-got)
	if n := testProv.Builds(); n != 2 {
		t.Fatalf("%d builds; want 2 (the superseded build and a fresh one)", n)
	}
	if fresh != testProv.client(1) || !testProv.client(0).closed.Load() {
		t.Fatalf("the waiter got the superseded client, or it was not closed")
	}
}

func TestCacheBuildErrorIsSharedNotCached(t *testing.T) {
	testProv.reset(t)
	gate := make(chan struct{})
	boom := errors.New("login refused")
	testProv.set(gate, boom)
	c := NewCache(CacheOptions{CloseDelay: -1})
	store := secretStore("s", "uid-1", 1)

	const callers = 10
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := c.Get(t.Context(), store, nil, ""); errors.Is(err, boom) {
				failed.Add(1)
			}
		})
	}
	eventually(t, "every caller asked", func() bool { s := c.Stats(); return s.Hits+s.Misses == callers })
	close(gate)
	wg.Wait()
	if failed.Load() != callers || testProv.Builds() != 1 {
		t.Fatalf("%d callers failed after %d builds; want %d after 1", failed.Load(), testProv.Builds(), callers)
	}
	testProv.set(nil, nil)
	mustGet(t, c, store, "")
	if n := testProv.Builds(); n != 2 {
		t.Fatalf("%d builds; want 2: a failed build must not be cached", n)
	}
	if st := c.Stats(); st.BuildErrors != 1 {
		t.Fatalf("stats = %+v; want 1 build error", st)
	}
}

func TestCacheBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		store Store
		check func(error) bool
	}{
		{
			name:  "no provider configured",
			store: &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "u"}},
			check: func(err error) bool { return errors.Is(err, ErrNoProvider) },
		},
		{
			name: "invalid store",
			store: &esv1.SecretStore{
				ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "u"},
				Spec:       esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "invalid"}}}}},
			},
			check: func(err error) bool {
				var ce *ConfigError
				return errors.As(err, &ce) && ce.Field == "spec.provider.fake.data[0].key"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testProv.reset(t)
			c := NewCache(CacheOptions{})
			_, err := c.Get(t.Context(), tt.store, nil, "")
			if err == nil || !tt.check(err) {
				t.Fatalf("Get: %v; want another error", err)
			}
			if testProv.Builds() != 0 || c.Stats().Entries != 0 {
				t.Fatalf("a failed build left %d builds and %d entries", testProv.Builds(), c.Stats().Entries)
			}
		})
	}
}

func TestCacheCallerGivesUpBuildGoesOn(t *testing.T) {
	testProv.reset(t)
	gate := make(chan struct{})
	testProv.set(gate, nil)
	c := NewCache(CacheOptions{CloseDelay: -1})
	store := secretStore("s", "uid-1", 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, store, nil, "")
		done <- err
	}()
	eventually(t, "the build started", func() bool { return testProv.Builds() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get after cancel: %v; want context.Canceled", err)
	}
	close(gate)
	mustGet(t, c, store, "")
	if n := testProv.Builds(); n != 1 {
		t.Fatalf("%d builds; want 1: the build must survive its first caller", n)
	}
}

func TestCacheCloseDelay(t *testing.T) {
	testProv.reset(t)
	c := NewCache(CacheOptions{CloseDelay: 200 * time.Millisecond})
	v1 := mustGet(t, c, secretStore("s", "uid-1", 1), "")
	replaced := time.Now()
	mustGet(t, c, secretStore("s", "uid-1", 2), "")
	if v1.closed.Load() {
		t.Fatalf("the replaced client was closed at once")
	}
	eventually(t, "the replaced client is closed", v1.closed.Load)
	if waited := time.Since(replaced); waited < 200*time.Millisecond {
		t.Fatalf("closed after %s; want at least the close delay", waited)
	}
}

func TestCacheIdleClientsAreClosed(t *testing.T) {
	testProv.reset(t)
	c := NewCache(CacheOptions{IdleTTL: 100 * time.Millisecond, CloseDelay: -1})
	ctx, stop := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()

	idle := mustGet(t, c, secretStore("idle", "uid-1", 1), "")
	busy := mustGet(t, c, secretStore("busy", "uid-2", 1), "")
	deadline := time.Now().Add(10 * time.Second)
	for !idle.closed.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("the idle client was not closed")
		}
		if again := mustGet(t, c, secretStore("busy", "uid-2", 1), ""); again != busy {
			t.Fatalf("the client in use was evicted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if busy.closed.Load() {
		t.Fatalf("the client in use was closed")
	}
	stop()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !busy.closed.Load() {
		t.Fatalf("Run did not close the remaining clients when it stopped")
	}
}

func TestCacheCloseClosesRetiringClients(t *testing.T) {
	testProv.reset(t)
	c := NewCache(CacheOptions{CloseDelay: time.Hour})
	v1 := mustGet(t, c, secretStore("s", "uid-1", 1), "")
	v2 := mustGet(t, c, secretStore("s", "uid-1", 2), "")
	c.Close()
	if !v1.closed.Load() || !v2.closed.Load() {
		t.Fatalf("Close left clients open (retiring: %v, current: %v)", !v1.closed.Load(), !v2.closed.Load())
	}
	if st := c.Stats(); st.Entries != 0 || st.Closed != 2 {
		t.Fatalf("stats after Close = %+v", st)
	}
}

func TestCacheCoalescesReads(t *testing.T) {
	testProv.reset(t)
	c := NewCache(CacheOptions{CloseDelay: -1})
	cl, err := c.Get(t.Context(), secretStore("s", "uid-1", 1), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	inner := unwrap(t, cl)
	inner.release = make(chan struct{})
	var joined atomic.Int64
	cl.(*coalescedClient).joined = func() { joined.Add(1) }
	const callers = 5
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() { _, _ = cl.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "k"}) })
	}
	eventually(t, "every caller joined", func() bool { return joined.Load() == callers })
	close(inner.release)
	wg.Wait()
	if n, shared := inner.calls.Load(), c.Stats().Coalesced; n != 1 || shared != callers-1 {
		t.Fatalf("%d provider calls and %d coalesced reads; want 1 and %d", n, shared, callers-1)
	}
}
