package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/metrics"
)

// Defaults of CacheOptions.
const (
	// DefaultIdleTTL is how long an unused client stays in the cache.
	DefaultIdleTTL = 30 * time.Minute
	// DefaultCloseDelay is how long a replaced or invalidated client stays
	// open for the calls that are already using it.
	DefaultCloseDelay = 30 * time.Second
	// DefaultBuildTimeout bounds building one client (credential reads,
	// logins).
	DefaultBuildTimeout = time.Minute
	// closeTimeout bounds closing one client.
	closeTimeout = 30 * time.Second
)

// CacheOptions tune a Cache. The zero value means every default.
type CacheOptions struct {
	// IdleTTL is how long a client may go unused before Run closes it.
	// When 0, DefaultIdleTTL.
	IdleTTL time.Duration
	// CloseDelay is how long a client that was replaced (new store
	// generation), invalidated or evicted stays open, so that calls
	// already using it can finish. When 0, DefaultCloseDelay; a negative
	// value closes at once.
	CloseDelay time.Duration
	// BuildTimeout bounds one client build. When 0, DefaultBuildTimeout.
	BuildTimeout time.Duration
	// Log receives failures to close a client. When unset, they are
	// dropped.
	Log logr.Logger
	// Controller is the controller's own identity, put on the context of
	// every client build (see WithController). When zero, builds see
	// whatever the context of the Get that started them carries.
	Controller Controller
}

// CacheStats are the cache's counters since it was created.
type CacheStats struct {
	// Hits counts Gets answered by a client that was built or being built.
	Hits uint64
	// Misses counts Gets that started a build.
	Misses uint64
	// BuildErrors counts builds that failed.
	BuildErrors uint64
	// Coalesced counts reads that shared another caller's provider call.
	Coalesced uint64
	// Closed counts clients closed (replaced, invalidated, idle or at
	// shutdown).
	Closed uint64
	// Entries is how many clients are cached or being built now.
	Entries int
}

// Cache holds one provider client per store identity, so that the engine
// logs in once per store rather than once per reconcile.
//
// An identity is the store's UID and the referent namespace: for a
// ClusterSecretStore the namespace of the ExternalSecret (credentials
// without a namespace resolve there), for a SecretStore always "". A cached
// client belongs to one generation of the store: a Get with a newer
// generation builds a new client and retires the old one. A Get with an
// older generation (a stale copy of the store) gets the newer client.
//
// Clients are built through the registry (ForStore, ValidateStore,
// NewClient), at most one build per identity at a time: concurrent Gets
// wait for the build in flight and share its result, its error included;
// a failed build is not cached. The clients Get returns are wrapped with
// Coalesce. Retired clients are closed after CloseDelay.
//
// A Cache is safe for concurrent use. Create it with NewCache.
type Cache struct {
	opts CacheOptions

	mu       sync.Mutex
	entries  map[cacheKey]*cacheEntry
	retiring map[*time.Timer]Client

	hits, misses, buildErrors, coalesced, closed atomic.Uint64
}

// cacheKey identifies a store identity.
type cacheKey struct {
	store     string // the store's UID, or kind/namespace/name when it has none
	namespace string // the referent namespace; "" for a SecretStore
}

// cacheEntry is one cached client or a build in flight. The fields after
// done are written before done is closed and read only after it is.
type cacheEntry struct {
	generation int64
	lastUsed   time.Time // guarded by Cache.mu
	building   bool      // guarded by Cache.mu
	stale      bool      // guarded by Cache.mu: replaced or dropped while building
	done       chan struct{}

	client Client // the coalesced client, when the build succeeded
	err    error
}

// errSuperseded is what a build that was replaced or invalidated while in
// flight reports to its waiters, which then try again.
var errSuperseded = errors.New("the store changed while its client was being built")

