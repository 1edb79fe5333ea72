package emitter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/notepack"
)

// SubscriptionMode is the subscriptionMode option of the sharded adapter
// the emitter publishes to; it decides which channel a broadcast goes to.
type SubscriptionMode string

// The sharded adapter's subscription modes.
const (
	// Dynamic is the sharded adapter's default: a broadcast to exactly one
	// room goes to that room's channel, unless the room looks like a socket
	// id (20 characters).
	Dynamic SubscriptionMode = "dynamic"
	// DynamicPrivate sends a broadcast to exactly one room, socket ids
	// included, to that room's channel.
	DynamicPrivate SubscriptionMode = "dynamic-private"
	// Static sends everything to the namespace channel.
	Static SubscriptionMode = "static"
)

// Config configures an Emitter. The zero value targets a classic
// @socket.io/redis-adapter cluster with the default key.
type Config struct {
	// Key is the channel prefix: `key` of createAdapter and of the Node
	// emitter, `channelPrefix` of createShardedAdapter. Zero means
	// "socket.io".
	Key string

	// Sharded targets servers that use createShardedAdapter (Redis 7+
	// sharded pub/sub, SPUBLISH) instead of createAdapter. Zero means the
	// classic adapter.
	Sharded bool

	// SubscriptionMode must match the sharded adapter's subscriptionMode.
	// It is only meaningful with Sharded. Zero means Dynamic.
	SubscriptionMode SubscriptionMode

	// Streams, when set, targets servers that use
	// @socket.io/redis-streams-adapter 0.3.1 instead: broadcasts, joins,
	// leaves and disconnects are added to the namespace's stream (XADD
	// MAXLEN ~), server-side emits published on its channel. Key is then
	// the adapter's channelPrefix and Sharded its useShardedPubSub. Nil
	// means a pub/sub adapter.
	Streams *StreamsConfig

	// RequestsTimeout is how long a query (FetchSockets, AllRooms,
	// EmitWithAck) waits for the servers' answers unless the call says
	// otherwise ([Operator.Timeout]) or ctx ends first: `requestsTimeout`
	// of createAdapter. Zero means 5s.
	RequestsTimeout time.Duration

	// MaxResponseSize bounds the bytes of answers one query gathers; past
	// it the query fails with ErrResponseTooLarge. Zero means 64 MiB.
	MaxResponseSize int
}

// Defaults of Config.
const (
	defaultRequestsTimeout = 5 * time.Second
	defaultMaxResponseSize = 64 << 20
)

func (c Config) withDefaults() (Config, error) {
	if c.Key == "" {
		c.Key = adapter.DefaultKey
	}
	if c.Streams != nil {
		if err := c.Streams.validate(c); err != nil {
			return c, err
		}
	}
	if c.SubscriptionMode == "" {
		c.SubscriptionMode = Dynamic
	}
	if !adapter.SubscriptionMode(c.SubscriptionMode).Valid() {
		return c, fmt.Errorf("emitter: unknown subscription mode %q (want dynamic, dynamic-private or static)", c.SubscriptionMode)
	}
	if !c.Sharded && c.SubscriptionMode != Dynamic {
		return c, errors.New("emitter: SubscriptionMode needs Sharded")
	}
	if c.RequestsTimeout < 0 || c.MaxResponseSize < 0 {
		return c, errors.New("emitter: RequestsTimeout and MaxResponseSize must not be negative")
	}
	if c.RequestsTimeout == 0 {
		c.RequestsTimeout = defaultRequestsTimeout
	}
	c.RequestsTimeout = min(c.RequestsTimeout, maxAckTimeout)
	if c.MaxResponseSize == 0 {
		c.MaxResponseSize = defaultMaxResponseSize
	}
	return c, nil
}

// Errors returned before anything is published.
var (
	// ErrReservedEvent is returned for an event name that Socket.IO
	// reserves: connect, connect_error, disconnect, disconnecting,
	// newListener and removeListener for Emit; connect, connection and
	// new_namespace for ServerSideEmit.
	ErrReservedEvent = errors.New("emitter: reserved event name")
	// ErrEncode wraps an argument that cannot be encoded.
	ErrEncode = errors.New("emitter: cannot encode")
)

// Emitter publishes to one namespace. Get one with New, and one for
// another namespace with Of. An Emitter is immutable and safe for
// concurrent use.
type Emitter struct {
	c   *core
	nsp string
	// precomputed channels of this namespace
	broadcastChannel string
	requestChannel   string
	stream           *streamTarget // nil unless the cluster uses streams
}

// core is what every Emitter derived from one New shares.
type core struct {
	cfg     Config
	pipe    *pipeliner
	uid     string                  // sharded and streams messages, and requests, carry a sender uid
	streams *adapter.StreamsOptions // nil unless cfg.Streams is set
	queries *requester
}

