// Package notepack encodes and decodes MessagePack exactly as the Node package
// notepack.io 3.0.1 does, which is the wire format of @socket.io/redis-adapter
// 8.3.0 and @socket.io/redis-emitter 5.1.0.
//
// The package owns three conversions, all append-style and free of I/O:
//
//   - Go values to MessagePack ([AppendValue]), following the naming rules of
//     encoding/json (json struct tags, omitempty, json.Marshaler,
//     json.RawMessage) and the number rules of notepack (an integral number is
//     always written as the smallest integer, anything else as float64).
//     []byte becomes a msgpack bin, which Node decodes to a Buffer.
//   - JSON text to MessagePack ([AppendJSON]), with the semantics of
//     JSON.parse followed by notepack.encode: numbers are doubles and object
//     keys keep JavaScript's own order.
//   - MessagePack to JSON text ([AppendToJSON]), with the semantics of
//     notepack.decode followed by JSON.stringify, where each bin is either
//     replaced by a Socket.IO attachment placeholder or written as Node writes
//     a Buffer.
//
// The encoders also speak a second dialect, [MsgpackJS]: @msgpack/msgpack
// 2.8.0, the codec of @socket.io/redis-streams-adapter 0.3.1, which differs
// from notepack only in how it writes numbers beyond 2^53
// (notepack.MsgpackJS.AppendValue, notepack.MsgpackJS.AppendJSON). The
// decoders read both, as they read any MessagePack.
//
// Typical use:
//
//	buf, err := notepack.AppendValue(buf[:0], map[string]any{"a": 1})
//	js, err := notepack.AppendToJSON(nil, buf, notepack.BinaryAsBuffer, nil)
//
// Concurrency: every function is safe for concurrent use; none keeps a
// reference to its arguments after it returns. Struct layouts are cached in
// a sync.Map shared by all callers.
package notepack
