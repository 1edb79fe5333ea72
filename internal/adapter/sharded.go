package adapter

import (
	"github.com/siorelay/siorelay/internal/notepack"
)

// MessageType is the "type" of a sharded adapter message (the
// ClusterAdapter of socket.io-adapter 2.5.8).
type MessageType int

// The sharded adapter's message types.
const (
	InitialHeartbeat       MessageType = 1
	Heartbeat              MessageType = 2
	ShardedBroadcast       MessageType = 3
	SocketsJoin            MessageType = 4
	SocketsLeave           MessageType = 5
	DisconnectSockets      MessageType = 6
	FetchSockets           MessageType = 7
	FetchSocketsResponse   MessageType = 8
	ShardedServerSideEmit  MessageType = 9
	ServerSideEmitResponse MessageType = 10
	ShardedBroadcastCount  MessageType = 11
	ShardedBroadcastAck    MessageType = 12
	AdapterClose           MessageType = 13
)

// appendShardedTail writes `,"uid":<uid>,"nsp":<nsp>}`, the keys the
// ClusterAdapter adds after type and data.
func appendShardedTailJSON(dst []byte, uid, nsp string) []byte {
	dst = append(dst, `,"uid":`...)
	dst = notepack.AppendJSONString(dst, uid)
	dst = append(dst, `,"nsp":`...)
	dst = notepack.AppendJSONString(dst, nsp)
	return append(dst, '}')
}

// AppendShardedBroadcast appends a sharded BROADCAST message,
// {type: 3, data: {packet: {type: 2, data}, [requestId,] opts}, uid, nsp},
// data being the msgpack array [event, ...args]. Like the Node adapter, it
// writes JSON unless the data holds binary, and msgpack then. requestID is
// "" for a broadcast without ack. Publish it (SPUBLISH) on
// ShardedBroadcastChannel.
func AppendShardedBroadcast(dst []byte, uid, nsp string, data []byte, opts Opts, requestID string) ([]byte, error) {
	if notepack.ContainsBinary(data) {
		return appendBroadcastMsgpack(dst, uid, nsp, data, opts, requestID), nil
	}
	n := len(dst)
	dst = append(dst, `{"type":3,"data":{"packet":{"type":2,"data":`...)
	var err error
	if dst, _, err = notepack.AppendToJSON(dst, data, nil); err != nil {
		return dst[:n], err
	}
	dst = append(dst, '}')
	if requestID != "" {
		dst = append(dst, `,"requestId":`...)
		dst = notepack.AppendJSONString(dst, requestID)
	}
	dst = append(dst, `,"opts":`...)
	dst = appendOptsJSON(dst, opts, true)
	dst = append(dst, '}')
	return appendShardedTailJSON(dst, uid, nsp), nil
}

// AppendShardedSocketsRequest appends SOCKETS_JOIN (4) or SOCKETS_LEAVE (5):
// {"type","data":{"opts":{"rooms","except","flags"},"rooms"},"uid","nsp"}.
// Publish it on the namespace channel.
func AppendShardedSocketsRequest(dst []byte, uid, nsp string, t MessageType, opts Opts, rooms []string) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendJSONInt(dst, int64(t))
	dst = append(dst, `,"data":{"opts":`...)
	dst = appendOptsJSON(dst, opts, true)
	dst = append(dst, `,"rooms":`...)
	dst = appendJSONStrings(dst, rooms)
	dst = append(dst, '}')
	return appendShardedTailJSON(dst, uid, nsp)
}

// AppendShardedDisconnect appends DISCONNECT_SOCKETS (6):
// {"type":6,"data":{"opts":{...},"close"},"uid","nsp"}.
func AppendShardedDisconnect(dst []byte, uid, nsp string, opts Opts, close bool) []byte {
	dst = append(dst, `{"type":6,"data":{"opts":`...)
	dst = appendOptsJSON(dst, opts, true)
	dst = append(dst, `,"close":`...)
	dst = appendJSONBool(dst, close)
	dst = append(dst, '}')
	return appendShardedTailJSON(dst, uid, nsp)
}

// AppendShardedFetchSockets appends a FETCH_SOCKETS (7) request:
// {"type":7,"data":{"opts":{"rooms","except","flags"},"requestId"},"uid","nsp"}.
// Publish it on the namespace channel; servers answer with
// FETCH_SOCKETS_RESPONSE on the requester's response channel.
func AppendShardedFetchSockets(dst []byte, uid, nsp string, opts Opts, requestID string) []byte {
	dst = append(dst, `{"type":7,"data":{"opts":`...)
	dst = appendOptsJSON(dst, opts, true)
	dst = append(dst, `,"requestId":`...)
	dst = notepack.AppendJSONString(dst, requestID)
	dst = append(dst, '}')
	return appendShardedTailJSON(dst, uid, nsp)
}

// AppendShardedServerSideEmit appends SERVER_SIDE_EMIT (9):
// {type: 9, data: {[requestId,] packet: [event, ...args]}, uid, nsp}, in
// JSON, or msgpack when the data holds binary.
func AppendShardedServerSideEmit(dst []byte, uid, nsp string, data []byte, requestID string) ([]byte, error) {
	if notepack.ContainsBinary(data) {
		return appendServerSideEmitMsgpack(dst, uid, nsp, data, requestID), nil
	}
	n := len(dst)
	dst = append(dst, `{"type":9,"data":{`...)
	if requestID != "" {
		dst = append(dst, `"requestId":`...)
		dst = notepack.AppendJSONString(dst, requestID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"packet":`...)
	var err error
	if dst, _, err = notepack.AppendToJSON(dst, data, nil); err != nil {
		return dst[:n], err
	}
	dst = append(dst, '}')
	return appendShardedTailJSON(dst, uid, nsp), nil
}
