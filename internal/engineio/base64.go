package engineio

import (
	"encoding/base64"
	"unicode/utf8"
)

// decodeMap maps a byte to its 6-bit value in the standard or URL-safe base64
// alphabet (Node accepts both), 0xFE for '=', 0xFF for anything else.
var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xFF
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		m[std[i]] = byte(i)
	}
	m['-'] = 62
	m['_'] = 63
	m['='] = 0xFE
	return m
}()

// DecodeBase64 decodes s the way Node's Buffer.from(s, "base64") does, which
// is how engine.io decodes "b<base64>" packets. It never fails:
//
//   - both the standard and the URL-safe alphabet are accepted;
//   - characters outside the alphabet (whitespace, '*', ...) are skipped;
//   - decoding stops at the first '=';
//   - a trailing group of 2 or 3 characters yields 1 or 2 bytes, a lone
//     trailing character is dropped.
//
// Node applies this to the UTF-16 code units of the already UTF-8-decoded
// text, keeping only the low byte of each unit, so for example "Ł" (U+0141)
// counts as 'A' and U+013D as '='. DecodeBase64 reproduces that for
// non-ASCII input, treating invalid UTF-8 as U+FFFD (as Node's decoding
// would). The result is a new slice (never nil).
func DecodeBase64(s []byte) []byte {
	// Fast path: canonical padded base64 (what every encoder sends) decodes
	// the same under both rules. (encoding/base64 also skips '\r' and '\n',
	// as Node does.)
	if len(s)%4 == 0 {
		out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		if n, err := base64.StdEncoding.Decode(out, s); err == nil {
			return out[:n]
		}
	}
	return decodeBase64Lenient(s)
}

// decodeBase64Lenient is DecodeBase64 without its fast path.
func decodeBase64Lenient(s []byte) []byte {
	out := make([]byte, 0, len(s)/4*3+2)
	var acc uint32
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		var v byte
		if c < utf8.RuneSelf {
			v = decodeMap[c]
			i++
		} else {
			r, size := utf8.DecodeRune(s[i:])
			i += size
			if r > 0xFFFF {
				// A surrogate pair: the high surrogate's low byte is 0x00-0xFF too.
				r -= 0x10000
				hi := byte((0xD800 + (r >> 10)) & 0xFF)
				lo := byte((0xDC00 + (r & 0x3FF)) & 0xFF)
				if vh := decodeMap[hi]; vh == 0xFE {
					break
				} else if vh != 0xFF {
					acc = acc<<6 | uint32(vh)
					n++
					if n == 4 {
						out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
						acc, n = 0, 0
					}
				}
				v = decodeMap[lo]
			} else {
				v = decodeMap[byte(r&0xFF)]
			}
		}
		if v == 0xFF {
			continue
		}
		if v == 0xFE {
			break
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}
