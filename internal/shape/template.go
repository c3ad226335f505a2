package shape

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// SourceKind is the kind of object a templateFrom entry reads templates from.
type SourceKind string

// The kinds of templateFrom sources.
const (
	// SourceConfigMap is a ConfigMap (templateFrom[].configMap).
	SourceConfigMap SourceKind = "ConfigMap"
	// SourceSecret is a Secret (templateFrom[].secret).
	SourceSecret SourceKind = "Secret"
)

// SourceRef names a ConfigMap or Secret in the ExternalSecret's namespace.
type SourceRef struct {
	// Kind is SourceConfigMap or SourceSecret.
	Kind SourceKind
	// Name is the object's name.
	Name string
}

// String returns "ConfigMap/name" or "Secret/name".
func (r SourceRef) String() string { return string(r.Kind) + "/" + r.Name }

// TemplateSource is the content of a ConfigMap or Secret that a templateFrom
// entry reads. The caller fetches the object (see [RequiredSources]) and
// passes its data; [ConfigMapSource] and [SecretSource] build one.
type TemplateSource struct {
	SourceRef
	// Data holds the object's keys and values.
	Data map[string][]byte
}

// ConfigMapSource returns the TemplateSource of cm: its data and binaryData.
func ConfigMapSource(cm *corev1.ConfigMap) TemplateSource {
	src := TemplateSource{
		SourceRef: SourceRef{Kind: SourceConfigMap, Name: cm.Name},
		Data:      make(map[string][]byte, len(cm.Data)+len(cm.BinaryData)),
	}
	for k, v := range cm.Data {
		src.Data[k] = []byte(v)
	}
	maps.Copy(src.Data, cm.BinaryData)
	return src
}

// SecretSource returns the TemplateSource of s: its data.
func SecretSource(s *corev1.Secret) TemplateSource {
	return TemplateSource{
		SourceRef: SourceRef{Kind: SourceSecret, Name: s.Name},
		Data:      maps.Clone(s.Data),
	}
}

