package jsjson

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

func TestValid(t *testing.T) {
	for _, s := range validCases {
		if !Valid([]byte(s)) || !json.Valid([]byte(s)) {
			t.Errorf("Valid(%q) = %v, json.Valid %v; want true", s, Valid([]byte(s)), json.Valid([]byte(s)))
		}
	}
	for _, s := range invalidCases {
		if Valid([]byte(s)) || json.Valid([]byte(s)) {
			t.Errorf("Valid(%q) = %v, json.Valid %v; want false", s, Valid([]byte(s)), json.Valid([]byte(s)))
		}
	}
	// No nesting limit (V8 has none; json.Valid stops at 10000).
	deep := strings.Repeat(`[{"a":`, 20000) + "1" + strings.Repeat("}]", 20000)
	if !Valid([]byte(deep)) {
		t.Error("deeply nested JSON rejected")
	}
	if Valid([]byte(deep + "]")) {
		t.Error("deeply nested JSON with an extra ] accepted")
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range append(validCases, invalidCases...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := Valid(b), json.Valid(b)
		if got != want && !(got && Depth(b) > 10000) {
			t.Fatalf("Valid(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	in := []byte(`["message",{"user":"alice","text":"hello world","ts":1700000000000}]`)
	b.Run("Valid", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if !Valid(in) {
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
