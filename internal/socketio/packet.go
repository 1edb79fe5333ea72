package socketio

import "strconv"

// PacketType is a Socket.IO packet type. Its value is the number written as
// the first character of the packet (Connect is 0, '0' on the wire).
type PacketType byte

// The Socket.IO v5 packet types (socket.io-parser PacketType).
const (
	Connect      PacketType = 0
	Disconnect   PacketType = 1
	Event        PacketType = 2
	Ack          PacketType = 3
	ConnectError PacketType = 4
	BinaryEvent  PacketType = 5
	BinaryAck    PacketType = 6
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// Valid reports whether t is one of the seven packet types.
func (t PacketType) Valid() bool { return t <= BinaryAck }

// IsBinary reports whether t is BinaryEvent or BinaryAck.
func (t PacketType) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

// String returns the socket.io-parser name of t ("EVENT", "BINARY_ACK", ...).
func (t PacketType) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// Packet is one Socket.IO packet. Payloads stay JSON text: nothing is
// unmarshalled.
type Packet struct {
	Type PacketType
	// Namespace is the namespace name, starting with "/". The main namespace
	// is "/" (decoded packets) and may also be given as "" when encoding.
	Namespace string
	// ID is the acknowledgement id, meaningful only when HasID is set. It is
	// never negative in a decoded packet.
	ID    int64
	HasID bool
	// Data is the JSON payload text, nil when the packet has none. In a
	// binary packet it contains the {"_placeholder":true,"num":N} objects
	// that stand for the attachments.
	Data []byte
	// Attachments are the binary attachments of a BinaryEvent/BinaryAck
	// packet, in placeholder order (Attachments[N] replaces placeholder N).
	// They travel as separate binary Engine.IO messages after the packet text.
	Attachments [][]byte
}

// AppendPacket appends the text encoding of p exactly as socket.io-parser
// 4.2.7 Encoder.encodeAsString builds it:
//
//		<type>[<attachments>-][<nsp>,][<id>][<data>]
//
//	  - the attachment count len(p.Attachments) and '-' only for the binary
//	    types; an Event or Ack with attachments is written as BinaryEvent or
//	    BinaryAck, as Node's Encoder.encode does for data containing binary;
//	  - the namespace followed by ',' unless it is "" or "/" (the comma is
//	    written even when nothing follows);
//	  - the id in decimal if p.HasID;
//	  - p.Data verbatim if it is not nil.
//
// The attachments themselves are not written: the caller sends each of them
// as a binary Engine.IO message after this text.
func AppendPacket(dst []byte, p Packet) []byte {
	t := p.Type
	if len(p.Attachments) > 0 {
		switch t {
		case Event:
			t = BinaryEvent
		case Ack:
			t = BinaryAck
		}
	}
	dst = append(dst, '0'+byte(t))
	if t.IsBinary() {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	dst = appendNamespace(dst, p.Namespace)
	if p.HasID {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

func appendNamespace(dst []byte, nsp string) []byte {
	if nsp != "" && nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	return dst
}
