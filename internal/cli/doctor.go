package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/secretbridge/secretbridge/internal/diagnose"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// errChecksFailed makes the command exit non-zero after printing a report
// whose failure is already explained.
var errChecksFailed = errors.New("a check failed")

// checksFailed names the failed check in the exit error.
func checksFailed(r *diagnose.Report) error {
	if c := r.Failure(); c != nil {
		return fmt.Errorf("%s: check %q: %w", r.Object, c.Name, errChecksFailed)
	}
	return errChecksFailed
}

func newDoctorCommand() *cobra.Command {
	var (
		kube     kubeFlags
		output   string
		ctrlNS   string
		ctrlSA   string
		ctrlCls  string
		noColour bool
	)
	cmd := &cobra.Command{
		Use:   "doctor es/NAME | store/NAME | clusterstore/NAME",
		Short: "Find out why a secret does not sync, and how to fix it",
		Long: `doctor runs, in order, the checks a senior engineer would: the CRDs are
installed; the controller runs; the store exists, its class matches and the
ExternalSecret's namespace may use it; the provider's address resolves and
accepts TCP and TLS; authentication works and as whom; for each remote
reference, where it resolves (Vault: mount, KV version, exact API path),
whether the identity may read it, whether it exists and whether its property
resolves; the target Secret's state. It stops at the first failure with a
diagnosis and a fix.

It talks to the provider with the identity the controller uses (a TokenRequest
for the store's ServiceAccount, or its credential Secret), so your kubeconfig
identity needs create on serviceaccounts/token and get on the Secrets the
store references. Secret values are never printed: only key names.`,
		Example: `  # Why is this ExternalSecret not syncing?
  secretbridge doctor es/database-credentials -n team-a

  # The same, as a kubectl plugin, in another context:
  kubectl secretbridge doctor es/database-credentials -n team-a --context prod

  # Check a store on its own (a ClusterSecretStore with referent auth needs -n):
  secretbridge doctor clusterstore/vault-backend -n team-a

  # For tools:
  secretbridge doctor es/database-credentials -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			kc, _, ns, err := kube.connect()
			if err != nil {
				return err
			}
			prog := newProgress(cmd.ErrOrStderr())
			d := &diagnose.Doctor{
				Kube:            kc,
				Controller:      provider.Controller{Namespace: ctrlNS, ServiceAccount: ctrlSA},
				ControllerClass: ctrlCls,
				Progress:        prog.step,
			}
			var rep *diagnose.Report
			if ref.kind == "ExternalSecret" {
				rep = d.ExternalSecret(cmd.Context(), ns, ref.name)
			} else {
				rep = d.Store(cmd.Context(), ref.kind, ns, ref.name)
			}
			prog.done()
			out := cmd.OutOrStdout()
			if output == "json" {
				err = writeJSON(out, rep)
			} else {
				err = printReport(out, rep, style{on: isTerminal(out) && !noColour})
			}
			if err != nil {
				return err
			}
			if !rep.OK {
				return checksFailed(rep)
			}
			return nil
		},
	}
	kube.add(cmd, false)
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "text", "Output format: text or json.")
	f.StringVar(&ctrlNS, "controller-namespace", os.Getenv("SECRETBRIDGE_CONTROLLER_NAMESPACE"), "The controller's namespace, for stores that authenticate as the controller (default: found from its pod).")
	f.StringVar(&ctrlSA, "controller-service-account", os.Getenv("SECRETBRIDGE_CONTROLLER_SERVICE_ACCOUNT"), "The controller's ServiceAccount (default: found from its pod).")
	f.StringVar(&ctrlCls, "controller-class", "", "The controller's --controller-class.")
	f.BoolVar(&noColour, "no-color", false, "Never colour the output.")
	return cmd
}

// printReport prints a report with ✓/⚠/✗ lines.
func printReport(w io.Writer, r *diagnose.Report, s style) error {
	var err error
	p := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	p("%s\n", s.bold("Diagnosing "+r.Object))
	for _, c := range r.Checks {
		mark := s.green("✓")
		switch c.Status {
		case diagnose.Warn:
			mark = s.yellow("⚠")
		case diagnose.Fail:
			mark = s.red("✗")
		}
		p("%s %-11s %s\n", mark, c.Name, c.Summary)
		for _, d := range c.Details {
			p("  %s\n", s.dim(d))
		}
		if c.Diagnosis != "" {
			p("  %s %s\n", s.bold("diagnosis:"), c.Diagnosis)
		}
		if c.Fix != "" {
			p("  %s %s\n", s.bold("fix:"), c.Fix)
		}
	}
	if r.OK {
		p("%s\n", s.green("All checks passed."))
	} else {
		p("%s\n", s.red("Stopped at the first failure."))
	}
	return err
}