// RequiredSources lists the ConfigMaps and Secrets that tpl's templateFrom
// entries read, each once, in order of first use. Render needs a
// TemplateSource for each of them.
func RequiredSources(tpl *esv1.ExternalSecretTemplate) []SourceRef {
	if tpl == nil {
		return nil
	}
	var refs []SourceRef
	seen := map[SourceRef]bool{}
	add := func(r SourceRef) {
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	for _, tf := range tpl.TemplateFrom {
		if tf.ConfigMap != nil {
			add(SourceRef{Kind: SourceConfigMap, Name: tf.ConfigMap.Name})
		}
		if tf.Secret != nil {
			add(SourceRef{Kind: SourceSecret, Name: tf.Secret.Name})
		}
	}
	return refs
}

// MissingSourceError reports that Render was not given the content of a
// ConfigMap or Secret that a templateFrom entry reads: a bug of the caller,
// which must pass every source [RequiredSources] lists.
type MissingSourceError struct {
	// Where is the templateFrom entry, for example "template.templateFrom[1]".
	Where string
	// Ref is the missing source.
	Ref SourceRef
}

// Error implements error.
func (e *MissingSourceError) Error() string {
	return fmt.Sprintf("%s: the content of %s was not provided", e.Where, e.Ref)
}

// Result is what a template makes of the fetched data: the target Secret's
// data, labels, annotations and type. Its maps are never nil.
type Result struct {
	// Data is the Secret's data.
	Data map[string][]byte
	// Labels are the labels the template renders (template.metadata.labels
	// and templateFrom entries with target Labels).
	Labels map[string]string
	// Annotations are the annotations the template renders.
	Annotations map[string]string
	// Type is template.type; empty when the template does not set one (the
	// caller then uses Opaque or keeps the existing Secret's type).
	Type string
}

// Render applies the target template tpl (engine v2) to the fetched data and
// returns the Secret's data, labels, annotations and type. from holds the
// content of the ConfigMaps and Secrets that templateFrom reads.
//
// Without a template the data is returned as it is. Otherwise templates see
// the fetched values as strings ({{ .username }}, {{ index . "tls.crt" }});
// naming a key that does not exist is an error. The output is built in this
// order, later steps overriding earlier ones:
//
//  1. with mergePolicy Merge, the fetched data;
//  2. templateFrom entries in order; in each, the configMap items, then the
//     secret items, then the literal. An item templated as Values renders to
//     the key of the same name; an item templated as KeysAndValues, and a
//     literal, render to YAML (or JSON) whose keys and values are written;
//     valuesDecodingStrategy then decodes each value. target says whether
//     they go to the data, the labels or the annotations;
//  3. template.data, each value a template rendered to its key;
//  4. template.metadata.labels and .annotations, each value a template.
//
// With mergePolicy Replace (the default) the Secret holds only the template's
// output when template.data or templateFrom is set, and the fetched data
// otherwise.
//
// Rendered YAML keeps scalars as written: "port: 0123" yields "0123" and
// "on: yes" yields "yes". Nested mappings and lists are written as compact
// JSON. (Upstream requires every value to be a string.)
func Render(tpl *esv1.ExternalSecretTemplate, data map[string][]byte, from []TemplateSource) (*Result, error) {
	res := &Result{Data: map[string][]byte{}, Labels: map[string]string{}, Annotations: map[string]string{}}
	if tpl == nil {
		maps.Copy(res.Data, data)
		return res, nil
	}
	if v := tpl.EngineVersionOrDefault(); v != esv1.TemplateEngineV2 {
		return nil, &TemplateError{Where: "template.engineVersion", Reason: fmt.Sprintf("engine version %q is not supported: use v2", v)}
	}
	res.Type = string(tpl.Type)

	switch p := tpl.MergePolicyOrDefault(); p {
	case esv1.MergePolicyMerge:
		maps.Copy(res.Data, data)
	case esv1.MergePolicyReplace:
	default:
		return nil, &TemplateError{Where: "template.mergePolicy", Reason: fmt.Sprintf("merge policy %q is not supported: use Replace or Merge", p)}
	}

	r := &renderer{values: stringValues(data), res: res, sources: indexSources(from)}
	for i, tf := range tpl.TemplateFrom {
		if err := r.templateFrom(fmt.Sprintf("template.templateFrom[%d]", i), tf); err != nil {
			return nil, err
		}
	}
	if err := r.valuesMap("template.data", tpl.Data, esv1.TemplateTargetData); err != nil {
		return nil, err
	}
	if md := tpl.Metadata; md != nil {
		if err := r.valuesMap("template.metadata.labels", md.Labels, esv1.TemplateTargetLabels); err != nil {
			return nil, err
		}
		if err := r.valuesMap("template.metadata.annotations", md.Annotations, esv1.TemplateTargetAnnotations); err != nil {
			return nil, err
		}
	}

	if tpl.MergePolicyOrDefault() == esv1.MergePolicyReplace && len(tpl.Data) == 0 && len(tpl.TemplateFrom) == 0 {
		maps.Copy(res.Data, data)
	}
	return res, nil
}

type renderer struct {
	values  map[string]string
	res     *Result
	sources map[SourceRef]TemplateSource
}

func stringValues(data map[string][]byte) map[string]string {
	out := make(map[string]string, len(data))
	for k, v := range data {
		out[k] = string(v)
	}
	return out
}

func indexSources(from []TemplateSource) map[SourceRef]TemplateSource {
	idx := make(map[SourceRef]TemplateSource, len(from))
	for _, s := range from {
		idx[s.SourceRef] = s
	}
	return idx
}

// parseTarget accepts the targets of a Secret, case-insensitively like
// upstream.
func parseTarget(t esv1.TemplateTarget) (esv1.TemplateTarget, bool) {
	switch strings.ToLower(string(t)) {
	case "", "data":
		return esv1.TemplateTargetData, true
	case "labels":
		return esv1.TemplateTargetLabels, true
	case "annotations":
		return esv1.TemplateTargetAnnotations, true
	default:
		return "", false
	}
}

func (r *renderer) set(target esv1.TemplateTarget, key string, val []byte) {
	switch target {
	case esv1.TemplateTargetLabels:
		r.res.Labels[key] = string(val)
	case esv1.TemplateTargetAnnotations:
		r.res.Annotations[key] = string(val)
	default:
		r.res.Data[key] = val
	}
}

// valuesMap renders every value of m as a template into the key of the same
// name, in sorted key order so that the first error is deterministic.
func (r *renderer) valuesMap(where string, m map[string]string, target esv1.TemplateTarget) error {
	for _, k := range sortedKeys(m) {
		out, err := renderTemplate(fmt.Sprintf("%s[%q]", where, k), m[k], r.values)
		if err != nil {
			return err
		}
		r.set(target, k, out)
	}
	return nil
}

func (r *renderer) templateFrom(where string, tf esv1.TemplateFrom) error {
	target, ok := parseTarget(tf.Target)
	if !ok {
		return &TemplateError{Where: where + ".target", Reason: fmt.Sprintf("target %q is not supported for a Secret: use Data, Annotations or Labels", tf.Target)}
	}
	decoding := tf.ValuesDecodingStrategy
	if tf.ConfigMap != nil {
		if err := r.templateRef(where+".configMap", SourceRef{Kind: SourceConfigMap, Name: tf.ConfigMap.Name}, tf.ConfigMap.Items, target, decoding); err != nil {
			return err
		}
	}
	if tf.Secret != nil {
		if err := r.templateRef(where+".secret", SourceRef{Kind: SourceSecret, Name: tf.Secret.Name}, tf.Secret.Items, target, decoding); err != nil {
			return err
		}
	}
	if tf.Literal != nil {
		if err := r.keysAndValues(where+".literal", *tf.Literal, target, decoding); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) templateRef(where string, ref SourceRef, items []esv1.TemplateRefItem, target esv1.TemplateTarget, decoding esv1.ExternalSecretDecodingStrategy) error {
	src, ok := r.sources[ref]
	if !ok {
		return &MissingSourceError{Where: where, Ref: ref}
	}
	for i, item := range items {
		itemWhere := fmt.Sprintf("%s.items[%d] (%s, key %q)", where, i, ref, item.Key)
		tplText, ok := src.Data[item.Key]
		if !ok {
			return &TemplateError{Where: itemWhere, Reason: fmt.Sprintf("%s has no key %q", ref, item.Key)}
		}
		switch scope := item.TemplateAsOrDefault(); scope {
		case esv1.TemplateScopeValues:
			out, err := renderTemplate(itemWhere, string(tplText), r.values)
			if err != nil {
				return err
			}
			val, err := Decode(item.Key, decoding, out)
			if err != nil {
				return fmt.Errorf("%s: valuesDecodingStrategy: %w", itemWhere, err)
			}
			r.set(target, item.Key, val)
		case esv1.TemplateScopeKeysAndValues:
			if err := r.keysAndValues(itemWhere, string(tplText), target, decoding); err != nil {
				return err
			}
		default:
			return &TemplateError{Where: itemWhere, Reason: fmt.Sprintf("templateAs %q is not supported: use Values or KeysAndValues", scope)}
		}
	}
	return nil
}

// keysAndValues renders src and writes each key and value of the YAML (or
// JSON) mapping it produces. The output may be computed from secret values,
// keys included, so errors about it name line numbers, never keys.
func (r *renderer) keysAndValues(where, src string, target esv1.TemplateTarget, decoding esv1.ExternalSecretDecodingStrategy) error {
	out, err := renderTemplate(where, src, r.values)
	if err != nil {
		return err
	}
	entries, reason := parseKeysAndValues(out)
	if reason != "" {
		return &TemplateError{Where: where, Reason: reason}
	}
	for _, e := range entries {
		val, err := Decode(e.key, decoding, e.val)
		if err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				return &TemplateError{Where: where, Reason: fmt.Sprintf("valuesDecodingStrategy: the value on line %d of the rendered output is not valid %s", e.line, decoding)}
			}
			return fmt.Errorf("%s: valuesDecodingStrategy: %w", where, err)
		}
		r.set(target, e.key, val)
	}
	return nil
}

