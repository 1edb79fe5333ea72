package socketio

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/siorelay/siorelay/internal/jsjson"
)

// AppendJSONString appends s as a JSON string literal escaped the way
// JavaScript's JSON.stringify does (see jsjson.AppendString).
func AppendJSONString(dst []byte, s string) []byte { return jsjson.AppendString(dst, s) }

// unquote returns the content of the JSON string literal lit (quotes
// included), unescaped. Without escapes it returns a sub-slice of lit;
// otherwise a new slice. Lone surrogate escapes become U+FFFD.
func unquote(lit []byte) []byte {
	if len(lit) < 2 {
		return nil
	}
	s := lit[1 : len(lit)-1]
	esc := false
	for _, c := range s {
		if c == '\\' {
			esc = true
			break
		}
	}
	if !esc {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			out = append(out, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(s, i+1)
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2 = hex4(s, i+3)
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, s[i])
		}
	}
	return out
}

func hex4(s []byte, i int) rune {
	if i+4 > len(s) {
		return utf8.RuneError
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return utf8.RuneError
		}
		r = r<<4 | rune(c)
	}
	return r
}

// jsSpaceLen returns the byte length of the JavaScript WhiteSpace or
// LineTerminator character at the start of b (what String.prototype.trim and
// Number() skip), or 0 if b does not start with one.
func jsSpaceLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	switch c := b[0]; {
	case c == ' ' || c >= '\t' && c <= '\r':
		return 1
	case c < utf8.RuneSelf:
		return 0
	}
	r, n := utf8.DecodeRune(b)
	switch {
	case r == 0xA0, r == 0x1680, r >= 0x2000 && r <= 0x200A, r == 0x2028, r == 0x2029,
		r == 0x202F, r == 0x205F, r == 0x3000, r == 0xFEFF:
		return n
	}
	return 0
}

// trimJSSpace trims JavaScript white space from both ends of b.
func trimJSSpace(b []byte) []byte {
	for {
		n := jsSpaceLen(b)
		if n == 0 {
			break
		}
		b = b[n:]
	}
	for len(b) > 0 {
		// Find the start of the last character.
		j := len(b) - 1
		for j > 0 && b[j]&0xC0 == 0x80 && len(b)-j < 4 {
			j--
		}
		n := jsSpaceLen(b[j:])
		if n == 0 || j+n != len(b) {
			break
		}
		b = b[:j]
	}
	return b
}

// jsNumber converts b as JavaScript's Number(string) does (StringToNumber:
// trimmed decimal, hex 0x, octal 0o, binary 0b literals, Infinity; the empty
// string is 0). It returns NaN for anything else.
func jsNumber(b []byte) float64 {
	b = trimJSSpace(b)
	if len(b) == 0 {
		return 0
	}
	if len(b) > 2 && b[0] == '0' {
		base := 0
		switch b[1] | 0x20 {
		case 'x':
			base = 16
		case 'o':
			base = 8
		case 'b':
			base = 2
		}
		if base != 0 {
			var f float64
			for _, c := range b[2:] {
				var d int
				switch {
				case c >= '0' && c <= '9':
					d = int(c - '0')
				case c|0x20 >= 'a' && c|0x20 <= 'f':
					d = int(c|0x20-'a') + 10
				default:
					return math.NaN()
				}
				if d >= base {
					return math.NaN()
				}
				f = f*float64(base) + float64(d)
			}
			return f
		}
	}
	s := b
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if string(s) == "Infinity" {
		if neg {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	// StrUnsignedDecimalLiteral: digits [. digits] | . digits, then [eE][+-]digits.
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return math.NaN()
	}
	if i < len(s) && s[i]|0x20 == 'e' {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return math.NaN()
		}
	}
	if i != len(s) {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil && f == 0 { // a range error still yields ±Inf or 0
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return math.NaN()
		}
	}
	return f
}
