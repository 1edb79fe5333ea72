package adapter

import (
	"fmt"
	"strconv"

	"github.com/siorelay/siorelay/internal/notepack"
)

// RequestType is the "type" of a classic adapter request or response.
type RequestType int

// The classic adapter's request types (@socket.io/redis-adapter 8.3.0).
const (
	Sockets              RequestType = 0
	AllRooms             RequestType = 1
	RemoteJoin           RequestType = 2
	RemoteLeave          RequestType = 3
	RemoteDisconnect     RequestType = 4
	RemoteFetch          RequestType = 5
	ServerSideEmit       RequestType = 6
	BroadcastWithAck     RequestType = 7
	BroadcastClientCount RequestType = 8
	BroadcastAck         RequestType = 9
)

// EmitterUID is the uid the Node emitter puts in its messages.
const EmitterUID = "emitter"

// EventPacket is the Socket.IO packet type of every adapter broadcast (2,
// EVENT, even when the data holds binary: receivers re-encode it).
const EventPacket = 2

// Opts are a broadcast's targets and flags. Rooms and Except are sets in
// Node: keep them free of duplicates (see [Dedup]).
type Opts struct {
	Rooms  []string
	Except []string
	Flags  Flags
}

// Dedup returns s without repeated elements, keeping first occurrences in
// order, as a JavaScript Set built from s would iterate. It returns s
// itself when there is nothing to remove.
func Dedup(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := 0; j < i; j++ {
			if s[i] == s[j] {
				return dedupSlow(s)
			}
		}
	}
	return s
}

