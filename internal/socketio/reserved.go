package socketio

// IsReserved reports whether name is one of the event names socket.io
// reserves (socket.io-parser RESERVED_EVENTS): "connect", "connect_error",
// "disconnect", "disconnecting", "newListener" and "removeListener". Emitting
// one throws in Node; receiving one in an EVENT packet is an invalid payload.
func IsReserved(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

func isReservedBytes(name []byte) bool { return IsReserved(string(name)) }
