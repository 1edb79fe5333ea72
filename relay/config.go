package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/internal/adapter"
)

// Config configures a [Server]. The zero value is a server on /socket.io/
// with engine.io's and socket.io's defaults and only the main namespace.
type Config struct {
	// Path is the URL path prefix served, with a trailing slash. Zero means
	// "/socket.io/".
	Path string
	// Namespaces lists the namespaces clients may connect to. Zero means
	// ["/"]. The entry "*" accepts any namespace (like a socket.io dynamic
	// namespace matching everything).
	Namespaces []string
	// PingInterval is the Engine.IO heartbeat period. Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take. Zero means 20s.
	PingTimeout time.Duration
	// ConnectTimeout closes a connection that joined no namespace within it.
	// Zero means 45s.
	ConnectTimeout time.Duration
	// UpgradeTimeout bounds a polling → WebSocket upgrade. Zero means 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest message or polling POST body
	// accepted (engine.io maxHttpBufferSize). Zero means 1e6.
	MaxHTTPBufferSize int64
	// Transports lists the allowed transports, "polling" and/or "websocket".
	// Zero means both.
	Transports []string
	// CORS enables Cross-Origin Resource Sharing headers. Nil means none are
	// sent, as engine.io without its cors option.
	CORS *CORS
	// AllowRequest, if set, is called for every handshake request; an error
	// rejects it with engine.io's Forbidden error (code 4) and the error's
	// text as message.
	AllowRequest func(r *http.Request) error

	// OnConnect, if set, is called when a client asks to join a namespace.
	// An error refuses it: the client gets CONNECT_ERROR with the error's
	// message (and Data of a *[ConnectError]). It runs on a shared worker:
	// it may block for the time of an auth check, not forever.
	OnConnect func(ctx context.Context, h *Handshake) (ConnectResult, error)
	// OnConnection, if set, is called after a socket joined a namespace
	// and its CONNECT reply was queued (socket.io's "connection" event).
	OnConnection func(ctx context.Context, s *Socket)
	// OnEvent, if set, is called for every event a client emits. ack is nil
	// when the client asked for no acknowledgement; otherwise call it once.
	// Calls for one connection never overlap. Like OnConnect it runs on a
	// shared worker: hand long work to another goroutine.
	OnEvent func(ctx context.Context, s *Socket, ev Event, ack AckFunc)
	// OnDisconnect, if set, is called once when a socket leaves its
	// namespace, with socket.io's reason string (see [Socket] doc). The
	// socket no longer receives anything; its Rooms still lists the rooms
	// it was in.
	OnDisconnect func(s *Socket, reason string)

	// Recovery, if set, turns on connection state recovery (socket.io's
	// connectionStateRecovery): CONNECT replies carry a pid, logged
	// packets an offset as their last argument, and a client that lost its
	// connection for a recoverable reason ("transport close", "transport
	// error", "ping timeout", "forced close", "server shutting down") and
	// comes back to this server within Recovery.MaxDisconnection gets its
	// socket id, rooms and data back, then every packet it missed, in
	// order, before anything newer. Logged packets are those broadcast or
	// emitted to one socket that are events without ack and not volatile.
	// OnDisconnect is still called at each connection loss, and
	// OnConnection (and OnConnect, unless SkipOnConnect) at each recovery,
	// as a Node app sees "disconnect" and "connection". With Redis
	// pub/sub, only a client that comes back to the same server recovers
	// (broadcasts from Redis are logged too; Node's Redis adapter has no
	// recovery). Nil means off.
	Recovery *Recovery

	// MaxQueueBytes bounds the bytes waiting to be written to one
	// WebSocket connection; a client over it is disconnected. Zero means
	// 4 MiB.
	MaxQueueBytes int
	// VolatileQueueBytes is the queue size above which volatile packets
	// are dropped. Zero means 64 KiB.
	VolatileQueueBytes int
	// WriteTimeout closes a WebSocket client that accepts no data for this
	// long while data is queued. Zero means 10s.
	WriteTimeout time.Duration
	// MaxPollingQueue bounds the packets waiting for a polling client's
	// next GET; a client over it is disconnected. Zero means 10000.
	MaxPollingQueue int

	// Redis makes the server one member of a @socket.io/redis-adapter
	// 8.3.0 cluster: broadcasts, joins and requests cross to the other
	// servers (Node or relays) through it, and it answers their requests.
	// Nil means a single server (no Redis). The server does not close it.
	Redis redis.UniversalClient
	// Key is the adapter's channel prefix (classic `key`, sharded
	// `channelPrefix`). Zero means "socket.io".
	Key string
	// Sharded speaks the sharded adapter (createShardedAdapter, SPUBLISH /
	// SSUBSCRIBE, Redis 7+) instead of the classic one; with Streams, it
	// is the streams adapter's useShardedPubSub.
	Sharded bool
	// Streams, with Redis, makes the server a member of a
	// @socket.io/redis-streams-adapter 0.3.1 cluster instead of a
	// @socket.io/redis-adapter one: broadcasts, joins, leaves and
	// disconnects travel in Redis streams (nothing still in a stream is lost
	// to a Redis or connection blip), and with Recovery, sessions are kept
	// in Redis as the adapter keeps them, so a client recovers on any server
	// of the cluster. Key is then the adapter's channelPrefix and Sharded
	// its useShardedPubSub; SubscriptionMode does not apply. Nil means the
	// pub/sub adapter.
	Streams *Streams
	// SubscriptionMode is the sharded adapter's subscriptionMode: "dynamic",
	// "dynamic-private" or "static". Zero means "dynamic".
	SubscriptionMode string
	// RequestsTimeout bounds how long cluster requests made by this server
	// wait for the other servers' answers. Zero means 5s, the adapter's
	// default.
	RequestsTimeout time.Duration
	// OnServerSideEmit, if set, receives the server-side emits of other
	// servers (io.serverSideEmit in Node). ack is nil unless the sender
	// waits for an acknowledgement; only its first argument crosses. When
	// nil, such emits are ignored and a sender waiting for an ack times
	// out, as with a Node server that has no listener. Calls may overlap.
	OnServerSideEmit func(ctx context.Context, nsp string, ev Event, ack AckFunc)

	// Logger receives the server's logs. Nil means no logging.
	Logger *slog.Logger
}

