package main

import (
	"encoding/binary"
	"errors"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// maxFrame bounds the payload of one server frame; the load generator only
// receives small events, so anything larger is a protocol error here.
const maxFrame = 1 << 20

var (
	errFrameTooLarge = errors.New("loadgen: frame too large")
	errReservedBits  = errors.New("loadgen: reserved bits set")
)

// frame is one parsed WebSocket frame. payload aliases the input buffer.
type frame struct {
	fin     bool
	op      byte
	payload []byte
}

// parseFrame parses one frame at the start of b. It returns n == 0 (and no
// error) if b does not yet hold a whole frame. Masked frames (which a server
// must not send) are unmasked in place.
func parseFrame(b []byte) (f frame, n int, err error) {
	if len(b) < 2 {
		return f, 0, nil
	}
	if b[0]&0x70 != 0 {
		return f, 0, errReservedBits
	}
	f.fin = b[0]&0x80 != 0
	f.op = b[0] & 0x0f
	masked := b[1]&0x80 != 0
	size := uint64(b[1] & 0x7f)
	hdr := 2
	switch size {
	case 126:
		if len(b) < 4 {
			return f, 0, nil
		}
		size = uint64(binary.BigEndian.Uint16(b[2:4]))
		hdr = 4
	case 127:
		if len(b) < 10 {
			return f, 0, nil
		}
		size = binary.BigEndian.Uint64(b[2:10])
		hdr = 10
	}
	if size > maxFrame {
		return f, 0, errFrameTooLarge
	}
	var key [4]byte
	if masked {
		if len(b) < hdr+4 {
			return f, 0, nil
		}
		copy(key[:], b[hdr:hdr+4])
		hdr += 4
	}
	end := hdr + int(size)
	if len(b) < end {
		return f, 0, nil
	}
	f.payload = b[hdr:end]
	if masked {
		for i := range f.payload {
			f.payload[i] ^= key[i&3]
		}
	}
	return f, end, nil
}

// appendClientFrame appends one final, masked client frame (RFC 6455 §5.3).
func appendClientFrame(dst []byte, op byte, payload []byte, key [4]byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := range dst[start:] {
		dst[start+i] ^= key[i&3]
	}
	return dst
}
