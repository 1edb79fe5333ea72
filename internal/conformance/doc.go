// Package conformance holds Go ports of the public Engine.IO and Socket.IO
// protocol test suites (github.com/socketio/engine.io-protocol and
// github.com/socketio/socket.io-protocol, folder test-suite/), run against
// [relay.NewServer] behind httptest with raw HTTP requests and a raw
// WebSocket client (gobwas/ws), so that `go test ./...` checks what those
// suites check without Node or network access. The tests are written from
// what each public test asserts (byte-exact where the suite compares bytes);
// no code of the suites is included. The public suites themselves run with
// scripts/protocol-suites/run.sh (results in scripts/protocol-suites/RESULTS.md).
//
// The server under test is configured like the suites' reference servers
// (ping 300ms/200ms, maxPayload 1e6, connectTimeout 1s, CORS *, namespaces
// / and /custom) with the reference Socket.IO handlers written as relay
// hooks. The relay has no Engine.IO-level hook, so the engine.io suite's echo
// tests are ported with Socket.IO packets echoed by those handlers. The
// suite's Socket.IO tests, WebSocket-only upstream, are also run over
// polling (polling_test.go), with bytes checked against Node.
//
// The package has no API; it exists for its tests, which run in parallel and
// each start their own server.
package conformance
