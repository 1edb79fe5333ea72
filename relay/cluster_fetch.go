package relay

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/notepack"
)

// appendFetchedSocket appends a socket as a REMOTE_FETCH answer lists it:
// {id, handshake, rooms, data}, the handshake shaped like socket.io's
// (headers, time, address, xdomain, secure, issued, url, query, auth).
func appendFetchedSocket(dst []byte, sk *Socket) []byte {
	return adapter.AppendFetchedSocket(dst, sk.id, appendHandshakeJSON(nil, sk), sk.Rooms(), socketDataJSON(sk))
}

// socketDataJSON is socket.data as JSON; socket.io starts it as {}.
func socketDataJSON(sk *Socket) json.RawMessage { return socketDataJSONOf(sk.Data()) }

// socketDataJSONOf is socketDataJSON of a socket's data v.
func socketDataJSONOf(v any) json.RawMessage {
	switch d := v.(type) {
	case nil:
		return json.RawMessage("{}")
	case json.RawMessage:
		return d
	default:
		js, err := json.Marshal(d)
		if err != nil {
			return json.RawMessage("{}")
		}
		return js
	}
}

// appendHandshakeJSON appends socket.handshake as JSON.stringify writes it.
// Header names are lower case (Node's IncomingMessage.headers) and repeated
// headers are joined with ", "; header and query keys are sorted, as the
// relay does not keep their order.
func appendHandshakeJSON(dst []byte, sk *Socket) []byte {
	h := sk.Handshake()
	dst = append(dst, `{"headers":{`...)
	type name struct{ lower, key string }
	keys := make([]name, 0, len(h.Header))
	for k := range h.Header {
		keys = append(keys, name{strings.ToLower(k), k})
	}
	slices.SortFunc(keys, func(a, b name) int { return cmp.Or(strings.Compare(a.lower, b.lower), strings.Compare(a.key, b.key)) })
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = notepack.AppendJSONString(dst, k.lower)
		dst = append(dst, ':')
		vs := h.Header[k.key]
		if k.lower == "set-cookie" {
			dst = appendJSONStrings(dst, vs)
		} else {
			dst = notepack.AppendJSONString(dst, strings.Join(vs, ", "))
		}
	}
	dst = append(dst, `},"time":`...)
	dst = notepack.AppendJSONString(dst, jsDateString(h.Time))
	dst = append(dst, `,"address":`...)
	addr := h.Address
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	dst = notepack.AppendJSONString(dst, addr)
	dst = append(dst, `,"xdomain":`...)
	dst = strconv.AppendBool(dst, h.XDomain)
	dst = append(dst, `,"secure":`...)
	dst = strconv.AppendBool(dst, h.Secure)
	dst = append(dst, `,"issued":`...)
	dst = strconv.AppendInt(dst, h.Time.UnixMilli(), 10)
	dst = append(dst, `,"url":`...)
	dst = notepack.AppendJSONString(dst, h.URL)
	dst = append(dst, `,"query":`...)
	dst = appendQueryJSON(dst, h.Query)
	dst = append(dst, `,"auth":`...)
	if len(sk.auth) > 0 && json.Valid(sk.auth) {
		dst = append(dst, bytes.TrimSpace(sk.auth)...)
	} else {
		dst = append(dst, "{}"...)
	}
	return append(dst, '}')
}

func appendJSONStrings(dst []byte, vs []string) []byte {
	dst = append(dst, '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = notepack.AppendJSONString(dst, v)
	}
	return append(dst, ']')
}

// appendQueryJSON writes a query as Node's querystring.parse result: a
// repeated key becomes an array.
func appendQueryJSON(dst []byte, q url.Values) []byte {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = notepack.AppendJSONString(dst, k)
		dst = append(dst, ':')
		if vs := q[k]; len(vs) == 1 {
			dst = notepack.AppendJSONString(dst, vs[0])
		} else {
			dst = appendJSONStrings(dst, vs)
		}
	}
	return append(dst, '}')
}

// jsDateString formats t as JavaScript's String(new Date()) does, e.g.
// "Wed Nov 25 2026 18:45:02 GMT+0000 (Coordinated Universal Time)".
func jsDateString(t time.Time) string {
	name, off := t.Zone()
	if off == 0 && (name == "UTC" || name == "") {
		name = "Coordinated Universal Time"
	}
	return t.Format("Mon Jan 02 2006 15:04:05 ") + "GMT" + t.Format("-0700") + " (" + name + ")"
}

// notepackToJSON transcodes adapter msgpack to Socket.IO JSON text, binary
// becoming placeholders for *bins.
func notepackToJSON(src []byte, bins *[][]byte) ([]byte, int, error) {
	return notepack.AppendToJSON(nil, src, bins)
}

// jsonToNotepack encodes Socket.IO JSON text (placeholders standing for
// atts) as the msgpack the Redis adapter publishes, binary as msgpack bin.
func jsonToNotepack(dst, js []byte, atts [][]byte) ([]byte, error) {
	return jsonToMsgpack(notepack.Notepack, dst, js, atts)
}

// jsonToMsgpack is jsonToNotepack in dialect d.
func jsonToMsgpack(d notepack.Dialect, dst, js []byte, atts [][]byte) ([]byte, error) {
	if len(js) == 0 {
		return notepack.AppendNil(dst), nil
	}
	if len(atts) == 0 {
		return d.AppendJSON(dst, js)
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		return dst, err
	}
	return d.AppendValue(dst, fillPlaceholders(v, atts))
}

// fillPlaceholders replaces {"_placeholder":true,"num":N} by atts[N].
func fillPlaceholders(v any, atts [][]byte) any {
	switch x := v.(type) {
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph {
			if n, ok := x["num"].(float64); ok && n >= 0 && int(n) < len(atts) && n == float64(int(n)) {
				return atts[int(n)]
			}
		}
		for k, e := range x {
			x[k] = fillPlaceholders(e, atts)
		}
	case []any:
		for i, e := range x {
			x[i] = fillPlaceholders(e, atts)
		}
	}
	return v
}