// Streams are the @socket.io/redis-streams-adapter options that decide
// names on the wire; each zero value means the adapter's default. Every
// server of the cluster must use the same ones.
type Streams struct {
	// Name is the adapter's streamName. Zero means "socket.io".
	Name string
	// Count is the adapter's streamCount: with more than 1, a namespace's
	// messages go to "<Name>-<hash(nsp) % Count>", and every server reads
	// all Count streams. Zero means 1.
	Count int
	// MaxLen is the adapter's maxLen, the approximate bound of each stream
	// (XADD MAXLEN ~). Zero means 10000.
	MaxLen int64
	// SessionKeyPrefix is the adapter's sessionKeyPrefix, for the
	// sessions of connection state recovery. Zero means "sio:session:".
	SessionKeyPrefix string
}

// options are the adapter's options for s with channel prefix key, zero
// values defaulted.
func (s Streams) options(key string) adapter.StreamsOptions {
	return adapter.StreamsOptions{
		StreamName:       s.Name,
		StreamCount:      s.Count,
		MaxLen:           s.MaxLen,
		ChannelPrefix:    key,
		SessionKeyPrefix: s.SessionKeyPrefix,
	}.WithDefaults()
}

// CORS configures the Access-Control-* headers, following the npm cors
// package that engine.io uses.
type CORS struct {
	// Origins lists allowed origins; "*" allows any and is sent as "*".
	Origins []string
	// Credentials sends Access-Control-Allow-Credentials: true.
	Credentials bool
}

// ConnectResult is what [Config.OnConnect] returns for an accepted socket.
type ConnectResult struct {
	// Rooms are joined before the CONNECT reply is sent.
	Rooms []string
	// Data is stored in the socket; see [Socket.Data].
	Data any
}

func (c Config) withDefaults() (Config, error) {
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	if !strings.HasPrefix(c.Path, "/") {
		return c, fmt.Errorf("relay: path %q must start with /", c.Path)
	}
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
	}
	if len(c.Namespaces) == 0 {
		c.Namespaces = []string{"/"}
	}
	for _, n := range c.Namespaces {
		if n != "*" && !strings.HasPrefix(n, "/") {
			return c, fmt.Errorf("relay: namespace %q must start with /", n)
		}
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxHTTPBufferSize <= 0 {
		c.MaxHTTPBufferSize = 1e6
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{"polling", "websocket"}
	}
	for _, t := range c.Transports {
		if t != "polling" && t != "websocket" {
			return c, fmt.Errorf("relay: unknown transport %q", t)
		}
	}
	if c.CORS != nil && len(c.CORS.Origins) == 0 {
		return c, errors.New("relay: CORS needs at least one origin")
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = 4 << 20
	}
	if c.VolatileQueueBytes <= 0 {
		c.VolatileQueueBytes = 64 << 10
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxPollingQueue <= 0 {
		c.MaxPollingQueue = 10000
	}
	if c.Key == "" {
		c.Key = "socket.io"
	}
	if c.SubscriptionMode == "" {
		c.SubscriptionMode = "dynamic"
	}
	switch c.SubscriptionMode {
	case "dynamic", "dynamic-private", "static":
	default:
		return c, fmt.Errorf("relay: unknown subscription mode %q (want dynamic, dynamic-private or static)", c.SubscriptionMode)
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = 5 * time.Second
	}
	if c.Recovery != nil {
		r := c.Recovery.withDefaults()
		c.Recovery = &r
	}
	if c.Streams != nil {
		if c.Redis == nil {
			return c, errors.New("relay: Streams needs Redis")
		}
		if err := c.Streams.options(c.Key).Validate(); err != nil {
			return c, errors.New("relay: Streams: " + err.Error())
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func (c *Config) allows(transport string) bool { return slices.Contains(c.Transports, transport) }
