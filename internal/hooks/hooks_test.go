package hooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/hooks"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/relay"
	"google.golang.org/grpc/metadata"
)

// TestConnectAllowed: the backend sees the handshake, and its rooms, data
// and emits reach the socket and the client.
func TestConnectAllowed(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		reqs := make(chan *siorelayv1.ConnectRequest, 1)
		target, _ := startBackend(t, kind, &backendFuncs{
			connect: func(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
				md, _ := metadata.FromIncomingContext(ctx)
				if got := md.Get("authorization"); !slices.Equal(got, []string{"Bearer s3cret"}) {
					return nil, errors.New("bad token")
				}
				reqs <- r
				return &siorelayv1.ConnectResponse{
					Allow: true,
					Rooms: []string{"r1", "r2"},
					Data:  `{"user": "ann", "n": 1}`,
					Emits: []*siorelayv1.SocketEmit{
						{Event: "welcome", Args: []*siorelayv1.Arg{jsonArg(`"hi"`), binArg(1, 2, 3)}},
						{Event: "second"},
					},
				}, nil
			},
		})
		rec := newRecorder()
		srv, _, url := relayWith(t, relay.Config{}, hooks.Config{
			Routes:   []hooks.Route{{Namespace: "/", Target: target}},
			Token:    "s3cret",
			Observer: rec,
		})
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{
			Name: "c1", Auth: map[string]any{"token": "t1"},
			Query: map[string]string{"q": "v"}, ExtraHeaders: map[string]string{"X-Test": "yes"},
		}}})
		r := <-reqs
		if r.Namespace != "/" || r.Auth != `{"token":"t1"}` || r.Query["q"] != "v" || r.Headers["x-test"] != "yes" ||
			r.Transport != "websocket" || !strings.HasPrefix(r.Address, "127.0.0.1:") || r.Secure || r.Data != "" {
			t.Errorf("connect request = %v", r)
		}
		if r.SocketId != cl.ID("c1") {
			t.Errorf("connect request socket id %q, the client got %q", r.SocketId, cl.ID("c1"))
		}
		ev, err := cl.NextEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event != "welcome" {
			t.Fatalf("first event = %q, want welcome (right after connect)", ev.Event)
		}
		if diff := cmp.Diff([]any{"hi", []byte{1, 2, 3}}, decodeArgs(t, ev.Args)); diff != "" {
			t.Errorf("welcome args (-want +got):\n%s", diff)
		}
		if ev, err = cl.NextEvent(ctx); err != nil || ev.Event != "second" || len(ev.Args) != 0 {
			t.Fatalf("second event = %+v, %v", ev, err)
		}
		if err := srv.Of("/").To("r2").Emit(ctx, "news", 7); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.WaitEvent(ctx, "c1", "news"); err != nil {
			t.Fatal(err)
		}
		socks, err := srv.Of("/").FetchSockets(ctx)
		if err != nil || len(socks) != 1 {
			t.Fatalf("FetchSockets = %v, %v", socks, err)
		}
		if got := string(socks[0].Data); got != `{"user":"ann","n":1}` {
			t.Errorf("socket data = %s", got)
		}
		if diff := cmp.Diff([]string{cl.ID("c1"), "r1", "r2"}, socks[0].Rooms); diff != "" {
			t.Errorf("rooms (-want +got):\n%s", diff)
		}
		if n := rec.call("connect/ok"); n != 1 {
			t.Errorf("connect/ok = %d", n)
		}
	})
}

// TestConnectDenied: a refusal reaches socket.io-client as connect_error
// with the backend's message and data.
func TestConnectDenied(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		target, _ := startBackend(t, kind, &backendFuncs{
			connect: func(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
				if authField(r, "mode") == "data" {
					return &siorelayv1.ConnectResponse{ErrorMessage: "nope", ErrorData: `{"code": 42, "why": ["a"]}`}, nil
				}
				return &siorelayv1.ConnectResponse{}, nil
			},
		})
		rec := newRecorder()
		_, _, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "*", Target: target}}, Observer: rec})
		cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
			{Name: "withdata", Auth: map[string]any{"mode": "data"}},
			{Name: "plain"},
		}})
		msg, data, err := cl.WaitConnectError(ctx, "withdata")
		if err != nil {
			t.Fatal(err)
		}
		if msg != "nope" || string(data) != `{"code":42,"why":["a"]}` {
			t.Errorf("connect_error = %q %s", msg, data)
		}
		msg, data, err = cl.WaitConnectError(ctx, "plain")
		if err != nil {
			t.Fatal(err)
		}
		if msg != "not authorized" || (len(data) != 0 && string(data) != "null") {
			t.Errorf("connect_error = %q %s", msg, data)
		}
		if n := rec.call("connect/denied"); n != 2 {
			t.Errorf("connect/denied = %d", n)
		}
	})
}

