package emitter_test

// The queries (FetchSockets, ServerCount, AllRooms, EmitWithAck) against a
// real cluster: a Node socket.io 4.8.4 server with @socket.io/redis-adapter
// 8.3.0 (or @socket.io/redis-streams-adapter 0.3.1) and a siorelay relay
// on one real redis-server, with stock socket.io-client 4.8.4 clients on
// both, for the classic, sharded and streams adapters.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
	"github.com/siorelay/siorelay/relay"
)

// startRelay starts a relay in the cluster behind rdb, whose adapter is
// mode (classic, sharded or streams); like peer.js it joins auth.rooms and
// sets socket.data to auth.data on connect.
func startRelay(t *testing.T, rdb redis.UniversalClient, key, mode string) string {
	t.Helper()
	var streams *relay.Streams
	if mode == "streams" {
		streams = &relay.Streams{}
	}
	srv, err := relay.NewServer(relay.Config{
		Redis: rdb, Key: key, Sharded: mode == "sharded", Streams: streams,
		OnConnect: func(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error) {
			var auth struct {
				Rooms []string
				Data  json.RawMessage
			}
			json.Unmarshal(h.Auth, &auth)
			res := relay.ConnectResult{Rooms: auth.Rooms}
			if auth.Data != nil {
				res.Data = auth.Data
			}
			return res, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("relay not ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return hs.URL
}

// cluster is a Node server and a relay in one Redis adapter cluster, with
// clients on both.
type cluster struct {
	rdb    redis.UniversalClient
	key    string
	mode   string
	nc, rc *nodetest.Clients
}

func startCluster(t *testing.T, mode string) *cluster {
	t.Helper()
	nodetest.Require(t)
	rs := redistest.Start(t)
	c := &cluster{rdb: rs.Client(t), key: redistest.UniquePrefix(t), mode: mode}
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: rs.URL(), Key: c.key, Mode: mode})
	url := startRelay(t, c.rdb, c.key, mode)
	c.nc = nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{
		{Name: "n1", Rooms: []string{"room1"}, Data: map[string]any{"user": "nina"}, Query: map[string]string{"q": "n"}},
		{Name: "nsilent", Rooms: []string{"quiet"}, NoAck: true},
	}})
	c.rc = nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
		{Name: "r1", Rooms: []string{"room1"}, Data: map[string]any{"user": "rita"}, ExtraHeaders: map[string]string{"X-Test": "yes"}},
		{Name: "r2", Transports: []string{"polling"}},
		{Name: "rsilent", Rooms: []string{"quiet"}, NoAck: true},
	}})
	return c
}

