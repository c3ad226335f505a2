package main

import (
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// machine describes where the bench ran.
type machine struct {
	CPUs      int
	CPUModel  string
	Memory    string
	LoadAvg   string // at the start of the run
	GoVersion string
	Commit    string
	Command   string
	Date      string
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(raw)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(raw)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(rest), &kb)
				m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(raw))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	m.Commit = "unknown"
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			m.Commit += " (with uncommitted changes)"
		}
	}
	return m
}

const mib = 1 << 20

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a.Seconds()/b.Seconds())
}

// summary is one line per N for the terminal.
func summary(r result) string {
	return fmt.Sprintf("N=%d K=%d: cold start %s (ceiling %s, %s), API server CPU %s vs ceiling %s, p50 %s p99 %s, CPU %s, RSS %.0f MiB, heap %.0f MiB, Vault %d (logins %d, reads %d, other %d), API server %.0f; rotation of %d %s; refresh: %.2f cycles, CPU %s/cycle, Vault %.0f/cycle, logins %d; new under load p50 %s p99 %s",
		r.N, r.K, secs(r.ColdAllReady), secs(r.CeilingCreate), ratio(r.ColdAllReady, r.CeilingCreate), secs(r.ColdAPICPU), secs(r.CeilingAPICPU), secs(r.ColdP50), secs(r.ColdP99),
		secs(r.ColdCPU), float64(r.ColdPeakRSS)/mib, r.ColdPeakHeap/mib, r.ColdVault.Total(), r.ColdVault.Logins, r.ColdVault.Reads, r.ColdVault.Other,
		r.ColdAPIServer, r.Rotated, secs(r.RotationTime), r.RefreshCycles, secs(r.RefreshCPUPerCycle), r.RefreshVaultPerCyc, r.RefreshLoginsWindow,
		secs(r.NewP50), secs(r.NewP99))
}

