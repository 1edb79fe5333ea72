package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siorelay/siorelay/relay"
)

// relayCollector turns [relay.Stats] into metrics at scrape time: the
// relay itself keeps plain counters and knows nothing of Prometheus.
type relayCollector struct {
	srv *relay.Server

	ready, connections, opened, upgrades, closed                *prometheus.Desc
	sockets, connects, refused, invalidNsp, disconnects         *prometheus.Desc
	packetsIn, bytesIn, packetsOut, bytesOut                    *prometheus.Desc
	broadcasts, deliveries, volatileDropped, slowClients, queue *prometheus.Desc
	wsQueue                                                     *prometheus.Desc
	redisReceived, redisDropped, redisLost, redisReconnects     *prometheus.Desc
	redisBroadcasts, redisErrors                                *prometheus.Desc
	recKept, recRecovered, recReplayed, recFailed               *prometheus.Desc
	recLogPackets, recLogBytes, recTrimmed                      *prometheus.Desc
	streamTrimmed                                               *prometheus.Desc
}

// NewRelayCollector returns a Collector of srv's metrics (see the package
// documentation for the list). Each scrape calls [relay.Server.Stats] once.
func NewRelayCollector(srv *relay.Server) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("siorelay_"+name, help, labels, nil)
	}
	return &relayCollector{
		srv:         srv,
		ready:       d("ready", "1 when the relay accepts connections and, with Redis, its subscriptions are live; else 0."),
		connections: d("connections", "Open Engine.IO connections, by current transport.", "transport"),
		opened:      d("connections_opened_total", "Engine.IO connections opened, by first transport.", "transport"),
		upgrades:    d("connection_upgrades_total", "Connections upgraded from polling to WebSocket."),
		closed:      d("connections_closed_total", "Engine.IO connections closed, by socket.io reason.", "reason"),
		sockets:     d("sockets", "Connected Socket.IO sockets, by namespace (\"*\": all namespaces created on demand).", "namespace"),
		connects:    d("socket_connects_total", "Sockets that joined a namespace.", "namespace"),
		refused:     d("socket_connects_refused_total", "Namespace CONNECTs refused by the connect hook.", "namespace"),
		invalidNsp:  d("socket_connects_invalid_namespace_total", "CONNECTs to a namespace the relay does not accept."),
		disconnects: d("socket_disconnects_total", "Sockets that left a namespace, by socket.io reason.", "namespace", "reason"),
		packetsIn:   d("packets_received_total", "Socket.IO packets received from clients."),
		bytesIn:     d("received_bytes_total", "Payload bytes of the packets received (text and attachments, no transport framing)."),
		packetsOut:  d("packets_sent_total", "Socket.IO packets queued to clients: broadcast deliveries and packets for one client."),
		bytesOut:    d("sent_bytes_total", "Payload bytes of the packets queued to clients."),
		broadcasts:  d("broadcasts_total", "Broadcasts delivered to this relay's sockets (local emits and broadcasts from Redis)."),
		deliveries:  d("deliveries_total", "Broadcast packets queued to sockets (one per recipient)."),
		volatileDropped: d("volatile_dropped_total",
			"Volatile packets not sent: the client's queue was over its volatile threshold, or no polling request was waiting."),
		slowClients: d("slow_clients_total",
			"Clients disconnected for not reading, by reason: queue_full (send queue over its limit) or write_timeout (unwritable for the write timeout).", "reason"),
		queue:           d("polling_queued_packets", "Packets waiting for polling clients' next request, all clients together."),
		wsQueue:         d("websocket_queued_bytes", "Bytes queued for WebSocket clients and not yet written, all clients together."),
		redisReceived:   d("redis_messages_received_total", "Messages read from the Redis subscription."),
		redisDropped:    d("redis_messages_dropped_total", "Redis messages dropped because the dispatch queue was full."),
		redisLost:       d("redis_subscription_lost_total", "Times a Redis subscription connection was lost or stopped answering."),
		redisReconnects: d("redis_reconnects_total", "Times a lost Redis subscription was restored."),
		redisBroadcasts: d("redis_broadcasts_received_total", "Broadcasts of other servers and emitters received from Redis and delivered here."),
		redisErrors:     d("redis_errors_total", "Failed Redis commands, by operation (publish, subscribe).", "op"),
		recKept:         d("recovery_kept_sockets", "Disconnected sockets kept for connection state recovery."),
		recRecovered:    d("recovery_recovered_total", "Sockets restored by connection state recovery."),
		recReplayed:     d("recovery_replayed_packets_total", "Packets replayed to restored sockets."),
		recFailed: d("recovery_failed_total",
			"CONNECTs that asked for recovery and got a new socket, by reason: unknown (no such kept socket), expired, offset (packets it missed have left the log), refused (by the connect hook).", "reason"),
		recLogPackets: d("recovery_log_packets", "Packets in the connection state recovery log."),
		recLogBytes:   d("recovery_log_bytes", "Size of the connection state recovery log, as counted against --recovery-max-bytes."),
		recTrimmed:    d("recovery_log_trimmed_total", "Packets dropped from the recovery log by its byte bound before their time."),
		streamTrimmed: d("redis_stream_trimmed_total", "Redis stream entries trimmed (the streams' max length) before this relay could read them."),
	}
}

