package notepack

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrInvalidJSON is returned by AppendJSON for text that JSON.parse would
// reject.
var ErrInvalidJSON = errors.New("notepack: invalid JSON")

// AppendJSON appends the msgpack encoding of the JSON text src, as
// notepack.encode(JSON.parse(src)) would produce it: every number is a
// double (integral ones become integers), object keys keep JavaScript's
// order (array-index keys ascending first, then the others as written; a
// repeated key keeps its first place and its last value), and a lone UTF-16
// surrogate in a \u escape is combined with the next code unit, as
// notepack does.
//
// On error, the returned slice is dst truncated to its original length.
func AppendJSON(dst, src []byte) ([]byte, error) { return Notepack.AppendJSON(dst, src) }

// AppendJSON is [AppendJSON] with d's number rules.
func (d Dialect) AppendJSON(dst, src []byte) ([]byte, error) {
	n := len(dst)
	p := jsonParser{src: src, d: d}
	p.skipSpace()
	out, err := p.value(dst, 0)
	if err == nil {
		p.skipSpace()
		if p.pos != len(src) {
			err = p.errorf("unexpected data after the value")
		}
	}
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

type jsonParser struct {
	src []byte
	pos int
	d   Dialect
}

func (p *jsonParser) errorf(msg string) error {
	return &jsonError{offset: p.pos, msg: msg}
}

type jsonError struct {
	offset int
	msg    string
}

func (e *jsonError) Error() string {
	return "notepack: invalid JSON at offset " + strconv.Itoa(e.offset) + ": " + e.msg
}

func (e *jsonError) Unwrap() error { return ErrInvalidJSON }

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(dst []byte, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return dst, p.errorf("nested too deeply")
	}
	if p.pos >= len(p.src) {
		return dst, p.errorf("unexpected end of input")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(dst, depth)
	case c == '[':
		return p.array(dst, depth)
	case c == '"':
		return p.str(dst)
	case c == 't':
		return p.literal(dst, "true", 0xc3)
	case c == 'f':
		return p.literal(dst, "false", 0xc2)
	case c == 'n':
		return p.literal(dst, "null", 0xc0)
	case c == '-' || '0' <= c && c <= '9':
		return p.number(dst)
	}
	return dst, p.errorf("unexpected character " + strconv.QuoteRune(rune(p.src[p.pos])))
}

func (p *jsonParser) literal(dst []byte, word string, code byte) ([]byte, error) {
	if len(p.src)-p.pos < len(word) || string(p.src[p.pos:p.pos+len(word)]) != word {
		return dst, p.errorf("invalid literal")
	}
	p.pos += len(word)
	return append(dst, code), nil
}

