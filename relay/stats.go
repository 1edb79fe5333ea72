package relay

import (
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Stats are the counters and gauges of a Server, for monitoring. Counters
// only grow for the life of the Server; gauges are read when Stats is
// called. Packets are Socket.IO packets; bytes are the Engine.IO message
// payloads carrying them (the packet text plus binary attachments, without
// WebSocket or polling framing, pings and pongs).
type Stats struct {
	Sessions int // Engine.IO sessions in the server's table (open ones, and closed polling ones awaiting their last GET)

	// Engine.IO connections (sessions).
	Polling   int              // open sessions on HTTP long-polling
	WebSocket int              // open sessions on WebSocket
	Opened    map[string]int64 // sessions opened, by first transport: "polling", "websocket"
	Upgrades  int64            // sessions upgraded from polling to WebSocket
	Closed    map[string]int64 // sessions closed, by reason (socket.io's words, see [Socket])

	// Namespaces has one entry per namespace of Config.Namespaces, sorted
	// by name, then, with the "*" option, one entry named "*" summing every
	// namespace created on demand, so that its length is bounded by the
	// configuration.
	Namespaces []NamespaceStats
	// InvalidNamespace counts CONNECTs to a namespace the server does not
	// accept (answered with CONNECT_ERROR "Invalid namespace").
	InvalidNamespace int64

	// Traffic. PacketsOut and BytesOut count packets queued to clients:
	// each delivery of a broadcast and each packet for one client
	// (CONNECT, acks, [Socket.Emit], ...).
	PacketsIn, BytesIn   int64
	PacketsOut, BytesOut int64

	Broadcasts      int64 // broadcasts delivered to this server's sockets (local and from Redis)
	Deliveries      int64 // packets queued to sockets by broadcasts
	DroppedVolatile int64 // volatile packets not queued: the client's queue was over Config.VolatileQueueBytes, or no polling GET was waiting
	SlowConsumers   int64 // clients disconnected for not reading: send queue over Config.MaxQueueBytes or Config.MaxPollingQueue, or unwritable for Config.WriteTimeout
	WriteTimeouts   int64 // the SlowConsumers disconnected by Config.WriteTimeout (the others: queue full)

	// PollingQueued is the number of packets waiting for polling clients'
	// next GET, summed over the clients.
	PollingQueued int64
	// WebSocketQueuedBytes is the number of bytes queued for WebSocket
	// clients and not yet written, summed over the clients.
	WebSocketQueuedBytes int64

	// Redis is true with Config.Redis; the counters below apply then.
	Redis bool
	// With Config.Redis: messages read from Redis, messages dropped because
	// the dispatch queue was full, and times the subscription was lost
	// (what was published meanwhile is lost too) and restored.
	RedisReceived   int64
	RedisDropped    int64
	RedisOutages    int64
	RedisReconnects int64
	// RedisBroadcasts counts broadcasts of other servers and emitters
	// received from Redis and delivered to this server's sockets.
	RedisBroadcasts int64
	// RedisPublishErrors counts failed publishes (including those refused
	// at once while the subscription is down); RedisSubscribeErrors failed
	// (S|P)SUBSCRIBE commands, which are retried.
	RedisPublishErrors   int64
	RedisSubscribeErrors int64
	// RedisStreamTrimmed counts, with Config.Streams, stream entries that
	// the streams' MaxLen trimmed before this server could read them (their
	// broadcasts, joins and leaves never reached its clients).
	RedisStreamTrimmed int64

	// Recovery is set with Config.Recovery.
	Recovery *RecoveryStats
}

// NamespaceStats are the counters of one namespace.
type NamespaceStats struct {
	Name        string           // the namespace, or "*" for the sum of those created on demand
	Sockets     int              // sockets connected now
	Connects    int64            // sockets that joined
	Refused     int64            // CONNECTs refused by Config.OnConnect
	Disconnects map[string]int64 // sockets that left, by reason (socket.io's words, see [Socket])
}

// reasons are the socket.io disconnect reasons, indexes of reasonCounts.
var reasons = [...]string{
	reasonTransportClose, reasonTransportError, reasonPingTimeout, reasonParseError,
	reasonForcedClose, reasonServerShutdown, reasonServerDisconnect, reasonClientDisconnect,
}

// reasonCounts counts events by reason.
type reasonCounts [len(reasons)]atomic.Int64

func (rc *reasonCounts) add(reason string) {
	if i := slices.Index(reasons[:], reason); i >= 0 {
		rc[i].Add(1)
	}
}

// addTo adds the counts to m, which it makes if nil, and returns m.
func (rc *reasonCounts) addTo(m map[string]int64) map[string]int64 {
	if m == nil {
		m = make(map[string]int64, len(reasons))
	}
	for i, r := range reasons {
		m[r] += rc[i].Load()
	}
	return m
}

// traffic are the traffic counters of the server and of sessions closed
// so far. A session counts in its own small fields (see sessionTraffic)
// and moves them here when it closes or when they grow large, so that
// counting takes no shared cache line per packet.
type traffic struct {
	packetsIn, bytesIn   atomic.Int64
	packetsOut, bytesOut atomic.Int64
}

// sessionTraffic are the traffic counters of one session: 16 bytes that
// fit in the padding freed by packing the session's flags. Each is moved
// to the server's traffic before it could overflow.
type sessionTraffic struct {
	packetsIn, bytesIn   atomic.Uint32
	packetsOut, bytesOut atomic.Uint32
}

// foldAt is the value at which a session's counter is moved to the
// server's; a single increment of more than foldAt goes there directly.
const foldAt = 1 << 30

// count adds n to the session counter c, moving it to total when large.
func count(c *atomic.Uint32, total *atomic.Int64, n int) {
	if n >= foldAt {
		total.Add(int64(n))
		return
	}
	if c.Add(uint32(n)) >= foldAt {
		// Subtract before adding, so that a concurrent Stats may count
		// less for an instant, never more.
		total.Add(int64(c.Swap(0)))
	}
}

// countIn counts n bytes received; done marks the end of a packet.
func (s *session) countIn(n int, done bool) {
	t := &s.srv.traffic
	count(&s.traffic.bytesIn, &t.bytesIn, n)
	if done {
		count(&s.traffic.packetsIn, &t.packetsIn, 1)
	}
}

// countOut counts one packet of n bytes queued for this session alone.
func (s *session) countOut(n int) {
	t := &s.srv.traffic
	count(&s.traffic.bytesOut, &t.bytesOut, n)
	count(&s.traffic.packetsOut, &t.packetsOut, 1)
}

// foldTraffic moves the session's counters to the server's; called when
// the session closes.
func (s *session) foldTraffic() {
	t, st := &s.srv.traffic, &s.traffic
	t.bytesIn.Add(int64(st.bytesIn.Swap(0)))
	t.packetsIn.Add(int64(st.packetsIn.Swap(0)))
	t.bytesOut.Add(int64(st.bytesOut.Swap(0)))
	t.packetsOut.Add(int64(st.packetsOut.Swap(0)))
}

// broadcastCounters count broadcasts: a few atomic adds per broadcast,
// none per recipient.
type broadcastCounters struct {
	broadcasts atomic.Int64
	deliveries atomic.Int64
	bytes      atomic.Int64
}

// countDeliveries counts n deliveries of m, one broadcast.
func (srv *Server) countDeliveries(m *message, n int) {
	srv.bc.broadcasts.Add(1)
	if n > 0 {
		srv.bc.deliveries.Add(int64(n))
		srv.bc.bytes.Add(int64(n) * int64(m.size()))
	}
}

// size is the payload size of m: the packet text and its attachments.
func (m *message) size() int {
	n := len(m.text)
	for _, a := range m.attachments {
		n += len(a)
	}
	return n
}

// brokerCounters are the counters of a Redis broker.
type brokerCounters struct {
	received, dropped, outages, reconnects atomic.Int64
	broadcasts                             atomic.Int64
	publishErrors, subscribeErrors         atomic.Int64
	streamTrimmed                          atomic.Int64 // streams: entries trimmed before they could be read
	lastDrop                               atomic.Int64 // unix nanos of the last drop log line
}

// drop counts a message from channel that the dispatcher had no room for,
// logging at most once a second.
func (c *brokerCounters) drop(log *slog.Logger, channel string) {
	n := c.dropped.Add(1)
	now := time.Now().UnixNano()
	if last := c.lastDrop.Load(); now-last >= int64(time.Second) && c.lastDrop.CompareAndSwap(last, now) {
		log.Warn("redis message dropped: dispatch queue full", "channel", channel, "dropped_total", n)
	}
}

// Stats returns the server's counters. It visits every session (briefly
// taking each one's lock) and namespace: with 10,000 connections it took
// 0.15 to 0.9 ms on a loaded 2-core machine (BenchmarkIdleSockets reports
// it). Meant for a scrape every few seconds, not for a hot loop.
func (srv *Server) Stats() Stats {
	st := Stats{
		Opened: map[string]int64{
			"polling":   srv.openedPolling.Load(),
			"websocket": srv.openedWebSocket.Load(),
		},
		Upgrades:         srv.upgrades.Load(),
		Closed:           srv.closes.addTo(nil),
		InvalidNamespace: srv.invalidNsp.Load(),
		Broadcasts:       srv.bc.broadcasts.Load(),
		Deliveries:       srv.bc.deliveries.Load(),
		SlowConsumers:    srv.slowConsumers.Load(),
		WriteTimeouts:    srv.writeTimeouts.Load(),
	}
	// Folded totals first, then the sessions: a session folding meanwhile
	// is then missed for an instant rather than counted twice.
	t := &srv.traffic
	st.PacketsIn, st.BytesIn = t.packetsIn.Load(), t.bytesIn.Load()
	st.PacketsOut, st.BytesOut = t.packetsOut.Load(), t.bytesOut.Load()
	st.PacketsOut += st.Deliveries
	st.BytesOut += srv.bc.bytes.Load()

	srv.mu.RLock()
	st.Sessions = len(srv.sessions)
	for _, s := range srv.sessions {
		tr := &s.traffic
		st.PacketsIn += int64(tr.packetsIn.Load())
		st.BytesIn += int64(tr.bytesIn.Load())
		st.PacketsOut += int64(tr.packetsOut.Load())
		st.BytesOut += int64(tr.bytesOut.Load())
		s.mu.Lock()
		if s.state == stateOpen {
			if s.ws != nil {
				st.WebSocket++
				st.WebSocketQueuedBytes += int64(s.ws.QueuedBytes())
			} else if s.poll != nil {
				st.Polling++
			}
		}
		if s.poll != nil {
			st.PollingQueued += int64(len(s.poll.queue))
		}
		s.mu.Unlock()
	}
	nsps := make([]*namespace, 0, len(srv.nsps))
	for _, ns := range srv.nsps {
		nsps = append(nsps, ns)
	}
	srv.mu.RUnlock()

	dyn := NamespaceStats{Name: "*"} // the sum of the namespaces created on demand
	for _, ns := range nsps {
		e := &NamespaceStats{Name: ns.name}
		if ns.dynamic {
			e = &dyn
		}
		ns.mu.RLock()
		e.Sockets += len(ns.sockets)
		ns.mu.RUnlock()
		e.Connects += ns.connects.Load()
		e.Refused += ns.refused.Load()
		e.Disconnects = ns.disconnects.addTo(e.Disconnects)
		if !ns.dynamic {
			st.Namespaces = append(st.Namespaces, *e)
		}
	}
	slices.SortFunc(st.Namespaces, func(a, b NamespaceStats) int { return strings.Compare(a.Name, b.Name) })
	if srv.anyNsp {
		if dyn.Disconnects == nil { // none created yet: every reason at 0
			dyn.Disconnects = new(reasonCounts).addTo(nil)
		}
		st.Namespaces = append(st.Namespaces, dyn)
	}

	ps := srv.poller.Stats()
	st.DroppedVolatile = srv.droppedVolatile.Load() + ps.DroppedVolatile
	if b, ok := srv.broker.(interface{ counters() *brokerCounters }); ok {
		st.Redis = true
		c := b.counters()
		st.RedisReceived, st.RedisDropped = c.received.Load(), c.dropped.Load()
		st.RedisOutages, st.RedisReconnects = c.outages.Load(), c.reconnects.Load()
		st.RedisBroadcasts = c.broadcasts.Load()
		st.RedisPublishErrors, st.RedisSubscribeErrors = c.publishErrors.Load(), c.subscribeErrors.Load()
		st.RedisStreamTrimmed = c.streamTrimmed.Load()
	}
	if srv.recovery != nil {
		st.Recovery = srv.recovery.stats()
	}
	return st
}
