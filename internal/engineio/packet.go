package engineio

import "encoding/base64"

// PacketType is an Engine.IO packet type. Its value is the ASCII character
// that starts the packet on the wire ('0' for Open ... '6' for Noop).
type PacketType byte

// The Engine.IO v4 packet types (engine.io-parser commons.js).
const (
	Open    PacketType = '0' // server → client, payload is the handshake JSON
	Close   PacketType = '1' // polling only; ignored over WebSocket by engine.io
	Ping    PacketType = '2' // server → client in v4 ("2probe" from the client during an upgrade)
	Pong    PacketType = '3' // client → server ("3probe" from the server during an upgrade)
	Message PacketType = '4' // both directions; payload is a Socket.IO packet or binary attachment
	Upgrade PacketType = '5' // client → server, completes a transport upgrade
	Noop    PacketType = '6' // server → client over polling, releases a pending GET
)

var typeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// Valid reports whether t is one of the seven packet types.
func (t PacketType) Valid() bool { return t >= Open && t <= Noop }

// String returns the engine.io-parser name of t ("open", "message", ...).
func (t PacketType) String() string {
	if t.Valid() {
		return typeNames[t-Open]
	}
	return "PacketType(" + string(rune(t)) + ")"
}

// Packet is one Engine.IO packet.
type Packet struct {
	Type PacketType
	// Data is the payload after the type character (nil when there is none),
	// or the raw bytes of a binary message.
	Data []byte
	// Binary marks a binary message (Type must be Message): on the wire a
	// binary WebSocket frame, or "b<base64>" where binary is not supported.
	Binary bool
}

// IsBinaryFrame reports whether [AppendPacket] output for p must be sent as a
// binary WebSocket frame (p.Binary && supportsBinary); otherwise it is a text frame.
func (p Packet) IsBinaryFrame(supportsBinary bool) bool { return p.Binary && supportsBinary }

// AppendPacket appends the single-packet encoding of p (engine.io-parser
// encodePacket), the content of one WebSocket frame:
//
//   - text packet: the type character followed by Data;
//   - binary message with supportsBinary: Data as is, without type prefix
//     (send it as a binary frame);
//   - binary message without supportsBinary (the b64 query parameter): 'b'
//     followed by standard padded base64 of Data, no '4' (a text frame).
func AppendPacket(dst []byte, p Packet, supportsBinary bool) []byte {
	if p.Binary {
		if supportsBinary {
			return append(dst, p.Data...)
		}
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, byte(p.Type))
	return append(dst, p.Data...)
}

// DecodePacket decodes one Engine.IO packet (engine.io-parser decodePacket),
// the content of one WebSocket frame or one record of a polling payload.
//
// A binary frame (binaryFrame true) is always a binary Message whose Data is
// data itself. Text starting with 'b' is a binary Message whose Data is the
// base64 decoding of the rest, with Node's lenient Buffer.from(s, "base64")
// rules (see [DecodeBase64]); this is the only case that allocates. Otherwise
// the first byte must be a packet type ('0'..'6') and Data aliases data[1:]
// (nil when empty). Empty text or any other first byte yields
// [ErrInvalidPacket].
func DecodePacket(data []byte, binaryFrame bool) (Packet, error) {
	if binaryFrame {
		return Packet{Type: Message, Data: data, Binary: true}, nil
	}
	if len(data) == 0 {
		return Packet{}, ErrInvalidPacket
	}
	t := PacketType(data[0])
	if t == 'b' {
		return Packet{Type: Message, Data: DecodeBase64(data[1:]), Binary: true}, nil
	}
	if !t.Valid() {
		return Packet{}, ErrInvalidPacket
	}
	if len(data) == 1 {
		return Packet{Type: t}, nil
	}
	return Packet{Type: t, Data: data[1:]}, nil
}
