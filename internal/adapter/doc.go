// Package adapter is the wire format of @socket.io/redis-adapter 8.3.0,
// @socket.io/redis-emitter 5.1.0 and @socket.io/redis-streams-adapter
// 0.3.1: Redis channel and stream names, the classic adapter's broadcast
// messages and requests, the ClusterAdapter messages of the sharded and the
// streams adapters, and the streams adapter's sessions, for both
// directions. It is shared by the emitter (which only publishes) and the
// relay (which also subscribes and answers requests).
//
// # The streams adapter
//
// A streams cluster adds broadcasts without ack, SOCKETS_JOIN/LEAVE and
// DISCONNECT_SOCKETS to one stream per namespace ([StreamsOptions.Stream]:
// [XAddArgs] with [AppendStreamBroadcast], [AppendStreamSocketsRequest],
// [AppendStreamDisconnect]; read back with [DecodeStreamEntry], the entry id
// being the broadcast's offset), and sends everything else as msgpack over
// pub/sub ([AppendStreamsServerSideEmit] and the other AppendStreams*,
// [DecodeStreamsMessage]). Binary and every pub/sub message use
// @msgpack/msgpack, whose numbers differ from notepack's beyond 2^53:
// [AppendStreamEventData] writes that dialect (notepack.MsgpackJS).
// Sessions for connection state recovery are [StreamSession]. Every fact,
// with the vectors captured from the real package, is in
// testdata/README.md.
//
// The package does no I/O and holds no Redis client: encoders append bytes
// to a caller's buffer, decoders take the bytes of one Redis message. Event
// arguments are encoded with internal/notepack, so they match what Node
// publishes byte for byte.
//
// Typical use, publishing what `emitter.to("room1").emit("hello", 1)` does:
//
//	opts := adapter.Opts{Rooms: []string{"room1"}}
//	msg, err := adapter.AppendEmitterBroadcast(nil, "/", opts, "hello", []any{1})
//	channel := adapter.BroadcastChannel("socket.io", "/", opts.Rooms)
//
// Concurrency: all functions are safe for concurrent use and keep no
// reference to their arguments; decoded values may alias the input bytes,
// as each type's documentation says.
package adapter
