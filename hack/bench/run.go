package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/manager"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// Names the benchmark creates.
const (
	ctrlNamespace = "secretbridge-system"
	ctrlSA        = "external-secrets"
	vaultRole     = "external-secrets-role"
	storeName     = "vault-backend"
	namespaces    = 10
	workers       = 8
	// keyPrefix is where the bench's keys live in Vault's KV v2 mount secret/.
	keyPrefix = "bench/key-"
)

// config is one benchmark run's parameters.
type config struct {
	// Binary is the built secretbridge.
	Binary string
	// ControllerArgs are appended to the controller's command line.
	ControllerArgs []string
	// RefreshInterval is the refreshInterval of the steady-state phase.
	RefreshInterval time.Duration
	// RefreshCycles is how many refresh intervals the steady-state window lasts.
	RefreshCycles int
	// NewObjects is how many ExternalSecrets the starvation phase creates.
	NewObjects int
	// Rotate is how many ExternalSecrets the rotation phase force-syncs.
	Rotate int
	// Timeout bounds each wait.
	Timeout time.Duration
	// ProfileDir, when set, receives the controller's CPU profile of the
	// first ProfileSeconds of the cold start and its heap profile at the
	// end of it (cpu-N.pb.gz, heap-N.pb.gz; `go tool pprof` reads them).
	ProfileDir     string
	ProfileSeconds int
	// Log receives progress lines.
	Log func(format string, args ...any)
}

// result is what one run measured for one N. Durations are wall-clock
// unless named CPU.
type result struct {
	N, K int

	// The ceiling: 2N Secrets created by 8 unthrottled client-go workers,
	// and the K keys read straight from Vault by 8 workers.
	CeilingCreate time.Duration
	CeilingVault  time.Duration
	// CeilingAPICPU and ColdAPICPU are the API server's CPU time
	// (process_cpu_seconds_total) during the Secret creations and during
	// the cold start: where the two-core machine's time goes.
	CeilingAPICPU time.Duration
	ColdAPICPU    time.Duration

	// Cold start: every ExternalSecret exists, then the controller starts.
	ColdAllReady time.Duration // controller start → the last Ready
	ColdP50      time.Duration // controller start → each object's Ready
	ColdP99      time.Duration
	ColdCPU      time.Duration
	ColdPeakRSS  int64   // VmHWM after convergence
	ColdPeakHeap float64 // highest go_memstats_heap_inuse_bytes seen while converging
	ColdVault    vaultCounts
	// ColdAPIServer is the API server's apiserver_request_total increase
	// during convergence, minus the requests this harness sent; it
	// includes kube-controller-manager's few.
	ColdAPIServer float64
	// ColdAPIClient is the controller's own rest_client_requests_total.
	ColdAPIClient float64
	// ColdAPIWork and CeilingAPIWork are the API server's requests and
	// summed request time by kind, during the cold start and the ceiling.
	ColdAPIWork, CeilingAPIWork apiWork

	// Rotation: new values in Vault, force-sync on Rotated objects.
	Rotated       int
	RotationTime  time.Duration // first annotation patch → every Secret holds the new value
	RotationVault vaultCounts

	// Steady state at RefreshInterval.
	RefreshInterval     time.Duration
	RefreshSyncs        float64 // syncs in the window
	RefreshCycles       float64 // RefreshSyncs / N
	RefreshCPUPerCycle  time.Duration
	RefreshVaultPerCyc  float64 // provider requests per cycle (reads + other)
	RefreshLoginsWindow int64
	RefreshQueueDepth   float64 // externalsecret work queue depth when the new objects were created

	// Starvation: NewObjects created while the N refresh.
	NewObjects      int
	NewP50, NewP99  time.Duration // creation → Ready
	NewMax          time.Duration
	PeakRSS         int64 // VmHWM at the end of the run
	PeakHeap        float64
	ControllerFlags string
}

// esTracker follows ExternalSecrets through a watch and records when each
// was first seen Ready and which generation its status was synced from.
type esTracker struct {
	mu       sync.Mutex
	readyAt  map[types.NamespacedName]time.Time
	synced   map[types.NamespacedName]bool // status synced from the current generation
	password map[types.NamespacedName]string
}

