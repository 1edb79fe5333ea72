// Package netpoll runs server-side WebSocket connections without a goroutine
// per connection.
//
// An idle connection costs only its [Conn] struct and the kernel socket: its
// file descriptor is registered in an edge-triggered epoll instance owned by
// a [Poller]. When the kernel reports data, a pooled worker goroutine reads
// everything available with a pooled buffer (never putting the descriptor in
// blocking mode; reads and writes go through [syscall.RawConn] so Go's own
// descriptor lifetime rules still hold), parses WebSocket frames, answers
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