// number appends a JSON number as a JavaScript double.
func (p *jsonParser) number(dst []byte) ([]byte, error) {
	start := p.pos
	end := scanNumber(p.src, start)
	if end < 0 {
		return dst, p.errorf("invalid number")
	}
	p.pos = end
	text := p.src[start:end]
	// Short integers are exact as doubles: skip the float parser.
	if len(text) <= 16 {
		neg := text[0] == '-'
		digits := text
		if neg {
			digits = text[1:]
		}
		if len(digits) <= 15 && isDigits(digits) {
			var v int64
			for _, d := range digits {
				v = v*10 + int64(d-'0')
			}
			if neg {
				v = -v
			}
			return AppendInt(dst, v), nil
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil && !isRangeErr(err) {
		return dst, p.errorf("invalid number")
	}
	return p.d.appendFloat(dst, f), nil
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// scanNumber returns the end of the JSON number starting at i, or -1.
func scanNumber(s []byte, i int) int {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return -1
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return -1
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	return i
}

func isJSONNumber(b []byte) bool { return len(b) > 0 && scanNumber(b, 0) == len(b) }

// str appends a JSON string as a msgpack str.
func (p *jsonParser) str(dst []byte) ([]byte, error) {
	s, err := p.strValue(nil)
	if err != nil {
		return dst, err
	}
	return appendStrBytes(dst, s), nil
}

// strValue reads a JSON string at p.pos. When it has no escapes and is valid
// UTF-8 the result aliases the input; otherwise it is decoded into scratch.
func (p *jsonParser) strValue(scratch []byte) ([]byte, error) {
	p.pos++ // opening quote
	start := p.pos
	for i := start; i < len(p.src); i++ {
		c := p.src[i]
		switch {
		case c == '"':
			raw := p.src[start:i]
			p.pos = i + 1
			if utf8.Valid(raw) {
				return raw, nil
			}
			return []byte(toValidUTF8(string(raw))), nil
		case c == '\\':
			return p.strSlow(append(scratch[:0], p.src[start:i]...), i)
		case c < 0x20:
			p.pos = i
			return nil, p.errorf("control character in string")
		}
	}
	p.pos = len(p.src)
	return nil, p.errorf("unterminated string")
}

func (p *jsonParser) strSlow(out []byte, i int) ([]byte, error) {
	lone := false // a lone surrogate was written in WTF-8 form
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '"':
			p.pos = i + 1
			if lone {
				if p.d == MsgpackJS {
					return msgpackJSUTF8(out), nil
				}
				return notepackUTF8(out), nil
			}
			if !utf8.Valid(out) {
				out = []byte(toValidUTF8(string(out)))
			}
			return out, nil
		case c < 0x20:
			p.pos = i
			return nil, p.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(p.src) {
			break
		}
		e := p.src[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
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
			r, ok := hex4(p.src, i)
			if !ok {
				p.pos = i
				return nil, p.errorf("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+6 <= len(p.src) && p.src[i] == '\\' && p.src[i+1] == 'u' {
					r2, ok2 = hex4(p.src, i+2)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					// Keep the lone surrogate (WTF-8) for notepackUTF8.
					out = append(out, 0xe0|byte(r>>12), 0x80|byte(r>>6&0x3f), 0x80|byte(r&0x3f))
					lone = true
					continue
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			p.pos = i - 1
			return nil, p.errorf("invalid escape")
		}
	}
	p.pos = len(p.src)
	return nil, p.errorf("unterminated string")
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// appendStrBytes is AppendString for bytes already known to be valid UTF-8.
func appendStrBytes(dst, s []byte) []byte {
	n := len(s)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n < 0x100:
		dst = append(dst, 0xd9, byte(n))
	case n < 0x10000:
		dst = append(dst, 0xda, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, s...)
}

// placeholderSize is the room reserved for a container header; the header
// is moved into place once the element count is known.
const placeholderSize = 5

// finishContainer writes the real header for n elements at h (where
// placeholderSize bytes were reserved) and closes the gap.
func finishContainer(dst []byte, h, n int, isMap bool) []byte {
	var hdr [placeholderSize]byte
	var hb []byte
	if isMap {
		hb = AppendMapHeader(hdr[:0], n)
	} else {
		hb = AppendArrayHeader(hdr[:0], n)
	}
	gap := placeholderSize - len(hb)
	copy(dst[h:], hb)
	if gap > 0 {
		copy(dst[h+len(hb):], dst[h+placeholderSize:])
		dst = dst[:len(dst)-gap]
	}
	return dst
}

func (p *jsonParser) array(dst []byte, depth int) ([]byte, error) {
	p.pos++
	h := len(dst)
	dst = append(dst, make([]byte, placeholderSize)...)
	n := 0
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return finishContainer(dst, h, 0, false), nil
	}
	for {
		var err error
		p.skipSpace()
		if dst, err = p.value(dst, depth+1); err != nil {
			return dst, err
		}
		n++
		p.skipSpace()
		if p.pos >= len(p.src) {
			return dst, p.errorf("unterminated array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return finishContainer(dst, h, n, false), nil
		default:
			return dst, p.errorf("expected , or ]")
		}
	}
}

func (p *jsonParser) object(dst []byte, depth int) ([]byte, error) {
	p.pos++
	h := len(dst)
	dst = append(dst, make([]byte, placeholderSize)...)
	var stack [8]member
	members := stack[:0]
	reorder := false
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return finishContainer(dst, h, 0, true), nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return dst, p.errorf("expected a string key")
		}
		key, err := p.strValue(nil)
		if err != nil {
			return dst, err
		}
		m := member{keyStart: len(dst)}
		m.index, m.isIndex = arrayIndex(key)
		if m.isIndex && len(members) > 0 {
			reorder = true
		}
		dst = appendStrBytes(dst, key)
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return dst, p.errorf("expected :")
		}
		p.pos++
		p.skipSpace()
		m.valStart = len(dst)
		if dst, err = p.value(dst, depth+1); err != nil {
			return dst, err
		}
		m.end = len(dst)
		// Duplicates are found by a linear scan while objects are small;
		// a large object takes the general path, which uses a map.
		if !reorder && (len(members) >= 32 || hasKey(dst, members, dst[m.keyStart:m.valStart])) {
			reorder = true
		}
		members = append(members, m)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return dst, p.errorf("unterminated object")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			continue
		case '}':
			p.pos++
		default:
			return dst, p.errorf("expected , or }")
		}
		break
	}
	if !reorder {
		return finishContainer(dst, h, len(members), true), nil
	}
	body := appendInJSOrder(nil, dst, members, AppendMapHeader, nil)
	return append(dst[:h], body...), nil
}

// arrayIndex reports whether key is a canonical array index (0 to 2^32-2),
// which JavaScript orders before all other own keys of an object.
func arrayIndex(key []byte) (uint32, bool) {
	if len(key) == 0 || len(key) > 10 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	var v uint64
	for _, c := range key {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxUint32-1 {
		return 0, false
	}
	return uint32(v), true
}

// notepackUTF8 encodes a string holding lone UTF-16 surrogates (given in
// WTF-8) exactly as notepack's utf8Write does: it treats every surrogate
// code unit as the first of a pair and combines it with whatever unit comes
// next (or with 0 at the end of the string). Node peers see the same
// character as when a Node peer sent the string.
func notepackUTF8(b []byte) []byte {
	units := make([]uint16, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] == 0xed && i+2 < len(b) && b[i+1] >= 0xa0 && b[i+1] <= 0xbf && b[i+2]&0xc0 == 0x80 {
			units = append(units, uint16(b[i]&0x0f)<<12|uint16(b[i+1]&0x3f)<<6|uint16(b[i+2]&0x3f))
			i += 3
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			units = append(units, uint16(r1), uint16(r2))
		} else {
			units = append(units, uint16(r))
		}
		i += size
	}
	out := make([]byte, 0, len(b)+4)
	for i := 0; i < len(units); i++ {
		c := rune(units[i])
		switch {
		case c < 0x80:
			out = append(out, byte(c))
		case c < 0x800:
			out = append(out, 0xc0|byte(c>>6), 0x80|byte(c&0x3f))
		case c < 0xd800 || c >= 0xe000:
			out = append(out, 0xe0|byte(c>>12), 0x80|byte(c>>6&0x3f), 0x80|byte(c&0x3f))
		default:
			i++
			var next rune // charCodeAt past the end is NaN, and NaN & 0x3ff is 0
			if i < len(units) {
				next = rune(units[i])
			}
			c = 0x10000 + ((c&0x3ff)<<10 | next&0x3ff)
			out = append(out, 0xf0|byte(c>>18), 0x80|byte(c>>12&0x3f), 0x80|byte(c>>6&0x3f), 0x80|byte(c&0x3f))
		}
	}
	return out
}
