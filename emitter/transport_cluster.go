package emitter

import (
	"context"
	"encoding/json"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/servercount"
)

// clusterTransport speaks the requests of the adapters built on
// socket.io-adapter 2.5.8's ClusterAdapter: createShardedAdapter (JSON,
// msgpack when binary is present, SPUBLISH) and
// @socket.io/redis-streams-adapter 0.3.1, whose requests are "ephemeral"
// pub/sub messages (msgpack as @msgpack/msgpack writes it; PUBLISH, or
// SPUBLISH with useShardedPubSub). Requests go to the namespace's channel
// <prefix>#<nsp>#, answers come on the emitter's own <prefix>#<nsp>#<uid>#;
// the emitter does not subscribe to the namespace's channel, so it is not
// counted as a server. Neither adapter has an ALL_ROOMS request.
type clusterTransport struct {
	rdb     redis.UniversalClient
	prefix  string
	uid     string
	sharded bool // SPUBLISH/SSUBSCRIBE/SHARDNUMSUB
	wire    clusterWire
	subs    *subscriptions
}

// clusterWire is one adapter's encoding of the ClusterAdapter messages.
type clusterWire struct {
	eventData        func(event string, args []any) ([]byte, error)
	fetchSockets     func(uid, nsp, requestID string, opts adapter.Opts) ([]byte, error)
	broadcastWithAck func(uid, nsp, requestID string, data []byte, opts adapter.Opts) ([]byte, error)
	decode           func([]byte) (adapter.ClusterMessage, error)
}

// shardedWire is createShardedAdapter's: JSON unless binary is present.
var shardedWire = clusterWire{
	eventData: func(event string, args []any) ([]byte, error) { return adapter.AppendEventData(nil, event, args) },
	fetchSockets: func(uid, nsp, id string, opts adapter.Opts) ([]byte, error) {
		return adapter.AppendShardedFetchSockets(nil, uid, nsp, opts, id), nil
	},
	broadcastWithAck: func(uid, nsp, id string, data []byte, opts adapter.Opts) ([]byte, error) {
		return adapter.AppendShardedBroadcast(nil, uid, nsp, data, opts, id)
	},
	decode: adapter.DecodeShardedMessage,
}

// streamsWire is the streams adapter's pub/sub messages: msgpack.
var streamsWire = clusterWire{
	eventData: func(event string, args []any) ([]byte, error) { return adapter.AppendStreamEventData(nil, event, args) },
	fetchSockets: func(uid, nsp, id string, opts adapter.Opts) ([]byte, error) {
		return adapter.AppendStreamsFetchSockets(nil, uid, nsp, id, opts), nil
	},
	broadcastWithAck: func(uid, nsp, id string, data []byte, opts adapter.Opts) ([]byte, error) {
		return adapter.AppendStreamsBroadcastWithAck(nil, uid, nsp, id, data, opts), nil
	},
	decode: adapter.DecodeStreamsMessage,
}

var _ transport = (*clusterTransport)(nil)

func newClusterTransport(rdb redis.UniversalClient, prefix, uid string, sharded bool, wire clusterWire, deliver func(answer)) *clusterTransport {
	t := &clusterTransport{rdb: rdb, prefix: prefix, uid: uid, sharded: sharded, wire: wire}
	t.subs = newSubscriptions(rdb, sharded, func(_ string, payload []byte) {
		if a, ok := decodeClusterAnswer(wire.decode, payload); ok {
			deliver(a)
		}
	})
	return t
}

func (t *clusterTransport) serverCount(ctx context.Context, nsp string) (int, error) {
	return servercount.Count(ctx, t.rdb, adapter.ShardedChannel(t.prefix, nsp), t.sharded)
}

func (t *clusterTransport) listen(ctx context.Context, nsp string) (listener, error) {
	// Shard channels live on the node of their slot: one connection per
	// namespace, on the node of its response channel.
	s, err := t.subs.acquire(ctx, nsp, adapter.ShardedRoomChannel(t.prefix, nsp, t.uid))
	if err != nil {
		return nil, err
	}
	return held{t.subs, s}, nil
}

func (t *clusterTransport) eventData(event string, args []any) ([]byte, error) {
	return t.wire.eventData(event, args)
}

func (t *clusterTransport) send(ctx context.Context, r *request) error {
	var (
		msg []byte
		err error
	)
	switch r.kind {
	case fetchSockets:
		msg, err = t.wire.fetchSockets(t.uid, r.nsp, r.id, emptySets(r.opts))
	case broadcastWithAck:
		msg, err = t.wire.broadcastWithAck(t.uid, r.nsp, r.id, r.data, emptySets(r.opts))
	}
	if err != nil {
		return err
	}
	// With a request id a broadcast always goes to the namespace channel
	// (the sharded adapter's computeChannel), as every request does.
	ch := adapter.ShardedChannel(t.prefix, r.nsp)
	if t.sharded {
		return t.rdb.SPublish(ctx, ch, msg).Err()
	}
	return t.rdb.Publish(ctx, ch, msg).Err()
}

func (t *clusterTransport) hasAllRooms() bool { return false }

func (t *clusterTransport) close() error { return t.subs.close() }

// decodeClusterAnswer decodes a message of the emitter's response channel.
func decodeClusterAnswer(decode func([]byte) (adapter.ClusterMessage, error), payload []byte) (answer, bool) {
	m, err := decode(payload)
	if err != nil || m.RequestID == "" {
		return answer{}, false
	}
	a := answer{requestID: m.RequestID, size: len(payload)}
	switch m.Type {
	case adapter.FetchSocketsResponse:
		a.typ = answerList
		a.sockets = make([]json.RawMessage, 0, len(m.Sockets))
		for _, v := range m.Sockets {
			js, err := v.AppendJSON(nil, nil)
			if err == nil {
				a.sockets = append(a.sockets, js)
			}
		}
	case adapter.ShardedBroadcastCount:
		a.typ, a.count = answerClientCount, m.ClientCount
	case adapter.ShardedBroadcastAck:
		a.typ, a.ack = answerAck, ackJSON(m.Packet.B, m.Packet.JSON)
	default:
		return answer{}, false
	}
	return a, true
}
