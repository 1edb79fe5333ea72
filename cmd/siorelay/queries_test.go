package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/siorelay/siorelay/internal/adapter"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// The EmitterService queries (FetchSockets, ServerCount, AllRooms,
// EmitWithAck) over gRPC, from the sidecar (`siorelay emitter`) and from
// `siorelay serve --redis --grpc-addr`, in one cluster with a Node
// socket.io 4.8.4 server (@socket.io/redis-adapter 8.3.0), stock
// socket.io-client clients on both servers, classic and sharded.

// startServeGRPC runs `serve` with a gRPC EmitterService and returns its
// base URL (for socket.io-client) and a client of the service, once
// /readyz says ready.
func startServeGRPC(t *testing.T, args ...string) (string, siorelayv1.EmitterServiceClient) {
	t.Helper()
	args = append([]string{"--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--demo=false", "--log-level", "error"}, args...)
	url, stdout, _, _ := startServeOut(t, args...)
	base := strings.TrimSuffix(url, "/socket.io/")
	waitStatus(t, base+"/readyz", http.StatusOK)
	cc := dialInsecure(t, afterLine(t, stdout, "serving gRPC EmitterService on "))
	return base, siorelayv1.NewEmitterServiceClient(cc)
}

func socketIDs(socks []*siorelayv1.Socket) []string {
	var out []string
	for _, s := range socks {
		out = append(out, s.GetId())
	}
	slices.Sort(out)
	return out
}

