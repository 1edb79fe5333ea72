package notepack

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// AppendNil appends the msgpack nil (JavaScript null and undefined).
func AppendNil(dst []byte) []byte { return append(dst, 0xc0) }

// AppendBool appends true or false.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendInt appends v in the smallest integer form, as notepack does for an
// integral JavaScript number.
func AppendInt(dst []byte, v int64) []byte {
	if v >= 0 {
		return AppendUint(dst, uint64(v))
	}
	switch {
	case v >= -0x20:
		return append(dst, byte(v))
	case v >= -0x80:
		return append(dst, 0xd0, byte(v))
	case v >= -0x8000:
		return append(dst, 0xd1, byte(v>>8), byte(v))
	case v >= -0x80000000:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
	}
}

// AppendUint appends v in the smallest unsigned integer form.
func AppendUint(dst []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(dst, byte(v))
	case v < 0x100:
		return append(dst, 0xcc, byte(v))
	case v < 0x10000:
		return append(dst, 0xcd, byte(v>>8), byte(v))
	case v < 0x100000000:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 0xcf), v)
	}
}

// AppendFloat appends a JavaScript number the way notepack 3.0.1 does: an
// integral finite value becomes an integer (-0 becomes 0), anything else a
// float64. For integral values outside the int64/uint64 range it reproduces
// notepack's own 32-bit arithmetic, so the bytes match Node even there.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) {
		// notepack writes the canonical quiet NaN; Go's math.NaN() differs.
		return binary.BigEndian.AppendUint64(append(dst, 0xcb), 0x7ff8000000000000)
	}
	if math.IsInf(f, 0) || math.Floor(f) != f {
		return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
	}
	if f >= 0 {
		if f < 0x100000000 {
			return AppendUint(dst, uint64(f))
		}
		hi := jsToInt32(f / 4294967296)
		lo := jsToUint32(f)
		dst = binary.BigEndian.AppendUint32(append(dst, 0xcf), uint32(hi))
		return binary.BigEndian.AppendUint32(dst, lo)
	}
	if f >= -0x80000000 {
		return AppendInt(dst, int64(f))
	}
	hi := jsToInt32(math.Floor(f / 4294967296))
	lo := jsToUint32(f)
	dst = binary.BigEndian.AppendUint32(append(dst, 0xd3), uint32(hi))
	return binary.BigEndian.AppendUint32(dst, lo)
}

// jsToUint32 is ECMAScript ToUint32 for a finite number.
func jsToUint32(f float64) uint32 {
	f = math.Trunc(f)
	m := math.Mod(f, 4294967296)
	if m < 0 {
		m += 4294967296
	}
	return uint32(m)
}

// jsToInt32 is ECMAScript ToInt32 for a finite number (the `>> 0` operator).
func jsToInt32(f float64) int32 { return int32(jsToUint32(f)) }

// AppendString appends s as a msgpack str. Invalid UTF-8 is replaced by
// U+FFFD byte by byte, as encoding/json does, because Node could never have
// produced it.
func AppendString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	n := len(s)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n < 0x100:
		dst = append(dst, 0xd9, byte(n))
	case n < 0x10000:
		dst = append(dst, 0xda, byte(n>>8), byte(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return append(dst, s...)
}

// toValidUTF8 replaces every invalid byte with U+FFFD.
func toValidUTF8(s string) string {
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// AppendBinary appends b as a msgpack bin (a Buffer on the Node side).
func AppendBinary(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n < 0x100:
		dst = append(dst, 0xc4, byte(n))
	case n < 0x10000:
		dst = append(dst, 0xc5, byte(n>>8), byte(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

// AppendArrayHeader appends the header of an array of n elements.
func AppendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n < 0x10000:
		return append(dst, 0xdc, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
	}
}

// AppendMapHeader appends the header of a map of n key/value pairs.
func AppendMapHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x80|byte(n))
	case n < 0x10000:
		return append(dst, 0xde, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
	}
}
