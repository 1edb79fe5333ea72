// Command loadgen measures a Socket.IO server the way performance.md §6
// prescribes, and is used unchanged against the siorelay relay and the Node
// baseline (bench/node/server.js).
//
// Clients are Engine.IO v4 / Socket.IO v5 over WebSocket. Each handshake runs
// in a short-lived goroutine (gobwas/ws dialer); afterwards the socket is a
// duplicated, non-blocking file descriptor in one of a few epoll sets, so an
// idle client costs a small struct and its kernel socket, not a goroutine.
// Clients live in worker processes (this binary run as "loadgen worker"),
// at most 15,000 per process because of the 20,000 open-file limit; the
// coordinator talks to them over stdin/stdout with JSON lines.
//
// Publishing goes straight into Redis in the @socket.io/redis-emitter format
// on the classic adapter channels, open loop at a fixed rate; each event
// carries its intended send time, and every client counts every event and
// records now − ts in a histogram. A run fails on any shortfall.
//
// Concurrency: one goroutine per epoll set owns its clients' buffers;
// counters are atomics, histograms are guarded by the poller's mutex, so the
// stats request may run at any time.
package main
