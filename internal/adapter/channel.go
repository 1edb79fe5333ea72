package adapter

import "unicode/utf16"

// DefaultKey is the channel prefix both adapters and the emitter use unless
// configured otherwise (`key` in the classic adapter and the emitter,
// `channelPrefix` in the sharded adapter).
const DefaultKey = "socket.io"

// BroadcastChannel is the classic channel a broadcast to rooms is published
// on: <key>#<nsp># in general, and <key>#<nsp>#<room># when exactly one room
// is targeted (receivers subscribe to both with the pattern <key>#<nsp>#*).
func BroadcastChannel(key, nsp string, rooms []string) string {
	if len(rooms) == 1 {
		return key + "#" + nsp + "#" + rooms[0] + "#"
	}
	return key + "#" + nsp + "#"
}

// BroadcastPattern is the PSUBSCRIBE pattern of a classic adapter.
func BroadcastPattern(key, nsp string) string { return key + "#" + nsp + "#*" }

// RequestChannel is where classic requests (joins, fetches, server-side
// emits, ack broadcasts) are published.
func RequestChannel(key, nsp string) string { return key + "-request#" + nsp + "#" }

// ResponseChannel is the shared channel of classic responses.
func ResponseChannel(key, nsp string) string { return key + "-response#" + nsp + "#" }

// SpecificResponseChannel is the response channel of one classic server.
func SpecificResponseChannel(key, nsp, uid string) string {
	return key + "-response#" + nsp + "#" + uid + "#"
}

// SubscriptionMode is the sharded adapter's subscriptionMode option.
type SubscriptionMode string

// The sharded adapter's subscription modes.
const (
	// Dynamic (the default) gives each public room its own channel; rooms
	// that look like socket ids go through the namespace channel.
	Dynamic SubscriptionMode = "dynamic"
	// DynamicPrivate gives every room its own channel, socket ids included.
	DynamicPrivate SubscriptionMode = "dynamic-private"
	// Static sends everything through the namespace channel.
	Static SubscriptionMode = "static"
)

// Valid reports whether m is one of the three modes.
func (m SubscriptionMode) Valid() bool {
	return m == Dynamic || m == DynamicPrivate || m == Static
}

// ShardedChannel is the sharded adapter's namespace channel, <prefix>#<nsp>#.
func ShardedChannel(prefix, nsp string) string { return prefix + "#" + nsp + "#" }

// ShardedRoomChannel is the channel of one room in the dynamic modes, and
// also the shape of a server's response channel (the room being its uid).
func ShardedRoomChannel(prefix, nsp, room string) string {
	return prefix + "#" + nsp + "#" + room + "#"
}

// ShardedBroadcastChannel is where a sharded BROADCAST goes, as the Node
// adapter's computeChannel decides: the room's own channel for a broadcast
// without ack to exactly one room, when the mode is dynamic-private, or
// dynamic and the room does not look like a socket id; the namespace
// channel otherwise.
func ShardedBroadcastChannel(prefix, nsp string, rooms []string, mode SubscriptionMode, withAck bool) string {
	if !withAck && len(rooms) == 1 &&
		(mode == Dynamic && !LooksLikeSocketID(rooms[0]) || mode == DynamicPrivate) {
		return ShardedRoomChannel(prefix, nsp, rooms[0])
	}
	return ShardedChannel(prefix, nsp)
}

// LooksLikeSocketID is the sharded adapter's test for a private room: a
// JavaScript string length (UTF-16 code units) of exactly 20.
func LooksLikeSocketID(room string) bool {
	n := 0
	for _, r := range room {
		n += utf16.RuneLen(r)
		if n > 20 {
			return false
		}
	}
	return n == 20
}