func sortedStrings(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestQueriesGRPC(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	for _, mode := range []string{"classic", "sharded"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			rs := redistest.Start(t)
			key := redistest.UniquePrefix(t)
			flags := []string{"--redis", rs.URL(), "--key", key}
			if mode == "sharded" {
				flags = append(flags, "--sharded")
			}
			peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: rs.URL(), Key: key, Mode: mode})
			relayURL, serve := startServeGRPC(t, flags...)
			sc := startSidecar(t, append([]string{"--grpc-addr", "127.0.0.1:0", "--log-level", "error"}, flags...)...)
			sidecar := siorelayv1.NewEmitterServiceClient(dialInsecure(t, sc.addr))
			nc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{
				{Name: "n1", Rooms: []string{"room1"}, Data: map[string]any{"user": "nina"}},
				{Name: "nsilent", Rooms: []string{"quiet"}, NoAck: true},
			}})
			rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: relayURL, Clients: []nodetest.ClientConfig{
				{Name: "r1", Query: map[string]string{"who": "r1"}},
				{Name: "rsilent", NoAck: true},
			}})
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			n1, nsilent, r1, rsilent := nc.ID("n1"), nc.ID("nsilent"), rc.ID("r1"), rc.ID("rsilent")
			// serve's clients join their rooms through the service itself.
			for room, id := range map[string]string{"room1": r1, "quiet": rsilent} {
				if _, err := serve.SocketsJoin(ctx, &siorelayv1.SocketsJoinRequest{Target: &siorelayv1.Target{Rooms: []string{id}}, Rooms: []string{room}}); err != nil {
					t.Fatal(err)
				}
			}

			for _, ep := range []struct {
				name   string
				client siorelayv1.EmitterServiceClient
			}{{"sidecar", sidecar}, {"serve", serve}} {
				t.Run(ep.name, func(t *testing.T) {
					c := ep.client
					n, err := c.ServerCount(ctx, &siorelayv1.ServerCountRequest{})
					if err != nil || n.GetCount() != 2 {
						t.Fatalf("ServerCount = %v, %v; want 2", n, err)
					}

					res, err := c.FetchSockets(ctx, &siorelayv1.FetchSocketsRequest{Target: &siorelayv1.Target{Rooms: []string{"room1"}}})
					if err != nil {
						t.Fatal(err)
					}
					if d := cmp.Diff(sortedStrings(n1, r1), socketIDs(res.GetSockets())); d != "" {
						t.Fatalf("FetchSockets(room1) (-want +got):\n%s", d)
					}
					for _, s := range res.GetSockets() {
						h := s.GetHandshake()
						if s.GetNamespace() != "/" || !slices.Contains(s.GetRooms(), "room1") || !slices.Contains(s.GetRooms(), s.GetId()) ||
							h.GetAddress() != "127.0.0.1" || h.GetQuery()["EIO"] != "4" || h.GetHeaders()["host"] == "" ||
							time.Since(h.GetTime().AsTime()) > time.Minute || !strings.HasPrefix(h.GetUrl(), "/socket.io/?") || !json.Valid([]byte(h.GetAuth())) {
							t.Errorf("socket %v", s)
						}
						switch s.GetId() {
						case n1:
							if s.GetData() != `{"user":"nina"}` {
								t.Errorf("n1 data %s", s.GetData())
							}
						case r1:
							if s.GetData() != "{}" || h.GetQuery()["who"] != "r1" {
								t.Errorf("r1: %v", s)
							}
						}
					}

					rooms, err := c.AllRooms(ctx, &siorelayv1.AllRoomsRequest{})
					if err != nil {
						t.Fatal(err)
					}
					if d := cmp.Diff(sortedStrings("room1", "quiet", n1, nsilent, r1, rsilent), sortedStrings(rooms.GetRooms()...)); d != "" {
						t.Errorf("AllRooms (-want +got):\n%s", d)
					}

					acks, err := c.EmitWithAck(ctx, &siorelayv1.EmitWithAckRequest{
						Target: &siorelayv1.Target{Rooms: []string{"room1"}}, Event: "ask-" + ep.name,
						Args: []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: `{"q":1}`}}, {Value: &siorelayv1.Arg_Binary{Binary: []byte{7}}}},
					})
					if err != nil {
						t.Fatal(err)
					}
					if acks.GetClients() != 2 || acks.GetServers() != 2 || acks.GetTimedOut() || len(acks.GetAcks()) != 2 {
						t.Fatalf("EmitWithAck = %v; want 2 acks from 2 clients on 2 servers", acks)
					}
					bySocket := map[string]string{}
					for _, a := range acks.GetAcks() {
						var v struct{ Client string }
						if err := json.Unmarshal([]byte(a.GetJson()), &v); err != nil {
							t.Fatalf("ack %v: %v", a, err)
						}
						bySocket[v.Client] = a.GetSocketId()
					}
					wantIDs := map[string]string{"n1": "", "r1": ""}
					if ep.name == "serve" {
						wantIDs["r1"] = r1 // its own client: the protocol does not cross Redis
					}
					if d := cmp.Diff(wantIDs, bySocket); d != "" {
						t.Errorf("acks by client: socket ids (-want +got):\n%s", d)
					}
					for _, ev := range []func() (nodetest.Event, error){
						func() (nodetest.Event, error) { return nc.WaitEvent(ctx, "n1", "ask-"+ep.name) },
						func() (nodetest.Event, error) { return rc.WaitEvent(ctx, "r1", "ask-"+ep.name) },
					} {
						e, err := ev()
						if err != nil {
							t.Fatal(err)
						}
						if v, _ := e.Values(); !cmp.Equal(v, []any{map[string]any{"q": json.Number("1")}, []byte{7}}) {
							t.Errorf("%s got %v", e.Client, v)
						}
					}

					// Clients that never ack: the timeout ends the wait, not an error.
					start := time.Now()
					acks, err = c.EmitWithAck(ctx, &siorelayv1.EmitWithAckRequest{
						Target: &siorelayv1.Target{Rooms: []string{"quiet", "room1"}}, Event: "silent-" + ep.name, Timeout: durationpb.New(500 * time.Millisecond),
					})
					if err != nil || !acks.GetTimedOut() || acks.GetClients() != 4 || acks.GetServers() != 2 || len(acks.GetAcks()) != 2 {
						t.Errorf("EmitWithAck to silent clients = %v, %v; want timed_out, 4 clients, 2 acks", acks, err)
					}
					if d := time.Since(start); d < 400*time.Millisecond || d > 3*time.Second {
						t.Errorf("EmitWithAck with a 500ms timeout took %v", d)
					}
				})
			}

			t.Run("server that never answers", func(t *testing.T) {
				// Counted by the adapter, silent: a bare subscriber.
				var ps *redis.PubSub
				rdb := rs.Client(t)
				if mode == "sharded" {
					ps = rdb.SSubscribe(ctx, adapter.ShardedChannel(key, "/"))
				} else {
					ps = rdb.Subscribe(ctx, adapter.RequestChannel(key, "/"))
				}
				if _, err := ps.Receive(ctx); err != nil {
					t.Fatal(err)
				}
				defer ps.Close()
				for _, ep := range []struct {
					name   string
					client siorelayv1.EmitterServiceClient
				}{{"sidecar", sidecar}, {"serve", serve}} {
					c := ep.client
					if n, err := c.ServerCount(ctx, &siorelayv1.ServerCountRequest{}); err != nil || n.GetCount() != 3 {
						t.Fatalf("%s: ServerCount = %v, %v; want 3", ep.name, n, err)
					}
					// The call's deadline ends the wait; the partial answer
					// arrives before it, in the status details.
					cctx, cancel := context.WithTimeout(ctx, time.Second)
					_, err := c.FetchSockets(cctx, &siorelayv1.FetchSocketsRequest{Target: &siorelayv1.Target{Rooms: []string{"room1"}}})
					cancel()
					st := status.Convert(err)
					if st.Code() != codes.DeadlineExceeded || !strings.Contains(st.Message(), "servers answered") || len(st.Details()) != 1 {
						t.Fatalf("%s: FetchSockets = %v (%d details); want DeadlineExceeded with the partial answer", ep.name, err, len(st.Details()))
					}
					partial, _ := st.Details()[0].(*siorelayv1.FetchSocketsResponse)
					if d := cmp.Diff(sortedStrings(n1, r1), socketIDs(partial.GetSockets())); d != "" {
						t.Errorf("%s: partial sockets (-want +got):\n%s", ep.name, d)
					}
					cctx, cancel = context.WithTimeout(ctx, time.Second)
					_, err = c.AllRooms(cctx, &siorelayv1.AllRoomsRequest{})
					cancel()
					if st := status.Convert(err); st.Code() != codes.DeadlineExceeded || len(st.Details()) != 1 ||
						!slices.Contains(st.Details()[0].(*siorelayv1.AllRoomsResponse).GetRooms(), "room1") {
						t.Errorf("%s: AllRooms = %v; want DeadlineExceeded with room1 in the details", ep.name, err)
					}
					acks, err := c.EmitWithAck(ctx, &siorelayv1.EmitWithAckRequest{
						Target: &siorelayv1.Target{Rooms: []string{"room1"}}, Event: "ask", Timeout: durationpb.New(500 * time.Millisecond),
					})
					if err != nil || !acks.GetTimedOut() || acks.GetServers() != 2 || acks.GetClients() != 2 || len(acks.GetAcks()) != 2 {
						t.Errorf("%s: EmitWithAck = %v, %v; want timed_out with 2 of 3 servers, 2 acks", ep.name, acks, err)
					}
				}
			})

			t.Run("dead Redis", func(t *testing.T) {
				rs.Stop()
				for _, ep := range []struct {
					name   string
					client siorelayv1.EmitterServiceClient
				}{{"sidecar", sidecar}, {"serve", serve}} {
					cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					_, ferr := ep.client.FetchSockets(cctx, &siorelayv1.FetchSocketsRequest{})
					_, cerr := ep.client.ServerCount(cctx, &siorelayv1.ServerCountRequest{})
					_, aerr := ep.client.EmitWithAck(cctx, &siorelayv1.EmitWithAckRequest{Event: "x"})
					cancel()
					for name, err := range map[string]error{"FetchSockets": ferr, "ServerCount": cerr, "EmitWithAck": aerr} {
						if status.Code(err) != codes.Unavailable {
							t.Errorf("%s: %s with Redis down: %v; want Unavailable", ep.name, name, err)
						}
					}
				}
			})
		})
	}
}