func (c *cluster) emitter(t *testing.T, cfg emitter.Config) *emitter.Emitter {
	t.Helper()
	cfg.Key, cfg.Sharded = c.key, c.mode == "sharded"
	if c.mode == "streams" {
		cfg.Streams = &emitter.StreamsConfig{}
	}
	em, err := emitter.New(c.rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return em
}

func ids(socks []emitter.Socket) []string {
	out := make([]string, len(socks))
	for i, s := range socks {
		out[i] = s.ID
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestQueries(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"classic", "sharded", "streams"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, mode)
			em := c.emitter(t, emitter.Config{})
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			n1, r1, r2 := c.nc.ID("n1"), c.rc.ID("r1"), c.rc.ID("r2")
			nsilent, rsilent := c.nc.ID("nsilent"), c.rc.ID("rsilent")

			t.Run("ServerCount", func(t *testing.T) {
				n, err := em.ServerCount(ctx)
				if err != nil || n != 2 {
					t.Fatalf("ServerCount = %d, %v; want 2 (the emitter is not a server)", n, err)
				}
				if n, err := em.Of("/other").ServerCount(ctx); err != nil || n != 0 {
					t.Fatalf("ServerCount(/other) = %d, %v; want 0", n, err)
				}
			})

			t.Run("FetchSockets", func(t *testing.T) {
				socks, err := em.FetchSockets(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(sorted(n1, nsilent, r1, r2, rsilent), ids(socks)); d != "" {
					t.Fatalf("all sockets (-want +got):\n%s", d)
				}
				socks, err = em.To("room1").FetchSockets(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(sorted(n1, r1), ids(socks)); d != "" {
					t.Fatalf("room1 (-want +got):\n%s", d)
				}
				for _, s := range socks {
					name, user := "n1", "nina"
					if s.ID == r1 {
						name, user = "r1", "rita"
					}
					if s.Namespace != "/" {
						t.Errorf("%s: namespace %q", name, s.Namespace)
					}
					if d := cmp.Diff(sorted(s.ID, "room1"), sorted(s.Rooms...)); d != "" {
						t.Errorf("%s rooms (-want +got):\n%s", name, d)
					}
					var data map[string]any
					if err := json.Unmarshal(s.Data, &data); err != nil || data["user"] != user {
						t.Errorf("%s data %s", name, s.Data)
					}
					h := s.Handshake
					if h.Address != "127.0.0.1" || h.Query["EIO"] != "4" || h.Query["transport"] != "websocket" ||
						!strings.HasPrefix(h.URL, "/socket.io/?") || h.Headers["host"] == "" || h.Secure ||
						time.Since(h.Time) > time.Minute || time.Since(h.Time) < 0 {
						t.Errorf("%s handshake %+v", name, h)
					}
					var auth map[string]any
					if err := json.Unmarshal(h.Auth, &auth); err != nil || auth["rooms"] == nil {
						t.Errorf("%s auth %s", name, h.Auth)
					}
				}
				byID := map[string]emitter.Socket{}
				for _, s := range socks {
					byID[s.ID] = s
				}
				if q := byID[n1].Handshake.Query["q"]; q != "n" {
					t.Errorf("n1 query q = %q", q)
				}
				if v := byID[r1].Handshake.Headers["x-test"]; v != "yes" {
					t.Errorf("r1 header x-test = %q", v)
				}
				socks, err = em.Except("room1", "quiet").FetchSockets(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff([]string{r2}, ids(socks)); d != "" {
					t.Fatalf("except room1, quiet (-want +got):\n%s", d)
				}
				if socks[0].Handshake.Query["transport"] != "polling" || string(socks[0].Data) != "{}" {
					t.Errorf("r2: %+v", socks[0])
				}
			})

			t.Run("AllRooms", func(t *testing.T) {
				rooms, err := em.AllRooms(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(sorted("room1", "quiet", n1, nsilent, r1, r2, rsilent), sorted(rooms...)); d != "" {
					t.Fatalf("rooms (-want +got):\n%s", d)
				}
			})

			t.Run("EmitWithAck", func(t *testing.T) {
				acks, err := em.To("room1").EmitWithAck(ctx, "ask", 1, []byte{2})
				if err != nil {
					t.Fatal(err)
				}
				if acks.Clients != 2 || acks.Servers != 2 {
					t.Errorf("Clients, Servers = %d, %d; want 2, 2", acks.Clients, acks.Servers)
				}
				var got []string
				for _, a := range acks.Answers {
					var v struct{ Client string }
					if err := json.Unmarshal(a, &v); err != nil {
						t.Fatalf("ack %s: %v", a, err)
					}
					got = append(got, v.Client)
				}
				if d := cmp.Diff([]string{"n1", "r1"}, sorted(got...)); d != "" {
					t.Errorf("acks (-want +got):\n%s", d)
				}
				for _, cl := range []*nodetest.Clients{c.nc, c.rc} {
					name := "n1"
					if cl == c.rc {
						name = "r1"
					}
					ev, err := cl.WaitEvent(ctx, name, "ask")
					if err != nil {
						t.Fatal(err)
					}
					if v, _ := ev.Values(); !cmp.Equal(v, []any{json.Number("1"), []byte{2}}) {
						t.Errorf("%s got %v", name, v)
					}
				}
				// Nobody selected: every server reports 0 clients.
				acks, err = em.To("nobody").EmitWithAck(ctx, "ask")
				if err != nil || acks.Clients != 0 || acks.Servers != 2 || len(acks.Answers) != 0 {
					t.Errorf("to nobody: %+v, %v", acks, err)
				}
			})

			t.Run("client that never acks", func(t *testing.T) {
				start := time.Now()
				acks, err := em.To("room1", "quiet").Timeout(400*time.Millisecond).EmitWithAck(ctx, "ask")
				if !errors.Is(err, emitter.ErrTimeout) {
					t.Fatalf("err = %v; want ErrTimeout", err)
				}
				if acks.Clients != 4 || acks.Servers != 2 || len(acks.Answers) != 2 {
					t.Errorf("acks %+v; want 4 clients, 2 servers, 2 answers", acks)
				}
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("took %v", d)
				}
				if !strings.Contains(err.Error(), "2 of 4 clients") {
					t.Errorf("err = %v", err)
				}
			})

			t.Run("server that never answers", func(t *testing.T) {
				// A subscriber of the channel the adapter counts servers on
				// is a server that never answers.
				var ps *redis.PubSub
				switch mode {
				case "sharded":
					ps = c.rdb.SSubscribe(ctx, adapter.ShardedChannel(c.key, "/"))
				case "streams":
					ps = c.rdb.Subscribe(ctx, adapter.ShardedChannel(c.key, "/"))
				default:
					ps = c.rdb.Subscribe(ctx, adapter.RequestChannel(c.key, "/"))
				}
				if _, err := ps.Receive(ctx); err != nil {
					t.Fatal(err)
				}
				defer func() {
					// Redis forgets the subscriber when it sees the
					// connection close; later subtests count 2 again.
					ps.Close()
					for n, _ := em.ServerCount(ctx); n != 2; n, _ = em.ServerCount(ctx) {
						if ctx.Err() != nil {
							t.Fatal("the silent server is still counted")
						}
						time.Sleep(10 * time.Millisecond)
					}
				}()
				if n, err := em.ServerCount(ctx); err != nil || n != 3 {
					t.Fatalf("ServerCount = %d, %v; want 3", n, err)
				}
				socks, err := em.To("room1").Timeout(300 * time.Millisecond).FetchSockets(ctx)
				if !errors.Is(err, emitter.ErrTimeout) || !strings.Contains(err.Error(), "2 of 3 servers answered") {
					t.Fatalf("err = %v; want ErrTimeout, 2 of 3", err)
				}
				if d := cmp.Diff(sorted(n1, r1), ids(socks)); d != "" {
					t.Errorf("partial sockets (-want +got):\n%s", d)
				}
				// The call's deadline ends the wait as well.
				short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
				rooms, err := em.AllRooms(short)
				if !errors.Is(err, emitter.ErrTimeout) || !slices.Contains(rooms, "room1") {
					t.Fatalf("AllRooms = %v, %v; want room1 and ErrTimeout", rooms, err)
				}
				acks, err := em.To("room1").Timeout(300*time.Millisecond).EmitWithAck(ctx, "ask")
				if !errors.Is(err, emitter.ErrTimeout) || acks.Servers != 2 || acks.Clients != 2 || len(acks.Answers) != 2 {
					t.Fatalf("EmitWithAck = %+v, %v; want 2 of 3 servers, 2 acks, ErrTimeout", acks, err)
				}
			})

			t.Run("response size limit", func(t *testing.T) {
				small := c.emitter(t, emitter.Config{MaxResponseSize: 100})
				if _, err := small.FetchSockets(ctx); !errors.Is(err, emitter.ErrResponseTooLarge) {
					t.Fatalf("err = %v; want ErrResponseTooLarge", err)
				}
			})

			t.Run("Close", func(t *testing.T) {
				e := c.emitter(t, emitter.Config{})
				if _, err := e.FetchSockets(ctx); err != nil {
					t.Fatal(err)
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := e.FetchSockets(ctx); !errors.Is(err, emitter.ErrClosed) {
					t.Fatalf("after Close: %v; want ErrClosed", err)
				}
				if err := e.Emit(ctx, "still"); err != nil {
					t.Fatalf("Emit after Close: %v", err)
				}
			})
		})
	}
}

// TestQueriesRedisDown: with Redis gone, every query fails with a Redis
// error, not a timeout, and long before the requests timeout.
func TestQueriesRedisDown(t *testing.T) {
	t.Parallel()
	for _, sharded := range []bool{false, true} {
		rs := redistest.Start(t)
		em, err := emitter.New(rs.Client(t), emitter.Config{Sharded: sharded, RequestsTimeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer em.Close()
		ctx := t.Context()
		if _, err := em.FetchSockets(ctx); err != nil {
			t.Fatalf("sharded=%v: before the outage: %v", sharded, err)
		}
		rs.Stop()
		// go-redis retries a refused dial for a second or two; the wait
		// for answers (30s) is never reached.
		for name, query := range map[string]func() error{
			"FetchSockets": func() error { _, err := em.FetchSockets(ctx); return err },
			"ServerCount":  func() error { _, err := em.ServerCount(ctx); return err },
			"AllRooms":     func() error { _, err := em.AllRooms(ctx); return err },
			"EmitWithAck":  func() error { _, err := em.EmitWithAck(ctx, "x"); return err },
		} {
			start := time.Now()
			err := query()
			if err == nil || errors.Is(err, emitter.ErrTimeout) {
				t.Errorf("sharded=%v: %s = %v; want a Redis error", sharded, name, err)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("sharded=%v: %s took %v", sharded, name, d)
			}
		}
	}
}

// TestQueriesRedisCluster: on a three-master Redis Cluster, where the
// servers are counted on every master and each shard channel lives on the
// node of its slot, with two Node servers and a relay per adapter.
func TestQueriesRedisCluster(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	cl := redistest.StartCluster(t, 3)
	rdb := cl.Client(t)
	for _, mode := range []string{"classic", "sharded"} {
		t.Run(mode, func(t *testing.T) {
			key := redistest.UniquePrefix(t)
			var urls []string
			for range 2 {
				urls = append(urls, nodetest.StartPeer(t, nodetest.PeerConfig{Cluster: cl.Addrs(), Key: key, Mode: mode}).URL())
			}
			urls = append(urls, startRelay(t, rdb, key, mode))
			var want []string
			for _, url := range urls {
				cs := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
					{Name: "c", Rooms: []string{"room1"}},
				}})
				want = append(want, cs.ID("c"))
			}
			em, err := emitter.New(rdb, emitter.Config{Key: key, Sharded: mode == "sharded"})
			if err != nil {
				t.Fatal(err)
			}
			defer em.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if n, err := em.ServerCount(ctx); err != nil || n != 3 {
				t.Fatalf("ServerCount = %d, %v; want 3", n, err)
			}
			socks, err := em.To("room1").FetchSockets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(sorted(want...), ids(socks)); d != "" {
				t.Errorf("sockets (-want +got):\n%s", d)
			}
			acks, err := em.To("room1").EmitWithAck(ctx, "ask")
			if err != nil || acks.Clients != 3 || acks.Servers != 3 || len(acks.Answers) != 3 {
				t.Errorf("EmitWithAck = %+v, %v; want 3 answers from 3 servers", acks, err)
			}
			rooms, err := em.AllRooms(ctx)
			if err != nil || !slices.Contains(rooms, "room1") || len(rooms) != 4 {
				t.Errorf("AllRooms = %v, %v; want room1 and 3 socket ids", rooms, err)
			}
		})
	}
}
