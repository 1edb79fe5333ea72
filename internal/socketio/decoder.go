package socketio

import (
	"math"

	"github.com/siorelay/siorelay/internal/jsjson"
)

// DefaultMaxAttachments is the attachment limit of a zero [Decoder], the
// socket.io-parser 4.2.7 default (Decoder option maxAttachments).
const DefaultMaxAttachments = 10

// Decoder turns the Engine.IO messages of one connection back into Socket.IO
// packets, like socket.io-parser's Decoder: a text message is a packet; a
// BinaryEvent/BinaryAck packet is followed by its attachments, one binary
// message each.
//
// The zero value is ready to use. A Decoder is not safe for concurrent use;
// each connection has its own.
type Decoder struct {
	// MaxAttachments is the largest attachment count a binary packet may
	// announce. Zero (or negative) means DefaultMaxAttachments (10).
	MaxAttachments int

	rec     *reconstruction // non-nil while attachments are expected
	lastNsp string          // last custom namespace decoded, reused to avoid allocating
}

type reconstruction struct {
	p    Packet
	want int
}

// Add decodes one Engine.IO message: data is its payload and binary tells a
// binary message (a binary WebSocket frame or a "b<base64>" polling record)
// from a text one.
//
// It returns done=true with the packet once one is complete: immediately for
// a text packet other than BinaryEvent/BinaryAck, and on the last attachment
// for those two. Otherwise it returns done=false and a nil error.
//
// Text is decoded as socket.io-parser 4.2.7 Decoder.decodeString does, with
// the same rejections (see the Err values; their texts are Node's):
//
//   - first character not a packet type digit: ErrUnknownPacketType;
//   - binary type without "<n>-", n not an integer >= 1: ErrIllegalAttachments;
//   - n > MaxAttachments: ErrTooManyAttachments;
//   - payload not JSON, or CONNECT payload not an object, DISCONNECT with any
//     payload, CONNECT_ERROR payload not a string or object, EVENT payload not
//     an array starting with a number or a non-reserved string (see
//     IsReserved), ACK payload not an array: ErrInvalidPayload;
//   - text while attachments are expected: ErrPlaintextDuringReconstruction;
//   - binary while none are expected: ErrUnexpectedBinary;
//   - on the last attachment, a placeholder whose num is not a number in
//     [0, n): ErrIllegalPlaceholder; a payload nested deeper than 5000 levels:
//     ErrTooDeep (Node overflows its call stack there).
//
// A packet without payload (e.g. "2") is accepted; the namespace runs from
// "/" to the first ',' or the end ("0/custom" is "0/custom,"). Unlike Node,
// the decoded binary packet keeps its type BinaryEvent/BinaryAck (Node
// reports EVENT/ACK with the buffers inlined): Data keeps the placeholders
// and Attachments holds the binary messages in order.
//
// Aliasing: the returned packet's Data and Attachments are sub-slices of the
// data passed to Add, and a pending binary packet keeps referring to the
// header text until its last attachment arrives. The caller must therefore
// not modify or reuse a buffer passed to Add until the packet it belongs to
// has been returned (or the Decoder Reset).
//
// After an error the Decoder is reset; socket.io closes the connection.
func (d *Decoder) Add(data []byte, binary bool) (p Packet, done bool, err error) {
	if binary {
		r := d.rec
		if r == nil {
			return Packet{}, false, ErrUnexpectedBinary
		}
		r.p.Attachments = append(r.p.Attachments, data)
		if len(r.p.Attachments) < r.want {
			return Packet{}, false, nil
		}
		p = r.p
		d.rec = nil
		if p.Data != nil {
			// p.Data was validated as JSON when the header was decoded.
			if _, err := walkPlaceholders(p.Data, jsjson.SkipSpace(p.Data, 0), len(p.Attachments), 0); err != nil {
				return Packet{}, false, err
			}
		}
		return p, true, nil
	}
	if d.rec != nil {
		d.rec = nil
		return Packet{}, false, ErrPlaintextDuringReconstruction
	}
	max := d.MaxAttachments
	if max <= 0 {
		max = DefaultMaxAttachments
	}
	p, n, err := d.decodeString(data, max)
	if err != nil {
		return Packet{}, false, err
	}
	if n > 0 {
		// n is bounded by MaxAttachments, which a caller may set high: do
		// not let a header alone reserve much memory.
		p.Attachments = make([][]byte, 0, min(n, 16))
		d.rec = &reconstruction{p: p, want: n}
		return Packet{}, false, nil
	}
	return p, true, nil
}

// Reset drops a partially received binary packet.
func (d *Decoder) Reset() { d.rec = nil }

