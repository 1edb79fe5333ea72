// Package socketio is the Socket.IO protocol v5 packet codec used by the
// relay and the Redis-adapter wire format: packet text encoding, the
// stateful decoder that reassembles binary packets from their attachments,
// payload validation, and helpers that build or split EVENT, ACK, CONNECT and
// CONNECT_ERROR packets on hot paths.
//
// It matches socket.io-parser 4.2.7 (socket.io 4.8.4) byte for byte, checked
// against vectors captured from the npm package (testdata/). It does no I/O
// and imports only the standard library.
//
// # Representation
//
// Payloads are never unmarshalled: [Packet.Data] is the JSON text as it
// travels, and binary attachments are [][]byte next to it, with the
// {"_placeholder":true,"num":N} objects left in the JSON. Each Socket.IO
// packet is carried by one Engine.IO message (package engineio), followed,
// for BinaryEvent/BinaryAck, by one binary message per attachment.
//
// # Typical use
//
// Decoding, one Decoder per connection:
//
//	var dec socketio.Decoder
//	p, done, err := dec.Add(msg.Data, msg.Binary)
//	if err != nil { /* close the connection, as socket.io does */ }
//	if done {
//		name, args, _ := socketio.EventName(p.Data) // for Event/BinaryEvent
//	}
//
// Encoding (append-style, no allocation when dst has room):
//
//	buf = socketio.AppendEvent(buf[:0], "/chat", "message", []byte(`"hi"`), []byte(`{"a":1}`))
//	// 2/chat,["message","hi",{"a":1}]
//	buf = socketio.AppendConnect(buf[:0], "/", sid, "")
//	// 0{"sid":"..."}
//	buf = socketio.AppendPacket(buf[:0], p) // then send each p.Attachments[i] as a binary message
//
// # Differences from socket.io-parser
//
// The decoder reproduces socket.io-parser's accept/reject decisions
// including its quirks (JavaScript Number() on the attachment count and ack
// id, so white space there is accepted; a leading JS white-space character
// parses as packet type 0), except:
//
//   - an ack id made of digits separated by white space (Node: a NaN id) is
//     rejected with ErrInvalidPayload, as is an ack id above math.MaxInt64;
//     ids between 2^53 and 2^63 are kept exactly (Node rounds them to float64,
//     which a JS client does too when reading the reply);
//   - an empty text message is rejected with ErrUnknownPacketType (Node never
//     passes one to its decoder: engine.io gives undefined and it fails with
//     a TypeError);
//   - JSON is checked by a validator of the RFC 8259 grammar that
//     JSON.parse implements (differentially fuzzed against encoding/json's
//     Valid), with no nesting limit, like V8. It does not check UTF-8
//     inside strings: the transports must (WebSocket text frames are UTF-8
//     by definition, and Node decodes polling bodies with replacement
//     characters). Binary packets nested deeper than 5000 levels are
//     rejected with ErrTooDeep, where Node overflows its call stack (about
//     5200 levels on Node 20);
//   - decoded binary packets keep type BinaryEvent/BinaryAck and their
//     placeholders (Node reports EVENT/ACK with the buffers inlined).
//
// # Concurrency
//
// The functions are safe for concurrent use. A [Decoder] holds the state of
// one connection and must not be used concurrently.
package socketio