func newTracker() *esTracker {
	return &esTracker{
		readyAt:  map[types.NamespacedName]time.Time{},
		synced:   map[types.NamespacedName]bool{},
		password: map[types.NamespacedName]string{},
	}
}

func (t *esTracker) onES(obj any) {
	es, ok := obj.(*esv1.ExternalSecret)
	if !ok {
		return
	}
	now := time.Now()
	key := types.NamespacedName{Namespace: es.Namespace, Name: es.Name}
	ready := false
	for _, c := range es.Status.Conditions {
		if c.Type == esv1.ConditionReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	gen, _, _ := strings.Cut(es.Status.SyncedResourceVersion, "-")
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, seen := t.readyAt[key]; ready && !seen {
		t.readyAt[key] = now
	}
	t.synced[key] = gen == strconv.FormatInt(es.Generation, 10)
}

func (t *esTracker) onSecret(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.password[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = string(s.Data["password"])
}

// count returns how many of keys satisfy f, under the lock.
func (t *esTracker) count(keys []types.NamespacedName, f func(k types.NamespacedName) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, k := range keys {
		if f(k) {
			n++
		}
	}
	return n
}

// harness is one size's environment: the servers, clients, the proxy and
// the controller process.
type harness struct {
	cfg     config
	env     *testenv.Env
	rest    *rest.Config
	kube    kubernetes.Interface
	client  client.Client
	sent    atomic.Int64 // API requests this harness sent
	vault   *vaultCounter
	track   *esTracker
	ctrl    *exec.Cmd
	exited  chan struct{} // closed when the controller process ends
	metrics string        // the controller's /metrics URL
	pprof   string        // the controller's /debug/pprof/ URL (with ProfileDir)
	cpuProf chan error    // the CPU profile's outcome (with ProfileDir)
	dir     string

	heapMu  sync.Mutex
	maxHeap float64
}

// run measures one N from a fresh set of servers.
func run(ctx context.Context, cfg config, n int) (res result, err error) {
	if n%(namespaces*10) != 0 && n%namespaces != 0 {
		return res, fmt.Errorf("size %d: use a multiple of %d (the namespaces)", n, namespaces)
	}
	res = result{N: n, K: max(n/10, 1), ControllerFlags: strings.Join(cfg.ControllerArgs, " ")}
	// The heap sampler and the informers end with this run.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	h := &harness{cfg: cfg, track: newTracker()}
	cfg.Log("N=%d: starting kube-apiserver, etcd, kube-controller-manager and Vault", n)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	h.env, err = testenv.Start(sctx)
	cancel()
	if err != nil {
		return res, err
	}
	defer h.env.Stop()
	if h.dir, err = os.MkdirTemp("", "secretbridge-bench-"); err != nil {
		return res, err
	}
	defer os.RemoveAll(h.dir)
	// The harness's own clients: no client-side rate limit (the ceiling
	// must not be throttled by us), and every request counted.
	h.rest = rest.CopyConfig(h.env.Config)
	h.rest.QPS, h.rest.Burst = -1, 10000
	h.rest.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, n: &h.sent} }
	if h.kube, err = kubernetes.NewForConfig(h.rest); err != nil {
		return res, err
	}
	if h.client, err = client.New(h.rest, client.Options{Scheme: manager.Scheme()}); err != nil {
		return res, err
	}
	if h.vault, err = startVaultCounter(h.env.Vault.Addr); err != nil {
		return res, err
	}
	defer h.vault.close()
	if err := h.setupVault(ctx, res.K); err != nil {
		return res, err
	}

	cfg.Log("N=%d: ceiling: %d Secrets by %d client-go workers, %d keys from Vault", n, 2*n, workers, res.K)
	if res.CeilingVault, err = h.ceilingVault(ctx, res.K); err != nil {
		return res, err
	}
	m0, err := h.apiServerMetrics(ctx)
	if err != nil {
		return res, err
	}
	if res.CeilingCreate, err = h.ceilingCreate(ctx, 2*n); err != nil {
		return res, err
	}
	m1, err := h.apiServerMetrics(ctx)
	if err != nil {
		return res, err
	}
	res.CeilingAPICPU = cpuOf(m1) - cpuOf(m0)
	res.CeilingAPIWork = apiWorkOf(m1).sub(apiWorkOf(m0))

	cfg.Log("N=%d: creating %d ExternalSecrets in %d namespaces", n, n, namespaces)
	all, err := h.createExternalSecrets(ctx, n, res.K)
	if err != nil {
		return res, err
	}
	if err := h.watch(ctx); err != nil {
		return res, err
	}
	// A cold start is a controller (re)starting among objects that already
	// exist; creation timestamps have one-second resolution, so the
	// objects are given that second before it starts.
	time.Sleep(2 * time.Second)
	if err := h.cold(ctx, &res, all); err != nil {
		return res, err
	}
	if err := h.rotation(ctx, &res, all); err != nil {
		return res, err
	}
	if err := h.refresh(ctx, &res, all); err != nil {
		return res, err
	}
	if err := h.starvation(ctx, &res); err != nil {
		return res, err
	}
	ps, err := readProc(h.ctrl.Process.Pid)
	if err != nil {
		return res, err
	}
	res.PeakRSS, res.PeakHeap = ps.PeakRSS, h.peakHeap()
	return res, h.stopController()
}

