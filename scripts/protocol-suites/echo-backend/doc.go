// Command echo-backend is the application side of the socket.io-protocol
// test suite's reference server, written as a siorelay backend: it
// implements siorelay.v1.BackendService (proto/siorelay/v1/backend.proto)
// over gRPC and over HTTP (protobuf JSON), and `siorelay serve --hook`
// forwards the suite's connections and events to it. It does what the
// suite's Readme asks of the reference server:
//
//   - on every namespace connection, emit "auth" with the handshake's auth
//     payload (ConnectResponse.emits, sent by the relay right after the
//     CONNECT reply);
//   - answer "message" with "message-back" and the same arguments
//     (whole binary arguments stay binary, byte for byte);
//   - acknowledge "message-with-ack" with the same arguments.
//
// It is also the smallest complete example of a backend in Go.
//
// With --auth-delay D (and --relay-grpc, the relay's --grpc-addr), "auth"
// is not in ConnectResponse.emits but sent D after Connect answered,
// through the relay's EmitterService to the socket's own room. That is for
// a race in the suite's client only (it loses "auth" when it arrives in
// the same TCP read as the CONNECT reply; see ../RESULTS.md); run.sh uses
// 50ms.
//
// Usage (scripts/protocol-suites/run.sh starts it with SERVER=hooks):
//
//	go run ./scripts/protocol-suites/echo-backend --grpc-addr 127.0.0.1:3001 --http-addr 127.0.0.1:3002
//	siorelay serve --namespaces /,/custom --hook '/=grpc://127.0.0.1:3001' --hook '/custom=grpc://127.0.0.1:3001'   # or http://127.0.0.1:3002
//
// Each listener prints one line "echo-backend: <grpc|http> on <addr>" to
// stdout once it accepts connections (port 0 picks a free one). The
// handlers keep no state, so calls may run concurrently.
package main