// TestQueriesServeAlone: `serve --grpc-addr` without Redis answers from its
// own sockets: one server, its sockets and rooms, acks with socket ids.
func TestQueriesServeAlone(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	url, c := startServeGRPC(t)
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "a"}, {Name: "b", NoAck: true}}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	a, b := rc.ID("a"), rc.ID("b")
	if n, err := c.ServerCount(ctx, &siorelayv1.ServerCountRequest{}); err != nil || n.GetCount() != 1 {
		t.Fatalf("ServerCount = %v, %v; want 1", n, err)
	}
	socks, err := c.FetchSockets(ctx, &siorelayv1.FetchSocketsRequest{})
	if err != nil || !cmp.Equal(sortedStrings(a, b), socketIDs(socks.GetSockets())) {
		t.Fatalf("FetchSockets = %v, %v", socks, err)
	}
	rooms, err := c.AllRooms(ctx, &siorelayv1.AllRoomsRequest{})
	if err != nil || !cmp.Equal(sortedStrings(a, b), sortedStrings(rooms.GetRooms()...)) {
		t.Fatalf("AllRooms = %v, %v", rooms, err)
	}
	acks, err := c.EmitWithAck(ctx, &siorelayv1.EmitWithAckRequest{Event: "ask", Timeout: durationpb.New(300 * time.Millisecond)})
	if err != nil || !acks.GetTimedOut() || acks.GetClients() != 2 || acks.GetServers() != 1 || len(acks.GetAcks()) != 1 || acks.GetAcks()[0].GetSocketId() != a {
		t.Fatalf("EmitWithAck = %v, %v; want a's ack (with its id), b silent", acks, err)
	}
	if _, err := c.FetchSockets(ctx, &siorelayv1.FetchSocketsRequest{Target: &siorelayv1.Target{Namespace: "nope"}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad namespace: %v; want InvalidArgument", err)
	}
}