// setupVault prepares Kubernetes auth as the seed article does: the
// controller's ServiceAccount may review tokens, a role binds it to a read
// policy on the bench's keys; then it writes K keys.
func (h *harness) setupVault(ctx context.Context, k int) error {
	v := h.env.Vault
	if _, err := h.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ctrlNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := h.kube.CoreV1().ServiceAccounts(ctrlNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ctrlSA}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "secretbridge-auth-delegator"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ctrlNamespace, Name: ctrlSA}},
	}
	if _, err := h.kube.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := v.Request(ctx, v.RootToken, http.MethodPut, "sys/policies/acl/bench-read", map[string]any{
		"policy": `path "secret/data/bench/*" { capabilities = ["read"] }`,
	}); err != nil {
		return err
	}
	// A token lives longer than the run, so that any login after the first
	// per client shows up as a real extra login, not as an expiry.
	if _, err := v.Request(ctx, v.RootToken, http.MethodPost, "auth/kubernetes/role/"+vaultRole, map[string]any{
		"bound_service_account_names":      []string{ctrlSA},
		"bound_service_account_namespaces": []string{ctrlNamespace},
		"token_policies":                   []string{"bench-read"},
		"token_ttl":                        "2h",
	}); err != nil {
		return err
	}
	return parallel(k, workers, func(i int) error {
		return h.writeKey(ctx, i, "initial")
	})
}

// writeKey writes key i with a username and a password that carries tag.
func (h *harness) writeKey(ctx context.Context, i int, tag string) error {
	v := h.env.Vault
	_, err := v.Request(ctx, v.RootToken, http.MethodPost, "secret/data/"+keyName(i), map[string]any{
		"data": map[string]any{"username": fmt.Sprintf("user-%d", i), "password": passwordOf(i, tag)},
	})
	return err
}

func keyName(i int) string { return fmt.Sprintf("%s%05d", keyPrefix, i) }

func passwordOf(i int, tag string) string { return fmt.Sprintf("%s-password-%d", tag, i) }

// ceilingVault reads every key straight from Vault with the root token.
func (h *harness) ceilingVault(ctx context.Context, k int) (time.Duration, error) {
	v := h.env.Vault
	start := time.Now()
	err := parallel(k, workers, func(i int) error {
		_, err := v.Request(ctx, v.RootToken, http.MethodGet, "secret/data/"+keyName(i), nil)
		return err
	})
	return time.Since(start), err
}

// ceilingCreate creates count Secrets over the bench's namespace count,
// with 8 workers and no client-side rate limit.
func (h *harness) ceilingCreate(ctx context.Context, count int) (time.Duration, error) {
	for j := range namespaces {
		if _, err := h.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ceiling-%d", j)}}, metav1.CreateOptions{}); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	err := parallel(count, workers, func(i int) error {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s-%05d", i), Namespace: fmt.Sprintf("ceiling-%d", i%namespaces)},
			Data:       map[string][]byte{"username": []byte("user"), "password": []byte("ceiling")},
		}
		_, err := h.kube.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
		return err
	})
	return time.Since(start), err
}

