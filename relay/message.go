package relay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/gobwas/ws"
	"github.com/siorelay/siorelay/internal/engineio"
	"github.com/siorelay/siorelay/internal/socketio"
	"github.com/siorelay/siorelay/relay/internal/netpoll"
)

// message is one Socket.IO packet encoded once for every transport. It is
// immutable once built and shared by all recipients of a broadcast.
type message struct {
	// frames are the WebSocket frames: a text frame "4<packet>" and one
	// binary frame per attachment, concatenated so that one queue entry
	// carries them all.
	frames      []byte
	text        []byte // the Socket.IO packet text, a sub-slice of frames
	attachments [][]byte

	b64Once   sync.Once
	b64Frames []byte // frames for clients without binary support (b64=1)
}

func newMessage(p socketio.Packet) *message {
	n := 0
	for _, a := range p.Attachments {
		n += netpoll.HeaderLen(len(a)) + len(a)
	}
	text := socketio.AppendPacket(make([]byte, 0, 64), p)
	m := &message{attachments: p.Attachments}
	frames := make([]byte, 0, netpoll.HeaderLen(len(text)+1)+1+len(text)+n)
	frames = netpoll.AppendHeader(frames, ws.OpText, len(text)+1)
	frames = append(frames, byte(engineio.Message))
	start := len(frames)
	frames = append(frames, text...)
	m.text = frames[start:]
	for _, a := range p.Attachments {
		frames = netpoll.AppendFrame(frames, ws.OpBinary, a)
	}
	m.frames = frames
	return m
}

// framesFor returns the WebSocket frames for a client with or without
// binary support.
func (m *message) framesFor(b64 bool) []byte {
	if !b64 || len(m.attachments) == 0 {
		return m.frames
	}
	m.b64Once.Do(func() {
		var f []byte
		f = netpoll.AppendHeader(f, ws.OpText, len(m.text)+1)
		f = append(f, byte(engineio.Message))
		f = append(f, m.text...)
		for _, a := range m.attachments {
			enc := engineio.AppendPacket(nil, engineio.Packet{Type: engineio.Message, Data: a, Binary: true}, false)
			f = netpoll.AppendFrame(f, ws.OpText, enc)
		}
		m.b64Frames = f
	})
	return m.b64Frames
}

// packets returns the Engine.IO packets of m for a polling payload.
func (m *message) packets() []engineio.Packet {
	ps := make([]engineio.Packet, 0, 1+len(m.attachments))
	ps = append(ps, engineio.Packet{Type: engineio.Message, Data: m.text})
	for _, a := range m.attachments {
		ps = append(ps, engineio.Packet{Type: engineio.Message, Data: a, Binary: true})
	}
	return ps
}

// encodeArgs turns Go values into the JSON texts of Socket.IO arguments.
// A []byte argument, or a []byte inside a map[string]any or []any argument,
// becomes a binary attachment (and its placeholder); a json.RawMessage is
// used as is; anything else is encoded with encoding/json without HTML
// escaping (as JSON.stringify writes it).
func encodeArgs(args []any) (texts [][]byte, attachments [][]byte, err error) {
	texts = make([][]byte, len(args))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, a := range args {
		if r, changed := extractBinary(a, &attachments); changed {
			a = r
		}
		switch v := a.(type) {
		case json.RawMessage:
			if v == nil {
				texts[i] = []byte("null")
			} else {
				texts[i] = v
			}
		case nil:
			texts[i] = []byte("null")
		case string:
			texts[i] = socketio.AppendJSONString(nil, v)
		default:
			buf.Reset()
			if err := enc.Encode(a); err != nil {
				return nil, nil, fmt.Errorf("relay: encode argument %d: %w", i, err)
			}
			texts[i] = bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		}
	}
	return texts, attachments, nil
}

// eventPacket builds the EVENT packet for event and args in namespace nsp.
func eventPacket(nsp, event string, args []any) (socketio.Packet, error) {
	if socketio.IsReserved(event) {
		return socketio.Packet{}, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	texts, atts, err := encodeArgs(args)
	if err != nil {
		return socketio.Packet{}, err
	}
	return socketio.Packet{
		Type:        socketio.Event,
		Namespace:   nsp,
		Data:        socketio.AppendEventData(nil, event, texts...),
		Attachments: atts,
	}, nil
}

// ackPacket builds the ACK packet answering id with args.
func ackPacket(nsp string, id int64, args []any) (socketio.Packet, error) {
	texts, atts, err := encodeArgs(args)
	if err != nil {
		return socketio.Packet{}, err
	}
	data := []byte{'['}
	for i, t := range texts {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, t...)
	}
	data = append(data, ']')
	return socketio.Packet{Type: socketio.Ack, Namespace: nsp, ID: id, HasID: true, Data: data, Attachments: atts}, nil
}

// extractBinary replaces every []byte in v, at the top or nested in
// map[string]any and []any values, with a placeholder for a new attachment,
// depth-first and in sorted key order (the order of the JSON text). It
// copies containers it changes and reports whether it changed anything.
func extractBinary(v any, atts *[][]byte) (any, bool) {
	switch x := v.(type) {
	case []byte:
		ph := json.RawMessage(socketio.AppendPlaceholder(nil, len(*atts)))
		*atts = append(*atts, x)
		return ph, true
	case map[string]any:
		var out map[string]any
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if r, changed := extractBinary(x[k], atts); changed {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = r
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, e := range x {
			if r, changed := extractBinary(e, atts); changed {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = r
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

// Values returns the event's arguments ready to be emitted again: each as
// a json.RawMessage, except that arguments holding binary placeholders are
// decoded (map[string]any, []any, json.Number, ...) with every placeholder
// replaced by its attachment ([]byte).
func (ev Event) Values() []any {
	out := make([]any, len(ev.Args))
	for i, a := range ev.Args {
		out[i] = json.RawMessage(a)
		if len(ev.Attachments) == 0 || !bytes.Contains(a, []byte(`"_placeholder"`)) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(a))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			out[i] = fillBinary(v, ev.Attachments)
		}
	}
	return out
}

func fillBinary(v any, atts [][]byte) any {
	switch x := v.(type) {
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph {
			if n, ok := x["num"].(json.Number); ok {
				if i, err := n.Int64(); err == nil && i >= 0 && i < int64(len(atts)) {
					return atts[i]
				}
			}
		}
		for k, e := range x {
			x[k] = fillBinary(e, atts)
		}
	case []any:
		for i, e := range x {
			x[i] = fillBinary(e, atts)
		}
	}
	return v
}
