package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func run(args ...string) (string, error) {
	root := NewRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestVersionPrintsBuildInfo(t *testing.T) {
	out, err := run("version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "secretbridge ") || !strings.Contains(out, "go1.") {
		t.Errorf("version output %q", out)
	}
}

func TestControllerRejectsBadFlagsBeforeConnecting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"controller", "--log-level", "verbose"}, "--log-level"},
		{[]string{"controller", "--log-format", "xml"}, "--log-format"},
		{[]string{"controller", "--kubeconfig", "/nonexistent/kubeconfig"}, "kubeconfig"},
		{[]string{"controller", "extra"}, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := run(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestEveryCommandHasExamples(t *testing.T) {
	for _, c := range NewRoot().Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Example == "" {
			t.Errorf("%s has no examples in --help", c.Name())
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"interval hours", trimDuration(time.Hour), "1h"},
		{"interval mixed", trimDuration(90 * time.Minute), "1h30m"},
		{"interval seconds", trimDuration(45 * time.Second), "45s"},
		{"age seconds", shortDuration(59 * time.Second), "59s"},
		{"age minutes", shortDuration(61 * time.Minute), "1h"},
		{"age days", shortDuration(72 * time.Hour), "3d"},
		{"negative", shortDuration(-2 * time.Minute), "-2m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		name, arg, kind, err string
	}{
		{"bare name is an ExternalSecret", "db", "ExternalSecret", ""},
		{"es", "es/db", "ExternalSecret", ""},
		{"store", "store/vault", "SecretStore", ""},
		{"clusterstore", "clusterstore/vault", "ClusterSecretStore", ""},
		{"css short name", "css/vault", "ClusterSecretStore", ""},
		{"unknown kind", "pod/x", "", "write es/NAME"},
		{"empty name", "es/", "", "write es/NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := parseRef(tc.arg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil || ref.kind != tc.kind {
				t.Fatalf("got %+v, %v; want kind %s", ref, err, tc.kind)
			}
		})
	}
}

func TestUserCommandsRejectBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"doctor needs an object", []string{"doctor"}, "accepts 1 arg"},
		{"doctor output", []string{"doctor", "es/x", "-o", "yaml"}, "-o \"yaml\""},
		{"sync needs a target", []string{"sync"}, "name ExternalSecrets"},
		{"sync with a bad kubeconfig", []string{"sync", "es/x", "--kubeconfig", "/nonexistent"}, "kubeconfig"},
		{"render needs -f", []string{"render"}, "-f is required"},
		{"render missing file", []string{"render", "-f", "/nonexistent.yaml", "--data", "/nonexistent"}, "no such file"},
		{"status output", []string{"status", "-o", "yaml"}, "-o \"yaml\""},
		{"status bad kubeconfig", []string{"status", "--kubeconfig", "/nonexistent/kubeconfig"}, "kubeconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