// externalSecret is bench ExternalSecret number i: two data entries read
// the username and password of key keyIdx through the ClusterSecretStore.
func externalSecret(ns, name string, keyIdx int) *esv1.ExternalSecret {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	es.Spec.RefreshInterval = &metav1.Duration{Duration: time.Hour}
	es.Spec.SecretStoreRef = &esv1.SecretStoreRef{Name: storeName, Kind: esv1.SecretStoreKindClusterSecretStore}
	key := "secret/" + keyName(keyIdx)
	es.Spec.Data = []esv1.ExternalSecretData{
		{SecretKey: "username", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: "username"}},
		{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: "password"}},
	}
	return es
}

// layout places ExternalSecret i (0 ≤ i < n) in namespace bench-(i / (n/10))
// and makes it read key i/10: each key is read by ten ExternalSecrets of
// one namespace (ten applications of a team sharing a credential).
func layout(n, i int) (ns, name string, key int) {
	perNS := n / namespaces
	return fmt.Sprintf("bench-%d", i/perNS), fmt.Sprintf("es-%05d", i), i / 10
}

// createExternalSecrets creates the store, the namespaces and n
// ExternalSecrets before the controller runs.
func (h *harness) createExternalSecrets(ctx context.Context, n, k int) ([]types.NamespacedName, error) {
	store := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: storeName}}
	path, version := "secret", esv1.VaultKVStoreV2
	ns := ctrlNamespace
	store.Spec.Provider.Vault = &esv1.VaultProvider{
		Server:  h.vault.URL,
		Path:    &path,
		Version: version,
		Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{
			Path:              "kubernetes",
			Role:              vaultRole,
			ServiceAccountRef: &esv1.ServiceAccountSelector{Name: ctrlSA, Namespace: ns},
		}},
	}
	if err := h.client.Create(ctx, store); err != nil {
		return nil, fmt.Errorf("creating the ClusterSecretStore: %w", err)
	}
	for j := range namespaces {
		if _, err := h.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", j)}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	keys := make([]types.NamespacedName, n)
	err := parallel(n, workers, func(i int) error {
		ns, name, key := layout(n, i)
		keys[i] = types.NamespacedName{Namespace: ns, Name: name}
		return h.client.Create(ctx, externalSecret(ns, name, key%k))
	})
	return keys, err
}

// watch starts the harness's informers on ExternalSecrets and managed Secrets.
func (h *harness) watch(ctx context.Context) error {
	c, err := cache.New(h.rest, cache.Options{Scheme: manager.Scheme(), ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{esv1.LabelManaged: esv1.LabelManagedValue})},
	}})
	if err != nil {
		return err
	}
	for obj, f := range map[client.Object]func(any){&esv1.ExternalSecret{}: h.track.onES, &corev1.Secret{}: h.track.onSecret} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    f,
			UpdateFunc: func(_, o any) { f(o) },
		}); err != nil {
			return err
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return errors.New("the harness's informers did not sync")
	}
	return nil
}

// apiServerMetrics scrapes the API server's /metrics.
func (h *harness) apiServerMetrics(ctx context.Context) ([]promSample, error) {
	raw, err := h.kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scraping the API server: %w", err)
	}
	return parseProm(strings.NewReader(string(raw)))
}

// cpuOf is the API server's process_cpu_seconds_total.
func cpuOf(s []promSample) time.Duration {
	return time.Duration(sumProm(s, "process_cpu_seconds_total") * float64(time.Second))
}

// controllerMetrics scrapes the controller.
func (h *harness) controllerMetrics(ctx context.Context) ([]promSample, error) {
	return scrape(ctx, http.DefaultClient, h.metrics)
}