// Describe implements prometheus.Collector.
func (c *relayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.ready, c.connections, c.opened, c.upgrades, c.closed,
		c.sockets, c.connects, c.refused, c.invalidNsp, c.disconnects,
		c.packetsIn, c.bytesIn, c.packetsOut, c.bytesOut,
		c.broadcasts, c.deliveries, c.volatileDropped, c.slowClients, c.queue, c.wsQueue,
		c.redisReceived, c.redisDropped, c.redisLost, c.redisReconnects,
		c.redisBroadcasts, c.redisErrors,
		c.recKept, c.recRecovered, c.recReplayed, c.recFailed, c.recLogPackets, c.recLogBytes, c.recTrimmed, c.streamTrimmed,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *relayCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	ready := 0.0
	if c.srv.Ready() {
		ready = 1
	}
	gauge(c.ready, ready)
	gauge(c.connections, float64(st.Polling), "polling")
	gauge(c.connections, float64(st.WebSocket), "websocket")
	for tr, n := range st.Opened {
		counter(c.opened, n, tr)
	}
	counter(c.upgrades, st.Upgrades)
	for r, n := range st.Closed {
		counter(c.closed, n, r)
	}
	for _, ns := range st.Namespaces {
		gauge(c.sockets, float64(ns.Sockets), ns.Name)
		counter(c.connects, ns.Connects, ns.Name)
		counter(c.refused, ns.Refused, ns.Name)
		for r, n := range ns.Disconnects {
			counter(c.disconnects, n, ns.Name, r)
		}
	}
	counter(c.invalidNsp, st.InvalidNamespace)
	counter(c.packetsIn, st.PacketsIn)
	counter(c.bytesIn, st.BytesIn)
	counter(c.packetsOut, st.PacketsOut)
	counter(c.bytesOut, st.BytesOut)
	counter(c.broadcasts, st.Broadcasts)
	counter(c.deliveries, st.Deliveries)
	counter(c.volatileDropped, st.DroppedVolatile)
	counter(c.slowClients, st.SlowConsumers-st.WriteTimeouts, "queue_full")
	counter(c.slowClients, st.WriteTimeouts, "write_timeout")
	gauge(c.queue, float64(st.PollingQueued))
	gauge(c.wsQueue, float64(st.WebSocketQueuedBytes))
	if r := st.Recovery; r != nil {
		gauge(c.recKept, float64(r.Kept))
		counter(c.recRecovered, r.Recovered)
		counter(c.recReplayed, r.Replayed)
		for reason, n := range r.Failed {
			counter(c.recFailed, n, reason)
		}
		gauge(c.recLogPackets, float64(r.Packets))
		gauge(c.recLogBytes, float64(r.Bytes))
		counter(c.recTrimmed, r.Trimmed)
	}
	if !st.Redis {
		return
	}
	counter(c.redisReceived, st.RedisReceived)
	counter(c.redisDropped, st.RedisDropped)
	counter(c.redisLost, st.RedisOutages)
	counter(c.redisReconnects, st.RedisReconnects)
	counter(c.redisBroadcasts, st.RedisBroadcasts)
	counter(c.redisErrors, st.RedisPublishErrors, "publish")
	counter(c.redisErrors, st.RedisSubscribeErrors, "subscribe")
	counter(c.streamTrimmed, st.RedisStreamTrimmed)
}
