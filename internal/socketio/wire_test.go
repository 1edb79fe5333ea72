package socketio_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/siorelay/siorelay/internal/engineio"
	"github.com/siorelay/siorelay/internal/socketio"
)

// wire-format.md §9 V26: Socket.IO over polling, captured from socket.io 4.8.4.
const (
	v26Post = "42[\"message\",1,\"é\",{\"a\":null}]\x1e42[\"bin\"]\x1e4212[\"ackme\",7]\x1e40/secure,{\"token\":\"t\"}\x1e40/nope,"
	v26Get  = "44/nope,{\"message\":\"Invalid namespace\"}\x1e42[\"message-back\",1,\"é\",{\"a\":null}]\x1e452-[\"bin-back\",{\"_placeholder\":true,\"num\":0},{\"x\":{\"_placeholder\":true,\"num\":1}}]\x1ebAQID\x1ebBA==\x1e461-12[7,{\"_placeholder\":true,\"num\":0}]\x1ebCQ==\x1e44/secure,{\"message\":\"not authorized\",\"data\":{\"code\":42}}"
)

func decodeBody(t *testing.T, body string) []socketio.Packet {
	t.Helper()
	var dec socketio.Decoder
	var out []socketio.Packet
	err := engineio.DecodePayload([]byte(body), func(p engineio.Packet) error {
		if p.Type != engineio.Message {
			t.Fatalf("unexpected engine.io packet %v", p.Type)
		}
		sp, done, err := dec.Add(p.Data, p.Binary)
		if done {
			out = append(out, sp)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestV26Polling(t *testing.T) {
	b := func(s string) []byte { return []byte(s) }
	wantPost := []socketio.Packet{
		{Type: socketio.Event, Namespace: "/", Data: b(`["message",1,"é",{"a":null}]`)},
		{Type: socketio.Event, Namespace: "/", Data: b(`["bin"]`)},
		{Type: socketio.Event, Namespace: "/", ID: 12, HasID: true, Data: b(`["ackme",7]`)},
		{Type: socketio.Connect, Namespace: "/secure", Data: b(`{"token":"t"}`)},
		{Type: socketio.Connect, Namespace: "/nope"},
	}
	if diff := cmp.Diff(wantPost, decodeBody(t, v26Post), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("client POST (-want +got):\n%s", diff)
	}

	// The server's answer, built with the encoders, is byte-identical to Node's.
	var msgs []engineio.Packet
	add := func(p socketio.Packet) {
		msgs = append(msgs, engineio.Packet{Type: engineio.Message, Data: socketio.AppendPacket(nil, p)})
		for _, a := range p.Attachments {
			msgs = append(msgs, engineio.Packet{Type: engineio.Message, Data: a, Binary: true})
		}
	}
	msgs = append(msgs, engineio.Packet{Type: engineio.Message, Data: socketio.AppendConnectError(nil, "/nope", "Invalid namespace", nil)})
	msgs = append(msgs, engineio.Packet{Type: engineio.Message, Data: socketio.AppendEvent(nil, "/", "message-back", b("1"), b(`"é"`), b(`{"a":null}`))})
	add(socketio.Packet{Type: socketio.Event, Data: socketio.AppendEventData(nil, "bin-back",
		socketio.AppendPlaceholder(nil, 0), append(append(b(`{"x":`), socketio.AppendPlaceholder(nil, 1)...), '}')),
		Attachments: [][]byte{{1, 2, 3}, {4}}})
	add(socketio.Packet{Type: socketio.Ack, ID: 12, HasID: true, Data: b(`[7,{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{9}}})
	msgs = append(msgs, engineio.Packet{Type: engineio.Message, Data: socketio.AppendConnectError(nil, "/secure", "not authorized", b(`{"code":42}`))})
	if got := engineio.AppendPayload(nil, msgs...); string(got) != v26Get {
		t.Errorf("server GET body:\n%q\nwant\n%q", got, v26Get)
	}

	got := decodeBody(t, v26Get)
	if len(got) != 5 || got[2].Type != socketio.BinaryEvent || len(got[2].Attachments) != 2 || got[3].Type != socketio.BinaryAck {
		t.Errorf("decoding the server body: %+v", got)
	}
}
