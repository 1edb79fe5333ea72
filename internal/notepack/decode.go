package notepack

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// Decoding errors.
var (
	// ErrShortBuffer means the input ends inside a value.
	ErrShortBuffer = errors.New("notepack: unexpected end of input")
	// ErrInvalidCode means a byte that starts no msgpack value notepack
	// understands (0xc1, or the never-used codes).
	ErrInvalidCode = errors.New("notepack: invalid type code")
	// ErrUnexpectedType means a value of another type than the one asked for.
	ErrUnexpectedType = errors.New("notepack: unexpected type")
	// ErrTrailingData means bytes follow the top-level value (notepack.decode
	// throws in that case too).
	ErrTrailingData = errors.New("notepack: trailing data after the value")
)

// Reader reads msgpack values one by one from a byte slice. Strings and
// binaries it returns alias the input. The zero Reader reads nothing; a
// Reader must not be used by several goroutines at once.
type Reader struct {
	b   []byte
	off int
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Offset is the number of bytes consumed so far.
func (r *Reader) Offset() int { return r.off }

// Len is the number of bytes left.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Peek returns the type code of the next value without consuming it.
func (r *Reader) Peek() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrShortBuffer
	}
	return r.b[r.off], nil
}

func (r *Reader) take(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, ErrShortBuffer
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s, nil
}

