package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// TestSmoke runs the whole benchmark for N = 50 against real servers and
// checks the harness's invariants, not timings: every object becomes
// Ready with its Secret, the counters count what must have happened, and
// the table and plots render. `make bench` runs the real sizes.
func TestSmoke(t *testing.T) {
	ctrllog.SetLogger(logr.Discard())
	dir := t.TempDir()
	bin, err := buildBinary(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{
		Binary:          bin,
		RefreshInterval: 5 * time.Second,
		RefreshCycles:   1,
		NewObjects:      5,
		Rotate:          20,
		Timeout:         3 * time.Minute,
		Log:             t.Logf,
	}
	const n = 50
	r, err := run(t.Context(), cfg, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary(r))

	if r.K != n/10 {
		t.Errorf("K = %d, want %d", r.K, n/10)
	}
	if r.CeilingCreate <= 0 || r.CeilingVault <= 0 {
		t.Errorf("ceiling not measured: create %s, Vault %s", r.CeilingCreate, r.CeilingVault)
	}
	if !(0 < r.ColdP50 && r.ColdP50 <= r.ColdP99 && r.ColdP99 <= r.ColdAllReady) {
		t.Errorf("cold start latencies out of order: p50 %s, p99 %s, all %s", r.ColdP50, r.ColdP99, r.ColdAllReady)
	}
	if r.ColdCPU <= 0 || r.ColdPeakRSS <= 0 || r.ColdPeakHeap <= 0 {
		t.Errorf("process figures missing: CPU %s, RSS %d, heap %.0f", r.ColdCPU, r.ColdPeakRSS, r.ColdPeakHeap)
	}
	// Every key is read at least once, no object reads more than its two
	// entries, and logins are per provider client (at most one per
	// namespace plus the store's own), never per object.
	if v := r.ColdVault; v.Reads < int64(r.K) || v.Reads > 2*n || v.Logins < 1 || v.Logins > namespaces+2 {
		t.Errorf("cold start Vault requests %+v: want ≥ %d and ≤ %d reads, 1…%d logins", v, r.K, 2*n, namespaces+2)
	}
	// A sync writes at least the Secret and the status.
	if r.ColdAPIServer < 2*n || r.ColdAPIClient < 2*n {
		t.Errorf("cold start API requests: server %.0f, controller %.0f; want ≥ %d", r.ColdAPIServer, r.ColdAPIClient, 2*n)
	}
	if r.Rotated != cfg.Rotate || r.RotationTime <= 0 || r.RotationVault.Reads < int64(r.Rotated/10) {
		t.Errorf("rotation: %d objects in %s with %+v Vault requests", r.Rotated, r.RotationTime, r.RotationVault)
	}
	// Tokens outlive the run, so refreshes never log in again.
	if r.RefreshSyncs <= 0 || r.RefreshLoginsWindow != 0 {
		t.Errorf("refresh: %.0f syncs, %d logins; want some syncs and no login", r.RefreshSyncs, r.RefreshLoginsWindow)
	}
	if r.NewObjects != cfg.NewObjects || r.NewP99 <= 0 || r.NewP50 > r.NewP99 || r.NewP99 > r.NewMax {
		t.Errorf("new objects: %d, p50 %s, p99 %s, max %s", r.NewObjects, r.NewP50, r.NewP99, r.NewMax)
	}
	if r.PeakRSS < r.ColdPeakRSS {
		t.Errorf("peak RSS %d below the cold start's %d", r.PeakRSS, r.ColdPeakRSS)
	}

	md := filepath.Join(dir, "benchmarks.md")
	if err := appendMarkdown(md, describeMachine(), "smoke", []result{r}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "| N = 50 (K = 5) |") || !strings.Contains(string(raw), "cold start ≤ 2.5 × ceiling") {
		t.Errorf("the table lacks its header or targets:\n%s", raw)
	}
	bigger := r
	bigger.N *= 2
	if err := drawPlots(dir, []result{r, bigger}); err != nil {
		t.Fatal(err)
	}
	for _, png := range []string{"time-to-ready.png", "memory.png"} {
		if st, err := os.Stat(filepath.Join(dir, png)); err != nil || st.Size() == 0 {
			t.Errorf("plot %s not written: %v", png, err)
		}
	}
}

func TestPercentile(t *testing.T) {
	d := func(ms ...int) []time.Duration {
		var out []time.Duration
		for _, m := range ms {
			out = append(out, time.Duration(m)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", d(7), 0.99, 7 * time.Millisecond},
		{"median of odd", d(3, 1, 2), 0.5, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", d(seq(100)...), 0.99, 99 * time.Millisecond},
		{"max", d(5, 9, 1), 1, 9 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.in, tc.q); got != tc.want {
				t.Errorf("percentile(%v, %v) = %s, want %s", tc.in, tc.q, got, tc.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestParseProm(t *testing.T) {
	in := `# HELP x y
apiserver_request_total{code="200",verb="GET"} 10
apiserver_request_total{code="201",verb="POST"} 2.5e+01
go_memstats_heap_inuse_bytes 1.048576e+06
workqueue_depth{controller="externalsecret",name="externalsecret"} 3
`
	s, err := parseProm(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := sumProm(s, "apiserver_request_total"); got != 35 {
		t.Errorf("sum = %v, want 35", got)
	}
	if got := sumProm(s, "apiserver_request_total", `verb="POST"`); got != 25 {
		t.Errorf("POST = %v, want 25", got)
	}
	if got := sumProm(s, "go_memstats_heap_inuse_bytes"); got != 1<<20 {
		t.Errorf("heap = %v", got)
	}
	if got := sumProm(s, "workqueue_depth", `name="externalsecret"`); got != 3 {
		t.Errorf("depth = %v", got)
	}
}

func TestVaultCounterClassifies(t *testing.T) {
	c := &vaultCounter{}
	for _, r := range []struct{ method, path string }{
		{"PUT", "/v1/auth/kubernetes/login"},
		{"GET", "/v1/secret/data/bench/key-00001"},
		{"GET", "/v1/sys/internal/ui/mounts/secret/bench/key-00001"},
		{"GET", "/v1/auth/token/lookup-self"},
		{"PUT", "/v1/auth/token/revoke-self"},
	} {
		req, _ := http.NewRequest(r.method, "http://vault"+r.path, nil)
		c.count(req)
	}
	if got := c.snapshot(); got != (vaultCounts{Logins: 1, Reads: 1, Other: 3}) {
		t.Errorf("counts %+v", got)
	}
}

func TestAPIWork(t *testing.T) {
	before, err := parseProm(strings.NewReader(`apiserver_request_total{code="201",component="apiserver",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 2
apiserver_request_duration_seconds_sum{component="apiserver",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 0.5
`))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseProm(strings.NewReader(`apiserver_request_total{code="201",component="apiserver",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 12
apiserver_request_total{code="200",component="apiserver",resource="externalsecrets",scope="resource",subresource="status",verb="PATCH",version="v1"} 10
apiserver_request_total{code="200",component="apiserver",resource="secrets",scope="cluster",subresource="",verb="WATCH",version="v1"} 3
apiserver_request_duration_seconds_sum{component="apiserver",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 1.5
apiserver_request_duration_seconds_sum{component="apiserver",resource="externalsecrets",scope="resource",subresource="status",verb="PATCH",version="v1"} 2
`))
	if err != nil {
		t.Fatal(err)
	}
	w := apiWorkOf(after).sub(apiWorkOf(before))
	if got, want := w.top(5), "PATCH externalsecrets/status ×10 (2.0 s), POST secrets ×10 (1.0 s)"; got != want {
		t.Errorf("top = %q, want %q", got, want)
	}
}
