package shape

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// DecodeError reports a value that does not decode with the requested
// decoding strategy. It names the key and the position of the first bad
// byte, never the value.
type DecodeError struct {
	// Key is the Secret key whose value failed to decode.
	Key string
	// Strategy is the decoding strategy that was applied.
	Strategy esv1.ExternalSecretDecodingStrategy
	// Offset is the position of the first byte that is not valid, or -1
	// when unknown.
	Offset int64
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("key %q: value is not valid %s (first bad byte at offset %d)", e.Key, e.Strategy, e.Offset)
	}
	return fmt.Sprintf("key %q: value is not valid %s", e.Key, e.Strategy)
}

// UnknownStrategyError reports a decoding or conversion strategy this
// package does not know. The API server's enum validation normally prevents
// it.
type UnknownStrategyError struct {
	// Field is "decodingStrategy", "conversionStrategy" or "nullBytePolicy".
	Field string
	// Value is the unknown value.
	Value string
}

// Error implements error.
func (e *UnknownStrategyError) Error() string {
	return fmt.Sprintf("%s %q is not supported", e.Field, e.Value)
}

// NullByteError reports a value with a NUL byte under nullBytePolicy Fail.
type NullByteError struct {
	// Key is the Secret key whose value contains the NUL byte.
	Key string
}

// Error implements error.
func (e *NullByteError) Error() string {
	return fmt.Sprintf("the value of key %q contains a NUL byte, which nullBytePolicy Fail rejects", e.Key)
}

// KeyCollisionError reports two different keys that a conversion or rewrite
// turns into the same key.
type KeyCollisionError struct {
	// Key is the resulting key.
	Key string
	// From are the two (sorted) original keys that both became Key.
	From [2]string
}

// Error implements error.
func (e *KeyCollisionError) Error() string {
	return fmt.Sprintf("keys %q and %q both become %q", e.From[0], e.From[1], e.Key)
}

// Decode decodes one value with strategy; key names the value in errors.
//
// None (or empty) returns the value unchanged. Base64 accepts standard
// base64, padded or not; Base64URL accepts URL-safe base64, padded or not
// (upstream accepts only the padded forms; unpadded input is a superset).
// Auto tries standard, URL-safe, unpadded standard and unpadded URL-safe
// base64 in that order and returns the value unchanged when none decodes.
// A failure is a *DecodeError.
func Decode(key string, strategy esv1.ExternalSecretDecodingStrategy, value []byte) ([]byte, error) {
	switch strategy {
	case "", esv1.DecodingStrategyNone:
		return value, nil
	case esv1.DecodingStrategyBase64:
		return decodeWith(key, strategy, value, base64.StdEncoding, base64.RawStdEncoding)
	case esv1.DecodingStrategyBase64URL:
		return decodeWith(key, strategy, value, base64.URLEncoding, base64.RawURLEncoding)
	case esv1.DecodingStrategyAuto:
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if out, err := decodeBase64(enc, value); err == nil {
				return out, nil
			}
		}
		return value, nil
	default:
		return nil, &UnknownStrategyError{Field: "decodingStrategy", Value: string(strategy)}
	}
}

