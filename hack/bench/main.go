// Command bench measures secretbridge at scale against real servers: it
// starts kube-apiserver, etcd, kube-controller-manager and Vault from bin/
// (internal/testenv), runs the built `secretbridge controller` as a separate
// process and, for each N, measures the cold start of N ExternalSecrets, a
// rotation, a steady-state refresh cycle and new objects created under
// refresh load, next to the ceiling measured on the same servers. It
// appends a table to docs/benchmarks.md and draws plots into
// docs/benchmarks/. `make bench` runs it; docs/benchmarks.md explains
// every figure.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	var (
		sizes    = flag.String("sizes", "100,1000,5000", "Comma-separated numbers of ExternalSecrets (multiples of 10).")
		refresh  = flag.Duration("refresh-interval", 30*time.Second, "refreshInterval of the steady-state phase.")
		cycles   = flag.Int("refresh-cycles", 2, "Length of the steady-state window, in refresh intervals.")
		newObjs  = flag.Int("new", 50, "ExternalSecrets created while the others refresh (starvation).")
		rotate   = flag.Int("rotate", 1000, "ExternalSecrets force-synced after their values change in Vault.")
		timeout  = flag.Duration("timeout", 20*time.Minute, "Limit of each wait.")
		ctrlArgs = flag.String("controller-args", "", "Extra arguments of `secretbridge controller`, space-separated (to compare settings).")
		out      = flag.String("out", "docs/benchmarks.md", "Markdown file the results table is appended to; empty: none.")
		plots    = flag.String("plots", "docs/benchmarks", "Directory for the PNG plots; empty: none.")
		label    = flag.String("label", "", "Heading note for this run's table (e.g. what was changed).")
		binary   = flag.String("binary", "", "A secretbridge binary to measure; empty: build ./cmd/secretbridge.")
		profile  = flag.String("profile", "", "Directory for the controller's CPU profile of the cold start and heap profile after it; empty: none.")
		profSecs = flag.Int("profile-seconds", 30, "Length of the CPU profile, from the controller's start.")
	)
	flag.Parse()
	// The harness's informers log through controller-runtime; their
	// messages are of no interest here.
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := mainErr(ctx, *sizes, *ctrlArgs, *out, *plots, *label, config{
		Binary: *binary, ProfileDir: *profile, ProfileSeconds: *profSecs, RefreshInterval: *refresh, RefreshCycles: *cycles, NewObjects: *newObjs, Rotate: *rotate, Timeout: *timeout,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, sizes, ctrlArgs, out, plots, label string, cfg config) error {
	var ns []int
	for f := range strings.SplitSeq(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n%namespaces != 0 {
			return fmt.Errorf("-sizes: %q is not a positive multiple of %d", f, namespaces)
		}
		ns = append(ns, n)
	}
	cfg.ControllerArgs = strings.Fields(ctrlArgs)
	cfg.Log = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
	}
	m := describeMachine()
	m.Command = strings.Join(append([]string{"go run ./hack/bench"}, os.Args[1:]...), " ")
	cfg.Log("machine: %d CPUs (%s), %s memory, load average %s; %s at %s", m.CPUs, m.CPUModel, m.Memory, m.LoadAvg, m.GoVersion, m.Commit)
	if cfg.Binary == "" {
		dir, err := os.MkdirTemp("", "secretbridge-bench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if cfg.Binary, err = buildBinary(ctx, dir); err != nil {
			return err
		}
	}
	var results []result
	for _, n := range ns {
		r, err := run(ctx, cfg, n)
		if err != nil {
			return fmt.Errorf("bench with N=%d: %w", n, err)
		}
		results = append(results, r)
		fmt.Println(summary(r))
	}
	if out != "" {
		if err := appendMarkdown(out, m, label, results); err != nil {
			return err
		}
		cfg.Log("appended the table to %s", out)
	}
	if plots != "" && len(results) > 1 {
		if err := drawPlots(plots, results); err != nil {
			return err
		}
		cfg.Log("plots in %s", plots)
	}
	return nil
}

// buildBinary builds cmd/secretbridge as `make build` does (without the
// version stamp), so the bench measures what ships.
func buildBinary(ctx context.Context, dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "secretbridge")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", path, "./cmd/secretbridge")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/secretbridge: %v\n%s", err, out)
	}
	return path, nil
}

// repoRoot is the nearest directory above the working directory with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}
