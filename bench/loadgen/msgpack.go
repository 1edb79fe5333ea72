package main

// This file encodes the one message the load generator publishes: a broadcast
// in the @socket.io/redis-emitter 5.1.0 format (wire-format.md §4, vector V1),
//
//	["emitter", {type: 2, data: [event, ...args], nsp}, {rooms, flags: {}, except: []}]
//
// with string arguments only. It is a few lines of msgpack, written here so the
// benchmark does not depend on the packages it measures.

// appendStr appends a msgpack str in the smallest form, as notepack does.
func appendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 1<<8:
		b = append(b, 0xd9, byte(n))
	case n < 1<<16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}

// appendArrayHeader appends a msgpack array header for n elements.
func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n < 1<<16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	default:
		return append(b, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// broadcastChannel returns the Redis channel the emitter publishes on:
// "<key>#<nsp>#" for all sockets, "<key>#<nsp>#<room>#" for exactly one room.
func broadcastChannel(key, nsp, room string) string {
	if room == "" {
		return key + "#" + nsp + "#"
	}
	return key + "#" + nsp + "#" + room + "#"
}

// appendEmitterMessage appends the msgpack emitter message for event with
// string args to namespace nsp, addressed to room ("" = all sockets).
func appendEmitterMessage(b []byte, nsp, room, event string, args ...string) []byte {
	b = append(b, 0x93)
	b = appendStr(b, "emitter")
	b = append(b, 0x83)
	b = appendStr(b, "type")
	b = append(b, 0x02)
	b = appendStr(b, "data")
	b = appendArrayHeader(b, 1+len(args))
	b = appendStr(b, event)
	for _, a := range args {
		b = appendStr(b, a)
	}
	b = appendStr(b, "nsp")
	b = appendStr(b, nsp)
	b = append(b, 0x83)
	b = appendStr(b, "rooms")
	if room == "" {
		b = append(b, 0x90)
	} else {
		b = append(b, 0x91)
		b = appendStr(b, room)
	}
	b = appendStr(b, "flags")
	b = append(b, 0x80)
	b = appendStr(b, "except")
	return append(b, 0x90)
}