// kvEntry is one key and value of a rendered mapping; line is the line of
// the value in the output.
type kvEntry struct {
	key  string
	val  []byte
	line int
}

// parseKeysAndValues reads a rendered YAML or JSON mapping. Scalars keep
// their text as written; null is empty; mappings and lists become compact
// JSON. A failure is described by reason, which never quotes the output.
func parseKeysAndValues(out []byte) (entries []kvEntry, reason string) {
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return nil, "the rendered output is not valid YAML" + yamlErrorLine(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	root = resolveAlias(root)
	switch {
	case root.Kind == 0 || root.Kind == yaml.DocumentNode:
		return nil, "" // Empty output: nothing to write.
	case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
		return nil, ""
	case root.Kind != yaml.MappingNode:
		return nil, "the rendered output is not a YAML mapping of keys to values"
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := resolveAlias(root.Content[i]), resolveAlias(root.Content[i+1])
		if kn.Kind != yaml.ScalarNode {
			return nil, fmt.Sprintf("the key on line %d of the rendered output is not a plain value", kn.Line)
		}
		if first, dup := seen[kn.Value]; dup {
			return nil, fmt.Sprintf("the rendered output repeats on line %d the key of line %d", kn.Line, first)
		}
		seen[kn.Value] = kn.Line
		v, ok := nodeBytes(vn)
		if !ok {
			return nil, fmt.Sprintf("the value on line %d of the rendered output cannot be written as JSON", vn.Line)
		}
		entries = append(entries, kvEntry{key: kn.Value, val: v, line: vn.Line})
	}
	return entries, ""
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func nodeBytes(n *yaml.Node) ([]byte, bool) {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return []byte{}, true
		}
		return []byte(n.Value), true
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, false
	}
	b, err := marshalJSON(v)
	if err != nil {
		return nil, false
	}
	return b, true
}

// marshalJSON writes v as compact JSON without escaping <, > and &, so that
// values keep their text.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
