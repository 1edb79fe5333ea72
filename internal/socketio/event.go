package socketio

import (
	"strconv"

	"github.com/siorelay/siorelay/internal/jsjson"
)

// EventName splits the JSON payload of an EVENT (or BINARY_EVENT) packet,
// `[name, args...]`, without unmarshalling it.
//
// name is the event name: for a string the unescaped text (a sub-slice of
// data when it has no escapes, a new slice otherwise); for a numeric name
// (which socket.io accepts) the number literal as written, e.g. "42" (JS
// would use String(Number(lit)), which differs only for forms like 1.0 or
// 1e2). args is the text of the remaining elements, comma-separated, without
// the enclosing brackets and trimmed of white space (nil when there are none),
// so `["msg",1,{"a":2}]` gives "msg" and `1,{"a":2}`.
//
// data must be valid JSON, as Decoder.Add guarantees for the packets it
// returns; otherwise the result is unspecified (but EventName does not
// panic). ErrInvalidPayload is returned when data is not an array starting
// with a string or a number.
func EventName(data []byte) (name, args []byte, err error) {
	i := jsjson.SkipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, nil, ErrInvalidPayload
	}
	i = jsjson.SkipSpace(data, i+1)
	if i >= len(data) {
		return nil, nil, ErrInvalidPayload
	}
	end := jsjson.SkipValue(data, i)
	switch c := data[i]; {
	case c == '"':
		name = unquote(data[i:end])
	case c == '-' || c >= '0' && c <= '9':
		name = data[i:end]
	default:
		return nil, nil, ErrInvalidPayload
	}
	i = jsjson.SkipSpace(data, end)
	if i >= len(data) || data[i] != ',' {
		return name, nil, nil
	}
	// The last non-space byte is the closing ']'.
	j := len(data)
	for j > i && jsjson.IsSpace(data[j-1]) {
		j--
	}
	j-- // ']'
	if j <= i {
		return name, nil, nil
	}
	args = data[jsjson.SkipSpace(data, i+1):j]
	for len(args) > 0 && jsjson.IsSpace(args[len(args)-1]) {
		args = args[:len(args)-1]
	}
	if len(args) == 0 {
		args = nil
	}
	return name, args, nil
}

// AppendEventData appends the JSON payload of an EVENT packet,
// ["<event>",arg1,arg2,...], exactly as JSON.stringify([event, ...args])
// writes it when each arg is JSON.stringify's output for that argument. The
// event name is escaped like JSON.stringify; args are written verbatim.
func AppendEventData(dst []byte, event string, args ...[]byte) []byte {
	dst = append(dst, '[')
	dst = AppendJSONString(dst, event)
	for _, a := range args {
		dst = append(dst, ',')
		dst = append(dst, a...)
	}
	return append(dst, ']')
}

// AppendEvent appends a complete EVENT packet without ack id:
// 2[<nsp>,]["<event>",args...]. See AppendEventData for the payload.
func AppendEvent(dst []byte, nsp, event string, args ...[]byte) []byte {
	dst = append(dst, '0'+byte(Event))
	dst = appendNamespace(dst, nsp)
	return AppendEventData(dst, event, args...)
}

// AppendEventWithAck appends a complete EVENT packet that requests an
// acknowledgement with the given id: 2[<nsp>,]<id>["<event>",args...].
func AppendEventWithAck(dst []byte, nsp string, id int64, event string, args ...[]byte) []byte {
	dst = append(dst, '0'+byte(Event))
	dst = appendNamespace(dst, nsp)
	dst = strconv.AppendInt(dst, id, 10)
	return AppendEventData(dst, event, args...)
}

// AppendAck appends a complete ACK packet: 3[<nsp>,]<id>[args...], each arg
// one JSON value written verbatim.
func AppendAck(dst []byte, nsp string, id int64, args ...[]byte) []byte {
	dst = append(dst, '0'+byte(Ack))
	dst = appendNamespace(dst, nsp)
	dst = strconv.AppendInt(dst, id, 10)
	dst = append(dst, '[')
	for i, a := range args {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, a...)
	}
	return append(dst, ']')
}

// SplitArray appends to dst the elements of the JSON array text array, each
// a sub-slice of array without surrounding white space, and returns the
// extended slice: `[1, "a" ,{"b":2}]` gives `1`, `"a"`, `{"b":2}`. It is an
// allocation-free alternative to unmarshalling into []json.RawMessage, for
// example for an ACK payload.
//
// array must be valid JSON (as Decoder.Add guarantees for packet payloads);
// ErrInvalidPayload is returned if it does not start with '['. On other
// invalid input the result is unspecified, but SplitArray does not panic.
func SplitArray(dst [][]byte, array []byte) ([][]byte, error) {
	i := jsjson.SkipSpace(array, 0)
	if i >= len(array) || array[i] != '[' {
		return dst, ErrInvalidPayload
	}
	i = jsjson.SkipSpace(array, i+1)
	if i < len(array) && array[i] == ']' {
		return dst, nil
	}
	return splitValues(dst, array, i), nil
}

// SplitList is SplitArray for a comma-separated list of JSON values without
// brackets, such as the args returned by EventName. An empty (or
// all-white-space) list appends nothing.
func SplitList(dst [][]byte, list []byte) [][]byte {
	i := jsjson.SkipSpace(list, 0)
	if i >= len(list) {
		return dst
	}
	return splitValues(dst, list, i)
}

func splitValues(dst [][]byte, b []byte, i int) [][]byte {
	for i < len(b) {
		end := jsjson.SkipValue(b, i)
		if end <= i {
			break // not a value: invalid input
		}
		dst = append(dst, b[i:end])
		i = jsjson.SkipSpace(b, end)
		if i >= len(b) || b[i] != ',' {
			break
		}
		i = jsjson.SkipSpace(b, i+1)
	}
	return dst
}
