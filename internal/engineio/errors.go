package engineio

import (
	"errors"
	"strconv"

	"github.com/siorelay/siorelay/internal/jsjson"
)

// ErrInvalidPacket is returned by [DecodePacket] and [DecodePayload] for input
// that engine.io-parser 5.2.3 decodes as its "error" packet ({type: "error",
// data: "parser error"}): an empty packet or a first character that is not a
// packet type ('0'..'6') or 'b'. engine.io closes the session with reason
// "parse error" when it sees one.
var ErrInvalidPacket = errors.New("engineio: parser error")

// ErrorCode is an engine.io server error code, sent to clients as the JSON
// body {"code":N,"message":"..."} of a failed polling request (see
// [AppendErrorJSON]) and, as its [ErrorCode.Message] alone, as the body of a
// rejected WebSocket upgrade.
type ErrorCode int

// The engine.io 6.6.12 error codes (Server.errors in build/server.js).
const (
	TransportUnknown           ErrorCode = 0
	UnknownSID                 ErrorCode = 1 // "Session ID unknown"
	BadHandshakeMethod         ErrorCode = 2
	BadRequest                 ErrorCode = 3
	Forbidden                  ErrorCode = 4
	UnsupportedProtocolVersion ErrorCode = 5
)

var errorMessages = [...]string{
	TransportUnknown:           "Transport unknown",
	UnknownSID:                 "Session ID unknown",
	BadHandshakeMethod:         "Bad handshake method",
	BadRequest:                 "Bad request",
	Forbidden:                  "Forbidden",
	UnsupportedProtocolVersion: "Unsupported protocol version",
}

// Message returns engine.io's default message for c, e.g. "Transport unknown".
// Unknown codes yield "Unknown error code N".
func (c ErrorCode) Message() string {
	if c >= 0 && int(c) < len(errorMessages) {
		return errorMessages[c]
	}
	return "Unknown error code " + strconv.Itoa(int(c))
}

// String implements fmt.Stringer; it is the same as Message.
func (c ErrorCode) String() string { return c.Message() }

// HTTPStatus returns the HTTP status engine.io uses for c on a polling
// request: 403 for Forbidden, 400 otherwise. (A rejected WebSocket upgrade is
// always answered 400, whatever the code.)
func (c ErrorCode) HTTPStatus() int {
	if c == Forbidden {
		return 403
	}
	return 400
}

// AppendErrorJSON appends engine.io's polling error body
// {"code":N,"message":"..."} (Content-Type application/json). An empty msg
// means c.Message(), as in engine.io's abortRequest; msg is escaped like
// JSON.stringify does.
func AppendErrorJSON(dst []byte, c ErrorCode, msg string) []byte {
	if msg == "" {
		msg = c.Message()
	}
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(c), 10)
	dst = append(dst, `,"message":`...)
	dst = jsjson.AppendString(dst, msg)
	return append(dst, '}')
}
