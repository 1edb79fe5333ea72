// Command echo is the application side of the socket.io-protocol test
// suite's reference server, written on the relay's Go hooks. It serves
// relay.NewServer on --addr with the reference server's settings (ping
// 300ms/200ms, maxPayload 1e6, connectTimeout 1s, CORS *, namespaces / and
// /custom) and:
//
//   - on every namespace connection, emits "auth" with the handshake's auth
//     payload;
//   - answers "message" with "message-back" and the same arguments
//     (binary stays binary);
//   - acknowledges "message-with-ack" with the same arguments.
//
// The engine.io-protocol suite also needs an Engine.IO-level echo (every
// message sent back as it came); the relay exposes no Engine.IO hook, so
// that part cannot be provided here (see ../RESULTS.md).
//
// --recovery 60s turns on connection state recovery (hooks skipped on
// recovery, as socket.io's skipMiddlewares default does), for the
// differential run with RECOVERY=1.
//
// Usage (scripts/protocol-suites/run.sh starts it with SERVER=echo):
//
//	go run ./scripts/protocol-suites/echo --addr 127.0.0.1:3000 --path /socket.io/
package main