// DecodeMap decodes every value of in with strategy and returns a new map;
// in is not modified. Keys are visited in sorted order, so the error (a
// *DecodeError naming the key) is deterministic.
func DecodeMap(strategy esv1.ExternalSecretDecodingStrategy, in map[string][]byte) (map[string][]byte, error) {
	out := make(map[string][]byte, len(in))
	for _, k := range sortedKeys(in) {
		v, err := Decode(k, strategy, in[k])
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// decodeWith tries the padded encoding, then the unpadded one, and reports
// the padded encoding's error position.
func decodeWith(key string, strategy esv1.ExternalSecretDecodingStrategy, value []byte, padded, raw *base64.Encoding) ([]byte, error) {
	out, err := decodeBase64(padded, value)
	if err == nil {
		return out, nil
	}
	if out, rawErr := decodeBase64(raw, value); rawErr == nil {
		return out, nil
	}
	offset := int64(-1)
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		offset = int64(corrupt)
	}
	return nil, &DecodeError{Key: key, Strategy: strategy, Offset: offset}
}

func decodeBase64(enc *base64.Encoding, value []byte) ([]byte, error) {
	out := make([]byte, enc.DecodedLen(len(value)))
	n, err := enc.Decode(out, value)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// ConvertKey converts one remote key name into a valid Secret key with
// strategy, like upstream's conversionStrategy: every character other than
// an ASCII letter, digit, '-', '.' or '_' is replaced by "_" (Default, also
// when empty) or by its code point written as "_UXXXX_" in lower-case hex
// (Unicode), for example "a/b" becomes "a_U002f_b". [UnescapeUnicodeKey] is
// the inverse of the Unicode form.
//
// Upstream keeps non-ASCII letters and digits, which the API server then
// rejects; they are converted here so that the Secret can be written.
func ConvertKey(strategy esv1.ExternalSecretConversionStrategy, key string) (string, error) {
	var unicode bool
	switch strategy {
	case "", esv1.ConversionStrategyDefault:
	case esv1.ConversionStrategyUnicode:
		unicode = true
	default:
		return "", &UnknownStrategyError{Field: "conversionStrategy", Value: string(strategy)}
	}
	var b strings.Builder
	for _, r := range key {
		switch {
		case isKeyChar(r):
			b.WriteRune(r)
		case unicode:
			fmt.Fprintf(&b, "_U%04x_", r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String(), nil
}

// ConvertKeys converts every key of in with [ConvertKey] and returns a new
// map. Two keys that convert to the same key are a *KeyCollisionError.
func ConvertKeys(strategy esv1.ExternalSecretConversionStrategy, in map[string][]byte) (map[string][]byte, error) {
	out := make(map[string][]byte, len(in))
	origin := make(map[string]string, len(in))
	for _, k := range sortedKeys(in) {
		nk, err := ConvertKey(strategy, k)
		if err != nil {
			return nil, err
		}
		if prev, dup := origin[nk]; dup {
			return nil, &KeyCollisionError{Key: nk, From: [2]string{prev, k}}
		}
		origin[nk] = k
		out[nk] = in[k]
	}
	return out, nil
}

var unicodeEscape = regexp.MustCompile(`_U([0-9a-fA-F]{4,5})_`)

// UnescapeUnicodeKey replaces every "_UXXXX_" (or five-digit "_UXXXXX_")
// escape in key by the character it encodes: the inverse of
// conversionStrategy Unicode, as PushSecret's ReverseUnicode uses it.
// Escapes that do not encode a valid character are kept as they are.
func UnescapeUnicodeKey(key string) string {
	return unicodeEscape.ReplaceAllStringFunc(key, func(m string) string {
		n, err := strconv.ParseUint(m[2:len(m)-1], 16, 32)
		if err != nil || n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF) {
			return m
		}
		return string(rune(n))
	})
}

// CheckNullBytes applies nullBytePolicy to one value: under Fail a value
// containing a NUL byte is a *NullByteError naming key; under Ignore (or
// empty) every value passes.
func CheckNullBytes(policy esv1.ExternalSecretNullBytePolicy, key string, value []byte) error {
	switch policy {
	case "", esv1.NullBytePolicyIgnore:
		return nil
	case esv1.NullBytePolicyFail:
		if bytes.IndexByte(value, 0) >= 0 {
			return &NullByteError{Key: key}
		}
		return nil
	default:
		return &UnknownStrategyError{Field: "nullBytePolicy", Value: string(policy)}
	}
}

// CheckNullBytesMap applies [CheckNullBytes] to every value of data and
// reports the first offending key in sorted order.
func CheckNullBytesMap(policy esv1.ExternalSecretNullBytePolicy, data map[string][]byte) error {
	for _, k := range sortedKeys(data) {
		if err := CheckNullBytes(policy, k, data[k]); err != nil {
			return err
		}
	}
	return nil
}

// isKeyChar reports whether r may appear in a Secret key.
func isKeyChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
