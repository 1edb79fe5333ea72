package adapter

import "github.com/siorelay/siorelay/internal/notepack"

// The ClusterAdapter messages (socket.io-adapter 2.5.8) as msgpack maps
// {type, data, uid, nsp}, in the key order Node writes them. The sharded
// adapter writes them when a message holds binary; the streams adapter
// writes every pub/sub message this way.

// appendClusterHead writes the map header, type and the "data" key.
func appendClusterHead(dst []byte, t MessageType) []byte {
	return append(dst, 0x84, 0xa4, 't', 'y', 'p', 'e', byte(t), 0xa4, 'd', 'a', 't', 'a')
}

// appendClusterTail writes the uid and nsp keys that ClusterAdapter adds
// after type and data.
func appendClusterTail(dst []byte, uid, nsp string) []byte {
	dst = append(dst, 0xa3, 'u', 'i', 'd')
	dst = notepack.AppendString(dst, uid)
	dst = append(dst, 0xa3, 'n', 's', 'p')
	return notepack.AppendString(dst, nsp)
}

func appendRequestIDKey(dst []byte, requestID string) []byte {
	dst = append(dst, 0xa9, 'r', 'e', 'q', 'u', 'e', 's', 't', 'I', 'd')
	return notepack.AppendString(dst, requestID)
}

// appendBroadcastMsgpack writes BROADCAST (3): data {packet: {type: 2,
// data}, [requestId,] opts}; data is the msgpack array [event, ...args].
func appendBroadcastMsgpack(dst []byte, uid, nsp string, data []byte, opts Opts, requestID string) []byte {
	dst = appendClusterHead(dst, ShardedBroadcast)
	if requestID != "" {
		dst = append(dst, 0x83)
	} else {
		dst = append(dst, 0x82)
	}
	dst = append(dst, 0xa6, 'p', 'a', 'c', 'k', 'e', 't', 0x82, 0xa4, 't', 'y', 'p', 'e', EventPacket, 0xa4, 'd', 'a', 't', 'a')
	dst = appendRawOrNil(dst, data)
	if requestID != "" {
		dst = appendRequestIDKey(dst, requestID)
	}
	dst = append(dst, 0xa4, 'o', 'p', 't', 's')
	dst = appendOptsMsgpack(dst, opts)
	return appendClusterTail(dst, uid, nsp)
}

// appendServerSideEmitMsgpack writes SERVER_SIDE_EMIT (9): data
// {[requestId,] packet: [event, ...args]}.
func appendServerSideEmitMsgpack(dst []byte, uid, nsp string, data []byte, requestID string) []byte {
	dst = appendClusterHead(dst, ShardedServerSideEmit)
	if requestID != "" {
		dst = appendRequestIDKey(append(dst, 0x82), requestID)
	} else {
		dst = append(dst, 0x81)
	}
	dst = append(dst, 0xa6, 'p', 'a', 'c', 'k', 'e', 't')
	dst = appendRawOrNil(dst, data)
	return appendClusterTail(dst, uid, nsp)
}

// appendPacketResponseMsgpack writes SERVER_SIDE_EMIT_RESPONSE (10) or
// BROADCAST_ACK (12): data {requestId, packet}; an empty packet is the
// msgpack nil @msgpack/msgpack writes for undefined.
func appendPacketResponseMsgpack(dst []byte, uid, nsp string, t MessageType, requestID string, packet []byte) []byte {
	dst = appendRequestIDKey(append(appendClusterHead(dst, t), 0x82), requestID)
	dst = append(dst, 0xa6, 'p', 'a', 'c', 'k', 'e', 't')
	dst = appendRawOrNil(dst, packet)
	return appendClusterTail(dst, uid, nsp)
}

// appendRawOrNil appends an encoded value, or nil (undefined) when empty.
func appendRawOrNil(dst, v []byte) []byte {
	if len(v) == 0 {
		return notepack.AppendNil(dst)
	}
	return append(dst, v...)
}