// New returns an Emitter for the main namespace "/" that publishes through
// rdb. It does not contact Redis.
func New(rdb redis.UniversalClient, cfg Config) (*Emitter, error) {
	if rdb == nil {
		return nil, errors.New("emitter: nil Redis client")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &core{cfg: cfg, pipe: newPipeliner(rdb, cfg.Sharded), uid: randomID()}
	if cfg.Streams != nil {
		opts := cfg.Streams.options(cfg.Key)
		c.streams = &opts
	}
	c.queries = newRequester(cfg.MaxResponseSize)
	switch {
	case cfg.Streams != nil:
		c.queries.t = newClusterTransport(rdb, c.streams.ChannelPrefix, c.uid, cfg.Sharded, streamsWire, c.queries.deliver)
	case cfg.Sharded:
		c.queries.t = newClusterTransport(rdb, cfg.Key, c.uid, true, shardedWire, c.queries.deliver)
	default:
		c.queries.t = newClassicTransport(rdb, cfg.Key, c.uid, c.queries.deliver)
	}
	return c.emitter("/"), nil
}

func (c *core) emitter(nsp string) *Emitter {
	return &Emitter{
		c:                c,
		nsp:              nsp,
		broadcastChannel: adapter.BroadcastChannel(c.cfg.Key, nsp, nil),
		requestChannel:   adapter.RequestChannel(c.cfg.Key, nsp),
		stream:           c.streamTarget(nsp),
	}
}

// Of returns an Emitter for the namespace nsp; a missing leading "/" is
// added, as the Node emitter does ("admin" is "/admin", "" is "/").
func (e *Emitter) Of(nsp string) *Emitter {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return e.c.emitter(nsp)
}

// Namespace returns the namespace e publishes to.
func (e *Emitter) Namespace() string { return e.nsp }

func (e *Emitter) op() Operator { return Operator{e: e} }

// To targets the sockets in any of rooms.
func (e *Emitter) To(rooms ...string) Operator { return e.op().To(rooms...) }

// In is the same as To.
func (e *Emitter) In(rooms ...string) Operator { return e.op().To(rooms...) }

// Except excludes the sockets in any of rooms.
func (e *Emitter) Except(rooms ...string) Operator { return e.op().Except(rooms...) }

// Volatile marks events that may be dropped when a client is not ready.
func (e *Emitter) Volatile() Operator { return e.op().Volatile() }

// Compress sets the compress flag of events.
func (e *Emitter) Compress(compress bool) Operator { return e.op().Compress(compress) }

// Emit sends an event to every client of the namespace.
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	return e.op().Emit(ctx, event, args...)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.op().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.op().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace; with close,
// their underlying connections are closed too.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.op().DisconnectSockets(ctx, close)
}

// EmitMessage encodes what Emit publishes, without publishing it.
func (e *Emitter) EmitMessage(event string, args ...any) (Message, error) {
	return e.op().EmitMessage(event, args...)
}

// SocketsJoinMessage encodes what SocketsJoin publishes.
func (e *Emitter) SocketsJoinMessage(rooms ...string) Message {
	return e.op().SocketsJoinMessage(rooms...)
}

// SocketsLeaveMessage encodes what SocketsLeave publishes.
func (e *Emitter) SocketsLeaveMessage(rooms ...string) Message {
	return e.op().SocketsLeaveMessage(rooms...)
}

// DisconnectSocketsMessage encodes what DisconnectSockets publishes.
func (e *Emitter) DisconnectSocketsMessage(close bool) Message {
	return e.op().DisconnectSocketsMessage(close)
}

// ServerSideEmit sends an event to the Socket.IO servers of the cluster
// (namespace.on(event) listeners), not to clients. Acknowledgements are not
// supported, as with the Node emitter.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	m, err := e.ServerSideEmitMessage(event, args...)
	if err != nil {
		return err
	}
	return e.c.pipe.publish(ctx, m)
}

// ServerSideEmitMessage encodes what ServerSideEmit publishes, without
// publishing it (see [Emitter.Publish]).
func (e *Emitter) ServerSideEmitMessage(event string, args ...any) (Message, error) {
	if isReservedServerEvent(event) {
		return Message{}, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	if e.stream != nil {
		return e.streamsServerSideEmit(event, args)
	}
	data, err := adapter.AppendEventData(nil, event, args)
	if err != nil {
		return Message{}, encodeError(err)
	}
	if e.c.cfg.Sharded {
		payload, err := adapter.AppendShardedServerSideEmit(nil, e.c.uid, e.nsp, data, "")
		if err != nil {
			return Message{}, encodeError(err)
		}
		return Message{Channel: adapter.ShardedChannel(e.c.cfg.Key, e.nsp), Payload: payload}, nil
	}
	js, err := dataJSON(data)
	if err != nil {
		return Message{}, encodeError(err)
	}
	return Message{
		Channel: e.requestChannel,
		Payload: adapter.AppendServerSideEmitRequest(nil, adapter.EmitterUID, "", js),
	}, nil
}

// Publish publishes messages made by the *Message methods in one pipeline,
// in order. It returns nil only when Redis accepted all of them; otherwise
// the error says how many failed and wraps the first failure. Encoding all
// messages first and publishing them together is how a batch is validated
// as a whole before any of it is published.
func (e *Emitter) Publish(ctx context.Context, msgs ...Message) error {
	return e.c.pipe.publishAll(ctx, msgs)
}

var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

var reservedServerEvents = map[string]bool{"connect": true, "connection": true, "new_namespace": true}

// IsReservedEvent reports whether Socket.IO reserves name for its own use
// on sockets, so that it cannot be emitted to clients.
func IsReservedEvent(name string) bool { return reservedEvents[name] }

func isReservedServerEvent(name string) bool { return reservedServerEvents[name] }

func encodeError(err error) error { return fmt.Errorf("%w: %w", ErrEncode, err) }

// dataJSON turns encoded event data into the JSON text JSON.stringify would
// give for it (binary as Node prints a Buffer).
func dataJSON(data []byte) ([]byte, error) {
	js, _, err := notepack.AppendToJSON(nil, data, nil)
	return js, err
}
