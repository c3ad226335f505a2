package shape

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// TemplateError reports a template that does not parse, does not execute, or
// whose output cannot be used. It names where the template is and what went
// wrong; it never contains fetched values or template output.
type TemplateError struct {
	// Where locates the template in the spec, for example
	// `template.data["tls.crt"]`; empty when the caller adds the location
	// (as RewriteError does).
	Where string
	// Line and Column locate the failing action inside the template; zero
	// when unknown.
	Line, Column int
	// Reason says what went wrong, with anything that could echo secret
	// data removed.
	Reason string
}

// Error implements error.
func (e *TemplateError) Error() string {
	var b strings.Builder
	if e.Where != "" {
		b.WriteString(e.Where + ": ")
	}
	switch {
	case e.Line > 0 && e.Column > 0:
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// funcError is the error type of this package's template functions. Its
// message is written to be safe to show: it never contains the function's
// arguments. Errors of any other function are withheld from messages.
type funcError struct {
	msg string
}

func (e *funcError) Error() string { return e.msg }

func funcErrorf(format string, args ...any) error {
	return &funcError{msg: fmt.Sprintf(format, args...)}
}

// tplName is the name every template is parsed under. Messages are
// re-labelled with the caller's location, so the name itself never shows.
const tplName = "tpl"

// withheld replaces details that may quote secret data.
const withheld = "details withheld because they may contain secret data"

// renderTemplate parses src and executes it over data. Missing map keys are
// errors. Every error is a *TemplateError located at where.
func renderTemplate(where, src string, data any) ([]byte, error) {
	t, err := compileTemplate(where, src)
	if err != nil {
		return nil, err
	}
	return executeTemplate(where, t, data)
}

// compileTemplate parses src with the template functions and
// missingkey=error. A failure is a *TemplateError located at where.
func compileTemplate(where, src string) (*template.Template, error) {
	t, err := template.New(tplName).Option("missingkey=error").Funcs(baseFuncs()).Parse(src)
	if err != nil {
		return nil, parseError(where, err)
	}
	return t, nil
}

// executeTemplate executes t over data. A failure is a *TemplateError
// located at where.
func executeTemplate(where string, t *template.Template, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, execError(where, err)
	}
	return buf.Bytes(), nil
}

var parseErrRE = regexp.MustCompile(`^template: ` + tplName + `:(\d+): (?s:(.*))$`)

// parseError describes a parse failure. Parse errors quote only the
// template's source, which comes from the spec, so they are kept.
func parseError(where string, err error) *TemplateError {
	msg := err.Error()
	if m := parseErrRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &TemplateError{Where: where, Line: line, Reason: "parse error: " + m[2]}
	}
	return &TemplateError{Where: where, Reason: "parse error: " + strings.TrimPrefix(msg, "template: ")}
}

var (
	execErrRE       = regexp.MustCompile(`^template: ` + tplName + `:(\d+):(\d+): executing "` + tplName + `" at <(?s:(.*?))>: (?s:(.*))$`)
	execNoNodeErrRE = regexp.MustCompile(`^template: ` + tplName + `: (?s:(.*))$`)
	callErrRE       = regexp.MustCompile(`^error calling ([^:\s]+):`)
)

// safeExecReasons are prefixes of text/template execution messages that
// quote only names, types and the template's own source, never a value.
var safeExecReasons = []string{
	"map has no entry for key ",
	"nil data; no entry for key ",
	"can't evaluate field ",
	"wrong number of args for ",
	"wrong type for value; ",
	"invalid value; expected ",
	"template \"",
	"exceeded maximum template depth",
	"can't give argument to non-function ",
	"nil is not a command",
	"can't evaluate command ",
	"expected bool; found ",
	"expected string; found ",
	"expected integer; found ",
	"expected unsigned integer; found ",
	"expected float; found ",
	"expected complex; found ",
	"can't handle ",
	"can't print ",
	"undefined variable: ",
	"indirection through explicit nil in ",
	"nil pointer evaluating ",
	"dereference of nil pointer of type ",
	"cannot assign nil to ",
}

// valueExecReasons are prefixes of text/template execution messages that
// go on to quote a value; only the prefix is kept.
var valueExecReasons = []string{
	"range can't iterate over ",
	"if/with can't use ",
}

// execError describes an execution failure without quoting data: Go's own
// messages are kept only when they are known to quote names and types
// alone, and errors of template functions only when they come from this
// package's functions.
func execError(where string, err error) *TemplateError {
	te := &TemplateError{Where: where}
	msg := err.Error()
	var node string
	if m := execErrRE.FindStringSubmatch(msg); m != nil {
		te.Line, _ = strconv.Atoi(m[1])
		te.Column, _ = strconv.Atoi(m[2])
		node, msg = m[3], m[4]
	} else if m := execNoNodeErrRE.FindStringSubmatch(msg); m != nil {
		msg = m[1]
	} else {
		te.Reason = "execution failed (" + withheld + ")"
		return te
	}
	at := ""
	if node != "" {
		at = " at <" + node + ">"
	}
	if m := callErrRE.FindStringSubmatch(msg); m != nil {
		var fe *funcError
		if errors.As(err, &fe) {
			te.Reason = fmt.Sprintf("executing%s: %s: %s", at, m[1], fe.msg)
		} else {
			te.Reason = fmt.Sprintf("executing%s: error calling %s (%s)", at, m[1], withheld)
		}
		return te
	}
	for _, p := range valueExecReasons {
		if strings.HasPrefix(msg, p) {
			te.Reason = fmt.Sprintf("executing%s: %sthis value (%s)", at, p, withheld)
			return te
		}
	}
	for _, p := range safeExecReasons {
		if strings.HasPrefix(msg, p) {
			te.Reason = fmt.Sprintf("executing%s: %s", at, msg)
			return te
		}
	}
	te.Reason = fmt.Sprintf("executing%s: execution failed (%s)", at, withheld)
	return te
}
