package emitter

import (
	"context"
	"encoding/json"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/servercount"
)

// shardedTransport speaks the requests of createShardedAdapter (the
// ClusterAdapter of socket.io-adapter 2.5.8): requests SPUBLISHed on the
// namespace's channel, answers SPUBLISHed on the emitter's own response
// channel <prefix>#<nsp>#<uid>#. The emitter does not subscribe to the
// namespace's channel, so it is not counted as a server. The adapter has
// no ALL_ROOMS request.
type shardedTransport struct {
	rdb    redis.UniversalClient
	prefix string
	uid    string
	subs   *subscriptions
}

var _ transport = (*shardedTransport)(nil)

func newShardedTransport(rdb redis.UniversalClient, prefix, uid string, deliver func(answer)) *shardedTransport {
	t := &shardedTransport{rdb: rdb, prefix: prefix, uid: uid}
	t.subs = newSubscriptions(rdb, true, func(_ string, payload []byte) {
		if a, ok := decodeShardedAnswer(payload); ok {
			deliver(a)
		}
	})
	return t
}

func (t *shardedTransport) serverCount(ctx context.Context, nsp string) (int, error) {
	return servercount.Count(ctx, t.rdb, adapter.ShardedChannel(t.prefix, nsp), true)
}

func (t *shardedTransport) listen(ctx context.Context, nsp string) (listener, error) {
	// Shard channels live on the node of their slot: one connection per
	// namespace, on the node of its response channel.
	s, err := t.subs.acquire(ctx, nsp, adapter.ShardedRoomChannel(t.prefix, nsp, t.uid))
	if err != nil {
		return nil, err
	}
	return held{t.subs, s}, nil
}

func (t *shardedTransport) send(ctx context.Context, r *request) error {
	var msg []byte
	switch r.kind {
	case fetchSockets:
		msg = adapter.AppendShardedFetchSockets(nil, t.uid, r.nsp, emptySets(r.opts), r.id)
	case broadcastWithAck:
		var err error
		if msg, err = adapter.AppendShardedBroadcast(nil, t.uid, r.nsp, r.data, emptySets(r.opts), r.id); err != nil {
			return err
		}
	}
	// With a request id a broadcast always goes to the namespace channel
	// (computeChannel), as every request does.
	return t.rdb.SPublish(ctx, adapter.ShardedChannel(t.prefix, r.nsp), msg).Err()
}

func (t *shardedTransport) hasAllRooms() bool { return false }

func (t *shardedTransport) close() error { return t.subs.close() }

// decodeShardedAnswer decodes a message of the emitter's response channel.
func decodeShardedAnswer(payload []byte) (answer, bool) {
	m, err := adapter.DecodeShardedMessage(payload)
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
