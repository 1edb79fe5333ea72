package notepack

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// Dialect is the Node MessagePack package whose bytes an encoder
// reproduces. The two packages the Socket.IO adapters use write every
// value a Go program (or JSON) can produce identically, except numbers
// beyond 2^53 and strings holding lone UTF-16 surrogates (which only a
// JSON \u escape can give). Decoding needs no dialect, with one
// exception left as it is: @msgpack/msgpack turns a lone surrogate's
// 3-byte form back into the surrogate in strings under 200 bytes, where
// [AppendToJSON] writes U+FFFD for each byte, as notepack does.
type Dialect uint8

const (
	// Notepack is notepack.io 3.0.1 (@socket.io/redis-adapter 8.3.0,
	// @socket.io/redis-emitter 5.1.0): every integral number is an integer,
	// computed with 32-bit halves beyond 2^32 (so integral values of 2^64
	// and more wrap, as they do in Node).
	Notepack Dialect = iota
	// MsgpackJS is @msgpack/msgpack 2.8.0 (@socket.io/redis-streams-adapter
	// 0.3.1): a number is an integer only when Number.isSafeInteger holds
	// (|n| ≤ 2^53-1), and float64 otherwise, so 2^53 is cb4340000000000000
	// where notepack writes cf0020000000000000.
	MsgpackJS
)

// maxSafeInteger is Number.MAX_SAFE_INTEGER, 2^53-1.
const maxSafeInteger = 1<<53 - 1

// appendFloat64 writes f as a msgpack float64; NaN is the canonical quiet
// NaN both Node packages write (a DataView's setFloat64).
func appendFloat64(dst []byte, f float64) []byte {
	bits := math.Float64bits(f)
	if f != f {
		bits = 0x7ff8000000000000
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcb), bits)
}

func (d Dialect) appendInt(dst []byte, v int64) []byte {
	if d == MsgpackJS && (v > maxSafeInteger || v < -maxSafeInteger) {
		return appendFloat64(dst, float64(v))
	}
	return AppendInt(dst, v)
}

func (d Dialect) appendUint(dst []byte, v uint64) []byte {
	if d == MsgpackJS && v > maxSafeInteger {
		return appendFloat64(dst, float64(v))
	}
	return AppendUint(dst, v)
}

func (d Dialect) appendFloat(dst []byte, f float64) []byte {
	if d == MsgpackJS {
		return AppendFloatJS(dst, f)
	}
	return AppendFloat(dst, f)
}

// AppendFloatJS appends a JavaScript number as @msgpack/msgpack 2.8.0 does:
// a safe integer (-0 included, written as 0) in the smallest integer form,
// anything else (fractions, |f| ≥ 2^53, NaN, ±Infinity) as float64.
func AppendFloatJS(dst []byte, f float64) []byte {
	if math.Trunc(f) == f && math.Abs(f) <= maxSafeInteger {
		return AppendInt(dst, int64(f))
	}
	return appendFloat64(dst, f)
}

// textEncoderThreshold is @msgpack/msgpack's TEXT_ENCODER_THRESHOLD: longer
// strings (in UTF-16 code units) go through TextEncoder.
const textEncoderThreshold = 200

// msgpackJSUTF8 encodes a string holding lone UTF-16 surrogates (given in
// WTF-8) as @msgpack/msgpack 2.8.0 does: a string of at most 200 code units
// keeps each lone surrogate as its 3-byte form (its own utf8EncodeJs), a
// longer one has each replaced by U+FFFD (TextEncoder). Other invalid bytes
// become U+FFFD.
func msgpackJSUTF8(b []byte) []byte {
	units := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if isWTF8Surrogate(b[i:]) {
			size = 3
		}
		units++
		if r >= 0x10000 {
			units++
		}
		i += size
	}
	keep := units <= textEncoderThreshold
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if isWTF8Surrogate(b[i:]) {
			if keep {
				out = append(out, b[i:i+3]...)
			} else {
				out = utf8.AppendRune(out, utf8.RuneError)
			}
			i += 3
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		out = utf8.AppendRune(out, r)
		i += size
	}
	return out
}

// isWTF8Surrogate reports whether b starts with a UTF-16 surrogate in its
// 3-byte (WTF-8) form, ED A0..BF 80..BF.
func isWTF8Surrogate(b []byte) bool {
	return len(b) >= 3 && b[0] == 0xed && b[1] >= 0xa0 && b[1] <= 0xbf && b[2]&0xc0 == 0x80
}