// startController runs `secretbridge controller` as the ServiceAccount's
// identity and samples its heap every second until ctx ends.
func (h *harness) startController(ctx context.Context) error {
	ports, err := testenv.FreePorts(3)
	if err != nil {
		return err
	}
	h.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[0])
	h.pprof = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", ports[2])
	logf, err := os.Create(filepath.Join(h.dir, "controller.log"))
	if err != nil {
		return err
	}
	args := append([]string{"controller",
		"--kubeconfig", h.env.KubeconfigPath,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--pod-namespace", ctrlNamespace,
		"--service-account-name", ctrlSA,
	}, h.cfg.ControllerArgs...)
	if h.cfg.ProfileDir != "" {
		args = append(args, "--pprof-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[2]))
	}
	h.ctrl = exec.Command(h.cfg.Binary, args...)
	h.ctrl.Stdout, h.ctrl.Stderr = logf, logf
	h.ctrl.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := h.ctrl.Start(); err != nil {
		return err
	}
	h.exited = make(chan struct{})
	go func() { _ = h.ctrl.Wait(); close(h.exited) }()
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			s, err := h.controllerMetrics(ctx)
			if err != nil {
				continue
			}
			heap := sumProm(s, "go_memstats_heap_inuse_bytes")
			h.heapMu.Lock()
			h.maxHeap = max(h.maxHeap, heap)
			h.heapMu.Unlock()
		}
	}()
	return nil
}

func (h *harness) peakHeap() float64 {
	h.heapMu.Lock()
	defer h.heapMu.Unlock()
	return h.maxHeap
}

func (h *harness) stopController() error {
	_ = h.ctrl.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = h.ctrl.Process.Kill()
		return errors.New("the controller did not stop within 30s of SIGTERM")
	}
}