// appendMarkdown appends the run's table to path.
func appendMarkdown(path string, m machine, label string, rs []result) error {
	var b strings.Builder
	title := "Run of " + m.Date
	if label != "" {
		title += " — " + label
	}
	fmt.Fprintf(&b, "\n## %s\n\n", title)
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %s memory; load average at start %s\n", m.CPUs, m.CPUModel, m.Memory, m.LoadAvg)
	fmt.Fprintf(&b, "- %s, commit %s\n", m.GoVersion, m.Commit)
	fmt.Fprintf(&b, "- Command: `%s`\n", m.Command)
	flags := rs[0].ControllerFlags
	if flags == "" {
		flags = "defaults"
	}
	fmt.Fprintf(&b, "- Controller flags: %s\n\n", flags)

	fmt.Fprintf(&b, "| | %s |\n|---|%s\n", join(rs, func(r result) string { return fmt.Sprintf("N = %d (K = %d)", r.N, r.K) }), strings.Repeat("---|", len(rs)))
	row := func(name string, f func(r result) string) { fmt.Fprintf(&b, "| %s | %s |\n", name, join(rs, f)) }
	row("ceiling: 2N Secrets created (8 workers, no rate limit)", func(r result) string { return secs(r.CeilingCreate) })
	row("ceiling: K keys read from Vault (8 workers)", func(r result) string { return secs(r.CeilingVault) })
	row("**cold start: all Ready** (× ceiling)", func(r result) string {
		return fmt.Sprintf("**%s (%s)**", secs(r.ColdAllReady), ratio(r.ColdAllReady, r.CeilingCreate))
	})
	row("cold start: controller start → Ready, p50 / p99", func(r result) string { return secs(r.ColdP50) + " / " + secs(r.ColdP99) })
	row("cold start: controller CPU (per 1,000 objects)", func(r result) string {
		return fmt.Sprintf("%s (%s)", secs(r.ColdCPU), secs(time.Duration(float64(r.ColdCPU)*1000/float64(r.N))))
	})
	row("API server CPU: ceiling / cold start", func(r result) string {
		return fmt.Sprintf("%s / %s", secs(r.CeilingAPICPU), secs(r.ColdAPICPU))
	})
	row("cold start: peak RSS / peak Go heap in use", func(r result) string {
		return fmt.Sprintf("%.0f MiB / %.0f MiB", float64(r.ColdPeakRSS)/mib, r.ColdPeakHeap/mib)
	})
	row("cold start: Vault requests: total = logins + reads + other (vs K)", func(r result) string {
		return fmt.Sprintf("%d = %d + %d + %d (K%+d)", r.ColdVault.Total(), r.ColdVault.Logins, r.ColdVault.Reads, r.ColdVault.Other, r.ColdVault.Total()-int64(r.K))
	})
	row("cold start: API server requests (per object); controller's own count", func(r result) string {
		return fmt.Sprintf("%.0f (%.2f); %.0f", r.ColdAPIServer, r.ColdAPIServer/float64(r.N), r.ColdAPIClient)
	})
	row("rotation: force-sync → all Secrets updated (× ceiling for as many)", func(r result) string {
		ceiling := time.Duration(float64(r.CeilingCreate) * float64(r.Rotated) / float64(r.N))
		return fmt.Sprintf("%d in %s (%s); Vault %d", r.Rotated, secs(r.RotationTime), ratio(r.RotationTime, ceiling), r.RotationVault.Total())
	})
	row("refresh cycle: CPU per 1,000 objects", func(r result) string {
		return fmt.Sprintf("%s (interval %s, %.2f cycles seen)", secs(time.Duration(float64(r.RefreshCPUPerCycle)*1000/float64(r.N))), r.RefreshInterval, r.RefreshCycles)
	})
	row("refresh cycle: Vault requests per cycle (per 1,000 objects); logins", func(r result) string {
		return fmt.Sprintf("%.0f (%.0f); %d", r.RefreshVaultPerCyc, r.RefreshVaultPerCyc*1000/float64(r.N), r.RefreshLoginsWindow)
	})
	row("new objects under refresh load: creation → Ready p50 / p99 / max", func(r result) string {
		return fmt.Sprintf("%s / %s / %s (%d new, queue depth %.0f)", secs(r.NewP50), secs(r.NewP99), secs(r.NewMax), r.NewObjects, r.RefreshQueueDepth)
	})
	row("peak RSS / Go heap, whole run", func(r result) string {
		return fmt.Sprintf("%.0f MiB / %.0f MiB", float64(r.PeakRSS)/mib, r.PeakHeap/mib)
	})
	fmt.Fprintf(&b, "\nAPI server work by request kind (requests, summed request time; WATCH left out):\n\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "- N = %d, ceiling: %s\n", r.N, r.CeilingAPIWork.top(3))
		fmt.Fprintf(&b, "- N = %d, cold start: %s\n", r.N, r.ColdAPIWork.top(6))
	}
	big := rs[len(rs)-1]
	fmt.Fprintf(&b, "\nTargets (issue 7) at N = %d:\n\n", big.N)
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	fmt.Fprintf(&b, "- cold start ≤ 2.5 × ceiling: %s (%s) — %s\n", ratio(big.ColdAllReady, big.CeilingCreate), secs(big.ColdAllReady), check(big.ColdAllReady.Seconds() <= 2.5*big.CeilingCreate.Seconds()))
	fmt.Fprintf(&b, "- Vault requests ≤ K + 20 = %d: %d — %s\n", big.K+20, big.ColdVault.Total(), check(big.ColdVault.Total() <= int64(big.K+20)))
	fmt.Fprintf(&b, "- refresh cycle ≤ K = %d provider calls, no login: %.0f, %d logins — %s\n", big.K, big.RefreshVaultPerCyc, big.RefreshLoginsWindow, check(big.RefreshVaultPerCyc <= float64(big.K) && big.RefreshLoginsWindow == 0))
	fmt.Fprintf(&b, "- new objects under refresh load p99 ≤ 2 s: %s — %s\n", secs(big.NewP99), check(big.NewP99 <= 2*time.Second))
	fmt.Fprintf(&b, "- peak RSS ≤ 100 MiB: %.0f MiB — %s\n", float64(big.PeakRSS)/mib, check(big.PeakRSS <= 100*mib))

	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func join(rs []result, f func(r result) string) string {
	cells := make([]string, len(rs))
	for i, r := range rs {
		cells[i] = f(r)
	}
	return strings.Join(cells, " | ")
}

// drawPlots writes time-to-ready.png (the controller's cold start against
// the ceiling and the 2.5× target) and memory.png (peak RSS and Go heap
// against the 100 MiB target), both over N.
func drawPlots(dir string, rs []result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	series := func(f func(r result) float64) plotter.XYs {
		xy := make(plotter.XYs, len(rs))
		for i, r := range rs {
			xy[i] = plotter.XY{X: float64(r.N), Y: f(r)}
		}
		return xy
	}
	p := plot.New()
	p.Title.Text = "Cold start: time until every ExternalSecret is Ready"
	p.X.Label.Text = "ExternalSecrets (N)"
	p.Y.Label.Text = "seconds"
	if err := plotutil.AddLinePoints(p,
		"secretbridge controller", series(func(r result) float64 { return r.ColdAllReady.Seconds() }),
		"ceiling: 2N Secrets, 8 unthrottled workers", series(func(r result) float64 { return r.CeilingCreate.Seconds() }),
		"target: 2.5 × ceiling", series(func(r result) float64 { return 2.5 * r.CeilingCreate.Seconds() }),
	); err != nil {
		return err
	}
	p.Legend.Top, p.Legend.Left = true, true
	if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, "time-to-ready.png")); err != nil {
		return err
	}

	p = plot.New()
	p.Title.Text = "Controller memory"
	p.X.Label.Text = "ExternalSecrets (N)"
	p.Y.Label.Text = "MiB"
	if err := plotutil.AddLinePoints(p,
		"peak RSS (VmHWM)", series(func(r result) float64 { return float64(r.PeakRSS) / mib }),
		"peak Go heap in use", series(func(r result) float64 { return r.PeakHeap / mib }),
	); err != nil {
		return err
	}
	target, err := plotter.NewLine(series(func(result) float64 { return 100 }))
	if err != nil {
		return err
	}
	target.Color = color.RGBA{R: 200, A: 255}
	target.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(target)
	p.Legend.Add("target: 100 MiB", target)
	p.Legend.Top, p.Legend.Left = true, true
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, "memory.png"))
}
