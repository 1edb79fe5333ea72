package notepack

import (
	"math"
	"strconv"
	"time"

	"github.com/siorelay/siorelay/internal/jsjson"
)

// AppendToJSON transcodes the first msgpack value in src to JSON text with
// the semantics of JSON.stringify(notepack.decode(src)), and returns the
// result and the number of bytes of src it consumed.
//
// Binary values are written in one of two ways. With bins == nil, a bin is
// written as JSON.stringify writes a Buffer: {"type":"Buffer","data":[...]}.
// With bins != nil, a bin becomes the Socket.IO attachment placeholder
// {"_placeholder":true,"num":N} and its bytes (aliasing src) are appended
// to *bins, N being their index there: that is how a Socket.IO server turns
// an adapter packet into a binary packet for its clients.
//
// Map keys are written in JavaScript property order (array-index keys first,
// ascending), a repeated key keeps its first place and its last value, and
// numbers are printed as JavaScript prints them (integers beyond 2^53 are
// rounded to doubles first, as Node would have received them).
func AppendToJSON(dst, src []byte, bins *[][]byte) ([]byte, int, error) {
	n := len(dst)
	r := Reader{b: src}
	out, err := r.appendJSON(dst, bins, 0)
	if err != nil {
		return dst[:n], 0, err
	}
	return out, r.off, nil
}

func (r *Reader) appendJSON(dst []byte, bins *[][]byte, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return dst, ErrTooDeep
	}
	c, err := r.Peek()
	if err != nil {
		return dst, err
	}
	switch {
	case c == 0xc0:
		r.off++
		return append(dst, "null"...), nil
	case c == 0xc2:
		r.off++
		return append(dst, "false"...), nil
	case c == 0xc3:
		r.off++
		return append(dst, "true"...), nil
	case c <= 0x7f:
		r.off++
		return strconv.AppendInt(dst, int64(c), 10), nil
	case c >= 0xe0 || c >= 0xcc && c <= 0xd3 || c == 0xca || c == 0xcb:
		f, err := r.ReadNumber()
		if err != nil {
			return dst, err
		}
		return appendJSNumber(dst, f), nil
	case c >= 0xa0 && c <= 0xbf, c == 0xd9, c == 0xda, c == 0xdb:
		s, err := r.ReadStrBytes()
		if err != nil {
			return dst, err
		}
		return appendJSONString(dst, string(s)), nil
	case c == 0xc4, c == 0xc5, c == 0xc6:
		b, err := r.ReadBinary()
		if err != nil {
			return dst, err
		}
		return appendBinaryJSON(dst, b, bins), nil
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		n, err := r.ReadArrayLen()
		if err != nil {
			return dst, err
		}
		dst = append(dst, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = r.appendArrayElem(dst, bins, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		return r.appendObject(dst, bins, depth)
	case c >= 0xd4 && c <= 0xd8, c >= 0xc7 && c <= 0xc9:
		start := r.off
		t, data, err := r.readExt()
		if err != nil {
			return dst, err
		}
		return appendExtJSON(dst, t, data, src(r, start), bins), nil
	}
	return dst, ErrInvalidCode
}

func src(r *Reader, start int) []byte { return r.b[start:r.off] }

// appendArrayElem writes one array element; legacy `undefined` (notepack
// 2's fixext1 type 0) becomes null there, as JSON.stringify does.
func (r *Reader) appendArrayElem(dst []byte, bins *[][]byte, depth int) ([]byte, error) {
	if r.isUndefined() {
		r.off += 3
		return append(dst, "null"...), nil
	}
	return r.appendJSON(dst, bins, depth)
}

func (r *Reader) isUndefined() bool {
	return r.Len() >= 3 && r.b[r.off] == 0xd4 && r.b[r.off+1] == 0
}

func appendBinaryJSON(dst, b []byte, bins *[][]byte) []byte {
	if bins != nil {
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(*bins)), 10)
		*bins = append(*bins, b)
		return append(dst, '}')
	}
	dst = append(dst, `{"type":"Buffer","data":[`...)
	for i, c := range b {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	return append(dst, "]}"...)
}

