package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// vaultCounter is a reverse proxy in front of Vault that counts what the
// controller asks, split into logins, secret reads and everything else
// (mount discovery, token lookups, renewals, revocations).
type vaultCounter struct {
	URL                  string
	logins, reads, other atomic.Int64

	srv *http.Server
}

// vaultCounts is a snapshot of a vaultCounter.
type vaultCounts struct{ Logins, Reads, Other int64 }

// Total is every request the proxy forwarded.
func (c vaultCounts) Total() int64 { return c.Logins + c.Reads + c.Other }

// Sub returns c − o.
func (c vaultCounts) Sub(o vaultCounts) vaultCounts {
	return vaultCounts{c.Logins - o.Logins, c.Reads - o.Reads, c.Other - o.Other}
}

func startVaultCounter(target string) (*vaultCounter, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// The default of 2 idle connections per host would make the proxy open
	// a connection per request under concurrency and measure itself.
	rp.Transport = &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	c := &vaultCounter{URL: "http://" + l.Addr().String()}
	c.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.count(r)
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.srv.Serve(l) }()
	return c, nil
}

// count classifies one request by its API path.
func (c *vaultCounter) count(r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	switch {
	case strings.HasPrefix(p, "auth/") && strings.HasSuffix(p, "/login"):
		c.logins.Add(1)
	case r.Method == http.MethodGet && !strings.HasPrefix(p, "sys/") && !strings.HasPrefix(p, "auth/"):
		c.reads.Add(1)
	default:
		c.other.Add(1)
	}
}

func (c *vaultCounter) snapshot() vaultCounts {
	return vaultCounts{c.logins.Load(), c.reads.Load(), c.other.Load()}
}

func (c *vaultCounter) close() { _ = c.srv.Close() }

// procStats is what /proc says about a process.
type procStats struct {
	// PeakRSS is VmHWM, the resident set's high-water mark, in bytes.
	PeakRSS int64
	// CPU is user + system time.
	CPU time.Duration
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

func readProc(pid int) (procStats, error) {
	var s procStats
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return s, fmt.Errorf("VmHWM %q: %w", rest, err)
			}
			s.PeakRSS = kb * 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name in parentheses may hold spaces; fields count from
	// after its closing parenthesis, where field 3 (state) is index 0.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	s.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	return s, nil
}

// promSample is one line of the Prometheus text format.
type promSample struct {
	name   string
	labels string
	value  float64
}

// parseProm reads the samples of a Prometheus text exposition. A small
// parser is enough: the bench needs sums of counters and gauges, never
// histograms' structure.
func parseProm(r io.Reader) ([]promSample, error) {
	var out []promSample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		var s promSample
		nameEnd := strings.IndexAny(line, "{ ")
		if nameEnd < 0 {
			continue
		}
		s.name = line[:nameEnd]
		rest := line[nameEnd:]
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			s.labels, rest = rest[1:end], rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out, sc.Err()
}

// sumProm adds the samples named name whose labels contain every one of match.
func sumProm(samples []promSample, name string, match ...string) float64 {
	var sum float64
	for _, s := range samples {
		if s.name != name {
			continue
		}
		ok := true
		for _, m := range match {
			if !strings.Contains(s.labels, m) {
				ok = false
				break
			}
		}
		if ok {
			sum += s.value
		}
	}
	return sum
}

// scrape fetches and parses a metrics endpoint with client.
func scrape(ctx context.Context, client *http.Client, url string) ([]promSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return parseProm(resp.Body)
}

// countingTransport counts the requests this harness sends to the API
// server, so that they can be taken out of the API server's own count.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

// percentile returns the q-quantile (0 < q ≤ 1) by the nearest-rank method.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(q*float64(len(s)) + 0.999999)
	return s[min(max(rank, 1), len(s))-1]
}

// parallel runs f(i) for i in [0, n) on workers goroutines and returns the
// first error.
func parallel(n, workers int, f func(i int) error) error {
	var (
		next     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// label returns the value of one label in a sample's label string.
func (s promSample) label(name string) string {
	i := strings.Index(s.labels, name+`="`)
	if i < 0 || (i > 0 && s.labels[i-1] != ',') {
		return ""
	}
	rest := s.labels[i+len(name)+2:]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// requestKind names an API request by verb and resource, e.g.
// "PATCH externalsecrets/status".
func requestKind(s promSample) string {
	r := s.label("resource")
	if sub := s.label("subresource"); sub != "" {
		r += "/" + sub
	}
	return s.label("verb") + " " + r
}

// apiWork is what the API server did, by request kind: requests and the
// summed request duration.
type apiWork map[string]struct {
	Count   float64
	Seconds float64
}

// apiWorkOf sums apiserver_request_total and
// apiserver_request_duration_seconds_sum by request kind, leaving out
// long-running WATCH requests.
func apiWorkOf(samples []promSample) apiWork {
	w := apiWork{}
	for _, s := range samples {
		if v := s.label("verb"); v == "WATCH" || v == "CONNECT" {
			continue
		}
		e := w[requestKind(s)]
		switch s.name {
		case "apiserver_request_total":
			e.Count += s.value
		case "apiserver_request_duration_seconds_sum":
			e.Seconds += s.value
		default:
			continue
		}
		w[requestKind(s)] = e
	}
	return w
}

// sub returns w − before, keeping kinds with at least one request.
func (w apiWork) sub(before apiWork) apiWork {
	out := apiWork{}
	for k, e := range w {
		b := before[k]
		e.Count -= b.Count
		e.Seconds -= b.Seconds
		if e.Count >= 1 {
			out[k] = e
		}
	}
	return out
}

// top lists the n kinds with the most summed request time.
func (w apiWork) top(n int) string {
	kinds := make([]string, 0, len(w))
	for k := range w {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int {
		switch {
		case w[a].Seconds > w[b].Seconds:
			return -1
		case w[a].Seconds < w[b].Seconds:
			return 1
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range kinds[:min(n, len(kinds))] {
		parts = append(parts, fmt.Sprintf("%s ×%.0f (%.1f s)", k, w[k].Count, w[k].Seconds))
	}
	return strings.Join(parts, ", ")
}
