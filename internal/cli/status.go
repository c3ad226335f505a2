package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// statusRow is one ExternalSecret in `secretbridge status`.
type statusRow struct {
	Namespace   string     `json:"namespace"`
	Name        string     `json:"name"`
	Store       string     `json:"store"`
	Ready       string     `json:"ready"`
	Reason      string     `json:"reason,omitempty"`
	Message     string     `json:"message,omitempty"`
	LastSync    *time.Time `json:"lastSync,omitempty"`
	NextRefresh *time.Time `json:"nextRefresh,omitempty"`
	// Refresh is what NextRefresh means when it is nil ("on change").
	Refresh string `json:"refresh"`
	Secret  string `json:"secret"`
}

// failing reports whether the row is not Ready.
func (r statusRow) failing() bool { return r.Ready != "True" }

// rowFor derives a status row from an ExternalSecret.
func rowFor(es *esv1.ExternalSecret) statusRow {
	row := statusRow{Namespace: es.Namespace, Name: es.Name, Ready: "Unknown", Secret: es.Spec.TargetOrDefault().NameOrDefault(es.Name)}
	if ref := es.Spec.SecretStoreRef; ref != nil {
		row.Store = string(ref.KindOrDefault()) + "/" + ref.Name
	}
	for _, c := range es.Status.Conditions {
		if c.Type == esv1.ConditionReady {
			row.Ready, row.Reason, row.Message = string(c.Status), c.Reason, c.Message
		}
	}
	if es.Spec.TargetOrDefault().CreationPolicyOrDefault() == esv1.CreatePolicyNone {
		row.Secret = "<none>"
	}
	interval := es.Spec.RefreshIntervalOrDefault()
	policy := es.Spec.RefreshPolicyOrDefault()
	switch {
	case policy == esv1.RefreshPolicyCreatedOnce:
		row.Refresh = "never (CreatedOnce)"
	case policy == esv1.RefreshPolicyOnChange || interval <= 0:
		row.Refresh = "on change"
	default:
		row.Refresh = "every " + trimDuration(interval)
	}
	if t := es.Status.RefreshTime; t != nil {
		last := t.Time
		row.LastSync = &last
		if strings.HasPrefix(row.Refresh, "every") {
			next := last.Add(interval)
			row.NextRefresh = &next
		}
	}
	return row
}

// sortRows puts failures first, then by namespace and name.
func sortRows(rows []statusRow) {
	slices.SortStableFunc(rows, func(a, b statusRow) int {
		if a.failing() != b.failing() {
			if a.failing() {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}

func newStatusCommand() *cobra.Command {
	var (
		kube     kubeFlags
		output   string
		selector string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List ExternalSecrets with their sync state, failures first",
		Long: `status lists ExternalSecrets: namespace, name, store, ready, reason, time since
the last sync, when the next periodic refresh is due, and the target Secret.
ExternalSecrets that are not Ready come first. -o wide adds the condition
message; -o json prints everything for tools.`,
		Example: `  # The current namespace:
  secretbridge status

  # Every namespace, with the reason messages:
  secretbridge status -A -o wide

  # As a kubectl plugin, only some objects:
  kubectl secretbridge status -n team-a -l app=billing -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "wide", "json"); err != nil {
				return err
			}
			kc, _, ns, err := kube.connect()
			if err != nil {
				return err
			}
			var opts []client.ListOption
			if !kube.allNamespaces {
				opts = append(opts, client.InNamespace(ns))
			}
			if selector != "" {
				sel, err := parseSelector(selector)
				if err != nil {
					return err
				}
				opts = append(opts, client.MatchingLabelsSelector{Selector: sel})
			}
			var list esv1.ExternalSecretList
			if err := kc.List(cmd.Context(), &list, opts...); err != nil {
				return fmt.Errorf("listing ExternalSecrets: %w", err)
			}
			rows := make([]statusRow, 0, len(list.Items))
			for i := range list.Items {
				rows = append(rows, rowFor(&list.Items[i]))
			}
			sortRows(rows)
			out := cmd.OutOrStdout()
			if output == "json" {
				return writeJSON(out, rows)
			}
			if len(rows) == 0 {
				where := "in namespace " + ns
				if kube.allNamespaces {
					where = "in any namespace"
				}
				_, err := fmt.Fprintf(cmd.ErrOrStderr(), "No ExternalSecrets found %s.\n", where)
				return err
			}
			return printStatus(out, rows, output == "wide", time.Now())
		},
	}
	kube.add(cmd, true)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "Output format: text, wide or json.")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "Label selector, for example app=billing.")
	return cmd
}

// printStatus prints the table.
func printStatus(w io.Writer, rows []statusRow, wide bool, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "NAMESPACE\tNAME\tSTORE\tREADY\tREASON\tLAST SYNC\tNEXT REFRESH\tSECRET"
	if wide {
		header += "\tMESSAGE"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		last := "<never>"
		if r.LastSync != nil {
			last = ago(*r.LastSync, now)
		}
		next := r.Refresh
		if r.NextRefresh != nil {
			if d := r.NextRefresh.Sub(now); d > 0 {
				next = "in " + shortDuration(d)
			} else {
				next = "due"
			}
		}
		// No colours here: escape codes would break the column alignment.
		line := strings.Join([]string{r.Namespace, r.Name, r.Store, r.Ready, orDash(r.Reason), last, next, r.Secret}, "\t")
		if wide {
			line += "\t" + orDash(r.Message)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// orDash returns s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// trimDuration formats d without zero units: 1h, 1h30m, 45s.
func trimDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