// NewCache returns an empty cache.
func NewCache(opts CacheOptions) *Cache {
	if opts.IdleTTL <= 0 {
		opts.IdleTTL = DefaultIdleTTL
	}
	if opts.CloseDelay == 0 {
		opts.CloseDelay = DefaultCloseDelay
	}
	if opts.BuildTimeout <= 0 {
		opts.BuildTimeout = DefaultBuildTimeout
	}
	return &Cache{
		opts:     opts,
		entries:  map[cacheKey]*cacheEntry{},
		retiring: map[*time.Timer]Client{},
	}
}

// maxSupersededRetries bounds how often Get starts over because the store
// changed while its client was being built.
const maxSupersededRetries = 3

// Get returns the client for store as used from namespace (the
// ExternalSecret's namespace), building it through the registry on a miss.
// kube is handed to the provider to read credential Secrets and request
// tokens. Get waits for a build in flight until ctx ends; the build itself
// is not tied to ctx (other callers may be waiting for it) but bounded by
// BuildTimeout.
func (c *Cache) Get(ctx context.Context, store Store, kube client.Client, namespace string) (Client, error) {
	key := keyFor(store, namespace)
	gen := store.GetGeneration()
	for attempt := 0; ; attempt++ {
		e := c.entryFor(ctx, key, gen, store, kube, namespace)
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the client of %s %s: %w", store.StoreKind(), storeName(store), ctx.Err())
		}
		if errors.Is(e.err, errSuperseded) && attempt < maxSupersededRetries {
			continue
		}
		if e.err != nil {
			return nil, e.err
		}
		return e.client, nil
	}
}

// entryFor returns the entry for key, starting a build when there is none
// for generation gen or newer.
func (c *Cache) entryFor(ctx context.Context, key cacheKey, gen int64, store Store, kube client.Client, namespace string) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e != nil && e.generation >= gen {
		c.hits.Add(1)
		metrics.ClientCache.WithLabelValues("hit").Inc()
		e.lastUsed = time.Now()
		return e
	}
	if e != nil {
		c.retireLocked(e)
	}
	c.misses.Add(1)
	metrics.ClientCache.WithLabelValues("miss").Inc()
	e = &cacheEntry{generation: gen, lastUsed: time.Now(), building: true, done: make(chan struct{})}
	c.entries[key] = e
	// The caller may change its copy of the store while the build runs.
	go c.build(context.WithoutCancel(ctx), key, e, store.DeepCopyObject().(Store), kube, namespace)
	return e
}

// build builds e's client and publishes the outcome to its waiters.
func (c *Cache) build(ctx context.Context, key cacheKey, e *cacheEntry, store Store, kube client.Client, namespace string) {
	if c.opts.Controller != (Controller{}) {
		ctx = WithController(ctx, c.opts.Controller)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.BuildTimeout)
	built, err := newClient(ctx, store, kube, namespace)
	cancel()

	c.mu.Lock()
	e.building = false
	stale := e.stale
	switch {
	case err != nil:
		c.buildErrors.Add(1)
		metrics.ClientCache.WithLabelValues("build_error").Inc()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
	case stale:
		err = errSuperseded
	default:
		e.client = coalesce(built, func() {
			c.coalesced.Add(1)
			metrics.ClientCache.WithLabelValues("coalesced").Inc()
		})
	}
	e.err = err
	c.mu.Unlock()
	if stale && built != nil {
		c.closeClient(built)
	}
	close(e.done)
}

// newClient builds a client for store through the registry.
func newClient(ctx context.Context, store Store, kube client.Client, namespace string) (Client, error) {
	p, name, err := ForStore(store.StoreSpec())
	if err != nil {
		return nil, fmt.Errorf("building a client for %s %s: %w", store.StoreKind(), storeName(store), err)
	}
	if err := p.ValidateStore(store); err != nil {
		return nil, fmt.Errorf("validating %s %s (provider %s): %w", store.StoreKind(), storeName(store), name, err)
	}
	cl, err := p.NewClient(ctx, store, kube, namespace)
	if err != nil {
		return nil, fmt.Errorf("building the %s client of %s %s: %w", name, store.StoreKind(), storeName(store), err)
	}
	return metered(cl, name), nil
}

