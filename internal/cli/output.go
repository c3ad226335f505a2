package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal (colours and progress only
// then, never in pipes, files or tests).
func isTerminal(w io.Writer) bool {
	f, isFile := w.(*os.File)
	return isFile && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

// style colours text on a terminal and passes it through elsewhere.
type style struct{ on bool }

func (s style) paint(code, text string) string {
	if !s.on {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) green(t string) string  { return s.paint("32", t) }
func (s style) red(t string) string    { return s.paint("31", t) }
func (s style) yellow(t string) string { return s.paint("33", t) }
func (s style) bold(t string) string   { return s.paint("1", t) }
func (s style) dim(t string) string    { return s.paint("2", t) }

// progress shows what a long operation is doing on stderr, on one
// rewritten line, and only when stderr is a terminal.
type progress struct {
	w    io.Writer
	on   bool
	mu   sync.Mutex
	last string
}

func newProgress(w io.Writer) *progress { return &progress{w: w, on: isTerminal(w)} }

// step shows msg.
func (p *progress) step(msg string) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = msg
	fmt.Fprintf(p.w, "\r\x1b[K… %s", msg)
}

// done clears the progress line.
func (p *progress) done() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last != "" {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.last = ""
	}
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// checkOutput validates -o.
func checkOutput(o string, allowed ...string) error {
	if o == "" || contains(allowed, o) {
		return nil
	}
	return fmt.Errorf("-o %q: use %v", o, allowed)
}

// ago formats the time since t coarsely, like kubectl's AGE column.
func ago(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<never>"
	}
	return shortDuration(now.Sub(t))
}

// shortDuration formats d like kubectl: 45s, 12m, 3h, 5d.
func shortDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if neg {
		return "-" + s
	}
	return s
}