// TestEventBinaryAndAck: binary arguments reach the backend (whole ones as
// binary Args, nested ones through placeholders and attachments) and the
// backend's binary ack and emits reach the client.
func TestEventBinaryAndAck(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		reqs := make(chan *siorelayv1.EventRequest, 1)
		target, _ := startBackend(t, kind, &backendFuncs{
			connect: func(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
				return &siorelayv1.ConnectResponse{Allow: true, Data: `{"u":1}`}, nil
			},
			event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
				reqs <- r
				return &siorelayv1.EventResponse{
					Ack:   []*siorelayv1.Arg{jsonArg(`{"ok": true}`), binArg(9, 8)},
					Emits: []*siorelayv1.SocketEmit{{Event: "echo", Args: []*siorelayv1.Arg{binArg(7), jsonArg("null")}}},
				}, nil
			},
		})
		_, _, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}})
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
		ack, err := cl.EmitWithAck(ctx, "c1", 5*time.Second, "upload",
			"text", []byte{1, 2, 3}, map[string]any{"name": "f", "data": nodetest.Bin{4, 5}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]any{map[string]any{"ok": true}, []byte{9, 8}}, decodeArgs(t, ack)); diff != "" {
			t.Errorf("ack (-want +got):\n%s", diff)
		}
		ev, err := cl.WaitEvent(ctx, "c1", "echo")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]any{[]byte{7}, nil}, decodeArgs(t, ev.Args)); diff != "" {
			t.Errorf("echo (-want +got):\n%s", diff)
		}
		r := <-reqs
		if r.Event != "upload" || !r.AckRequested || r.SocketId != cl.ID("c1") || r.Namespace != "/" ||
			r.Data != `{"u":1}` || !slices.Equal(r.Rooms, []string{cl.ID("c1")}) || len(r.Args) != 3 {
			t.Fatalf("event request = %v", r)
		}
		if got := r.Args[0].GetJson(); got != `"text"` {
			t.Errorf("arg 0 = %v", r.Args[0])
		}
		if got := r.Args[1].GetBinary(); string(got) != "\x01\x02\x03" {
			t.Errorf("arg 1 = %v", r.Args[1])
		}
		var nested struct {
			Name string
			Data struct {
				Placeholder bool `json:"_placeholder"`
				Num         int
			}
		}
		if err := json.Unmarshal([]byte(r.Args[2].GetJson()), &nested); err != nil || nested.Name != "f" || !nested.Data.Placeholder {
			t.Fatalf("arg 2 = %v (%v)", r.Args[2], err)
		}
		if n := nested.Data.Num; n >= len(r.Attachments) || string(r.Attachments[n]) != "\x04\x05" {
			t.Errorf("attachments %v, placeholder %d", r.Attachments, n)
		}
	})
}

