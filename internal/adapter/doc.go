// Package adapter is the wire format of @socket.io/redis-adapter 8.3.0 and
// @socket.io/redis-emitter 5.1.0: Redis channel names, the classic adapter's
// broadcast messages and requests, and the sharded adapter's messages, for
// both directions. It is shared by the emitter (which only publishes) and
// the relay (which also subscribes and answers requests).
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
