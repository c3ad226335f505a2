package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The demo runs end to end (with -exit) on this machine's real servers.
func TestDemo(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "secretbridge")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/secretbridge")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var out bytes.Buffer
	if err := run(t.Context(), options{binary: bin, exitAfterRotation: true, out: &out}); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	for _, want := range []string{"Secret default/prod-database-creds is there", "database-credentials", "SecretSynced", "interpreted", "The Secret followed in", "password: rotated-"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
