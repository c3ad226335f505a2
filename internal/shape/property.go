package shape

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// maxListedKeys bounds how many key names an error message lists, so that a
// secret with thousands of keys does not produce an unreadable condition.
const maxListedKeys = 30

// PropertyNotFoundError reports that remoteRef.property selects nothing in
// the fetched value. It carries the names of the value's top-level keys, never
// any value.
type PropertyNotFoundError struct {
	// Property is the property that was asked for.
	Property string
	// Keys are the sorted top-level keys of the value when it is a JSON
	// object, and nil otherwise.
	Keys []string
	// ValueKind says what the value is: "object", "array", "string",
	// "number", "boolean", "null" or "not JSON".
	ValueKind string
}

// Error implements error.
func (e *PropertyNotFoundError) Error() string {
	if e.ValueKind != kindObject {
		return fmt.Sprintf("property %q not found: %s", e.Property, notObjectPhrase("the secret value", e.ValueKind))
	}
	if len(e.Keys) == 0 {
		return fmt.Sprintf("property %q not found: the secret value is an empty JSON object", e.Property)
	}
	return fmt.Sprintf("property %q not found; the secret's top-level keys are: %s", e.Property, listKeys(e.Keys))
}

// NotJSONObjectError reports that a value had to be a JSON object (to be
// split into keys, or merged) but is not.
type NotJSONObjectError struct {
	// Key names the value, when it has a name (a merge rewrite's input key);
	// empty for a whole fetched secret.
	Key string
	// ValueKind says what the value is instead: "array", "string",
	// "number", "boolean", "null" or "not JSON".
	ValueKind string
}

// Error implements error.
func (e *NotJSONObjectError) Error() string {
	if e.Key == "" {
		return notObjectPhrase("the secret value", e.ValueKind)
	}
	return notObjectPhrase(fmt.Sprintf("the value of key %q", e.Key), e.ValueKind)
}

const (
	kindObject  = "object"
	kindArray   = "array"
	kindString  = "string"
	kindNumber  = "number"
	kindBoolean = "boolean"
	kindNull    = "null"
	kindNotJSON = "not JSON"
)

// Property selects property from a fetched secret value.
//
// Without a property the whole value is returned unchanged. Otherwise, if the
// value is a JSON object with a top-level key that equals property exactly,
// that key's value is selected (so "tls.crt" finds the key "tls.crt"); if not,
// property is a gjson path (https://github.com/tidwall/gjson/blob/master/SYNTAX.md).
//
// A selected string comes out unquoted and unescaped; an object or array as
// compact JSON; a number or boolean as its JSON text; null as an empty value.
// When nothing is selected the error is a *PropertyNotFoundError.
func Property(value []byte, property string) ([]byte, error) {
	if property == "" {
		return value, nil
	}
	if !gjson.ValidBytes(value) {
		return nil, &PropertyNotFoundError{Property: property, ValueKind: kindNotJSON}
	}
	root := gjson.ParseBytes(value)
	if root.IsObject() {
		var found gjson.Result
		var ok bool
		root.ForEach(func(key, val gjson.Result) bool {
			if key.String() == property {
				found, ok = val, true
				return false
			}
			return true
		})
		if ok {
			return resultBytes(found), nil
		}
	}
	res := root.Get(property)
	if !res.Exists() {
		e := &PropertyNotFoundError{Property: property, ValueKind: resultKind(root)}
		if root.IsObject() {
			e.Keys = objectKeys(root)
		}
		return nil, e
	}
	return resultBytes(res), nil
}

// TopLevelKeys returns the sorted top-level keys of value and true when value
// is a JSON object, and nil and false otherwise. It is meant for messages
// that help a user pick a property; it never returns values.
func TopLevelKeys(value []byte) ([]string, bool) {
	if !gjson.ValidBytes(value) {
		return nil, false
	}
	root := gjson.ParseBytes(value)
	if !root.IsObject() {
		return nil, false
	}
	return objectKeys(root), true
}

// Extract splits a JSON object into one entry per top-level key, each value
// rendered like [Property] renders a selected value. It is what
// dataFrom[].extract does with a fetched secret. A value that is not a JSON
// object yields a *NotJSONObjectError.
func Extract(value []byte) (map[string][]byte, error) {
	if !gjson.ValidBytes(value) {
		return nil, &NotJSONObjectError{ValueKind: kindNotJSON}
	}
	root := gjson.ParseBytes(value)
	if !root.IsObject() {
		return nil, &NotJSONObjectError{ValueKind: resultKind(root)}
	}
	out := make(map[string][]byte)
	root.ForEach(func(key, val gjson.Result) bool {
		// Later duplicates win, as with encoding/json.
		out[key.String()] = resultBytes(val)
		return true
	})
	return out, nil
}

// resultBytes renders a gjson result: strings raw, numbers and booleans as
// their text, objects and arrays as compact JSON, null as empty.
func resultBytes(r gjson.Result) []byte {
	switch r.Type {
	case gjson.String:
		return []byte(r.Str)
	case gjson.Number, gjson.True, gjson.False:
		return []byte(r.Raw)
	case gjson.Null:
		return []byte{}
	default: // gjson.JSON: an object or an array.
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(r.Raw)); err != nil {
			// Results of modifiers (for example @pretty) are valid JSON;
			// keep the raw text if that ever fails.
			return []byte(r.Raw)
		}
		return buf.Bytes()
	}
}

func resultKind(r gjson.Result) string {
	switch r.Type {
	case gjson.String:
		return kindString
	case gjson.Number:
		return kindNumber
	case gjson.True, gjson.False:
		return kindBoolean
	case gjson.Null:
		return kindNull
	default:
		if r.IsArray() {
			return kindArray
		}
		return kindObject
	}
}

// notObjectPhrase says that subject is not a JSON object but of kind.
func notObjectPhrase(subject, kind string) string {
	switch kind {
	case kindNotJSON:
		return subject + " is not JSON"
	case kindNull:
		return subject + " is JSON null, not an object"
	default:
		return subject + " is a JSON " + kind + ", not an object"
	}
}

func objectKeys(obj gjson.Result) []string {
	var keys []string
	obj.ForEach(func(key, _ gjson.Result) bool {
		keys = append(keys, key.String())
		return true
	})
	slices.Sort(keys)
	return slices.Compact(keys)
}

// listKeys joins key names for a message, quoting each and eliding the tail
// of very long lists.
func listKeys(keys []string) string {
	shown := keys
	if len(shown) > maxListedKeys {
		shown = shown[:maxListedKeys]
	}
	quoted := make([]string, len(shown))
	for i, k := range shown {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	s := strings.Join(quoted, ", ")
	if len(keys) > len(shown) {
		s += fmt.Sprintf(" and %d more", len(keys)-len(shown))
	}
	return s
}