// TestEventJoinLeave: an answer's joins and leaves are in effect when the
// client gets its ack, and the next request lists them.
func TestEventJoinLeave(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		target, _ := startBackend(t, kind, &backendFuncs{
			event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
				var room string
				if len(r.Args) > 0 {
					_ = json.Unmarshal([]byte(r.Args[0].GetJson()), &room)
				}
				rooms, _ := json.Marshal(r.Rooms)
				res := &siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{jsonArg(string(rooms))}}
				switch r.Event {
				case "join":
					res.Join = []string{room}
				case "leave":
					res.Leave = []string{room}
				}
				return res, nil
			},
		})
		srv, _, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}})
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
		id := cl.ID("c1")
		roomsSeen := func(event string, args ...any) []string {
			t.Helper()
			ack, err := cl.EmitWithAck(ctx, "c1", 5*time.Second, event, args...)
			if err != nil || len(ack) != 1 {
				t.Fatalf("%s: ack %s, %v", event, ack, err)
			}
			var rooms []string
			if err := json.Unmarshal(ack[0], &rooms); err != nil {
				t.Fatal(err)
			}
			return rooms
		}
		roomsSeen("join", "room-x")
		if err := srv.Of("/").To("room-x").Emit(ctx, "news", 1); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.WaitEvent(ctx, "c1", "news"); err != nil {
			t.Fatal(err)
		}
		if got := roomsSeen("whoami"); !slices.Equal(got, []string{id, "room-x"}) {
			t.Errorf("rooms after join = %v", got)
		}
		roomsSeen("leave", "room-x")
		if err := srv.Of("/").To("room-x").Emit(ctx, "news2", 2); err != nil {
			t.Fatal(err)
		}
		if err := srv.Of("/").To(id).Emit(ctx, "marker"); err != nil {
			t.Fatal(err)
		}
		ev, err := cl.NextEvent(ctx)
		if err != nil || ev.Event != "marker" {
			t.Fatalf("after leave got %+v, %v (want marker, no news2)", ev, err)
		}
		if got := roomsSeen("whoami"); !slices.Equal(got, []string{id}) {
			t.Errorf("rooms after leave = %v", got)
		}
	})
}

// TestEventOrder: calls for one socket are made in order, one at a time,
// even when the events arrive faster than the backend answers.
func TestEventOrder(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		var mu sync.Mutex
		var got []string
		var running, overlap atomic.Int32
		target, _ := startBackend(t, kind, &backendFuncs{
			event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
				if running.Add(1) > 1 {
					overlap.Add(1)
				}
				defer running.Add(-1)
				time.Sleep(2 * time.Millisecond)
				mu.Lock()
				got = append(got, r.Args[0].GetJson())
				mu.Unlock()
				return &siorelayv1.EventResponse{}, nil
			},
		})
		_, _, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}})
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
		var want []string
		for i := range 30 {
			want = append(want, strings.Repeat("x", i%3)+string(rune('a'+i%26)))
		}
		for _, w := range want {
			if err := cl.Emit(ctx, "c1", "seq", w); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "30 calls", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 30 })
		mu.Lock()
		defer mu.Unlock()
		var wantJSON []string
		for _, w := range want {
			b, _ := json.Marshal(w)
			wantJSON = append(wantJSON, string(b))
		}
		if diff := cmp.Diff(wantJSON, got); diff != "" {
			t.Errorf("order (-want +got):\n%s", diff)
		}
		if n := overlap.Load(); n != 0 {
			t.Errorf("%d calls overlapped", n)
		}
	})
}

// TestDisconnect: the backend learns why a socket left, with its data;
// an answer's disconnect ends the socket.
func TestDisconnect(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		disc := make(chan *siorelayv1.DisconnectRequest, 2)
		target, _ := startBackend(t, kind, &backendFuncs{
			connect: func(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
				return &siorelayv1.ConnectResponse{Allow: true, Rooms: []string{"club"}, Data: `{"who":"` + authField(r, "who") + `"}`}, nil
			},
			event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
				return &siorelayv1.EventResponse{Disconnect: r.Event == "kick", Emits: []*siorelayv1.SocketEmit{{Event: "bye"}}}, nil
			},
			disconnect: func(ctx context.Context, r *siorelayv1.DisconnectRequest) (*siorelayv1.DisconnectResponse, error) {
				disc <- r
				return &siorelayv1.DisconnectResponse{}, nil
			},
		})
		rec := newRecorder()
		_, _, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}, Observer: rec})
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
			{Name: "leaver", Auth: map[string]any{"who": "l"}},
			{Name: "kicked", Auth: map[string]any{"who": "k"}},
		}})
		if err := cl.Disconnect(ctx, "leaver"); err != nil {
			t.Fatal(err)
		}
		r := <-disc
		if r.SocketId != cl.ID("leaver") || r.Namespace != "/" || r.Reason != "client namespace disconnect" ||
			r.Data != `{"who":"l"}` || !slices.Equal(r.Rooms, []string{r.SocketId, "club"}) {
			t.Errorf("disconnect request = %v", r)
		}
		if err := cl.Emit(ctx, "kicked", "kick"); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.WaitEvent(ctx, "kicked", "bye"); err != nil {
			t.Fatal(err)
		}
		reason, err := cl.WaitDisconnect(ctx, "kicked")
		if err != nil || reason != "io server disconnect" {
			t.Fatalf("kicked: %q, %v", reason, err)
		}
		r = <-disc
		if r.SocketId != cl.ID("kicked") || r.Reason != "server namespace disconnect" || r.Data != `{"who":"k"}` {
			t.Errorf("disconnect request = %v", r)
		}
		waitFor(t, "disconnect/ok", func() bool { return rec.call("disconnect/ok") == 2 })
	})
}

