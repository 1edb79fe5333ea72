// Package emittergrpc serves the siorelay.v1.EmitterService gRPC API
// (proto/siorelay/v1/emitter.proto): it turns requests from any language
// into emitter calls, and emitter errors into gRPC status codes.
//
// The service runs over a [Backend], the small interface it needs from
// whatever delivers the events: [EmitterBackend] publishes into Redis with
// the emitter package (the `siorelay emitter` sidecar); a relay running in
// the same process can implement Backend to deliver straight to its own
// clients. This package never imports the relay.
//
// Every request is validated before the Backend is called — empty or
// reserved event names, arguments that are not valid JSON, namespaces not
// starting with "/" are InvalidArgument — so nothing of a rejected request
// is published; a batch (EmitBatch, or one EmitStream message) is validated
// as a whole. Backend errors are translated in one place: encoding errors
// to InvalidArgument, context errors to DeadlineExceeded or Canceled, the
// rest (Redis) to Unavailable.
//
// The queries (FetchSockets, ServerCount, AllRooms, EmitWithAck; query.go)
// wait for the servers of the cluster through the Backend within a
// deadline a tenth of the time left (at most 100 ms) before the call's, so
// that an answer cut short still reaches the caller: FetchSockets and
// AllRooms then fail with DeadlineExceeded and carry the partial answer in
// the status details ([ErrIncomplete]); EmitWithAck answers with
// timed_out. An answer past [Config.MaxResponseSize] is ResourceExhausted.
//
// [Server] wraps a grpc.Server with the service, optional bearer-token
// authentication, optional TLS, the standard health service (NOT_SERVING
// while [Config.Ping] fails) and server reflection:
//
//	em, _ := emitter.New(rdb, emitter.Config{})
//	srv, err := emittergrpc.NewServer(emittergrpc.Config{
//		Backend: emittergrpc.NewEmitterBackend(em),
//		Ping:    func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
//		Logger:  logger,
//	})
//	go srv.Serve(lis)
//	...
//	err = srv.Shutdown(ctx) // graceful until ctx is done
//
// The same Server serves the service over plain HTTP for callers without a
// gRPC toolchain ([Server.HTTPHandler], [Server.ServeHTTPAPI]): each unary
// method at POST /siorelay.v1.EmitterService/<Method> with protobuf JSON
// (or binary protobuf) bodies, which is the unary form of the Connect
// protocol. It dispatches through the generated grpc.ServiceDesc, so a
// unary method added to the .proto is served over HTTP with no code here;
// streaming methods are gRPC only. The token, the validation and the
// status codes are the gRPC ones (as HTTP statuses, with a JSON error body
// {"code","message"}); Connect-Timeout-Ms sets the call's deadline; bodies
// are bounded by [Config.HTTPMaxBodySize]; GET /healthz mirrors the health
// service.
//
// Concurrency: a [Service], a [Server] and an [EmitterBackend] are safe for
// concurrent use; gRPC and net/http run each call on its own goroutine.
// The Server starts one goroutine of its own (the health probe), which
// [Server.Shutdown] stops and waits for; Shutdown also waits for the HTTP
// calls in flight. No lock is held while a Backend method runs.
package emittergrpc
