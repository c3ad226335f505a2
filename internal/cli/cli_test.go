package cli

import (
	"bytes"
	"strings"
	"testing"
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
