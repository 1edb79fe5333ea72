package emitter

import (
	"context"
	"encoding/json"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/servercount"
)

// classicTransport speaks the requests of @socket.io/redis-adapter's
// createAdapter: JSON requests (msgpack for a broadcast with ack) published
// on the namespace's request channel, answers on the shared response
// channel (where Node servers answer) and on the emitter's own one (where
// relays answer). The emitter does not subscribe to the request channel,
// so it is not counted as a server.
type classicTransport struct {
	rdb  redis.UniversalClient
	key  string
	uid  string
	subs *subscriptions
}

var _ transport = (*classicTransport)(nil)

func newClassicTransport(rdb redis.UniversalClient, key, uid string, deliver func(answer)) *classicTransport {
	t := &classicTransport{rdb: rdb, key: key, uid: uid}
	t.subs = newSubscriptions(rdb, false, func(_ string, payload []byte) {
		if a, ok := decodeClassicAnswer(payload); ok {
			deliver(a)
		}
	})
	return t
}

func (t *classicTransport) serverCount(ctx context.Context, nsp string) (int, error) {
	return servercount.Count(ctx, t.rdb, adapter.RequestChannel(t.key, nsp), false)
}

func (t *classicTransport) listen(ctx context.Context, nsp string) (listener, error) {
	s, err := t.subs.acquire(ctx, nsp, adapter.ResponseChannel(t.key, nsp), adapter.SpecificResponseChannel(t.key, nsp, t.uid))
	if err != nil {
		return nil, err
	}
	return held{t.subs, s}, nil
}

func (t *classicTransport) eventData(event string, args []any) ([]byte, error) {
	return adapter.AppendEventData(nil, event, args)
}

func (t *classicTransport) send(ctx context.Context, r *request) error {
	var msg []byte
	switch r.kind {
	case fetchSockets:
		msg = adapter.AppendFetchRequest(nil, t.uid, r.id, emptySets(r.opts))
	case allRooms:
		msg = adapter.AppendAllRoomsRequest(nil, t.uid, r.id)
	case broadcastWithAck:
		msg = adapter.AppendBroadcastWithAck(nil, t.uid, r.id, r.nsp, r.data, emptySets(r.opts))
	}
	return t.rdb.Publish(ctx, adapter.RequestChannel(t.key, r.nsp), msg).Err()
}

func (t *classicTransport) hasAllRooms() bool { return true }

func (t *classicTransport) close() error { return t.subs.close() }

// emptySets writes absent rooms as [] rather than null: Node builds Sets
// from them.
func emptySets(o adapter.Opts) adapter.Opts {
	if o.Rooms == nil {
		o.Rooms = []string{}
	}
	if o.Except == nil {
		o.Except = []string{}
	}
	return o
}

// decodeClassicAnswer decodes a message of a response channel. Answers
// to REMOTE_FETCH and ALL_ROOMS carry no type: they are lists.
func decodeClassicAnswer(payload []byte) (answer, bool) {
	res, err := adapter.DecodeResponse(payload)
	if err != nil || res.RequestID == "" {
		return answer{}, false
	}
	a := answer{requestID: res.RequestID, size: len(payload)}
	switch res.Type {
	case adapter.BroadcastClientCount:
		a.typ, a.count = answerClientCount, res.ClientCount
	case adapter.BroadcastAck:
		a.typ, a.ack = answerAck, ackJSON(res.Packet, false)
	case -1:
		a.typ, a.sockets, a.rooms = answerList, res.Sockets, res.Rooms
	default:
		return answer{}, false
	}
	return a, true
}

// ackJSON turns an ack's first argument into JSON: from msgpack, binary as
// a Node Buffer's JSON; absent (undefined) as null.
func ackJSON(b []byte, isJSON bool) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	if isJSON {
		return json.RawMessage(b)
	}
	js, err := dataJSON(b)
	if err != nil {
		return json.RawMessage("null")
	}
	return js
}
