package socketio

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	`0`, `-0`, `1.5e3`, `-1E-3`, `1e+3`, `0.0`, `"a"`, `""`, `"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"`, `true`, `false`, `null`,
	`[]`, `{}`, ` [ 1 , "a" , { "b" : [ null ] } ] `, "\t\n\r[1]\t\n\r", `{"a":{"b":{"c":[[],{}]}}}`, `["é€😀` + "\u2028\x7f\xff" + `"]`,
	`[0,-0,0e0,0E-0,123456789012345678901234567890]`,
}

var invalidCases = []string{
	``, ` `, `[`, `]`, `{`, `}`, `[1,]`, `[,1]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a" 1}`, `{1:1}`, `[1 2]`, `{"a":1 "b":2}`,
	`01`, `-`, `1.`, `.1`, `1e`, `1e+`, `+1`, `0x1`, `NaN`, `Infinity`, `-Infinity`, `tru`, `nul`, `True`, `'a'`,
	`"a`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"\x01\"", "\"\n\"", `"\`, `1 2`, `[1]]`, `[1]x`, `{}{}`, "\v1", "\u00a01", "\ufeff1",
	`[}`, `{]`, `[1}`, `{"a":1]`, `/* */1`, `[1,,2]`,
}

func TestValidJSON(t *testing.T) {
	for _, s := range validCases {
		if !validJSON([]byte(s)) || !json.Valid([]byte(s)) {
			t.Errorf("validJSON(%q) = %v, json.Valid %v; want true", s, validJSON([]byte(s)), json.Valid([]byte(s)))
		}
	}
	for _, s := range invalidCases {
		if validJSON([]byte(s)) || json.Valid([]byte(s)) {
			t.Errorf("validJSON(%q) = %v, json.Valid %v; want false", s, validJSON([]byte(s)), json.Valid([]byte(s)))
		}
	}
	// No nesting limit (V8 has none; json.Valid stops at 10000).
	deep := strings.Repeat(`[{"a":`, 20000) + "1" + strings.Repeat("}]", 20000)
	if !validJSON([]byte(deep)) {
		t.Error("deeply nested JSON rejected")
	}
	if validJSON([]byte(deep + "]")) {
		t.Error("deeply nested JSON with an extra ] accepted")
	}
}

// maxDepth returns the nesting depth of b (ignoring strings).
func maxDepth(b []byte) int {
	d, m := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = skipString(b, i) - 1
		case '[', '{':
			d++
			m = max(m, d)
		case ']', '}':
			d--
		}
	}
	return m
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range append(validCases, invalidCases...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := validJSON(b), json.Valid(b)
		if got != want && !(got && maxDepth(b) > 10000) {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	in := benchEvent[1:]
	b.Run("validJSON", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if !validJSON(in) {
				b.Fatal()
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if !json.Valid(in) {
				b.Fatal()
			}
		}
	})
}