// Invalidate drops every client of the store with this UID (all referent
// namespaces) and closes them after CloseDelay; builds in flight are
// discarded and their waiters build anew. The engine calls it when a
// Secret the store's credentials come from changes.
func (c *Cache) Invalidate(storeUID types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, e := range c.entries {
		if key.store == string(storeUID) {
			delete(c.entries, key)
			c.retireLocked(e)
		}
	}
}

// Run closes clients that have been idle longer than IdleTTL until ctx
// ends, then closes every client. It fits manager.Runnable's Start.
func (c *Cache) Run(ctx context.Context) error {
	interval := min(max(c.opts.IdleTTL/4, 10*time.Millisecond), time.Minute)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Close()
			return nil
		case <-tick.C:
			c.evictIdle(time.Now().Add(-c.opts.IdleTTL))
		}
	}
}

// evictIdle drops and retires the built clients last used before cutoff.
func (c *Cache) evictIdle(cutoff time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, e := range c.entries {
		if !e.building && e.lastUsed.Before(cutoff) {
			delete(c.entries, key)
			c.retireLocked(e)
		}
	}
}

// Close drops every client and closes them at once, including those
// waiting out CloseDelay. Builds in flight are discarded when they end.
// The cache stays usable.
func (c *Cache) Close() {
	c.mu.Lock()
	var closing []Client
	for key, e := range c.entries {
		delete(c.entries, key)
		if e.building {
			e.stale = true
		} else if e.client != nil {
			closing = append(closing, e.client)
		}
	}
	for t, cl := range c.retiring {
		if t.Stop() {
			closing = append(closing, cl)
		}
		delete(c.retiring, t)
	}
	c.mu.Unlock()
	for _, cl := range closing {
		c.closeClient(cl)
	}
}

// retireLocked marks e as replaced and schedules its client's Close. A
// build in flight closes its own client when it ends. c.mu must be held.
func (c *Cache) retireLocked(e *cacheEntry) {
	if e.building {
		e.stale = true
		return
	}
	if e.client == nil {
		return
	}
	cl := e.client
	if c.opts.CloseDelay < 0 {
		go c.closeClient(cl)
		return
	}
	var t *time.Timer
	t = time.AfterFunc(c.opts.CloseDelay, func() {
		c.mu.Lock()
		_, pending := c.retiring[t]
		delete(c.retiring, t)
		c.mu.Unlock()
		if pending {
			c.closeClient(cl)
		}
	})
	c.retiring[t] = cl
}

// closeClient closes cl, bounded by closeTimeout.
func (c *Cache) closeClient(cl Client) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := cl.Close(ctx); err != nil {
		c.opts.Log.Error(err, "Closing a provider client failed")
	}
	c.closed.Add(1)
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	return CacheStats{
		Hits:        c.hits.Load(),
		Misses:      c.misses.Load(),
		BuildErrors: c.buildErrors.Load(),
		Coalesced:   c.coalesced.Load(),
		Closed:      c.closed.Load(),
		Entries:     n,
	}
}

// keyFor returns the identity of store as used from namespace.
func keyFor(store Store, namespace string) cacheKey {
	k := cacheKey{store: string(store.GetUID())}
	if k.store == "" {
		k.store = store.StoreKind() + "/" + store.GetNamespace() + "/" + store.GetName()
	}
	if store.StoreKind() != string(esv1.SecretStoreKindSecretStore) {
		k.namespace = namespace
	}
	return k
}

// storeName is the store's name, with its namespace when it has one.
func storeName(store Store) string {
	if ns := store.GetNamespace(); ns != "" {
		return ns + "/" + store.GetName()
	}
	return store.GetName()
}
