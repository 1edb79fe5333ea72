// Package netpoll runs server-side WebSocket connections without a goroutine
// per connection.
//
// An idle connection costs only its [Conn] struct and the kernel socket: its
// file descriptor is registered in an edge-triggered epoll instance owned by
// a [Poller]. The descriptor is the Conn's own: [Poller.Prepare] duplicates
// the socket out of the net.Conn and closes that, so the Go runtime keeps no
// netFD, addresses, finalizer or poll descriptor for it (~0.9 KB of a
// process's memory per idle connection, measured) and is not woken by its
// events. The Conn counts the system calls in flight on it and closes it
// after the last one, so a descriptor number is never reused while a call
// for the old connection could still run (the rule Go's poll.FD keeps).
// When the kernel reports data, a pooled worker goroutine reads
// everything available with a pooled buffer (never putting the descriptor in
// blocking mode), parses WebSocket frames, answers
// control frames and hands each complete data message to the connection's
// [Handler]. Outgoing frames go into a bounded per-connection queue; a writer
// goroutine drains all queued frames of a connection into one write. A full
// socket buffer never blocks a worker: the rest waits for the next EPOLLOUT.
// A [Wheel] provides coarse shared timers (Engine.IO heartbeats) without a
// runtime timer per connection.
//
// Typical use:
//
//	p, _ := netpoll.NewPoller(netpoll.Config{MaxMessageSize: 1e6})
//	defer p.Close()
//	nc, rw, _, _ := ws.HTTPUpgrader{}.Upgrade(r, w) // in an http.Handler
//	c, _ := p.Add(nc, rw.Reader, handler)
//	c.Send(netpoll.AppendFrame(nil, ws.OpText, []byte("hello")), false)
//
// Concurrency: [Poller] and [Conn] methods are safe for concurrent use.
// [Handler.HandleMessage] calls for one Conn never overlap and run on a
// worker goroutine; calls for different Conns run concurrently.
// [Handler.HandleClose] is called exactly once per Conn, from whichever
// goroutine closed it, with no lock held.
//
// Lock order: Poller.mu before Conn.mu (only Start and Close nest them).
package netpoll
