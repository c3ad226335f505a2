// Package diagnose answers "why is my secret not syncing": it runs, in the
// order a senior engineer would, the checks between an ExternalSecret and its
// target Secret (CRDs, controller, store, network, authentication, each
// remote reference, the target Secret), and stops at the first failure with
// a diagnosis and a fix. Each check is a small function returning a Check;
// the command line prints the Report as text or JSON.
//
// Checks talk to providers with the identity the controller uses, through
// the providers' own code (provider.Provider.NewClient), so that a check
// passes exactly when a sync would. No check ever reports a secret value.
package diagnose

import (
	"fmt"
	"slices"
	"strings"
)

// Status is the outcome of one check.
type Status string

// The outcomes.
const (
	// OK means the check passed.
	OK Status = "ok"
	// Warn means the check passed with something worth knowing (an
	// interpretation, a Secret edited elsewhere) or could not decide.
	Warn Status = "warn"
	// Fail means the check failed; the checks after it did not run.
	Fail Status = "fail"
)

// Check is the result of one check.
type Check struct {
	// Name is the check's short name, for example "auth" or "permission".
	Name string `json:"name"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Summary says what was found, on one line.
	Summary string `json:"summary"`
	// Details are further facts (mount, path, policies, key names).
	Details []string `json:"details,omitempty"`
	// Diagnosis names the cause of a failure or warning.
	Diagnosis string `json:"diagnosis,omitempty"`
	// Fix says what to change.
	Fix string `json:"fix,omitempty"`
}

// Report is every check run for one object, in order.
type Report struct {
	// Object is what was diagnosed, for example "es/team-a/database-credentials".
	Object string `json:"object"`
	// Checks are the checks run, in order; a failure is the last one.
	Checks []Check `json:"checks"`
	// OK is false when a check failed.
	OK bool `json:"ok"`
}

// Failure returns the failed check, or nil.
func (r *Report) Failure() *Check {
	for i := range r.Checks {
		if r.Checks[i].Status == Fail {
			return &r.Checks[i]
		}
	}
	return nil
}

// String renders the report as plain text (what the tests and logs use).
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.Object)
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  %s %-10s %s\n", c.Status, c.Name, c.Summary)
		for _, d := range c.Details {
			fmt.Fprintf(&b, "      %s\n", d)
		}
		if c.Diagnosis != "" {
			fmt.Fprintf(&b, "      diagnosis: %s\n", c.Diagnosis)
		}
		if c.Fix != "" {
			fmt.Fprintf(&b, "      fix: %s\n", c.Fix)
		}
	}
	return b.String()
}

// add records c and reports whether the checks may go on.
func (r *Report) add(c Check) bool {
	r.Checks = append(r.Checks, c)
	if c.Status == Fail {
		r.OK = false
		return false
	}
	return true
}

// ok, warn and fail build checks.
func ok(name, format string, args ...any) Check {
	return Check{Name: name, Status: OK, Summary: fmt.Sprintf(format, args...)}
}

func fail(name, summary, diagnosis, fix string) Check {
	return Check{Name: name, Status: Fail, Summary: summary, Diagnosis: diagnosis, Fix: fix}
}

func warn(name, summary, diagnosis, fix string) Check {
	return Check{Name: name, Status: Warn, Summary: summary, Diagnosis: diagnosis, Fix: fix}
}

// sortStrings sorts ss in place.
func sortStrings(ss []string) { slices.Sort(ss) }