func dedupSlow(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := make([]string, 0, len(s))
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// AppendEventData appends the msgpack array [event, ...args], the "data" of
// an EVENT packet. Args are encoded by notepack.AppendValue.
func AppendEventData(dst []byte, event string, args []any) ([]byte, error) {
	return appendEventData(dst, notepack.Notepack, event, args)
}

func appendEventData(dst []byte, d notepack.Dialect, event string, args []any) ([]byte, error) {
	n := len(dst)
	dst = notepack.AppendArrayHeader(dst, 1+len(args))
	dst = notepack.AppendString(dst, event)
	var err error
	for i, a := range args {
		if dst, err = d.AppendValue(dst, a); err != nil {
			return dst[:n], fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return dst, nil
}

// AppendArgsData appends the msgpack array [...args], the data of a
// server-side emit or an ack, from values.
func AppendArgsData(dst []byte, args []any) ([]byte, error) {
	n := len(dst)
	dst = notepack.AppendArrayHeader(dst, len(args))
	var err error
	for i, a := range args {
		if dst, err = notepack.AppendValue(dst, a); err != nil {
			return dst[:n], fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return dst, nil
}

func appendStringArray(dst []byte, s []string) []byte {
	dst = notepack.AppendArrayHeader(dst, len(s))
	for _, x := range s {
		dst = notepack.AppendString(dst, x)
	}
	return dst
}

// appendPacket writes {type, data, nsp} with data already encoded.
func appendPacket(dst []byte, nsp string, data []byte) []byte {
	dst = append(dst, 0x83, 0xa4, 't', 'y', 'p', 'e', EventPacket, 0xa4, 'd', 'a', 't', 'a')
	if len(data) == 0 {
		dst = notepack.AppendNil(dst)
	} else {
		dst = append(dst, data...)
	}
	dst = append(dst, 0xa3, 'n', 's', 'p')
	return notepack.AppendString(dst, nsp)
}

// AppendEmitterBroadcast appends the message @socket.io/redis-emitter
// publishes for emit(event, ...args):
// ["emitter", {type: 2, data: [event, ...args], nsp}, {rooms, flags, except}].
// Publish it on BroadcastChannel(key, nsp, opts.Rooms).
func AppendEmitterBroadcast(dst []byte, nsp string, opts Opts, event string, args []any) ([]byte, error) {
	n := len(dst)
	dst = append(dst, 0x93, 0xa7, 'e', 'm', 'i', 't', 't', 'e', 'r')
	dst = append(dst, 0x83, 0xa4, 't', 'y', 'p', 'e', EventPacket, 0xa4, 'd', 'a', 't', 'a')
	var err error
	if dst, err = AppendEventData(dst, event, args); err != nil {
		return dst[:n], err
	}
	dst = append(dst, 0xa3, 'n', 's', 'p')
	dst = notepack.AppendString(dst, nsp)
	dst = append(dst, 0x83, 0xa5, 'r', 'o', 'o', 'm', 's')
	dst = appendStringArray(dst, opts.Rooms)
	dst = append(dst, 0xa5, 'f', 'l', 'a', 'g', 's')
	dst = opts.Flags.appendMsgpack(dst)
	dst = append(dst, 0xa6, 'e', 'x', 'c', 'e', 'p', 't')
	return appendStringArray(dst, opts.Except), nil
}

// AppendBroadcast appends the message a classic adapter publishes for a
// broadcast: [uid, {type: 2, data, nsp}, {rooms, except, flags}], data being
// the already encoded msgpack array [event, ...args] (empty data is
// written as nil).
func AppendBroadcast(dst []byte, uid, nsp string, data []byte, opts Opts) []byte {
	dst = append(dst, 0x93)
	dst = notepack.AppendString(dst, uid)
	dst = appendPacket(dst, nsp, data)
	return appendOptsMsgpack(dst, opts)
}

func appendOptsMsgpack(dst []byte, opts Opts) []byte {
	dst = append(dst, 0x83, 0xa5, 'r', 'o', 'o', 'm', 's')
	dst = appendStringArray(dst, opts.Rooms)
	dst = append(dst, 0xa6, 'e', 'x', 'c', 'e', 'p', 't')
	dst = appendStringArray(dst, opts.Except)
	dst = append(dst, 0xa5, 'f', 'l', 'a', 'g', 's')
	return opts.Flags.appendMsgpack(dst)
}

// AppendBroadcastWithAck appends a classic BROADCAST (7) request, which is
// msgpack: {uid, requestId, type: 7, packet: {type, data, nsp}, opts}.
// Publish it on the request channel.
func AppendBroadcastWithAck(dst []byte, uid, requestID, nsp string, data []byte, opts Opts) []byte {
	dst = append(dst, 0x85, 0xa3, 'u', 'i', 'd')
	dst = notepack.AppendString(dst, uid)
	dst = append(dst, 0xa9, 'r', 'e', 'q', 'u', 'e', 's', 't', 'I', 'd')
	dst = notepack.AppendString(dst, requestID)
	dst = append(dst, 0xa4, 't', 'y', 'p', 'e', byte(BroadcastWithAck))
	dst = append(dst, 0xa6, 'p', 'a', 'c', 'k', 'e', 't')
	dst = appendPacket(dst, nsp, data)
	dst = append(dst, 0xa4, 'o', 'p', 't', 's')
	return appendOptsMsgpack(dst, opts)
}

// AppendBroadcastAck appends a classic BROADCAST_ACK (9) response, msgpack
// {type: 9, requestId, packet}, packet being the encoded first ack argument.
func AppendBroadcastAck(dst []byte, requestID string, packet []byte) []byte {
	dst = append(dst, 0x83, 0xa4, 't', 'y', 'p', 'e', byte(BroadcastAck))
	dst = append(dst, 0xa9, 'r', 'e', 'q', 'u', 'e', 's', 't', 'I', 'd')
	dst = notepack.AppendString(dst, requestID)
	dst = append(dst, 0xa6, 'p', 'a', 'c', 'k', 'e', 't')
	return append(dst, packet...)
}

// --- JSON requests ---

func appendJSONBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

func appendJSONInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

func appendJSONStrings(dst []byte, s []string) []byte {
	dst = append(dst, '[')
	for i, x := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = notepack.AppendJSONString(dst, x)
	}
	return append(dst, ']')
}

// appendRequestHead writes `{["uid":<uid>,]["requestId":<id>,]"type":<t>`.
func appendRequestHead(dst []byte, uid, requestID string, t RequestType) []byte {
	dst = append(dst, '{')
	if uid != "" {
		dst = append(dst, `"uid":`...)
		dst = notepack.AppendJSONString(dst, uid)
		dst = append(dst, ',')
	}
	if requestID != "" {
		dst = append(dst, `"requestId":`...)
		dst = notepack.AppendJSONString(dst, requestID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"type":`...)
	return appendJSONInt(dst, int64(t))
}

func appendOptsJSON(dst []byte, opts Opts, withFlags bool) []byte {
	dst = append(dst, `{"rooms":`...)
	dst = appendJSONStrings(dst, opts.Rooms)
	dst = append(dst, `,"except":`...)
	dst = appendJSONStrings(dst, opts.Except)
	if withFlags {
		dst = append(dst, `,"flags":`...)
		dst = opts.Flags.appendJSON(dst)
	}
	return append(dst, '}')
}

// AppendSocketsRequest appends a REMOTE_JOIN or REMOTE_LEAVE request:
// {"uid","type","opts":{"rooms","except"},"rooms"}. The emitter sends it
// without uid (pass ""); an adapter sends its own uid.
func AppendSocketsRequest(dst []byte, uid string, t RequestType, opts Opts, rooms []string) []byte {
	dst = appendRequestHead(dst, uid, "", t)
	dst = append(dst, `,"opts":`...)
	dst = appendOptsJSON(dst, opts, false)
	dst = append(dst, `,"rooms":`...)
	dst = appendJSONStrings(dst, rooms)
	return append(dst, '}')
}

// AppendDisconnectRequest appends a REMOTE_DISCONNECT request:
// {"uid","type":4,"opts":{"rooms","except"},"close"} (uid omitted when "").
func AppendDisconnectRequest(dst []byte, uid string, opts Opts, close bool) []byte {
	dst = appendRequestHead(dst, uid, "", RemoteDisconnect)
	dst = append(dst, `,"opts":`...)
	dst = appendOptsJSON(dst, opts, false)
	dst = append(dst, `,"close":`...)
	dst = appendJSONBool(dst, close)
	return append(dst, '}')
}

// AppendServerSideEmitRequest appends a SERVER_SIDE_EMIT request
// {"uid","requestId","type":6,"data":<dataJSON>} (requestId omitted when "",
// that is without ack). dataJSON is the JSON array [event, ...args].
func AppendServerSideEmitRequest(dst []byte, uid, requestID string, dataJSON []byte) []byte {
	dst = appendRequestHead(dst, uid, requestID, ServerSideEmit)
	dst = append(dst, `,"data":`...)
	dst = append(dst, dataJSON...)
	return append(dst, '}')
}
