package jsjson

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	tests := map[string]string{
		"":                          `""`,
		"plain":                     `"plain"`,
		"\u2028<>&\x00\x1f\x7f\xff": "\"\u2028<>&\\u0000\\u001f\x7f\uFFFD\"",
		"\"\\\b\f\n\r\t":            `"\"\\\b\f\n\r\t"`,
		"é😀":                        `"é😀"`,
	}
	for in, want := range tests {
		if got := string(AppendString(nil, in)); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\c\x00\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		enc := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil || !utf8.Valid(enc) {
			t.Fatalf("AppendString(%q) = %q: %v", s, enc, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("AppendString(%q) decodes to %q", s, back)
		}
	})
}
