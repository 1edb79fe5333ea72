package relay

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/siorelay/siorelay/internal/engineio"
)

func TestWebSocketOpenPacket(t *testing.T) {
	_, base := testServer(t, Config{})
	c := dialWS(t, base, "")
	f := c.read()
	h, err := engineio.ParseOpen([]byte(strings.TrimPrefix(f.data, "0")))
	if err != nil {
		t.Fatal(err)
	}
	want := `0{"sid":"` + h.SID + `","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	if f.data != want {
		t.Fatalf("open packet\n got %s\nwant %s", f.data, want)
	}
	if len(h.SID) != 20 {
		t.Fatalf("sid %q", h.SID)
	}
}

func TestConnectEventAck(t *testing.T) {
	type call struct {
		nsp, event string
		args       string
		atts       int
	}
	calls := make(chan call, 10)
	_, base := testServer(t, Config{
		Namespaces: []string{"/", "/custom"},
		OnEvent: func(ctx context.Context, s *Socket, ev Event, ack AckFunc) {
			b, _ := json.Marshal(ev.Args)
			calls <- call{s.Namespace(), ev.Name, string(b), len(ev.Attachments)}
			if ack != nil {
				args := []any{}
				for _, a := range ev.Args {
					args = append(args, a)
				}
				for _, a := range ev.Attachments {
					args = append(args, a)
				}
				ack(args...)
				if err := ack(); !errors.Is(err, ErrAckCalledTwice) {
					t.Errorf("second ack: %v", err)
				}
			}
		},
		OnConnection: func(ctx context.Context, s *Socket) {
			s.Emit(ctx, "auth", s.Handshake().Auth)
		},
	})
	c := openWS(t, base)
	c.connect("/")
	c.expect(`42["auth",{}]`)

	c.send(`42["hello",1,"two",{"3":[false]}]`)
	if got := <-calls; got != (call{"/", "hello", `[1,"two",{"3":[false]}]`, 0}) {
		t.Fatalf("OnEvent got %+v", got)
	}
	c.send(`42456["ackme",1,{"a":null}]`)
	<-calls
	c.expect(`43456[1,{"a":null}]`)

	// Binary event with ack: the client sends two attachments.
	c.send(`452-7["bin",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{4})
	if got := <-calls; got != (call{"/", "bin", `[{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`, 2}) {
		t.Fatalf("OnEvent got %+v", got)
	}
	// Ack args: two JSON args then two binary: placeholders renumbered from
	// the ack's own attachments.
	c.expect(`462-7[{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	if f := c.read(); !f.binary || f.data != "\x01\x02\x03" {
		t.Fatalf("attachment 0: %+v", f)
	}
	if f := c.read(); !f.binary || f.data != "\x04" {
		t.Fatalf("attachment 1: %+v", f)
	}

	// A second namespace with auth.
	c.send(`40/custom,{"token":"abc"}`)
	f := c.read()
	if !strings.HasPrefix(f.data, `40/custom,{"sid":"`) {
		t.Fatalf("got %q", f.data)
	}
	c.expect(`42/custom,["auth",{"token":"abc"}]`)
	c.send(`42/custom,["x"]`)
	if got := <-calls; got.nsp != "/custom" || got.event != "x" {
		t.Fatalf("OnEvent got %+v", got)
	}
}

func TestInvalidNamespace(t *testing.T) {
	_, base := testServer(t, Config{})
	c := openWS(t, base)
	c.send("40/random,")
	c.expect(`44/random,{"message":"Invalid namespace"}`)
	// The connection stays usable.
	c.connect("/")
}

func TestAnyNamespace(t *testing.T) {
	_, base := testServer(t, Config{Namespaces: []string{"*"}})
	c := openWS(t, base)
	c.connect("/whatever")
}

func TestConnectRefused(t *testing.T) {
	_, base := testServer(t, Config{
		Namespaces: []string{"/", "/secure"},
		OnConnect: func(ctx context.Context, h *Handshake) (ConnectResult, error) {
			switch h.Namespace {
			case "/secure":
				return ConnectResult{}, &ConnectError{Message: "not authorized", Data: map[string]int{"code": 42}}
			}
			if string(h.Auth) == `{"bad":true}` {
				return ConnectResult{}, errors.New("plain error")
			}
			return ConnectResult{Rooms: []string{"r1"}}, nil
		},
	})
	c := openWS(t, base)
	c.send(`40/secure,{"token":"t"}`)
	c.expect(`44/secure,{"message":"not authorized","data":{"code":42}}`)
	c.send(`40{"bad":true}`)
	c.expect(`44{"message":"plain error"}`)
	c.connect("/")
}

func TestHandshakeAndSocketState(t *testing.T) {
	type seen struct {
		h     *Handshake
		rooms []string
		data  any
	}
	got := make(chan seen, 1)
	_, base := testServer(t, Config{
		OnConnect: func(ctx context.Context, h *Handshake) (ConnectResult, error) {
			return ConnectResult{Rooms: []string{"r1", "r2"}, Data: "d"}, nil
		},
		OnConnection: func(ctx context.Context, s *Socket) {
			s.Leave("r2")
			s.Join("r3", "r3")
			got <- seen{s.Handshake(), s.Rooms(), s.Data()}
		},
	})
	c := dialWS(t, base, "&token=abc&x=1&x=2")
	c.read()
	id := c.connect("/")
	s := <-got
	if s.h.Query.Get("token") != "abc" || len(s.h.Query["x"]) != 2 || s.h.Query.Get("EIO") != "4" {
		t.Errorf("query %v", s.h.Query)
	}
	if s.h.Header.Get("Upgrade") != "websocket" || s.h.Header.Get("Sec-Websocket-Version") != "13" {
		t.Errorf("header %v", s.h.Header)
	}
	if !strings.HasPrefix(s.h.Address, "127.0.0.1:") || s.h.Namespace != "/" || string(s.h.Auth) != "{}" ||
		!strings.HasPrefix(s.h.URL, "/socket.io/?EIO=4") || s.h.Time.IsZero() {
		t.Errorf("handshake %+v", s.h)
	}
	if want := []string{id, "r1", "r3"}; strings.Join(s.rooms, ",") != strings.Join(want, ",") {
		t.Errorf("rooms %v, want %v", s.rooms, want)
	}
	if s.data != "d" {
		t.Errorf("data %v", s.data)
	}
}

// TestSocketIDAtConnectAndRoomsAtDisconnect: OnConnect sees the id the
// socket gets, and OnDisconnect still sees the rooms the socket was in.
func TestSocketIDAtConnectAndRoomsAtDisconnect(t *testing.T) {
	ids := make(chan string, 1)
	left := make(chan []string, 1)
	srv, base := testServer(t, Config{
		OnConnect: func(ctx context.Context, h *Handshake) (ConnectResult, error) {
			ids <- h.SocketID
			return ConnectResult{Rooms: []string{"a"}}, nil
		},
		OnConnection: func(ctx context.Context, s *Socket) {
			if got := s.Handshake().SocketID; got != s.ID() {
				t.Errorf("Handshake().SocketID %q, socket id %q", got, s.ID())
			}
			s.Join("b")
		},
		OnDisconnect: func(s *Socket, reason string) { left <- s.Rooms() },
	})
	c := openWS(t, base)
	sid := c.connect("/")
	if got := <-ids; got != sid {
		t.Fatalf("OnConnect saw socket id %q, CONNECT reply gave %q", got, sid)
	}
	c.send("41")
	rooms := <-left
	slices.Sort(rooms[1:])
	if want := []string{sid, "a", "b"}; !slices.Equal(rooms, want) {
		t.Fatalf("rooms in OnDisconnect %q, want %q", rooms, want)
	}
	// The socket is out of every room: an emit to them reaches nobody.
	if n := len(srv.Of("/").To("a", "b", sid).Sockets()); n != 0 {
		t.Fatalf("%d sockets still in the rooms", n)
	}
}