func (r *Reader) uintN(n int) (uint64, error) {
	s, err := r.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range s {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// length reads an n-byte big-endian length and checks that at least
// minEach*length bytes remain, so a forged header cannot make a caller
// allocate or loop far beyond the input.
func (r *Reader) length(n, minEach int) (int, error) {
	v, err := r.uintN(n)
	if err != nil {
		return 0, err
	}
	if v > uint64(r.Len()) || int(v)*minEach > r.Len() {
		return 0, ErrShortBuffer
	}
	return int(v), nil
}

// ReadNil consumes a nil and reports whether the next value was one.
func (r *Reader) ReadNil() bool {
	if r.off < len(r.b) && r.b[r.off] == 0xc0 {
		r.off++
		return true
	}
	return false
}

// ReadArrayLen reads an array header.
func (r *Reader) ReadArrayLen() (int, error) {
	c, err := r.Peek()
	if err != nil {
		return 0, err
	}
	switch {
	case c >= 0x90 && c <= 0x9f:
		r.off++
		n := int(c & 0x0f)
		if n > r.Len() {
			return 0, ErrShortBuffer
		}
		return n, nil
	case c == 0xdc:
		r.off++
		return r.length(2, 1)
	case c == 0xdd:
		r.off++
		return r.length(4, 1)
	}
	return 0, ErrUnexpectedType
}

// ReadMapLen reads a map header.
func (r *Reader) ReadMapLen() (int, error) {
	c, err := r.Peek()
	if err != nil {
		return 0, err
	}
	switch {
	case c >= 0x80 && c <= 0x8f:
		r.off++
		n := int(c & 0x0f)
		if 2*n > r.Len() {
			return 0, ErrShortBuffer
		}
		return n, nil
	case c == 0xde:
		r.off++
		return r.length(2, 2)
	case c == 0xdf:
		r.off++
		return r.length(4, 2)
	}
	return 0, ErrUnexpectedType
}

// ReadStrBytes reads a str; the result aliases the input.
func (r *Reader) ReadStrBytes() ([]byte, error) {
	c, err := r.Peek()
	if err != nil {
		return nil, err
	}
	var n int
	switch {
	case c >= 0xa0 && c <= 0xbf:
		r.off++
		n = int(c & 0x1f)
	case c == 0xd9:
		r.off++
		n, err = r.length(1, 1)
	case c == 0xda:
		r.off++
		n, err = r.length(2, 1)
	case c == 0xdb:
		r.off++
		n, err = r.length(4, 1)
	default:
		return nil, ErrUnexpectedType
	}
	if err != nil {
		return nil, err
	}
	return r.take(n)
}

// ReadString reads a str into a new string.
func (r *Reader) ReadString() (string, error) {
	b, err := r.ReadStrBytes()
	return string(b), err
}

// ReadBinary reads a bin; the result aliases the input.
func (r *Reader) ReadBinary() ([]byte, error) {
	c, err := r.Peek()
	if err != nil {
		return nil, err
	}
	var n int
	switch c {
	case 0xc4:
		r.off++
		n, err = r.length(1, 1)
	case 0xc5:
		r.off++
		n, err = r.length(2, 1)
	case 0xc6:
		r.off++
		n, err = r.length(4, 1)
	default:
		return nil, ErrUnexpectedType
	}
	if err != nil {
		return nil, err
	}
	return r.take(n)
}

// ReadBool reads true or false.
func (r *Reader) ReadBool() (bool, error) {
	c, err := r.Peek()
	if err != nil {
		return false, err
	}
	switch c {
	case 0xc2:
		r.off++
		return false, nil
	case 0xc3:
		r.off++
		return true, nil
	}
	return false, ErrUnexpectedType
}

// ReadNumber reads any integer or float as a JavaScript number (a double),
// as notepack.decode does.
func (r *Reader) ReadNumber() (float64, error) {
	c, err := r.Peek()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		r.off++
		return float64(c), nil
	case c >= 0xe0:
		r.off++
		return float64(int8(c)), nil
	}
	r.off++
	switch c {
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := r.uintN(1 << (c - 0xcc))
		return float64(v), err
	case 0xd0:
		v, err := r.uintN(1)
		return float64(int8(v)), err
	case 0xd1:
		v, err := r.uintN(2)
		return float64(int16(v)), err
	case 0xd2:
		v, err := r.uintN(4)
		return float64(int32(v)), err
	case 0xd3:
		v, err := r.uintN(8)
		return float64(int64(v)), err
	case 0xca:
		v, err := r.uintN(4)
		return float64(math.Float32frombits(uint32(v))), err
	case 0xcb:
		v, err := r.uintN(8)
		return math.Float64frombits(v), err
	}
	r.off--
	return 0, ErrUnexpectedType
}

// ReadRaw returns the bytes of the next value, whatever it is.
func (r *Reader) ReadRaw() ([]byte, error) {
	start := r.off
	if err := r.Skip(); err != nil {
		r.off = start
		return nil, err
	}
	return r.b[start:r.off:r.off], nil
}

// Skip consumes the next value.
func (r *Reader) Skip() error { return r.skip(0) }

func (r *Reader) skip(depth int) error {
	if depth >= maxDepth {
		return ErrTooDeep
	}
	c, err := r.Peek()
	if err != nil {
		return err
	}
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		r.off++
		return nil
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		n, err := r.ReadMapLen()
		if err != nil {
			return err
		}
		for i := 0; i < 2*n; i++ {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		n, err := r.ReadArrayLen()
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case c >= 0xa0 && c <= 0xbf, c == 0xd9, c == 0xda, c == 0xdb:
		_, err := r.ReadStrBytes()
		return err
	case c == 0xc4, c == 0xc5, c == 0xc6:
		_, err := r.ReadBinary()
		return err
	case c >= 0xcc && c <= 0xd3, c == 0xca, c == 0xcb:
		_, err := r.ReadNumber()
		return err
	case c >= 0xd4 && c <= 0xd8, c >= 0xc7 && c <= 0xc9:
		_, _, err := r.readExt()
		return err
	}
	return ErrInvalidCode
}

// readExt reads an ext value, returning its type and data.
func (r *Reader) readExt() (int8, []byte, error) {
	c, err := r.Peek()
	if err != nil {
		return 0, nil, err
	}
	r.off++
	var n int
	switch c {
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		n = 1 << (c - 0xd4)
	case 0xc7:
		n, err = r.length(1, 1)
	case 0xc8:
		n, err = r.length(2, 1)
	case 0xc9:
		n, err = r.length(4, 1)
	default:
		r.off--
		return 0, nil, ErrUnexpectedType
	}
	if err != nil {
		return 0, nil, err
	}
	t, err := r.take(1)
	if err != nil {
		return 0, nil, err
	}
	data, err := r.take(n)
	return int8(t[0]), data, err
}

// extTime decodes the timestamp extension (-1) to Unix milliseconds, as
// notepack builds a Date from it.
func extTime(data []byte) (float64, bool) {
	switch len(data) {
	case 4:
		return float64(binary.BigEndian.Uint32(data)) * 1000, true
	case 8:
		v := binary.BigEndian.Uint64(data)
		ns := v >> 34
		sec := v & (1<<34 - 1)
		return float64(sec)*1000 + math.Floor(float64(ns)/1e6), true
	case 12:
		ns := binary.BigEndian.Uint32(data)
		sec := int64(binary.BigEndian.Uint64(data[4:]))
		return float64(sec)*1000 + math.Floor(float64(ns)/1e6), true
	}
	return 0, false
}

// Decode decodes one msgpack value into plain Go values the way notepack
// decodes into JavaScript ones: nil, bool, float64, string, []byte (bin),
// []any and map[string]any (keys stringified). Timestamps become
// time-less Unix milliseconds (float64) and other extensions [type, data].
// Trailing bytes are an error.
func Decode(b []byte) (any, error) {
	r := NewReader(b)
	v, err := r.decode(0)
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, ErrTrailingData
	}
	return v, nil
}

