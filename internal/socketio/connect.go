package socketio

// AppendConnect appends the server's CONNECT reply for a socket that joined
// namespace nsp: 0[<nsp>,]{"sid":"<sid>"}, or with connection state recovery
// (pid not empty) 0[<nsp>,]{"sid":"<sid>","pid":"<pid>"}, as socket.io 4.8.4
// writes it.
func AppendConnect(dst []byte, nsp, sid, pid string) []byte {
	dst = append(dst, '0'+byte(Connect))
	dst = appendNamespace(dst, nsp)
	dst = append(dst, `{"sid":`...)
	dst = AppendJSONString(dst, sid)
	if pid != "" {
		dst = append(dst, `,"pid":`...)
		dst = AppendJSONString(dst, pid)
	}
	return append(dst, '}')
}

// AppendConnectError appends a CONNECT_ERROR packet:
// 4[<nsp>,]{"message":"<message>"} or, when data is not nil,
// 4[<nsp>,]{"message":"<message>","data":<data>} with data written verbatim
// (JSON text), e.g. 44/nope,{"message":"Invalid namespace"} (the "4" prefix
// there being Engine.IO's). Node omits "data" when err.data is undefined.
func AppendConnectError(dst []byte, nsp, message string, data []byte) []byte {
	dst = append(dst, '0'+byte(ConnectError))
	dst = appendNamespace(dst, nsp)
	dst = append(dst, `{"message":`...)
	dst = AppendJSONString(dst, message)
	if data != nil {
		dst = append(dst, `,"data":`...)
		dst = append(dst, data...)
	}
	return append(dst, '}')
}

// AppendDisconnect appends a DISCONNECT packet: 1[<nsp>,].
func AppendDisconnect(dst []byte, nsp string) []byte {
	dst = append(dst, '0'+byte(Disconnect))
	return appendNamespace(dst, nsp)
}
