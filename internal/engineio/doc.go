// Package engineio is the Engine.IO protocol v4 wire codec used by the relay:
// single packets (one WebSocket frame each), HTTP long-polling payloads
// (packets joined by the 0x1E record separator), the handshake ("open")
// packet, the HTTP error bodies of engine.io's server, and session ids.
//
// It matches engine.io 6.6.12 / engine.io-parser 5.2.3 byte for byte. It does
// no I/O and imports only the standard library: functions take []byte and
// return values and errors, so they can be fuzzed and benchmarked alone.
//
// # Typical use
//
// Reading a WebSocket frame:
//
//	p, err := engineio.DecodePacket(frame, isBinaryFrame)
//	if err != nil { /* close the session: engine.io's "parse error" */ }
//	switch p.Type {
//	case engineio.Message: // p.Data is the Socket.IO packet text or a binary attachment
//	case engineio.Pong:
//	}
//
// Writing one (the frame is binary exactly when p.Binary && supportsBinary):
//
//	buf = engineio.AppendPacket(buf[:0], engineio.Packet{Type: engineio.Message, Data: text}, supportsBinary)
//
// Long-polling:
//
//	body = engineio.AppendPayload(body[:0], queued...)
//	err := engineio.DecodePayload(postBody, func(p engineio.Packet) error { ... })
//
// # Encoding conventions
//
// Every encoder is append-style (AppendXxx(dst, ...) []byte, like
// strconv.AppendInt): it appends to dst and returns the extended slice, and
// does not allocate when dst has enough spare capacity.
//
// # Aliasing
//
// Decoders return sub-slices of their input wherever they can (Packet.Data of
// a text or binary-frame packet aliases the input). Only a "b<base64>" packet
// allocates a new slice for its decoded bytes. Callers that reuse the input
// buffer must copy Data first.
//
// # Concurrency
//
// Every function is safe for concurrent use; none keeps state except
// [NewSID], whose counter is atomic.
package engineio
