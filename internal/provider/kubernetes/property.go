package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// The top-level keys of a Secret's metadata as metadataPolicy Fetch serves it.
const (
	metaLabels      = "labels"
	metaAnnotations = "annotations"
)

// dataJSON renders a Secret's data as a JSON object of strings. A value that
// is not UTF-8 text cannot be a JSON string without being altered, so it is
// refused with a *provider.ConfigError on fieldPath naming the key.
func dataJSON(s *corev1.Secret, fieldPath string) ([]byte, error) {
	m := make(map[string]string, len(s.Data))
	for k, v := range s.Data {
		if !utf8.Valid(v) {
			return nil, provider.NewConfigError(fieldPath, "key %q of Secret %s is binary, not UTF-8 text, and cannot be part of a JSON object; read it on its own with property: %q", k, objectName(s.Namespace, s.Name), k)
		}
		m[k] = string(v)
	}
	return json.Marshal(m)
}

// dataProperty resolves property in a Secret's data: an exact data key
// (its bytes as stored); else "<data key>.<path>" with path resolved in
// that key's value like any property (exact key, then gjson), trying the
// data keys that prefix property longest first; else, when no data key
// prefixes it, a gjson path over the data as a JSON object of strings.
func dataProperty(s *corev1.Secret, property string) ([]byte, error) {
	if v, ok := s.Data[property]; ok {
		return bytes.Clone(v), nil
	}
	// Longest data key first; a shorter one is tried when the path is not
	// found in a longer one's value.
	var firstErr error
	for i := len(property) - 1; i > 0; i-- {
		if property[i] != '.' {
			continue
		}
		key, path := property[:i], property[i+1:]
		v, ok := s.Data[key]
		if !ok {
			continue
		}
		out, err := shape.Property(v, path)
		if err == nil {
			return out, nil
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("reading property %q of Secret %s as data key %q, then %w", property, objectName(s.Namespace, s.Name), key, err)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	doc, err := dataJSON(s, "remoteRef.property")
	if err != nil {
		return nil, notFound(s, property, keysOf(s.Data))
	}
	out, err := shape.Property(doc, property)
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s: %w", objectName(s.Namespace, s.Name), err)
	}
	return out, nil
}

// metadataProperty resolves property in a Secret's labels and annotations:
// "" is both as {"labels": {...}, "annotations": {...}}, "labels" or
// "annotations" one map, "labels.<key>" or "annotations.<key>" one value
// (the key may hold dots), anything else a gjson path over the whole.
func metadataProperty(s *corev1.Secret, property string) ([]byte, error) {
	doc := map[string]map[string]string{metaLabels: nonNil(s.Labels), metaAnnotations: nonNil(s.Annotations)}
	if m, ok := doc[property]; ok {
		return json.Marshal(m)
	}
	if kind, key, ok := strings.Cut(property, "."); ok {
		if v, ok := doc[kind][key]; ok {
			return []byte(v), nil
		}
	}
	whole, err := json.Marshal(doc)
	if err != nil || property == "" {
		return whole, err
	}
	out, err := shape.Property(whole, property)
	if err != nil {
		return nil, fmt.Errorf("reading the metadata of Secret %s: %w", objectName(s.Namespace, s.Name), err)
	}
	return out, nil
}

// metadataMap is a Secret's metadata as GetSecretMap serves it: the labels
// and the annotations, each as a JSON object.
func metadataMap(s *corev1.Secret) (map[string][]byte, error) {
	out := map[string][]byte{}
	for k, m := range map[string]map[string]string{metaLabels: s.Labels, metaAnnotations: s.Annotations} {
		b, err := json.Marshal(nonNil(m))
		if err != nil {
			return nil, err
		}
		out[k] = b
	}
	return out, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// notFound reports a property that selects nothing, with the Secret's key
// names (never values).
func notFound(s *corev1.Secret, property string, keys []string) error {
	return fmt.Errorf("reading Secret %s: %w", objectName(s.Namespace, s.Name), &shape.PropertyNotFoundError{Property: property, Keys: keys, ValueKind: "object"})
}

func keysOf(data map[string][]byte) []string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
