package emitter

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/adapter"
)

// StreamsConfig targets a cluster of servers using
// @socket.io/redis-streams-adapter 0.3.1 (see [Config.Streams]). Every
// field's zero value is the adapter's default; they must match the
// servers' options.
type StreamsConfig struct {
	// StreamName is the adapter's streamName. Zero means "socket.io".
	StreamName string
	// StreamCount is the adapter's streamCount: a namespace's messages go
	// to one of that many streams, chosen from its name exactly as the
	// adapter chooses. Zero means 1.
	StreamCount int
	// MaxLen is the adapter's maxLen: each XADD trims the stream to about
	// that many entries (MAXLEN ~). Zero means 10000.
	MaxLen int64
}

func (s StreamsConfig) options(key string) adapter.StreamsOptions {
	return adapter.StreamsOptions{StreamName: s.StreamName, StreamCount: s.StreamCount, MaxLen: s.MaxLen, ChannelPrefix: key}.WithDefaults()
}

func (s StreamsConfig) validate(c Config) error {
	if err := s.options(c.Key).Validate(); err != nil {
		return errors.New("emitter: streams: " + err.Error())
	}
	if c.SubscriptionMode != "" && c.SubscriptionMode != Dynamic {
		return errors.New("emitter: SubscriptionMode does not apply to streams clusters")
	}
	return nil
}

// streamTarget is what an XADD into one namespace's stream needs besides
// the message's type and data. One is made per namespace (per
// [Emitter.Of]) and shared by its messages.
type streamTarget struct {
	stream string
	maxLen int64
	uid    string
	nsp    string
}

func (c *core) streamTarget(nsp string) *streamTarget {
	if c.streams == nil {
		return nil
	}
	return &streamTarget{stream: c.streams.Stream(nsp), maxLen: c.streams.MaxLen, uid: c.uid, nsp: nsp}
}

// xaddArgs is the XADD the Node adapter sends for the entry m.
func (m Message) xaddArgs() []any {
	t := m.stream
	return adapter.XAddArgs(t.stream, t.maxLen, adapter.StreamEntry{UID: t.uid, Nsp: t.nsp, Type: m.typ, Data: m.Payload})
}

// Stream returns the stream e's broadcasts, joins, leaves and disconnects
// are added to, or "" when e does not target a streams cluster.
func (e *Emitter) Stream() string {
	if e.stream == nil {
		return ""
	}
	return e.stream.stream
}

// streamEmit encodes a broadcast as the streams adapter adds it to the
// stream: a type 3 entry whose data is JSON, or base64 msgpack with binary.
func (o Operator) streamEmit(buf []byte, event string, args []any) (Message, error) {
	data, err := adapter.AppendStreamEventData(buf, event, args)
	if err != nil {
		return Message{}, encodeError(err)
	}
	n := len(data)
	out, err := adapter.AppendStreamBroadcast(data, adapter.Value{B: data[:n]}, o.opts)
	if err != nil {
		return Message{}, encodeError(err)
	}
	// Move the entry's data to the start of the buffer, over the msgpack it
	// was made from, so that the caller's buffer is reused whole.
	payload := out[:copy(out, out[n:])]
	return Message{Channel: o.e.stream.stream, Payload: payload, stream: o.e.stream, typ: adapter.ShardedBroadcast}, nil
}

func (o Operator) streamSockets(t adapter.MessageType, rooms []string) Message {
	return Message{Channel: o.e.stream.stream, Payload: adapter.AppendStreamSocketsRequest(nil, o.opts, rooms),
		stream: o.e.stream, typ: t}
}

func (o Operator) streamDisconnect(close bool) Message {
	return Message{Channel: o.e.stream.stream, Payload: adapter.AppendStreamDisconnect(nil, o.opts, close),
		stream: o.e.stream, typ: adapter.DisconnectSockets}
}

// streamsServerSideEmit encodes a server-side emit as the streams adapter
// publishes it: not in the stream but over pub/sub (SPUBLISH with Sharded)
// on the namespace's channel, msgpack {type: 9, data: {packet}, uid, nsp}.
func (e *Emitter) streamsServerSideEmit(event string, args []any) (Message, error) {
	data, err := adapter.AppendStreamEventData(nil, event, args)
	if err != nil {
		return Message{}, encodeError(err)
	}
	return Message{
		Channel: e.c.streams.Channel(e.nsp),
		Payload: adapter.AppendStreamsServerSideEmit(nil, e.c.uid, e.nsp, "", data),
	}, nil
}

// EmitOffset is Emit for a streams cluster that also returns the entry's
// id: the offset that servers with connectionStateRecovery append to the
// event as its last argument. It returns an error when e does not target a
// streams cluster.
func (o Operator) EmitOffset(ctx context.Context, event string, args ...any) (string, error) {
	if o.e.stream == nil {
		return "", errors.New("emitter: EmitOffset needs a streams cluster (Config.Streams)")
	}
	m, err := o.appendEmit(nil, event, args)
	if err != nil {
		return "", err
	}
	cmd := o.e.c.pipe.rdb.Do(ctx, m.xaddArgs()...)
	id, err := cmd.Text()
	if err != nil {
		return "", wrapPublishErr(m, err)
	}
	return id, nil
}

// EmitOffset is [Operator.EmitOffset] to every client of the namespace.
func (e *Emitter) EmitOffset(ctx context.Context, event string, args ...any) (string, error) {
	return e.op().EmitOffset(ctx, event, args...)
}

var _ cmdable = redis.UniversalClient(nil)
var _ cmdable = redis.Pipeliner(nil)