// TestEventsDropped: events not in Config.Events, and events of namespaces
// without a route, are dropped and counted; such namespaces connect with
// no call.
func TestEventsDropped(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		var connects atomic.Int32
		events := make(chan string, 10)
		target, _ := startBackend(t, kind, &backendFuncs{
			connect: func(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
				connects.Add(1)
				return &siorelayv1.ConnectResponse{Allow: true}, nil
			},
			event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
				events <- r.Namespace + " " + r.Event
				return &siorelayv1.EventResponse{}, nil
			},
		})
		rec := newRecorder()
		_, _, url := relayWith(t, relay.Config{Namespaces: []string{"/", "/free"}}, hooks.Config{
			Routes:   []hooks.Route{{Namespace: "/", Target: target}},
			Events:   []string{"chat"},
			Observer: rec,
		})
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
			{Name: "hooked"}, {Name: "free", Nsp: "/free"},
		}})
		if n := connects.Load(); n != 1 {
			t.Errorf("%d connect calls, want 1 (only /)", n)
		}
		for _, e := range []struct{ client, event string }{{"hooked", "other"}, {"free", "chat"}, {"hooked", "chat"}} {
			if err := cl.Emit(ctx, e.client, e.event, 1); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case got := <-events:
			if got != "/ chat" {
				t.Errorf("forwarded %q", got)
			}
		case <-ctx.Done():
			t.Fatal("no event forwarded")
		}
		waitFor(t, "drops", func() bool { return rec.drop(hooks.DropNotForwarded) == 1 && rec.drop(hooks.DropNoHook) == 1 })
		select {
		case got := <-events:
			t.Errorf("also forwarded %q", got)
		default:
		}
	})
}

// TestAuthenticate: Config.Authenticate runs first; its claims reach the
// backend and its rooms combine with the backend's.
func TestAuthenticate(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		reqs := make(chan *siorelayv1.ConnectRequest, 2)
		target, _ := startBackend(t, kind, &backendFuncs{
			connect: func(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
				reqs <- r
				return &siorelayv1.ConnectResponse{Allow: true, Rooms: []string{"extra", "user:ann"}}, nil
			},
		})
		auth := func(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error) {
			var a struct{ Token string }
			_ = json.Unmarshal(h.Auth, &a)
			if a.Token != "good" {
				return relay.ConnectResult{}, &relay.ConnectError{Message: "invalid token", Data: map[string]string{"reason": "forged"}}
			}
			return relay.ConnectResult{Rooms: []string{"user:ann"}, Data: map[string]any{"sub": "ann"}}, nil
		}
		srv, _, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}, Authenticate: auth})
		cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
			{Name: "bad", Auth: map[string]any{"token": "forged"}},
		}})
		msg, data, err := cl.WaitConnectError(ctx, "bad")
		if err != nil || msg != "invalid token" || string(data) != `{"reason":"forged"}` {
			t.Fatalf("bad token: %q %s %v", msg, data, err)
		}
		if err := cl.Add(ctx, nodetest.ClientConfig{Name: "good", Auth: map[string]any{"token": "good"}}); err != nil {
			t.Fatal(err)
		}
		id, err := cl.WaitConnected(ctx, "good")
		if err != nil {
			t.Fatal(err)
		}
		r := <-reqs
		if r.Data != `{"sub":"ann"}` {
			t.Errorf("connect request data = %q", r.Data)
		}
		select {
		case r := <-reqs:
			t.Errorf("the refused client reached the backend: %v", r)
		default:
		}
		socks, err := srv.Of("/").FetchSockets(ctx)
		if err != nil || len(socks) != 1 {
			t.Fatalf("FetchSockets = %v, %v", socks, err)
		}
		if diff := cmp.Diff([]string{id, "user:ann", "extra"}, socks[0].Rooms); diff != "" {
			t.Errorf("rooms (-want +got):\n%s", diff)
		}
		if got := string(socks[0].Data); got != `{"sub":"ann"}` {
			t.Errorf("data = %s", got)
		}
	})
}
