package shape

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/tidwall/gjson"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// RewriteError reports a rewrite that is invalid or cannot be applied. It
// names the rewrite's index and field; the caller adds the dataFrom index,
// giving for example "dataFrom[2].rewrite[0].regexp.source: …".
type RewriteError struct {
	// Index is the position of the rewrite in the rewrite list.
	Index int
	// Field is the rewrite's field at fault, for example "regexp.source",
	// "transform.template", "merge.priority" or "merge"; empty when the
	// rewrite as a whole is at fault.
	Field string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *RewriteError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("rewrite[%d]: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("rewrite[%d].%s: %v", e.Index, e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *RewriteError) Unwrap() error { return e.Err }

// Rewrite applies rewrites to the keys of in, in order, each to the output
// of the previous one, and returns a new map; in is not modified.
//
//   - regexp {source, target} replaces every match of source (RE2 syntax) in
//     each key name with target, which may use $1 or ${name}
//     (regexp.ReplaceAllString). Keys that do not match stay as they are.
//   - transform {template} renames each key to the output of a Go template
//     in which .value is the key name: {{ .value | upper }}.
//   - merge parses every value as a JSON object and merges their keys. Values
//     are merged in sorted key order, then the keys listed in priority in
//     their order, so the last listed priority wins. A priority key that does
//     not exist fails under priorityPolicy Strict (the default) and is skipped
//     under IgnoreNotFound. A key set by more than one value fails under
//     conflictPolicy Error (the default) even when priority would decide it;
//     under Ignore the later value wins. With strategy Extract (the default)
//     the merged keys replace all input keys (into is not used), strings
//     written raw, numbers and booleans as text, objects and arrays as JSON;
//     with strategy JSON the input keys stay and key into receives the merged
//     object as JSON (into is required).
//
// Two keys renamed to the same key are a *KeyCollisionError (upstream keeps
// one of them at random). Every error is a *RewriteError.
func Rewrite(rewrites []esv1.ExternalSecretRewrite, in map[string][]byte) (map[string][]byte, error) {
	out := maps.Clone(in)
	if out == nil {
		out = map[string][]byte{}
	}
	for i, rw := range rewrites {
		var err error
		switch {
		case countOps(rw) != 1:
			err = &RewriteError{Index: i, Err: errors.New("exactly one of merge, regexp and transform must be set")}
		case rw.Regexp != nil:
			out, err = rewriteRegexp(i, *rw.Regexp, out)
		case rw.Transform != nil:
			out, err = rewriteTransform(i, *rw.Transform, out)
		case rw.Merge != nil:
			out, err = rewriteMerge(i, *rw.Merge, out)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func countOps(rw esv1.ExternalSecretRewrite) int {
	n := 0
	for _, set := range []bool{rw.Merge != nil, rw.Regexp != nil, rw.Transform != nil} {
		if set {
			n++
		}
	}
	return n
}

// renameKeys renames every key of in with rename, in sorted order, and
// reports two keys that get the same name.
func renameKeys(i int, field string, in map[string][]byte, rename func(string) (string, error)) (map[string][]byte, error) {
	out := make(map[string][]byte, len(in))
	origin := make(map[string]string, len(in))
	for _, k := range sortedKeys(in) {
		nk, err := rename(k)
		if err != nil {
			return nil, err
		}
		if prev, dup := origin[nk]; dup {
			return nil, &RewriteError{Index: i, Field: field, Err: &KeyCollisionError{Key: nk, From: [2]string{prev, k}}}
		}
		origin[nk] = k
		out[nk] = in[k]
	}
	return out, nil
}

func rewriteRegexp(i int, op esv1.ExternalSecretRewriteRegexp, in map[string][]byte) (map[string][]byte, error) {
	re, err := regexp.Compile(op.Source)
	if err != nil {
		return nil, &RewriteError{Index: i, Field: "regexp.source", Err: fmt.Errorf("invalid regular expression: %w", err)}
	}
	return renameKeys(i, "regexp", in, func(k string) (string, error) {
		return re.ReplaceAllString(k, op.Target), nil
	})
}

func rewriteTransform(i int, op esv1.ExternalSecretRewriteTransform, in map[string][]byte) (map[string][]byte, error) {
	const field = "transform.template"
	t, err := compileTemplate("", op.Template)
	if err != nil {
		return nil, &RewriteError{Index: i, Field: field, Err: err}
	}
	return renameKeys(i, "transform", in, func(k string) (string, error) {
		out, err := executeTemplate(fmt.Sprintf("renaming key %q", k), t, map[string]string{"value": k})
		if err != nil {
			return "", &RewriteError{Index: i, Field: field, Err: err}
		}
		return string(out), nil
	})
}

func rewriteMerge(i int, op esv1.ExternalSecretRewriteMerge, in map[string][]byte) (map[string][]byte, error) {
	fail := func(field string, err error) error { return &RewriteError{Index: i, Field: field, Err: err} }

	strategy := op.StrategyOrDefault()
	switch strategy {
	case esv1.RewriteMergeStrategyExtract:
	case esv1.RewriteMergeStrategyJSON:
		if op.Into == "" {
			return nil, fail("merge.into", errors.New("required with strategy JSON: name the key that receives the merged JSON"))
		}
	default:
		return nil, fail("merge.strategy", &UnknownStrategyError{Field: "strategy", Value: string(strategy)})
	}
	priorityPolicy := op.PriorityPolicyOrDefault()
	if priorityPolicy != esv1.RewriteMergePriorityPolicyStrict && priorityPolicy != esv1.RewriteMergePriorityPolicyIgnoreNotFound {
		return nil, fail("merge.priorityPolicy", &UnknownStrategyError{Field: "priorityPolicy", Value: string(priorityPolicy)})
	}
	conflictPolicy := op.ConflictPolicyOrDefault()
	if conflictPolicy != esv1.RewriteMergeConflictPolicyError && conflictPolicy != esv1.RewriteMergeConflictPolicyIgnore {
		return nil, fail("merge.conflictPolicy", &UnknownStrategyError{Field: "conflictPolicy", Value: string(conflictPolicy)})
	}

	// Non-priority keys in sorted order, then priority keys as listed, so
	// that later ones override earlier ones.
	var order []string
	for _, k := range sortedKeys(in) {
		if !slices.Contains(op.Priority, k) {
			order = append(order, k)
		}
	}
	listed := map[string]bool{}
	for _, k := range op.Priority {
		if listed[k] {
			continue
		}
		listed[k] = true
		if _, ok := in[k]; !ok {
			if priorityPolicy == esv1.RewriteMergePriorityPolicyIgnoreNotFound {
				continue
			}
			return nil, fail("merge.priority", fmt.Errorf("key %q not found (priorityPolicy Strict; use IgnoreNotFound to skip missing keys)", k))
		}
		order = append(order, k)
	}

	merged := map[string]any{}
	var conflicts []string
	for _, k := range order {
		obj, err := jsonObject(k, in[k])
		if err != nil {
			return nil, fail("merge", err)
		}
		for mk, mv := range obj {
			if _, seen := merged[mk]; seen && !slices.Contains(conflicts, mk) {
				conflicts = append(conflicts, mk)
			}
			merged[mk] = mv
		}
	}
	if len(conflicts) > 0 && conflictPolicy == esv1.RewriteMergeConflictPolicyError {
		slices.Sort(conflicts)
		return nil, fail("merge", fmt.Errorf("keys set by more than one value: %s (conflictPolicy Error; use Ignore to let later and priority values win)", listKeys(conflicts)))
	}

	if strategy == esv1.RewriteMergeStrategyJSON {
		b, err := marshalJSON(merged)
		if err != nil {
			return nil, fail("merge", errors.New("the merged values cannot be written as JSON"))
		}
		out := maps.Clone(in)
		out[op.Into] = b
		return out, nil
	}
	out := make(map[string][]byte, len(merged))
	for mk, mv := range merged {
		b, err := jsonValueBytes(mv)
		if err != nil {
			return nil, fail("merge", fmt.Errorf("the merged value of key %q cannot be written", mk))
		}
		out[mk] = b
	}
	return out, nil
}

// jsonObject parses value as a JSON object, keeping numbers as written.
func jsonObject(key string, value []byte) (map[string]any, error) {
	if !gjson.ValidBytes(value) {
		return nil, &NotJSONObjectError{Key: key, ValueKind: kindNotJSON}
	}
	if r := gjson.ParseBytes(value); !r.IsObject() {
		return nil, &NotJSONObjectError{Key: key, ValueKind: resultKind(r)}
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, &NotJSONObjectError{Key: key, ValueKind: kindNotJSON}
	}
	return obj, nil
}

// jsonValueBytes writes a decoded JSON value the way Property writes a
// selected one.
func jsonValueBytes(v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return []byte{}, nil
	case string:
		return []byte(t), nil
	case json.Number:
		return []byte(t.String()), nil
	case bool:
		if t {
			return []byte("true"), nil
		}
		return []byte("false"), nil
	default:
		return marshalJSON(t)
	}
}