// DecodeNext decodes the next value (see [Decode]).
func (r *Reader) DecodeNext() (any, error) { return r.decode(0) }

func (r *Reader) decode(depth int) (any, error) {
	if depth >= maxDepth {
		return nil, ErrTooDeep
	}
	c, err := r.Peek()
	if err != nil {
		return nil, err
	}
	switch {
	case c == 0xc0:
		r.off++
		return nil, nil
	case c == 0xc2 || c == 0xc3:
		return r.ReadBool()
	case c <= 0x7f || c >= 0xe0 || c >= 0xcc && c <= 0xd3 || c == 0xca || c == 0xcb:
		return r.ReadNumber()
	case c >= 0xa0 && c <= 0xbf, c == 0xd9, c == 0xda, c == 0xdb:
		return r.ReadString()
	case c == 0xc4, c == 0xc5, c == 0xc6:
		b, err := r.ReadBinary()
		if err != nil {
			return nil, err
		}
		return append([]byte{}, b...), nil
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		n, err := r.ReadArrayLen()
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = r.decode(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		n, err := r.ReadMapLen()
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, n)
		for i := 0; i < n; i++ {
			k, err := r.decode(depth + 1)
			if err != nil {
				return nil, err
			}
			v, err := r.decode(depth + 1)
			if err != nil {
				return nil, err
			}
			out[keyString(k)] = v
		}
		return out, nil
	case c >= 0xd4 && c <= 0xd8, c >= 0xc7 && c <= 0xc9:
		t, data, err := r.readExt()
		if err != nil {
			return nil, err
		}
		if t == -1 {
			if ms, ok := extTime(data); ok {
				return ms, nil
			}
		}
		return []any{float64(t), append([]byte{}, data...)}, nil
	}
	return nil, ErrInvalidCode
}

// keyString converts a decoded key to the property name JavaScript uses.
func keyString(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case float64:
		return FormatNumber(k)
	case bool:
		return strconv.FormatBool(k)
	case nil:
		return "null"
	}
	return "[object Object]"
}

// ContainsBinary reports whether the msgpack value b holds a bin (or an
// extension, which notepack decodes to a Buffer too) anywhere, which is
// what the sharded adapter's hasBinary test decides on. Malformed input
// reports false.
func ContainsBinary(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == 0xc4 || c == 0xc5 || c == 0xc6:
			return true
		case c >= 0xc7 && c <= 0xc9 || c >= 0xd4 && c <= 0xd8:
			r := Reader{b: b, off: i}
			t, _, err := r.readExt()
			if err != nil {
				return false
			}
			if t != -1 { // a timestamp is a Date, anything else a Buffer
				return true
			}
			i = r.off
		case c >= 0xa0 && c <= 0xbf, c == 0xd9, c == 0xda, c == 0xdb:
			r := Reader{b: b, off: i}
			if _, err := r.ReadStrBytes(); err != nil {
				return false
			}
			i = r.off
		case c == 0xcc || c == 0xd0:
			i += 2
		case c == 0xcd || c == 0xd1:
			i += 3
		case c == 0xce || c == 0xd2 || c == 0xca:
			i += 5
		case c == 0xcf || c == 0xd3 || c == 0xcb:
			i += 9
		case c == 0xdc || c == 0xde:
			i += 3
		case c == 0xdd || c == 0xdf:
			i += 5
		default: // fixed-size one-byte values and container headers
			i++
		}
	}
	return false
}

// FormatNumber returns String(f) in JavaScript: how a number names a
// property or a room.
func FormatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return string(appendJSFloat(nil, f, 64))
}
