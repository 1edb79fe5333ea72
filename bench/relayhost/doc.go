// Command relayhost serves the relay package (relay.NewServer) for the load
// generator, the way an embedding Go program would: WebSocket transport only
// (like the Node baseline), a /bench/gc endpoint that collects and returns
// memory to the OS before memory samples, and an optional bridge that
// subscribes to the Redis adapter's classic broadcast channels and hands
// each emitter-format broadcast to Server.Of(nsp).To(rooms).Except(...).Emit.
//
// The bridge exists only until `siorelay serve --redis` subscribes to Redis
// itself; it decodes with vmihailenco/msgpack into generic values, which is
// slower than a relay's own broker needs to be, and its cost is counted as
// the relay's.
//
// Usage:
//
//	relayhost -addr 127.0.0.1:0 [-redis redis://127.0.0.1:6379]
//
// Once listening (and subscribed) it prints {"pid":N,"port":P,"ready":true}.
//
// Concurrency: the bridge is one goroutine reading Redis synchronously; the
// relay's own goroutines serve the clients. SIGINT/SIGTERM shut it down.
package main
