// Package relay is a Socket.IO server for stock socket.io clients: Engine.IO
// v4 over HTTP long-polling and WebSocket (with the polling → WebSocket
// upgrade), Socket.IO v5 namespaces, events, acknowledgements, binary
// attachments and rooms, behaving on the wire like Node's socket.io 4.8 /
// engine.io 6.6.
//
// Typical use:
//
//	srv, err := relay.NewServer(relay.Config{
//		Namespaces: []string{"/", "/chat"},
//		OnEvent: func(ctx context.Context, s *relay.Socket, ev relay.Event, ack relay.AckFunc) {
//			if ev.Name == "join" {
//				s.Join("lobby")
//			}
//			if ack != nil {
//				ack("ok")
//			}
//		},
//	})
//	http.Handle("/socket.io/", srv)
//	...
//	srv.Of("/chat").To("lobby").Except(id).Emit(ctx, "message", "hi", []byte{1, 2})
//	...
//	srv.Shutdown(ctx)
//
// # Connections
//
// An idle WebSocket connection has no goroutine: connections live in an
// epoll set (see relay/internal/netpoll) and pooled workers read the ready
// ones. Heartbeats run on a shared timing wheel. Each connection has a
// bounded send queue drained by writer goroutines that coalesce queued
// frames into one write; a broadcast is encoded once and its bytes shared.
// Volatile packets are dropped for a client whose queue is over
// Config.VolatileQueueBytes; a client over Config.MaxQueueBytes, or whose
// socket stays unwritable for Config.WriteTimeout, is disconnected. Both are
// counted in [Server.Stats]. Polling requests are served on the
// net/http goroutine that received them.
//
// # Differences from Node's socket.io 4.8 / engine.io 6.6
//
// On the wire the relay answers like Node (status codes, error bodies,
// packet bytes, close behaviour; see the tests). Known differences:
//
//   - no JSONP polling (the "j" parameter), no permessage-deflate; polling
//     responses of 1 KiB or more are compressed (gzip or deflate) like
//     engine.io's, whatever a packet's compress flag says;
//   - a CORS preflight answer (204) has no Content-Length header (Go's
//     net/http drops it for 204);
//   - [Handshake.Address] is host:port;
//   - binary arguments are found at the top level and inside map[string]any
//     and []any values (Node finds Buffers anywhere); other []byte fields
//     are encoded by encoding/json (base64 strings);
//   - replies to one client are written at once, but frames queued together
//     (a burst of broadcasts) share one write, so a client may read several
//     packets in one TCP read where Node would usually have written them in
//     separate event-loop turns. Stock clients do not care; test harnesses
//     that attach a one-shot listener per message can miss packets.
//
// # Connection state recovery
//
// With [Config.Recovery] the server does what socket.io 4.8 does with
// connectionStateRecovery (see recovery.go): CONNECT replies carry a pid,
// every broadcast or single-socket event without ack and not volatile
// carries an offset as its last argument and is kept in one bounded log
// (by age and bytes), and a socket that left for a recoverable reason is
// kept by its pid; a CONNECT with that pid and a held offset gets the same
// socket id, rooms and data, then the missed packets in order, before its
// CONNECT reply and anything newer ([Socket.Recovered]); as connections
// are read concurrently, a CONNECT whose pid is still open or leaving here
// waits (up to 1 s) for that socket to be kept. The log's lock is
// held while a logged packet is queued to its recipients and while a
// socket is restored, so every client receives logged packets in log order
// and the replay meets the live stream with no gap and no duplicate. A
// kept socket holds its rooms, so that a sharded Redis broker keeps their
// subscriptions. Differences from socket.io's in-memory adapter: a session
// is restored once (socket.io keeps restoring a stale one after an
// explicit disconnect or a kick), and the log is also bounded in bytes.
// With Redis pub/sub, only a client that comes back to the same server
// recovers.
//
// # Clusters (Redis)
//
// With [Config.Redis] the server is one member of a
// @socket.io/redis-adapter 8.3.0 cluster, next to Node socket.io servers,
// other relays and emitters (@socket.io/redis-emitter, siorelay's emitter
// package): classic adapter (createAdapter, PUBLISH/PSUBSCRIBE) by default,
// the sharded one (createShardedAdapter, SPUBLISH/SSUBSCRIBE, with
// [Config.SubscriptionMode]) with [Config.Sharded]. Broadcasts and joins
// made through [Operator] reach every server; the server answers the
// requests of Node servers (fetchSockets, allRooms, serverCount,
// socketsJoin/Leave, disconnectSockets, serverSideEmit, and
// io.timeout().emit() acks, every one of its clients counted) and offers
// [Server.ServerCount], [Server.AllRooms] and [Server.ServerSideEmit].
//
// Differences from a Node member: its own joins, leaves and disconnects are
// applied locally at once and their echo from Redis is ignored (a classic
// Node server applies them when the echo arrives; the result is the same);
// answers to requests always go to the requester's own response channel.
// One subscriber connection per deployment (per node on a Redis Cluster in
// sharded mode) reads continuously into a bounded queue (dropped messages
// are counted in [Stats]); one dispatcher handles them in arrival order.
//
// With [Config.Streams] the server is a member of a
// @socket.io/redis-streams-adapter 0.3.1 cluster instead (see
// broker_redis_streams.go): broadcasts, joins, leaves and disconnects go
// through Redis streams, read by one goroutine per stream from the last
// entry handled (so a blip delays them and loses nothing still in the
// stream), and requests and answers over (sharded) pub/sub. It delivers its
// own broadcasts when it reads them back, so that clients get a stream's
// packets in stream order; with [Config.Recovery], sessions are kept in
// Redis as the adapter keeps them and clients recover on any server. The
// sharded and streams brokers share one ClusterAdapter member
// (cluster_member.go): how other servers' messages are applied and
// answered, and how this server asks them.
// While Redis is unreachable, clients stay connected, [Server.Ready] is
// false, cluster operations return [ErrRedisUnavailable] after the local
// delivery, and everything published meanwhile is lost; subscriptions are
// restored when Redis returns.
//
// # Monitoring
//
// [Server.Stats] returns the server's counters and gauges: connections by
// transport, opens, upgrades and closes by reason, sockets, connects,
// refusals and disconnects per namespace (the namespaces created through
// the "*" option are summed under "*", so the list stays as long as the
// configuration), packets and bytes in and out, broadcasts and
// deliveries, volatile drops, slow clients, the polling queue depth and,
// with Redis, messages, drops, outages, reconnects and errors. Counting
// costs no shared cache line per packet: sessions count in small fields of
// their own that Stats sums, broadcasts count once per broadcast. The
// package does not depend on a metrics library; siorelay's
// internal/metrics turns Stats into Prometheus metrics at scrape time.
//
// # Concurrency
//
// [Server], [Operator] and [Socket] methods are safe for concurrent use. The
// hooks in [Config] run on worker goroutines: OnConnect, OnConnection and
// OnEvent calls for one connection never overlap, calls for different
// connections run concurrently. They may call any Server or Socket method.
// Hooks should not block for long: a blocked hook holds a worker (more are
// started when all are busy) and delays that connection's input.
//
// Lock order: session.inMu → recovery.mu → Server.mu → namespace.mu →
// session.mu → Socket.mu; namespace.mu is never held while calling into a
// session or a Conn; recovery.keptMu and streamsBroker.storingMu are taken
// alone. recovery.mu is held while logged packets are queued to sessions,
// so nothing that a queueing call can trigger (closing a session,
// Config.OnDisconnect) runs inline: sessions over their queue limit are
// closed on another goroutine.
package relay
