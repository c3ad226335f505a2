package eventnote

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFit(t *testing.T) {
	short := "vault: permission denied on secret/data/app"
	if got := Fit(short); got != short {
		t.Errorf("short note changed: %q", got)
	}
	exact := strings.Repeat("a", MaxBytes)
	if got := Fit(exact); got != exact {
		t.Errorf("note of exactly %d bytes changed", MaxBytes)
	}
	// Multi-byte runes around the cut must not be split.
	long := strings.Repeat("ü", MaxBytes)
	got := Fit(long)
	if len(got) > MaxBytes {
		t.Errorf("len(Fit) = %d, want ≤ %d", len(got), MaxBytes)
	}
	if !utf8.ValidString(got) {
		t.Errorf("Fit split a rune: %q", got[len(got)-80:])
	}
	if !strings.HasSuffix(got, ellipsis) {
		t.Errorf("truncated note does not say where the full text is: %q", got[len(got)-80:])
	}
}
