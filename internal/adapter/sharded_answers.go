package adapter

import (
	"github.com/siorelay/siorelay/internal/notepack"
)

// The sharded adapter's answers, published (SPUBLISH) on the requester's
// response channel ShardedRoomChannel(prefix, nsp, requesterUID).

// AppendShardedClientCount appends BROADCAST_CLIENT_COUNT (11):
// {"type":11,"data":{"requestId","clientCount"},"uid","nsp"}.
func AppendShardedClientCount(dst []byte, uid, nsp, requestID string, count int) []byte {
	dst = append(dst, `{"type":11,"data":{"requestId":`...)
	dst = notepack.AppendJSONString(dst, requestID)
	dst = append(dst, `,"clientCount":`...)
	dst = appendJSONInt(dst, int64(count))
	dst = append(dst, '}')
	return appendShardedTailJSON(dst, uid, nsp)
}

// AppendShardedPacketResponse appends SERVER_SIDE_EMIT_RESPONSE (10) or
// BROADCAST_ACK (12): {type, data: {requestId, packet}, uid, nsp}, packet
// being the msgpack of the first ack argument (nil: undefined, which
// JSON.stringify leaves out). Like the Node adapter it writes JSON unless
// the packet holds binary, and msgpack then.
func AppendShardedPacketResponse(dst []byte, uid, nsp string, t MessageType, requestID string, packet []byte) ([]byte, error) {
	if len(packet) > 0 && notepack.ContainsBinary(packet) {
		return appendPacketResponseMsgpack(dst, uid, nsp, t, requestID, packet), nil
	}
	n := len(dst)
	dst = append(dst, `{"type":`...)
	dst = appendJSONInt(dst, int64(t))
	dst = append(dst, `,"data":{"requestId":`...)
	dst = notepack.AppendJSONString(dst, requestID)
	if len(packet) > 0 {
		dst = append(dst, `,"packet":`...)
		var err error
		if dst, _, err = notepack.AppendToJSON(dst, packet, nil); err != nil {
			return dst[:n], err
		}
	}
	dst = append(dst, '}')
	return appendShardedTailJSON(dst, uid, nsp), nil
}

// AppendShardedFetchResponse appends FETCH_SOCKETS_RESPONSE (8):
// {"type":8,"data":{"requestId","sockets":[...]},"uid","nsp"}, each socket
// already encoded as JSON (see AppendFetchedSocket).
func AppendShardedFetchResponse(dst []byte, uid, nsp, requestID string, sockets [][]byte) []byte {
	dst = append(dst, `{"type":8,"data":{"requestId":`...)
	dst = notepack.AppendJSONString(dst, requestID)
	dst = append(dst, `,"sockets":[`...)
	for i, s := range sockets {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, s...)
	}
	dst = append(dst, "]}"...)
	return appendShardedTailJSON(dst, uid, nsp)
}
