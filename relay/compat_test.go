package relay_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/relay"
)

// compatServer is a relay with the behaviour clients.js expects from
// peer.js: auth.rooms are joined on connect, auth.reject refuses, and
// events are echoed ("<event>-back") or acknowledged with their arguments.
func compatServer(t *testing.T) (*relay.Server, string, *sync.Map) {
	t.Helper()
	var sockets sync.Map // id → *relay.Socket
	srv, url := startRelay(t, relay.Config{
		OnConnection: func(ctx context.Context, s *relay.Socket) { sockets.Store(s.ID(), s) },
		Namespaces:   []string{"/", "/custom"},
		OnConnect: func(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error) {
			var auth struct {
				Rooms  []string
				Reject *struct {
					Message string
					Data    any
				}
			}
			json.Unmarshal(h.Auth, &auth)
			if auth.Reject != nil {
				return relay.ConnectResult{}, &relay.ConnectError{Message: auth.Reject.Message, Data: auth.Reject.Data}
			}
			return relay.ConnectResult{Rooms: auth.Rooms}, nil
		},
		OnEvent: func(ctx context.Context, s *relay.Socket, ev relay.Event, ack relay.AckFunc) {
			if ack != nil {
				ack(ev.Values()...)
				return
			}
			s.Emit(ctx, ev.Name+"-back", ev.Values()...)
		},
	})
	return srv, url, &sockets
}

func decode(t *testing.T, args []json.RawMessage) []any {
	t.Helper()
	v, err := nodetest.DecodeArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestStockClient drives socket.io-client 4.8.4 over each transport setup.
func TestStockClient(t *testing.T) {
	nodetest.Require(t)
	for _, tc := range []struct {
		name       string
		transports []string
	}{
		{"websocket", []string{"websocket"}},
		{"polling", []string{"polling"}},
		{"upgrade", []string{"polling", "websocket"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url, sockets := compatServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cl := nodetest.StartClients(t, nodetest.ClientsConfig{
				URL: url,
				Clients: []nodetest.ClientConfig{
					{Name: "c1", Rooms: []string{"r1"}, Transports: tc.transports},
					{Name: "c2", Rooms: []string{"r2"}, Transports: tc.transports},
					{Name: "c3", Nsp: "/custom", Transports: tc.transports},
				},
			})
			if tc.name == "upgrade" {
				for _, c := range []string{"c1", "c2", "c3"} {
					if _, err := cl.WaitFor(ctx, func(l nodetest.Line) bool {
						return l.Type == "upgrade" && l.Str("client") == c && l.Str("transport") == "websocket"
					}); err != nil {
						t.Fatal(err)
					}
				}
			}

			// Server → room r1 only, with every kind of argument.
			args := []any{1, "é", map[string]any{"a": nil, "b": []any{true, 1.5}}, []byte{1, 2, 3}}
			if err := srv.Of("/").To("r1").Emit(ctx, "hello", args...); err != nil {
				t.Fatal(err)
			}
			if err := srv.Of("/").Except("r1").Emit(ctx, "others"); err != nil {
				t.Fatal(err)
			}
			ev, err := cl.WaitEvent(ctx, "c1", "hello")
			if err != nil {
				t.Fatal(err)
			}
			want := []any{json.Number("1"), "é", map[string]any{"a": nil, "b": []any{true, json.Number("1.5")}}, []byte{1, 2, 3}}
			if diff := cmp.Diff(want, decode(t, ev.Args)); diff != "" {
				t.Fatalf("hello args (-want +got):\n%s", diff)
			}
			if _, err := cl.WaitEvent(ctx, "c2", "others"); err != nil {
				t.Fatal(err)
			}
			if p := cl.PendingEvents("c1"); len(p) != 0 {
				t.Fatalf("c1 got unexpected events %v", p)
			}
			if p := cl.PendingEvents("c3"); len(p) != 0 {
				t.Fatalf("c3 (other namespace) got %v", p)
			}

			// Client → server with binary, echoed back.
			if err := cl.Emit(ctx, "c2", "message", "x", []byte{9, 8}, map[string]any{"bin": nodetest.Bin{7}}); err != nil {
				t.Fatal(err)
			}
			ev, err = cl.WaitEvent(ctx, "c2", "message-back")
			if err != nil {
				t.Fatal(err)
			}
			want = []any{"x", []byte{9, 8}, map[string]any{"bin": []byte{7}}}
			if diff := cmp.Diff(want, decode(t, ev.Args)); diff != "" {
				t.Fatalf("echo args (-want +got):\n%s", diff)
			}

			// Client ack request answered by the server.
			reply, err := cl.EmitWithAck(ctx, "c3", 5*time.Second, "ackme", 7, []byte{4})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{json.Number("7"), []byte{4}}, decode(t, reply)); diff != "" {
				t.Fatalf("ack args (-want +got):\n%s", diff)
			}

			// Server ack request answered by the client.
			id := cl.ID("c1")
			if got := srv.Of("/").To(id).Sockets(); len(got) != 1 || len(id) != 20 {
				t.Fatalf("socket id %q: %v", id, got)
			}
			v, ok := sockets.Load(id)
			if !ok {
				t.Fatalf("no socket %s", id)
			}
			acked, _, err := v.(*relay.Socket).EmitWithAck(ctx, "ask", 1)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{map[string]any{"ok": true, "client": "c1"}}, decode(t, acked)); diff != "" {
				t.Fatalf("client ack (-want +got):\n%s", diff)
			}
			if ev, err := cl.WaitEvent(ctx, "c1", "ask"); err != nil || !ev.Ack {
				t.Fatalf("ask event %+v %v", ev, err)
			}

			// Server-side disconnect.
			if err := srv.Of("/").To("r2").DisconnectSockets(ctx, false); err != nil {
				t.Fatal(err)
			}
			reason, err := cl.WaitDisconnect(ctx, "c2")
			if err != nil || reason != "io server disconnect" {
				t.Fatalf("c2 disconnect %q %v", reason, err)
			}

			// Shutdown: the remaining clients see the transport close.
			sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
			defer scancel()
			if err := srv.Shutdown(sctx); err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"c1", "c3"} {
				reason, err := cl.WaitDisconnect(ctx, c)
				if err != nil || reason != "transport close" {
					t.Fatalf("%s after shutdown: %q %v", c, reason, err)
				}
			}
		})
	}
}

func TestStockClientRefused(t *testing.T) {
	nodetest.Require(t)
	_, url, _ := compatServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{
		URL: url,
		Clients: []nodetest.ClientConfig{
			{Name: "nope", Nsp: "/nope"},
			{Name: "denied", Auth: map[string]any{"reject": map[string]any{"message": "not authorized", "data": map[string]any{"code": 42}}}},
			{Name: "denied-poll", Transports: []string{"polling"}, Auth: map[string]any{"reject": map[string]any{"message": "no"}}},
		},
	})
	for _, tc := range []struct{ client, msg, data string }{
		{"nope", "Invalid namespace", ""},
		{"denied", "not authorized", `{"code":42}`},
		{"denied-poll", "no", ""},
	} {
		msg, data, err := cl.WaitConnectError(ctx, tc.client)
		if err != nil {
			t.Fatal(err)
		}
		if msg != tc.msg || (tc.data != "" && string(data) != tc.data) {
			t.Errorf("%s: connect_error %q %s, want %q %s", tc.client, msg, data, tc.msg, tc.data)
		}
	}
}
