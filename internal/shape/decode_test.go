package shape

import (
	"errors"
	"reflect"
	"testing"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name       string
		strategy   esv1.ExternalSecretDecodingStrategy
		value      string
		want       string
		wantOffset int64 // -2: no error expected
	}{
		{name: "empty strategy keeps the value", strategy: "", value: "aGVsbG8=", want: "aGVsbG8=", wantOffset: -2},
		{name: "None keeps the value", strategy: esv1.DecodingStrategyNone, value: "aGVsbG8=", want: "aGVsbG8=", wantOffset: -2},
		{name: "Base64 padded", strategy: esv1.DecodingStrategyBase64, value: "aGVsbG8=", want: "hello", wantOffset: -2},
		{name: "Base64 unpadded", strategy: esv1.DecodingStrategyBase64, value: "aGVsbG8", want: "hello", wantOffset: -2},
		{name: "Base64 ignores line breaks", strategy: esv1.DecodingStrategyBase64, value: "aGVs\nbG8=\n", want: "hello", wantOffset: -2},
		{name: "Base64 rejects URL alphabet", strategy: esv1.DecodingStrategyBase64, value: "-_-_", wantOffset: 0},
		{name: "Base64 reports the bad byte", strategy: esv1.DecodingStrategyBase64, value: "aGVs*G8=", wantOffset: 4},
		{name: "Base64URL", strategy: esv1.DecodingStrategyBase64URL, value: "-_-_", want: "\xfb\xff\xbf", wantOffset: -2},
		{name: "Base64URL unpadded", strategy: esv1.DecodingStrategyBase64URL, value: "aGVsbG8", want: "hello", wantOffset: -2},
		{name: "Base64URL rejects standard alphabet", strategy: esv1.DecodingStrategyBase64URL, value: "+/+/", wantOffset: 0},
		{name: "Auto decodes standard", strategy: esv1.DecodingStrategyAuto, value: "aGVsbG8=", want: "hello", wantOffset: -2},
		{name: "Auto decodes URL-safe", strategy: esv1.DecodingStrategyAuto, value: "-_-_", want: "\xfb\xff\xbf", wantOffset: -2},
		{name: "Auto decodes unpadded", strategy: esv1.DecodingStrategyAuto, value: "aGVsbG8", want: "hello", wantOffset: -2},
		{name: "Auto keeps what does not decode", strategy: esv1.DecodingStrategyAuto, value: "happy street!", want: "happy street!", wantOffset: -2},
		{name: "Auto on empty", strategy: esv1.DecodingStrategyAuto, value: "", want: "", wantOffset: -2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode("k", tt.strategy, []byte(tt.value))
			if tt.wantOffset != -2 {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("Decode() error = %v, want *DecodeError", err)
				}
				if de.Key != "k" || de.Strategy != tt.strategy || de.Offset != tt.wantOffset {
					t.Fatalf("Decode() error = %#v, want key k, strategy %s, offset %d", de, tt.strategy, tt.wantOffset)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode() error = %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("Decode() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeUnknownStrategy(t *testing.T) {
	_, err := Decode("k", "Hex", []byte("00"))
	var ue *UnknownStrategyError
	if !errors.As(err, &ue) || ue.Field != "decodingStrategy" {
		t.Fatalf("Decode() error = %v, want *UnknownStrategyError", err)
	}
}

func TestDecodeMap(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string][]byte
		want    map[string][]byte
		wantKey string
	}{
		{
			name: "every value decoded",
			in:   map[string][]byte{"a": []byte("YQ=="), "b": []byte("Yg==")},
			want: map[string][]byte{"a": []byte("a"), "b": []byte("b")},
		},
		{
			name:    "first bad key in sorted order is reported",
			in:      map[string][]byte{"z": []byte("!!"), "m": []byte("??"), "a": []byte("YQ==")},
			wantKey: "m",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMap(esv1.DecodingStrategyBase64, tt.in)
			if tt.wantKey != "" {
				var de *DecodeError
				if !errors.As(err, &de) || de.Key != tt.wantKey {
					t.Fatalf("DecodeMap() error = %v, want *DecodeError for key %q", err, tt.wantKey)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeMap() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestConvertKey(t *testing.T) {
	tests := []struct {
		name     string
		strategy esv1.ExternalSecretConversionStrategy
		key      string
		want     string
	}{
		{name: "valid key unchanged", strategy: esv1.ConversionStrategyDefault, key: "a-b.c_D9", want: "a-b.c_D9"},
		{name: "Default replaces slashes", strategy: esv1.ConversionStrategyDefault, key: "path/to/key", want: "path_to_key"},
		{name: "empty means Default", strategy: "", key: "a b", want: "a_b"},
		{name: "Default replaces non-ASCII letters", strategy: esv1.ConversionStrategyDefault, key: "café", want: "caf_"},
		{name: "Unicode escapes a slash", strategy: esv1.ConversionStrategyUnicode, key: "a/b", want: "a_U002f_b"},
		{name: "Unicode escapes non-ASCII", strategy: esv1.ConversionStrategyUnicode, key: "café", want: "caf_U00e9_"},
		{name: "Unicode escapes beyond the BMP with five digits", strategy: esv1.ConversionStrategyUnicode, key: "x😀", want: "x_U1f600_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConvertKey(tt.strategy, tt.key)
			if err != nil || got != tt.want {
				t.Fatalf("ConvertKey() = %q, %v; want %q", got, err, tt.want)
			}
			if tt.strategy == esv1.ConversionStrategyUnicode {
				if back := UnescapeUnicodeKey(got); back != tt.key {
					t.Fatalf("UnescapeUnicodeKey(%q) = %q, want %q", got, back, tt.key)
				}
			}
		})
	}
}

func TestConvertKeys(t *testing.T) {
	tests := []struct {
		name          string
		in            map[string][]byte
		want          map[string][]byte
		wantCollision *KeyCollisionError
	}{
		{
			name: "keys converted, values kept",
			in:   map[string][]byte{"a/b": []byte("1"), "c": []byte("2")},
			want: map[string][]byte{"a_b": []byte("1"), "c": []byte("2")},
		},
		{
			name:          "two keys converting to one are a collision",
			in:            map[string][]byte{"a/b": []byte("1"), "a:b": []byte("2")},
			wantCollision: &KeyCollisionError{Key: "a_b", From: [2]string{"a/b", "a:b"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConvertKeys(esv1.ConversionStrategyDefault, tt.in)
			if tt.wantCollision != nil {
				var ce *KeyCollisionError
				if !errors.As(err, &ce) || *ce != *tt.wantCollision {
					t.Fatalf("ConvertKeys() error = %v, want %v", err, tt.wantCollision)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ConvertKeys() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestUnescapeUnicodeKey(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "no escapes", in: "plain_key", want: "plain_key"},
		{name: "several escapes", in: "a_U002f_b_U005b_", want: "a/b["},
		{name: "upper-case hex", in: "_U00E9_", want: "é"},
		{name: "invalid hex kept", in: "_U0xxx_x_U005b_", want: "_U0xxx_x["},
		{name: "surrogate kept", in: "_Ud800_", want: "_Ud800_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UnescapeUnicodeKey(tt.in); got != tt.want {
				t.Fatalf("UnescapeUnicodeKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckNullBytes(t *testing.T) {
	tests := []struct {
		name    string
		policy  esv1.ExternalSecretNullBytePolicy
		value   []byte
		wantErr bool
	}{
		{name: "empty policy ignores", policy: "", value: []byte("a\x00b")},
		{name: "Ignore ignores", policy: esv1.NullBytePolicyIgnore, value: []byte("a\x00b")},
		{name: "Fail passes clean values", policy: esv1.NullBytePolicyFail, value: []byte("abc")},
		{name: "Fail passes nil", policy: esv1.NullBytePolicyFail, value: nil},
		{name: "Fail rejects a NUL byte", policy: esv1.NullBytePolicyFail, value: []byte("a\x00b"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNullBytes(tt.policy, "payload", tt.value)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("CheckNullBytes() = %v, want nil", err)
				}
				return
			}
			var ne *NullByteError
			if !errors.As(err, &ne) || ne.Key != "payload" {
				t.Fatalf("CheckNullBytes() = %v, want *NullByteError for payload", err)
			}
		})
	}
}

func TestCheckNullBytesMapReportsFirstSortedKey(t *testing.T) {
	err := CheckNullBytesMap(esv1.NullBytePolicyFail, map[string][]byte{
		"zeta": []byte("\x00"), "alpha": []byte("x\x00"), "beta": []byte("ok"),
	})
	var ne *NullByteError
	if !errors.As(err, &ne) || ne.Key != "alpha" {
		t.Fatalf("CheckNullBytesMap() = %v, want *NullByteError for alpha", err)
	}
}
