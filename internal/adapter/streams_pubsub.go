package adapter

import "github.com/siorelay/siorelay/internal/notepack"

// The streams adapter's pub/sub messages. Broadcasts with ack,
// SERVER_SIDE_EMIT and FETCH_SOCKETS are "ephemeral": they are not added to
// the stream but published (PUBLISH, or SPUBLISH with useShardedPubSub) on
// the namespace's channel ([StreamsOptions.Channel]); every answer goes to
// the requester's channel ([StreamsOptions.ResponseChannel]). Each is the
// whole ClusterAdapter message {type, data, uid, nsp} in msgpack
// (@msgpack/msgpack), with or without binary. Data arguments below are
// msgpack as notepack.MsgpackJS writes it.

// ClusterMessage is a decoded ClusterAdapter message (socket.io-adapter
// 2.5.8): the sharded adapter's messages and the streams adapter's, from
// its stream entries and its pub/sub alike.
type ClusterMessage = ShardedMessage

// AppendStreamsServerSideEmit appends SERVER_SIDE_EMIT (9):
// {type: 9, data: {[requestId,] packet: [event, ...args]}, uid, nsp};
// requestID is "" for an emit without ack.
func AppendStreamsServerSideEmit(dst []byte, uid, nsp, requestID string, data []byte) []byte {
	return appendServerSideEmitMsgpack(dst, uid, nsp, data, requestID)
}

// AppendStreamsBroadcastWithAck appends a BROADCAST (3) with ack:
// {type: 3, data: {packet: {type: 2, data}, requestId, opts}, uid, nsp}.
// Servers answer with BROADCAST_CLIENT_COUNT and BROADCAST_ACK.
func AppendStreamsBroadcastWithAck(dst []byte, uid, nsp, requestID string, data []byte, opts Opts) []byte {
	return appendBroadcastMsgpack(dst, uid, nsp, data, opts, requestID)
}

// AppendStreamsFetchSockets appends FETCH_SOCKETS (7):
// {type: 7, data: {opts, requestId}, uid, nsp}.
func AppendStreamsFetchSockets(dst []byte, uid, nsp, requestID string, opts Opts) []byte {
	dst = append(appendClusterHead(dst, FetchSockets), 0x82, 0xa4, 'o', 'p', 't', 's')
	dst = appendOptsMsgpack(dst, opts)
	dst = appendRequestIDKey(dst, requestID)
	return appendClusterTail(dst, uid, nsp)
}

// AppendStreamsFetchResponse appends FETCH_SOCKETS_RESPONSE (8):
// {type: 8, data: {requestId, sockets: [...]}, uid, nsp}, each socket
// already encoded as the msgpack map {id, handshake, rooms, data} (for
// example notepack.MsgpackJS.AppendJSON of what AppendFetchedSocket
// writes).
func AppendStreamsFetchResponse(dst []byte, uid, nsp, requestID string, sockets [][]byte) []byte {
	dst = appendRequestIDKey(append(appendClusterHead(dst, FetchSocketsResponse), 0x82), requestID)
	dst = append(dst, 0xa7, 's', 'o', 'c', 'k', 'e', 't', 's')
	dst = notepack.AppendArrayHeader(dst, len(sockets))
	for _, s := range sockets {
		dst = append(dst, s...)
	}
	return appendClusterTail(dst, uid, nsp)
}

// AppendStreamsPacketResponse appends SERVER_SIDE_EMIT_RESPONSE (10) or
// BROADCAST_ACK (12): {type, data: {requestId, packet}, uid, nsp}, packet
// being the msgpack of the first ack argument (empty: undefined, written
// as nil).
func AppendStreamsPacketResponse(dst []byte, uid, nsp string, t MessageType, requestID string, packet []byte) []byte {
	return appendPacketResponseMsgpack(dst, uid, nsp, t, requestID, packet)
}

// AppendStreamsClientCount appends BROADCAST_CLIENT_COUNT (11):
// {type: 11, data: {requestId, clientCount}, uid, nsp}.
func AppendStreamsClientCount(dst []byte, uid, nsp, requestID string, count int) []byte {
	dst = appendRequestIDKey(append(appendClusterHead(dst, ShardedBroadcastCount), 0x82), requestID)
	dst = append(dst, 0xab, 'c', 'l', 'i', 'e', 'n', 't', 'C', 'o', 'u', 'n', 't')
	dst = notepack.AppendInt(dst, int64(count))
	return appendClusterTail(dst, uid, nsp)
}

// DecodeStreamsMessage decodes a message of a streams adapter's pub/sub
// channel. Like the adapter, it accepts only msgpack.
func DecodeStreamsMessage(b []byte) (ClusterMessage, error) {
	if len(b) > 0 && b[0] == '{' {
		return ClusterMessage{}, invalid("streams pub/sub message is JSON, not msgpack")
	}
	return decodeShardedMsgpack(notepack.NewReader(b))
}
