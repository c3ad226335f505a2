package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The demo runs end to end on this machine's real servers with the option
// that ends it after the rotation, without a terminal, and leaves no process
// and no temporary file behind.
func TestDemo(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "secretbridge")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/secretbridge")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Everything the demo and its servers put in the temporary directory
	// goes here, so the test can see that nothing is left.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	var out bytes.Buffer
	if err := run(t.Context(), options{binary: bin, exitAfterRotation: true, out: &out}); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	for _, want := range []string{
		"Secret default/prod-database-creds is there",
		"$ kubectl get externalsecrets -A",
		"database-credentials   vault-backend",
		"SecretSynced",
		"demo values, shown decoded",
		"username: app",
		"password: s3cr3t-demo",
		"interpreted: ",
		`property "data.username" read as "username"`,
		"The Secret followed in",
		"password: rotated-",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}

	if kids := children(); len(kids) > 0 {
		t.Errorf("processes left running after the demo: %v", kids)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("files left in the temporary directory after the demo: %v", names)
	}
}

// children lists the command lines of this process's child processes.
func children() []string {
	self := strconv.Itoa(os.Getpid())
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []string
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) >= 2 && f[1] == self {
			cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "cmdline"))
			out = append(out, strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}