// appendExtJSON writes what JSON.stringify prints for notepack's decoding
// of an extension: a Date (type -1, or legacy fixext8 type 0) as its ISO
// string, a legacy ArrayBuffer (ext type 0) as binary, and anything else as
// [type, Buffer].
func appendExtJSON(dst []byte, t int8, data, raw []byte, bins *[][]byte) []byte {
	if t == -1 {
		if ms, ok := extTime(data); ok {
			return appendDateJSON(dst, ms)
		}
	}
	if t == 0 {
		switch {
		case raw[0] == 0xd4:
			return append(dst, "null"...) // legacy undefined
		case raw[0] == 0xd7:
			ms := float64(int64(uint64(data[0])<<56 | uint64(data[1])<<48 | uint64(data[2])<<40 | uint64(data[3])<<32 |
				uint64(data[4])<<24 | uint64(data[5])<<16 | uint64(data[6])<<8 | uint64(data[7])))
			return appendDateJSON(dst, ms)
		default:
			// notepack decodes it to an ArrayBuffer: JSON.stringify prints
			// {}, while Socket.IO sends it as a binary attachment.
			if bins == nil {
				return append(dst, "{}"...)
			}
			return appendBinaryJSON(dst, data, bins)
		}
	}
	dst = append(dst, '[')
	dst = strconv.AppendInt(dst, int64(t), 10)
	dst = append(dst, ',')
	dst = appendBinaryJSON(dst, data, bins)
	return append(dst, ']')
}

// appendDateJSON prints a Date as Date.prototype.toJSON does, or null for
// an invalid date.
func appendDateJSON(dst []byte, ms float64) []byte {
	if math.IsNaN(ms) || math.Abs(ms) > 8.64e15 {
		return append(dst, "null"...)
	}
	t := time.UnixMilli(int64(ms)).UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		// toISOString uses six-digit signed years outside 0..9999.
		dst = append(dst, '"')
		if y < 0 {
			dst = append(dst, '-')
			y = -y
		} else {
			dst = append(dst, '+')
		}
		dst = append(dst, leftPad(strconv.Itoa(y), 6)...)
		dst = t.AppendFormat(dst, "-01-02T15:04:05.000Z")
		return append(dst, '"')
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	return append(dst, '"')
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func (r *Reader) appendObject(dst []byte, bins *[][]byte, depth int) ([]byte, error) {
	n, err := r.ReadMapLen()
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, '{')
	var stack [8]member
	members := stack[:0]
	reorder := false
	var keyBuf []byte
	for i := 0; i < n; i++ {
		k, err := r.decodeKey(&keyBuf, depth+1)
		if err != nil {
			return dst, err
		}
		if r.isUndefined() {
			// JSON.stringify drops keys whose value is undefined.
			r.off += 3
			continue
		}
		if len(members) > 0 {
			dst = append(dst, ',')
		}
		m := member{keyStart: len(dst)}
		m.index, m.isIndex = arrayIndex(k)
		if m.isIndex && len(members) > 0 {
			reorder = true
		}
		dst = appendJSONString(dst, string(k))
		dst = append(dst, ':')
		m.valStart = len(dst)
		if dst, err = r.appendJSON(dst, bins, depth+1); err != nil {
			return dst, err
		}
		m.end = len(dst)
		if !reorder && (len(members) >= 32 || hasKey(dst, members, dst[m.keyStart:m.valStart])) {
			reorder = true
		}
		members = append(members, m)
	}
	dst = append(dst, '}')
	if !reorder {
		return dst, nil
	}
	body := appendInJSOrder([]byte{'{'}, dst, members, nil, []byte{','})
	return append(append(dst[:start], body...), '}'), nil
}

// decodeKey reads a map key and returns the property name JavaScript would
// use for it.
func (r *Reader) decodeKey(buf *[]byte, depth int) ([]byte, error) {
	c, err := r.Peek()
	if err != nil {
		return nil, err
	}
	if c >= 0xa0 && c <= 0xbf || c == 0xd9 || c == 0xda || c == 0xdb {
		return r.ReadStrBytes()
	}
	v, err := r.decode(depth)
	if err != nil {
		return nil, err
	}
	*buf = append((*buf)[:0], keyString(v)...)
	return *buf, nil
}

// appendJSNumber prints f as JSON.stringify prints a number.
func appendJSNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return appendJSFloat(dst, f, 64)
}

// appendJSFloat prints f as JavaScript's Number.prototype.toString does
// (the same algorithm encoding/json uses), with -0 printed as 0.
func appendJSFloat(dst []byte, f float64, bits int) []byte {
	if f == 0 {
		return append(dst, '0')
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	abs := math.Abs(f)
	format := byte('f')
	if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendJSONString quotes s as JSON.stringify does.
func appendJSONString(dst []byte, s string) []byte { return jsjson.AppendString(dst, s) }

// AppendJSONString appends s quoted as JSON.stringify quotes a string.
func AppendJSONString(dst []byte, s string) []byte { return appendJSONString(dst, s) }
