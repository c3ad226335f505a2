package shape

import (
	"fmt"
	"maps"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// InvalidKeyError reports a key that cannot be a key of a Kubernetes
// Secret.
type InvalidKeyError struct {
	// Key is the invalid key.
	Key string
	// Reasons are the API server's validation messages.
	Reasons []string
}

// Error implements error.
func (e *InvalidKeyError) Error() string {
	if e.Key == "" {
		return "empty key: a Secret key must not be empty"
	}
	return fmt.Sprintf("invalid Secret key %q: %s", e.Key, strings.Join(e.Reasons, "; "))
}

// ValidateKeys checks that every key of data is a valid Secret key (at most
// 253 characters of ASCII letters, digits, '-', '.' and '_', and not "." or
// ".."), in sorted order, and returns an *InvalidKeyError for the first that
// is not. Upstream silently drops empty keys; here they are an error, so
// that a rewrite that erases a whole name is noticed.
func ValidateKeys(data map[string][]byte) error {
	for _, k := range sortedKeys(data) {
		if k == "" {
			return &InvalidKeyError{}
		}
		if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
			return &InvalidKeyError{Key: k, Reasons: errs}
		}
	}
	return nil
}

// Merge copies every entry of src into dst, overriding keys dst already has,
// and returns dst; a nil dst is allocated. It is how dataFrom entries merge in
// order and how data[] entries override them.
func Merge(dst, src map[string][]byte) map[string][]byte {
	if dst == nil {
		dst = make(map[string][]byte, len(src))
	}
	maps.Copy(dst, src)
	return dst
}