// waitUntil polls cond every 100ms until it holds or the timeout passes;
// progress describes the state for the error and the log.
func (h *harness) waitUntil(ctx context.Context, what string, cond func() bool, progress func() string) error {
	deadline := time.Now().Add(h.cfg.Timeout)
	lastLog := time.Now()
	for !cond() {
		if h.exited != nil {
			select {
			case <-h.exited:
				log, _ := os.ReadFile(filepath.Join(h.dir, "controller.log"))
				return fmt.Errorf("%s: the controller exited: %s", what, tail(string(log), 2000))
			default:
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not done after %s: %s", what, h.cfg.Timeout, progress())
		}
		if time.Since(lastLog) > 15*time.Second {
			h.cfg.Log("  %s: %s", what, progress())
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// cold starts the controller with every ExternalSecret in place and waits
// until all are Ready.
func (h *harness) cold(ctx context.Context, res *result, all []types.NamespacedName) error {
	m0, err := h.apiServerMetrics(ctx)
	if err != nil {
		return err
	}
	sent0, vault0 := h.sent.Load(), h.vault.snapshot()
	h.cfg.Log("N=%d: cold start", res.N)
	start := time.Now()
	if err := h.startController(ctx); err != nil {
		return err
	}
	if h.cfg.ProfileDir != "" {
		h.cpuProf = make(chan error, 1)
		go func() {
			// The pprof listener comes up with the process; give it a moment.
			time.Sleep(500 * time.Millisecond)
			h.cpuProf <- h.saveProfile(ctx, fmt.Sprintf("profile?seconds=%d", h.cfg.ProfileSeconds), fmt.Sprintf("cpu-%d.pb.gz", res.N))
		}()
	}
	ready := func(k types.NamespacedName) bool { _, ok := h.track.readyAt[k]; return ok }
	if err := h.waitUntil(ctx, "cold start", func() bool { return h.track.count(all, ready) == len(all) },
		func() string { return fmt.Sprintf("%d/%d Ready", h.track.count(all, ready), len(all)) }); err != nil {
		return err
	}
	var lat []time.Duration
	var last time.Time
	h.track.mu.Lock()
	for _, k := range all {
		at := h.track.readyAt[k]
		lat = append(lat, at.Sub(start))
		if at.After(last) {
			last = at
		}
	}
	h.track.mu.Unlock()
	res.ColdAllReady = last.Sub(start)
	res.ColdP50, res.ColdP99 = percentile(lat, 0.5), percentile(lat, 0.99)
	// Counters are read once the controller has gone quiet, so requests
	// still in flight at the last Ready are counted.
	time.Sleep(2 * time.Second)
	ps, err := readProc(h.ctrl.Process.Pid)
	if err != nil {
		return err
	}
	res.ColdCPU, res.ColdPeakRSS, res.ColdPeakHeap = ps.CPU, ps.PeakRSS, h.peakHeap()
	if h.cfg.ProfileDir != "" {
		if err := h.saveProfile(ctx, "heap", fmt.Sprintf("heap-%d.pb.gz", res.N)); err != nil {
			return err
		}
		if err := <-h.cpuProf; err != nil {
			return err
		}
	}
	res.ColdVault = h.vault.snapshot().Sub(vault0)
	m1, err := h.apiServerMetrics(ctx)
	if err != nil {
		return err
	}
	res.ColdAPIServer = sumProm(m1, "apiserver_request_total") - sumProm(m0, "apiserver_request_total") - float64(h.sent.Load()-sent0)
	res.ColdAPICPU = cpuOf(m1) - cpuOf(m0)
	res.ColdAPIWork = apiWorkOf(m1).sub(apiWorkOf(m0))
	s, err := h.controllerMetrics(ctx)
	if err != nil {
		return err
	}
	res.ColdAPIClient = sumProm(s, "rest_client_requests_total")
	// Every ExternalSecret produced its Secret with the value from Vault.
	var secrets corev1.SecretList
	if err := h.client.List(ctx, &secrets, client.MatchingLabels{esv1.LabelManaged: esv1.LabelManagedValue}); err != nil {
		return err
	}
	if len(secrets.Items) != len(all) {
		return fmt.Errorf("cold start: %d managed Secrets for %d ExternalSecrets", len(secrets.Items), len(all))
	}
	h.cfg.Log("N=%d: all %d Ready in %s (ceiling %s); Vault %+v", res.N, len(all), res.ColdAllReady.Round(time.Millisecond), res.CeilingCreate.Round(time.Millisecond), res.ColdVault)
	return nil
}

// forceSync sets the force-sync annotation on the given ExternalSecrets.
func (h *harness) forceSync(ctx context.Context, keys []types.NamespacedName) error {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"external-secrets.io/force-sync":"%d"}}}`, time.Now().UnixNano())
	return parallel(len(keys), workers, func(i int) error {
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: keys[i].Namespace, Name: keys[i].Name}}
		return h.client.Patch(ctx, es, client.RawPatch(types.MergePatchType, patch))
	})
}

// rotation writes new values for the keys of the first Rotate
// ExternalSecrets and force-syncs them.
func (h *harness) rotation(ctx context.Context, res *result, all []types.NamespacedName) error {
	m := min(h.cfg.Rotate, len(all))
	m -= m % 10 // whole keys: ExternalSecrets 10j…10j+9 read key j
	targets := all[:m]
	res.Rotated = m
	h.cfg.Log("N=%d: rotation of %d keys, force-sync on %d ExternalSecrets", res.N, m/10, m)
	if err := parallel(m/10, workers, func(i int) error { return h.writeKey(ctx, i, "rotated") }); err != nil {
		return err
	}
	vault0 := h.vault.snapshot()
	start := time.Now()
	if err := h.forceSync(ctx, targets); err != nil {
		return err
	}
	updated := func(k types.NamespacedName) bool {
		i, _ := strconv.Atoi(strings.TrimPrefix(k.Name, "es-"))
		return h.track.password[k] == passwordOf(i/10, "rotated")
	}
	if err := h.waitUntil(ctx, "rotation", func() bool { return h.track.count(targets, updated) == m },
		func() string { return fmt.Sprintf("%d/%d Secrets updated", h.track.count(targets, updated), m) }); err != nil {
		return err
	}
	res.RotationTime = time.Since(start)
	time.Sleep(time.Second)
	res.RotationVault = h.vault.snapshot().Sub(vault0)
	return nil
}

// refresh sets a short refreshInterval on every ExternalSecret and measures
// a window of RefreshCycles intervals once the change has been synced.
func (h *harness) refresh(ctx context.Context, res *result, all []types.NamespacedName) error {
	r := h.cfg.RefreshInterval
	res.RefreshInterval = r
	h.cfg.Log("N=%d: steady state at refreshInterval %s", res.N, r)
	patch := fmt.Appendf(nil, `{"spec":{"refreshInterval":%q}}`, r.String())
	if err := parallel(len(all), workers, func(i int) error {
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: all[i].Namespace, Name: all[i].Name}}
		return h.client.Patch(ctx, es, client.RawPatch(types.MergePatchType, patch))
	}); err != nil {
		return err
	}
	patched := time.Now()
	synced := func(k types.NamespacedName) bool { return h.track.synced[k] }
	if err := h.waitUntil(ctx, "refreshInterval change", func() bool { return h.track.count(all, synced) == len(all) },
		func() string { return fmt.Sprintf("%d/%d synced", h.track.count(all, synced), len(all)) }); err != nil {
		return err
	}
	// The first refreshes are due one interval after the change's syncs.
	if wait := time.Until(patched.Add(r)); wait > 0 {
		time.Sleep(wait)
	}
	snap := func() (procStats, vaultCounts, float64, error) {
		ps, err := readProc(h.ctrl.Process.Pid)
		if err != nil {
			return ps, vaultCounts{}, 0, err
		}
		s, err := h.controllerMetrics(ctx)
		if err != nil {
			return ps, vaultCounts{}, 0, err
		}
		return ps, h.vault.snapshot(), sumProm(s, "secretbridge_sync_total"), nil
	}
	ps0, v0, syncs0, err := snap()
	if err != nil {
		return err
	}
	time.Sleep(time.Duration(h.cfg.RefreshCycles) * r)
	ps1, v1, syncs1, err := snap()
	if err != nil {
		return err
	}
	res.RefreshSyncs = syncs1 - syncs0
	res.RefreshCycles = res.RefreshSyncs / float64(res.N)
	if res.RefreshCycles <= 0 {
		return fmt.Errorf("refresh: no sync in %s at refreshInterval %s", time.Duration(h.cfg.RefreshCycles)*r, r)
	}
	dv := v1.Sub(v0)
	res.RefreshCPUPerCycle = time.Duration(float64(ps1.CPU-ps0.CPU) / res.RefreshCycles)
	res.RefreshVaultPerCyc = float64(dv.Total()) / res.RefreshCycles
	res.RefreshLoginsWindow = dv.Logins
	return nil
}

// starvation creates NewObjects ExternalSecrets while the others keep
// refreshing and measures their creation → Ready latency.
func (h *harness) starvation(ctx context.Context, res *result) error {
	s, err := h.controllerMetrics(ctx)
	if err != nil {
		return err
	}
	res.RefreshQueueDepth = sumProm(s, "workqueue_depth", `name="externalsecret"`)
	res.NewObjects = h.cfg.NewObjects
	h.cfg.Log("N=%d: %d new ExternalSecrets while refreshing (queue depth %.0f)", res.N, res.NewObjects, res.RefreshQueueDepth)
	keys := make([]types.NamespacedName, res.NewObjects)
	created := make([]time.Time, res.NewObjects)
	if err := parallel(res.NewObjects, workers, func(i int) error {
		ns := fmt.Sprintf("bench-%d", i%namespaces)
		keys[i] = types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("new-%03d", i)}
		es := externalSecret(ns, keys[i].Name, i%res.K)
		es.Spec.RefreshInterval = &metav1.Duration{Duration: h.cfg.RefreshInterval}
		created[i] = time.Now()
		return h.client.Create(ctx, es)
	}); err != nil {
		return err
	}
	ready := func(k types.NamespacedName) bool { _, ok := h.track.readyAt[k]; return ok }
	if err := h.waitUntil(ctx, "new objects", func() bool { return h.track.count(keys, ready) == len(keys) },
		func() string { return fmt.Sprintf("%d/%d Ready", h.track.count(keys, ready), len(keys)) }); err != nil {
		return err
	}
	var lat []time.Duration
	h.track.mu.Lock()
	for i, k := range keys {
		lat = append(lat, h.track.readyAt[k].Sub(created[i]))
	}
	h.track.mu.Unlock()
	res.NewP50, res.NewP99, res.NewMax = percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1)
	return nil
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// saveProfile fetches one pprof endpoint of the controller into ProfileDir.
func (h *harness) saveProfile(ctx context.Context, endpoint, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.pprof+endpoint, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: HTTP %d", endpoint, resp.StatusCode)
	}
	if err := os.MkdirAll(h.cfg.ProfileDir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(h.cfg.ProfileDir, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
