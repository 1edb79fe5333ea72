package emitter

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
)

// Operator is a broadcast being built: rooms to target, rooms to exclude
// and flags, over one namespace. Each method returns a new Operator and
// leaves its receiver unchanged, so an Operator can be kept and reused.
// The zero Operator is not usable; get one from an Emitter.
type Operator struct {
	e       *Emitter
	opts    adapter.Opts
	timeout time.Duration // of queries; zero: Config.RequestsTimeout
}

// add returns set ∪ items as a new slice, keeping first occurrences in
// order, as a JavaScript Set would.
func add(set []string, items []string) []string {
	out := slices.Clip(set) // never write into the receiver's array
	for _, it := range items {
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

// To adds rooms to the target: sockets in any of the rooms receive.
func (o Operator) To(rooms ...string) Operator {
	o.opts.Rooms = add(o.opts.Rooms, rooms)
	return o
}

// In is the same as To.
func (o Operator) In(rooms ...string) Operator { return o.To(rooms...) }

// Except excludes the sockets in any of rooms.
func (o Operator) Except(rooms ...string) Operator {
	o.opts.Except = add(o.opts.Except, rooms)
	return o
}

// Volatile marks the event as one that may be dropped when a client is not
// ready to receive it.
func (o Operator) Volatile() Operator {
	o.opts.Flags = o.opts.Flags.WithVolatile()
	return o
}

// Compress sets whether the event's data may be compressed.
func (o Operator) Compress(compress bool) Operator {
	o.opts.Flags = o.opts.Flags.WithCompress(compress)
	return o
}

// Emit sends the event to the targeted clients. It returns an error wrapping
// ErrReservedEvent or ErrEncode without publishing anything, or the Redis
// error if the publish failed.
func (o Operator) Emit(ctx context.Context, event string, args ...any) error {
	bp := bufPool.Get().(*[]byte)
	m, err := o.appendEmit((*bp)[:0], event, args)
	if err != nil {
		bufPool.Put(bp)
		return err
	}
	err, released := o.e.c.pipe.publishOwned(ctx, m)
	if released && cap(m.Payload) <= maxPooledBuf {
		*bp = m.Payload[:0]
		bufPool.Put(bp)
	}
	return err
}

// Encoding buffers are reused across Emit calls; big ones are left to GC.
const maxPooledBuf = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// SocketsJoin makes the targeted sockets join rooms.
func (o Operator) SocketsJoin(ctx context.Context, rooms ...string) error {
	return o.e.c.pipe.publish(ctx, o.SocketsJoinMessage(rooms...))
}

// SocketsLeave makes the targeted sockets leave rooms.
func (o Operator) SocketsLeave(ctx context.Context, rooms ...string) error {
	return o.e.c.pipe.publish(ctx, o.SocketsLeaveMessage(rooms...))
}

// DisconnectSockets disconnects the targeted sockets; with close, their
// underlying connections are closed too.
func (o Operator) DisconnectSockets(ctx context.Context, close bool) error {
	return o.e.c.pipe.publish(ctx, o.DisconnectSocketsMessage(close))
}

// Message is one encoded Redis publish: what an action sends, made without
// sending it so that many can be validated first and published together
// with [Emitter.Publish]. Payload must not be modified. For a streams
// cluster, a message that goes into a stream has the stream as Channel and
// the entry's data field as Payload, and is sent with XADD.
type Message struct {
	Channel string
	Payload []byte

	stream *streamTarget       // set for a stream entry
	typ    adapter.MessageType // a stream entry's type
}

// EmitMessage encodes what Emit publishes.
func (o Operator) EmitMessage(event string, args ...any) (Message, error) {
	return o.appendEmit(nil, event, args)
}

func (o Operator) appendEmit(buf []byte, event string, args []any) (Message, error) {
	if IsReservedEvent(event) {
		return Message{}, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	c := o.e.c
	if o.e.stream != nil {
		return o.streamEmit(buf, event, args)
	}
	if !c.cfg.Sharded {
		payload, err := adapter.AppendEmitterBroadcast(buf, o.e.nsp, o.opts, event, args)
		if err != nil {
			return Message{}, encodeError(err)
		}
		ch := o.e.broadcastChannel
		if len(o.opts.Rooms) == 1 {
			ch = adapter.BroadcastChannel(c.cfg.Key, o.e.nsp, o.opts.Rooms)
		}
		return Message{Channel: ch, Payload: payload}, nil
	}
	data, err := adapter.AppendEventData(nil, event, args)
	if err != nil {
		return Message{}, encodeError(err)
	}
	payload, err := adapter.AppendShardedBroadcast(buf, c.uid, o.e.nsp, data, o.opts, "")
	if err != nil {
		return Message{}, encodeError(err)
	}
	ch := adapter.ShardedBroadcastChannel(c.cfg.Key, o.e.nsp, o.opts.Rooms, adapter.SubscriptionMode(c.cfg.SubscriptionMode), false)
	return Message{Channel: ch, Payload: payload}, nil
}

// SocketsJoinMessage encodes what SocketsJoin publishes.
func (o Operator) SocketsJoinMessage(rooms ...string) Message {
	return o.socketsMessage(adapter.RemoteJoin, adapter.SocketsJoin, rooms)
}

// SocketsLeaveMessage encodes what SocketsLeave publishes.
func (o Operator) SocketsLeaveMessage(rooms ...string) Message {
	return o.socketsMessage(adapter.RemoteLeave, adapter.SocketsLeave, rooms)
}

func (o Operator) socketsMessage(classic adapter.RequestType, sharded adapter.MessageType, rooms []string) Message {
	if rooms == nil {
		rooms = []string{}
	}
	c := o.e.c
	if o.e.stream != nil {
		return o.streamSockets(sharded, rooms)
	}
	if c.cfg.Sharded {
		return Message{
			Channel: adapter.ShardedChannel(c.cfg.Key, o.e.nsp),
			Payload: adapter.AppendShardedSocketsRequest(nil, c.uid, o.e.nsp, sharded, o.opts, rooms),
		}
	}
	return Message{
		Channel: o.e.requestChannel,
		Payload: adapter.AppendSocketsRequest(nil, "", classic, o.opts, rooms),
	}
}

// DisconnectSocketsMessage encodes what DisconnectSockets publishes.
func (o Operator) DisconnectSocketsMessage(close bool) Message {
	c := o.e.c
	if o.e.stream != nil {
		return o.streamDisconnect(close)
	}
	if c.cfg.Sharded {
		return Message{
			Channel: adapter.ShardedChannel(c.cfg.Key, o.e.nsp),
			Payload: adapter.AppendShardedDisconnect(nil, c.uid, o.e.nsp, o.opts, close),
		}
	}
	return Message{
		Channel: o.e.requestChannel,
		Payload: adapter.AppendDisconnectRequest(nil, "", o.opts, close),
	}
}
