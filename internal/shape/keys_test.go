package shape

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestValidateKeys(t *testing.T) {
	tests := []struct {
		name    string
		data    map[string][]byte
		wantKey string
		wantErr bool
	}{
		{name: "valid keys", data: map[string][]byte{"a": nil, "tls.crt": nil, "A-b_9": nil}},
		{name: "empty map", data: nil},
		{name: "empty key", data: map[string][]byte{"": nil, "a": nil}, wantErr: true, wantKey: ""},
		{name: "slash", data: map[string][]byte{"a/b": nil}, wantErr: true, wantKey: "a/b"},
		{name: "dot alone", data: map[string][]byte{".": nil}, wantErr: true, wantKey: "."},
		{name: "too long", data: map[string][]byte{strings.Repeat("k", 254): nil}, wantErr: true, wantKey: strings.Repeat("k", 254)},
		{name: "first invalid key in sorted order", data: map[string][]byte{"z z": nil, "b:b": nil}, wantErr: true, wantKey: "b:b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateKeys(tt.data)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("ValidateKeys() = %v", err)
				}
				return
			}
			var ie *InvalidKeyError
			if !errors.As(err, &ie) || ie.Key != tt.wantKey {
				t.Fatalf("ValidateKeys() = %v, want *InvalidKeyError for %q", err, tt.wantKey)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name     string
		dst, src map[string][]byte
		want     map[string][]byte
	}{
		{name: "nil destination", dst: nil, src: map[string][]byte{"a": []byte("1")}, want: map[string][]byte{"a": []byte("1")}},
		{
			name: "source overrides",
			dst:  map[string][]byte{"a": []byte("old"), "b": []byte("keep")},
			src:  map[string][]byte{"a": []byte("new")},
			want: map[string][]byte{"a": []byte("new"), "b": []byte("keep")},
		},
		{name: "nil source", dst: map[string][]byte{"a": nil}, src: nil, want: map[string][]byte{"a": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Merge(tt.dst, tt.src); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Merge() = %q, want %q", got, tt.want)
			}
		})
	}
}
