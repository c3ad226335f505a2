package aws

import (
	"regexp"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// finder is a compiled dataFrom[].find.
type finder struct {
	// path is the store's prefix followed by find.path: names must start
	// with it ("" matches every name).
	path string
	// name, when set, must match names.
	name *regexp.Regexp
	// tags must all be on a secret, with these values.
	tags map[string]string
}

// newFinder compiles find for a store with prefix.
func newFinder(find esv1.ExternalSecretFind, prefix string) (finder, error) {
	m := finder{path: prefix, tags: find.Tags}
	if find.Path != nil {
		m.path += *find.Path
	}
	if find.Name != nil && find.Name.RegExp != "" {
		re, err := regexp.Compile(find.Name.RegExp)
		if err != nil {
			return finder{}, &provider.ConfigError{Field: "dataFrom[].find.name.regexp", Err: err}
		}
		m.name = re
	}
	if m.path == "" && m.name == nil && len(m.tags) == 0 {
		return finder{}, provider.NewConfigError("dataFrom[].find", "set name.regexp, path or tags: a find without any would read every secret of the account")
	}
	return m, nil
}

// matchName reports whether name passes path and name.regexp.
func (m finder) matchName(name string) bool {
	if len(name) < len(m.path) || name[:len(m.path)] != m.path {
		return false
	}
	return m.name == nil || m.name.MatchString(name)
}

// matchTags reports whether every wanted tag is in tags with its value.
func (m finder) matchTags(tags map[string]string) bool {
	for k, v := range m.tags {
		if got, ok := tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}
