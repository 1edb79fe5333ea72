// Package jsjson writes JSON the way JavaScript's JSON.stringify does, so
// that what siorelay sends matches what a Node peer would send byte for
// byte, and reads it as JSON.parse accepts it: [Valid] checks the grammar
// (about 3x faster than json.Valid), and [SkipSpace], [SkipString] and
// [SkipValue] walk text already validated, for the codecs that pick values
// out of JSON without unmarshalling it (internal/socketio,
// internal/adapter). It needs only the standard library and does no I/O;
// every function is safe for concurrent use.
package jsjson

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal escaped as
// JSON.stringify escapes it: only '"', '\\' and control characters below
// U+0020 are escaped (\b \t \n \f \r, the others as \u00xx with lower-case
// hex); U+2028, U+2029, '<', '>' and '&' are written as they are (unlike
// encoding/json). An invalid UTF-8 byte is written as U+FFFD, which is what
// Node holds after decoding such bytes.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
