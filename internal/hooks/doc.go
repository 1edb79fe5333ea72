// Package hooks forwards a relay's connections, client events and
// disconnects to backends that implement siorelay.v1.BackendService
// (proto/siorelay/v1/backend.proto), over gRPC or as protobuf JSON over
// HTTP, and carries their answers back to the clients: allow or refuse a
// connection (connect_error exactly as Node sends it), the socket's rooms
// and data, acks, joins, leaves, emits and disconnects.
//
// Typical use (cmd/siorelay wires it from --hook flags):
//
//	f, err := hooks.New(hooks.Config{
//		Routes: []hooks.Route{
//			{Namespace: "/chat", Target: "grpc://127.0.0.1:4000"},
//			{Namespace: "*", Target: "http://127.0.0.1:8080/socketio"},
//		},
//		Logger: log,
//	})
//	cfg.OnConnect, cfg.OnConnection = f.Connect, f.Connection
//	cfg.OnEvent, cfg.OnDisconnect = f.Event, f.Disconnect
//	srv, err := relay.NewServer(cfg)
//	...
//	srv.Shutdown(ctx)
//	f.Close(ctx) // after the relay: its last Disconnect calls are made
//
// Routes map namespace patterns ("/chat", "/rooms/*", "*") to targets
// (grpc://, grpcs://, http://, https://); the first match wins. A
// namespace with no route has no hooks: its connections are allowed (or
// decided by Config.Authenticate alone) and its events dropped and counted.
//
// Failures are clean: a call that fails, times out (Config.Timeout) or
// answers against the proto's rules refuses the connection with
// connect_error "backend unavailable" / "backend timeout", or acks the
// event with {"error":"backend unavailable"} / {"error":"backend
// timeout"}; each is logged (at most once a second per kind) and reported
// to Config.Observer. Only calls that never reached the backend (HTTP: the
// TCP connection failed; gRPC retries those itself) and Disconnect calls
// are retried.
//
// Connection state recovery (relay.Config.Recovery): a recovering socket's
// Connect carries recovered (and, without Authenticate, its kept data),
// and waits (for up to Config.Timeout) until the Disconnect call of its
// previous connection is over, so that a backend sees the loss before the
// return.
//
// # Concurrency
//
// The Forwarder's methods are safe for concurrent use. Connect runs on the
// relay's worker for that connection and blocks it for up to
// Config.Timeout (the relay's API answers a CONNECT synchronously; other
// connections are served by other workers meanwhile). Event and Disconnect
// never wait for the backend: they queue the call on the socket's own
// queue, drained by one goroutine per socket that has calls pending (none
// for idle sockets), so calls for one socket are made in order and never
// overlap, calls for different sockets run concurrently, and a slow
// backend delays only the sockets that wait for it. The answer's joins and
// leaves, then its ack, emits and disconnect, are applied by that
// goroutine, before the socket's next call. Config.MaxInFlight bounds the
// Connect and Event calls running or queued (and each socket queues at
// most 64 events): beyond it a Connect is refused with "backend busy" and
// an event dropped, acked with {"error":"backend busy"} if the client
// asked for an ack. Disconnect calls wait for a slot instead of being
// refused. [Forwarder.Close] waits for every goroutine the Forwarder
// started; calls that come once Close has begun are refused, so no
// goroutine starts after it (f.mu orders them: Close sets closed under it
// before it waits, and a call is queued, and its goroutine counted, under
// it).
package hooks
