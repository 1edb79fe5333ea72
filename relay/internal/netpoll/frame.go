package netpoll

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// AppendFrame appends one unmasked, final server frame with opcode op and
// the given payload to dst and returns the extended slice. The result can be
// passed to [Conn.Send] and shared by any number of connections.
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	dst = AppendHeader(dst, op, len(payload))
	return append(dst, payload...)
}

// AppendHeader appends the header of an unmasked, final server frame with
// opcode op and a payload of n bytes.
func AppendHeader(dst []byte, op ws.OpCode, n int) []byte {
	b0 := 0x80 | byte(op)
	switch {
	case n <= 125:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// HeaderLen returns the length of the header AppendHeader writes for a
// payload of n bytes.
func HeaderLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return 10
	}
}

// frameHeader is a parsed client frame header.
type frameHeader struct {
	fin    bool
	op     ws.OpCode
	masked bool
	mask   [4]byte
	length int64
	size   int // header bytes
}

// parseHeader parses the frame header at the start of b. ok is false when b
// does not yet hold a whole header. It does not validate the header.
func parseHeader(b []byte) (h frameHeader, rsv byte, ok bool) {
	if len(b) < 2 {
		return h, 0, false
	}
	h.fin = b[0]&0x80 != 0
	rsv = b[0] & 0x70
	h.op = ws.OpCode(b[0] & 0x0f)
	h.masked = b[1]&0x80 != 0
	n := int(b[1] & 0x7f)
	h.size = 2
	switch n {
	case 126:
		if len(b) < 4 {
			return h, rsv, false
		}
		h.length = int64(binary.BigEndian.Uint16(b[2:4]))
		h.size = 4
	case 127:
		if len(b) < 10 {
			return h, rsv, false
		}
		u := binary.BigEndian.Uint64(b[2:10])
		if u > 1<<62 {
			u = 1 << 62
		}
		h.length = int64(u)
		h.size = 10
	default:
		h.length = int64(n)
	}
	if h.masked {
		if len(b) < h.size+4 {
			return h, rsv, false
		}
		copy(h.mask[:], b[h.size:h.size+4])
		h.size += 4
	}
	return h, rsv, true
}