// Pending returns the number of attachments still expected (0 when no
// binary packet is being reconstructed).
func (d *Decoder) Pending() int {
	if d.rec == nil {
		return 0
	}
	return d.rec.want - len(d.rec.p.Attachments)
}

// decodeString parses a packet text. It returns the packet and, for the
// binary types, the announced attachment count. It mirrors
// Decoder.decodeString of socket.io-parser 4.2.7 step by step, including its
// use of JavaScript's Number() on the attachment count and the ack id (so
// white space there is accepted as Node accepts it).
func (d *Decoder) decodeString(s []byte, maxAttachments int) (p Packet, attachments int, err error) {
	if len(s) == 0 {
		return p, 0, ErrUnknownPacketType
	}
	// i is the index of the last byte consumed, as in the JS code.
	var i int
	switch c := s[0]; {
	case c >= '0' && c <= '6':
		p.Type = PacketType(c - '0')
	default:
		// Number(" ") is 0: a leading JS white-space character means CONNECT.
		n := jsSpaceLen(s)
		if n == 0 {
			return p, 0, ErrUnknownPacketType
		}
		p.Type = Connect
		i = n - 1
	}

	if p.Type.IsBinary() {
		j := i + 1
		for j < len(s) && s[j] != '-' {
			j++
		}
		if j == len(s) {
			return p, 0, ErrIllegalAttachments
		}
		count := s[i+1 : j]
		var f float64
		if v, ok := parseDigits(count); ok {
			f = float64(v)
		} else {
			f = jsNumber(count)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f < 1 {
			return p, 0, ErrIllegalAttachments
		}
		if f > float64(maxAttachments) {
			return p, 0, ErrTooManyAttachments
		}
		attachments = int(f)
		i = j
	}

	// Namespace: from '/' to the first ',' or the end.
	if i+1 < len(s) && s[i+1] == '/' {
		start := i + 1
		j := start + 1
		for j < len(s) && s[j] != ',' {
			j++
		}
		p.Namespace = d.namespace(s[start:j])
		i = j
	} else {
		p.Namespace = "/"
	}

	// Ack id: a run of digits and JS white space (each makes Number(c) == c true).
	if i+1 < len(s) {
		start := i + 1
		j := start
		for j < len(s) {
			if c := s[j]; c >= '0' && c <= '9' {
				j++
				continue
			}
			n := jsSpaceLen(s[j:])
			if n == 0 {
				break
			}
			j += n
		}
		if j > start {
			run := s[start:j]
			v, ok := parseDigits(run)
			if !ok {
				// Number(run): white space around the digits is trimmed, an
				// all-space run is 0, space between digits gives NaN. Node
				// then carries a NaN id; we reject it.
				t := trimJSSpace(run)
				if len(t) == 0 {
					v, ok = 0, true
				} else {
					v, ok = parseDigits(t)
				}
				if !ok {
					return p, 0, ErrInvalidPayload
				}
			}
			p.ID, p.HasID = v, true
			i = j - 1
		}
	}

	// Payload.
	if i+1 < len(s) {
		data := s[i+1:]
		if !validPayload(p.Type, data) {
			return p, 0, ErrInvalidPayload
		}
		p.Data = data
	}
	return p, attachments, nil
}

// namespace returns nsp as a string, reusing the previous one when equal.
func (d *Decoder) namespace(nsp []byte) string {
	if string(nsp) == "/" {
		return "/"
	}
	if string(nsp) == d.lastNsp {
		return d.lastNsp
	}
	d.lastNsp = string(nsp)
	return d.lastNsp
}

// parseDigits parses a non-empty run of ASCII digits. It fails on anything
// else or on values above math.MaxInt64 (Node would keep them as an inexact
// float; ack ids that large do not occur in practice).
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxInt64-d)/10 { // checked before it can wrap around
			return 0, false
		}
		v = v*10 + d
	}
	return int64(v), true
}

// validPayload reports whether data is JSON acceptable for a packet of type
// t (socket.io-parser Decoder.isPayloadValid applied to JSON.parse(data)).
func validPayload(t PacketType, data []byte) bool {
	if t == Disconnect {
		return false // any payload is invalid, even valid JSON
	}
	if !jsjson.Valid(data) {
		return false
	}
	i := jsjson.SkipSpace(data, 0)
	switch t {
	case Connect:
		return data[i] == '{'
	case ConnectError:
		return data[i] == '{' || data[i] == '"'
	case Ack, BinaryAck:
		return data[i] == '['
	case Event, BinaryEvent:
		if data[i] != '[' {
			return false
		}
		i = jsjson.SkipSpace(data, i+1)
		switch c := data[i]; {
		case c == '"':
			return !isReservedBytes(unquote(data[i:jsjson.SkipString(data, i)]))
		case c == '-' || c >= '0' && c <= '9':
			return true
		}
		return false
	}
	return false
}
