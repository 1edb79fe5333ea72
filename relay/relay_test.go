package relay

import (
	"context"
	"encoding/json"
	"errors"
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
