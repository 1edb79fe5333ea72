package hooks

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/socketio"
	"github.com/siorelay/siorelay/relay"
)

// connectRequest describes h for the backend.
func connectRequest(h *relay.Handshake, data string) *siorelayv1.ConnectRequest {
	return &siorelayv1.ConnectRequest{
		SocketId:  h.SocketID,
		Namespace: h.Namespace,
		Auth:      string(h.Auth),
		Headers:   headerMap(h.Header),
		Query:     queryMap(h),
		Address:   h.Address,
		Transport: h.Query.Get("transport"),
		Secure:    h.Secure,
		Data:      data,
		Recovered: h.Recovered,
	}
}

// headerMap lowers header names and joins repeated values with ", ", as
// Node's req.headers.
func headerMap(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, v := range h {
		m[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return m
}

func queryMap(h *relay.Handshake) map[string]string {
	m := make(map[string]string, len(h.Query))
	for k, v := range h.Query {
		if len(v) > 0 {
			m[k] = v[0]
		}
	}
	return m
}

// eventArgs converts a client event's arguments: a whole binary argument
// (a top-level placeholder) becomes a binary Arg, everything else a JSON
// Arg. The attachments are passed along (all of them, in order, so that
// placeholders keep their numbers) only when some binary is nested.
func eventArgs(ev relay.Event) ([]*siorelayv1.Arg, [][]byte) {
	args := make([]*siorelayv1.Arg, len(ev.Args))
	nested := false
	for i, a := range ev.Args {
		if len(ev.Attachments) > 0 && bytes.Contains(a, []byte(`"_placeholder"`)) {
			if n, ok := placeholder(a, len(ev.Attachments)); ok {
				args[i] = &siorelayv1.Arg{Value: &siorelayv1.Arg_Binary{Binary: ev.Attachments[n]}}
				continue
			}
			nested = true
		}
		args[i] = &siorelayv1.Arg{Value: &siorelayv1.Arg_Json{Json: string(a)}}
	}
	if nested {
		return args, ev.Attachments
	}
	return args, nil
}

// placeholder reports whether a is exactly {"_placeholder":true,"num":N}
// with 0 <= N < n, and returns N.
func placeholder(a json.RawMessage, n int) (int, bool) {
	a = bytes.TrimSpace(a)
	if len(a) == 0 || a[0] != '{' {
		return 0, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(a, &m) != nil || len(m) != 2 || string(m["_placeholder"]) != "true" {
		return 0, false
	}
	var num int
	if json.Unmarshal(m["num"], &num) != nil || num < 0 || num >= n {
		return 0, false
	}
	return num, true
}

// dataText is the socket's data as the JSON text sent to the backend.
func dataText(v any) string {
	switch d := v.(type) {
	case nil:
		return ""
	case json.RawMessage:
		return string(d)
	case *pendingData:
		return dataText(d.value)
	}
	js, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(js)
}

// jsonText validates a JSON text from the backend and returns it compact.
func jsonText(s, what string) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return nil, badAnswerf("%s is not a JSON text: %v", what, err)
	}
	return buf.Bytes(), nil
}

// answerArgs converts a backend's arguments into the values relay emits:
// json.RawMessage or []byte.
func answerArgs(in []*siorelayv1.Arg, what string) ([]any, error) {
	out := make([]any, len(in))
	for i, a := range in {
		switch v := a.GetValue().(type) {
		case *siorelayv1.Arg_Json:
			js, err := jsonText(v.Json, what)
			if err != nil {
				return nil, err
			}
			out[i] = js
		case *siorelayv1.Arg_Binary:
			b := v.Binary
			if b == nil {
				b = []byte{}
			}
			out[i] = b
		default:
			return nil, badAnswerf("%s: argument %d has neither json nor binary", what, i)
		}
	}
	return out, nil
}

// emit is a validated SocketEmit.
type emit struct {
	event string
	args  []any
}

func answerEmits(in []*siorelayv1.SocketEmit) ([]emit, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]emit, len(in))
	for i, e := range in {
		if e.GetEvent() == "" || socketio.IsReserved(e.GetEvent()) {
			return nil, badAnswerf("emit %d: event name %q is empty or reserved", i, e.GetEvent())
		}
		args, err := answerArgs(e.GetArgs(), "emit "+e.GetEvent())
		if err != nil {
			return nil, err
		}
		out[i] = emit{event: e.GetEvent(), args: args}
	}
	return out, nil
}

// pendingData is a socket's data between Connect and OnConnection: the
// data plus the emits that follow the CONNECT reply. It marshals as the
// data, so fetchSockets shows the data even in that instant.
type pendingData struct {
	value any // the socket's data once the emits are sent
	emits []emit
}

func (p *pendingData) MarshalJSON() ([]byte, error) {
	switch v := p.value.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		return v, nil
	}
	return json.Marshal(p.value)
}

// errorAck is the ack a client gets when its event's call failed.
func errorAck(outcome string) json.RawMessage {
	return json.RawMessage(`{"error":"` + clientMessage(outcome) + `"}`)
}