// TestGRPCurlQueries runs the README's query examples exactly as written
// (only the address differs) with the pinned grpcurl against `serve
// --grpc-addr` without Redis, as `make run` starts it, with one stock
// socket.io-client client that does not ack (the README's browser tab).
func TestGRPCurlQueries(t *testing.T) {
	grpcurl := os.Getenv("SIORELAY_GRPCURL")
	if grpcurl == "" {
		t.Skip("SIORELAY_GRPCURL not set; run `make test-grpcurl`")
	}
	nodetest.Require(t)
	section := readmeSection(t, "### Queries:")
	var cmds []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "grpcurl ") {
			cmds = append(cmds, line)
		}
	}
	if len(cmds) != 5 {
		t.Fatalf("found %d grpcurl commands in the Queries section, want 5", len(cmds))
	}
	url, stdout, _, _ := startServeOut(t, "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--demo-chat", "--log-level", "error")
	addr := afterLine(t, stdout, "serving gRPC EmitterService on ")
	tab := nodetest.StartClients(t, nodetest.ClientsConfig{URL: strings.TrimSuffix(url, "/socket.io/"), Clients: []nodetest.ClientConfig{{Name: "tab", NoAck: true}}})
	id := tab.ID("tab")
	var outs []map[string]any
	for _, c := range cmds {
		c = strings.Replace(strings.Replace(c, "127.0.0.1:50051", addr, 1), "grpcurl", grpcurl, 1)
		out, err := exec.Command("bash", "-c", c).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s printed %q: %v", c, out, err)
		}
		outs = append(outs, m)
	}
	want := []func(m map[string]any) bool{
		func(m map[string]any) bool { return m["count"] == 1.0 },
		func(m map[string]any) bool {
			s, _ := m["sockets"].([]any)
			return len(s) == 1 && s[0].(map[string]any)["id"] == id
		},
		func(m map[string]any) bool { r, _ := m["rooms"].([]any); return len(r) == 1 && r[0] == id },
		func(m map[string]any) bool { return len(m) == 0 },
		func(m map[string]any) bool {
			return m["timedOut"] == true && m["clients"] == 1.0 && m["servers"] == 1.0
		},
	}
	for i, ok := range want {
		if !ok(outs[i]) {
			t.Errorf("%s\nprinted %v", cmds[i], outs[i])
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ev, err := tab.WaitEvent(ctx, "tab", "chat")
	if v, _ := ev.Values(); err != nil || !cmp.Equal(v, []any{"ack please"}) {
		t.Errorf("the tab got %v, %v", v, err)
	}
}

// TestQueriesGRPCStreams: the sidecar with --adapter streams and `serve
// --adapter streams`, in a cluster with a Node server using
// @socket.io/redis-streams-adapter 0.3.1.
func TestQueriesGRPCStreams(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	flags := []string{"--redis", rs.URL(), "--key", key, "--adapter", "streams"}
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: rs.URL(), Key: key, Mode: "streams"})
	relayURL, serve := startServeGRPC(t, flags...)
	sc := startSidecar(t, append([]string{"--grpc-addr", "127.0.0.1:0", "--log-level", "error"}, flags...)...)
	sidecar := siorelayv1.NewEmitterServiceClient(dialInsecure(t, sc.addr))
	nc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{{Name: "n1", Rooms: []string{"room1"}}}})
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: relayURL, Clients: []nodetest.ClientConfig{{Name: "r1"}, {Name: "rsilent", NoAck: true}}})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	n1, r1, rsilent := nc.ID("n1"), rc.ID("r1"), rc.ID("rsilent")

	for _, ep := range []struct {
		name string
		c    siorelayv1.EmitterServiceClient
	}{{"sidecar", sidecar}, {"serve", serve}} {
		c := ep.c
		if n, err := c.ServerCount(ctx, &siorelayv1.ServerCountRequest{}); err != nil || n.GetCount() != 2 {
			t.Fatalf("%s: ServerCount = %v, %v; want 2", ep.name, n, err)
		}
		socks, err := c.FetchSockets(ctx, &siorelayv1.FetchSocketsRequest{})
		if err != nil || !cmp.Equal(sortedStrings(n1, r1, rsilent), socketIDs(socks.GetSockets())) {
			t.Fatalf("%s: FetchSockets = %v, %v", ep.name, socks, err)
		}
		rooms, err := c.AllRooms(ctx, &siorelayv1.AllRoomsRequest{})
		if err != nil || !cmp.Equal(sortedStrings("room1", n1, r1, rsilent), sortedStrings(rooms.GetRooms()...)) {
			t.Fatalf("%s: AllRooms = %v, %v", ep.name, rooms, err)
		}
		acks, err := c.EmitWithAck(ctx, &siorelayv1.EmitWithAckRequest{Event: "ask-" + ep.name, Args: []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: "1.5"}}},
			Timeout: durationpb.New(time.Second)})
		if err != nil || !acks.GetTimedOut() || acks.GetClients() != 3 || acks.GetServers() != 2 || len(acks.GetAcks()) != 2 {
			t.Fatalf("%s: EmitWithAck = %v, %v; want 2 acks of 3 clients (rsilent never acks)", ep.name, acks, err)
		}
		ev, err := nc.WaitEvent(ctx, "n1", "ask-"+ep.name)
		if v, _ := ev.Values(); err != nil || !cmp.Equal(v, []any{json.Number("1.5")}) {
			t.Errorf("%s: n1 got %v, %v", ep.name, v, err)
		}
	}
}
