package emitter_test

// Interop tests: the Go emitter against the real @socket.io/redis-emitter
// 5.1.0 (byte for byte) and against real Node socket.io 4.8.4 servers with
// @socket.io/redis-adapter 8.3.0 and real socket.io-client 4.8.4 clients
// (what each client receives), over a real redis-server.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

func ptr[T any](v T) *T { return &v }

// values used as event arguments: unicode, every integer width, floats,
// nested objects, binary at the top and nested.
var (
	unicodeArg = "héllo wörld 😀 \u2028 \"quoted\" \\ \n\t ✓ 中文"
	nestedArg  = map[string]any{
		"a":     map[string]any{"b": []any{1, "two", 3.5, nil, true}, "c": map[string]any{}},
		"10":    "index keys come first",
		"2":     false,
		"empty": []any{},
		"zz":    -0.000001,
	}
	numberArgs = []any{0, 1, -1, 127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129, -32768, -32769,
		2147483647, -2147483648, 4294967295, 4294967296, 9007199254740991, -9007199254740991,
		1.5, -0.1, 1e-7, 1e21, 3.141592653589793, 123456.789}
)

// byteOps are compared byte for byte with the Node emitter: every value here
// means the same in Go and in JSON.parse.
func byteOps() []nodetest.EmitterOp {
	return []nodetest.EmitterOp{
		{Op: "emit", Event: "hello", Args: []any{"world"}},
		{Op: "emit", To: []string{"room1"}, Event: "hello", Args: []any{1}},
		{Op: "emit", To: []string{"r1", "r2"}, Except: []string{"r3"}, Event: "evt", Args: []any{map[string]any{"a": 1, "b": []any{true, nil}}}},
		{Op: "emit", Nsp: "admin", Volatile: true, Compress: ptr(false), Event: "bin", Args: []any{[]byte{1, 2, 3}}},
		{Op: "emit", Nsp: "/custom", To: []string{"a", "a", "b"}, Except: []string{"c", "c"}, Compress: ptr(true), Event: "dups"},
		{Op: "emit", Event: "unicode", Args: []any{unicodeArg, "é"}},
		{Op: "emit", Event: "numbers", Args: numberArgs},
		{Op: "emit", To: []string{"room-ü"}, Event: "nested", Args: []any{nestedArg, []any{[]any{[]any{"deep"}}}}},
		{Op: "emit", Event: "nested-binary", Args: []any{map[string]any{"file": nodetest.Bin{0xca, 0xfe}, "name": "x"}, []byte{}}},
		{Op: "emit", Event: "big-binary", Args: []any{make([]byte, 66000)}}, // bin32
		{Op: "emit", Event: "long-string", Args: []any{strings.Repeat("s", 300)}},
		{Op: "emit", Event: "longer-string", Args: []any{strings.Repeat("t", 66000)}}, // str32
		{Op: "emit", Event: "no-args"},
		{Op: "socketsJoin", To: []string{"room1"}, Rooms: []string{"room2", "room3"}},
		{Op: "socketsJoin", Nsp: "/admin", Rooms: []string{"all"}},
		{Op: "socketsLeave", To: []string{"room1"}, Except: []string{"x"}, Rooms: []string{"room2"}},
		{Op: "disconnectSockets", To: []string{"r"}, Close: true},
		{Op: "disconnectSockets", Nsp: "admin"},
		{Op: "serverSideEmit", Event: "ping", Args: []any{1, map[string]any{"x": "y"}}},
		{Op: "serverSideEmit", Nsp: "/admin", Event: "with-binary", Args: []any{[]byte{7, 8}}},
	}
}

// goArgs turns the Node-side binary markers into []byte.
func goArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = goValue(a)
	}
	return out
}

func goValue(v any) any {
	switch v := v.(type) {
	case nodetest.Bin:
		return []byte(v)
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = goValue(x)
		}
		return m
	case []any:
		return goArgs(v)
	}
	return v
}

// applyGo performs op with the Go emitter, mirroring emit.js.
func applyGo(ctx context.Context, em *emitter.Emitter, op nodetest.EmitterOp) error {
	e := em.Of(op.Nsp)
	b := e.To(op.To...).Except(op.Except...)
	if op.Volatile {
		b = b.Volatile()
	}
	if op.Compress != nil {
		b = b.Compress(*op.Compress)
	}
	switch op.Op {
	case "emit":
		return b.Emit(ctx, op.Event, goArgs(op.Args)...)
	case "socketsJoin":
		return b.SocketsJoin(ctx, op.Rooms...)
	case "socketsLeave":
		return b.SocketsLeave(ctx, op.Rooms...)
	case "disconnectSockets":
		return b.DisconnectSockets(ctx, op.Close)
	case "serverSideEmit":
		return e.ServerSideEmit(ctx, op.Event, goArgs(op.Args)...)
	}
	return fmt.Errorf("unknown op %q", op.Op)
}

type published struct{ Channel, Payload string }

// capture subscribes to every channel and returns a function that collects
// the next n publishes.
func capture(t *testing.T, rdb *redis.Client) func(n int) []published {
	t.Helper()
	ctx := context.Background()
	ps := rdb.PSubscribe(ctx, "*")
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	ch := ps.Channel(redis.WithChannelSize(1000))
	return func(n int) []published {
		t.Helper()
		var out []published
		timeout := time.After(20 * time.Second)
		for len(out) < n {
			select {
			case m := <-ch:
				out = append(out, published{m.Channel, m.Payload})
			case <-timeout:
				t.Fatalf("received %d of %d publishes", len(out), n)
			}
		}
		return out
	}
}

// TestBytesMatchNodeEmitter publishes the same operations with the Node
// emitter and with the Go emitter and compares every channel and payload.
func TestBytesMatchNodeEmitter(t *testing.T) {
	nodetest.Require(t)
	srv := redistest.Start(t)
	next := capture(t, srv.Client(t))
	ctx := context.Background()
	for _, key := range []string{"", "myprefix"} {
		ops := byteOps()
		// Ops go in batches that keep each config under the kernel's limit
		// on one command-line argument (128 KiB; the big ops are ~90 KB).
		for _, batch := range batches(ops, 100_000) {
			if err := nodetest.RunEmitter(t, nodetest.EmitterConfig{Redis: srv.URL(), Key: key, Ops: batch}); err != nil {
				t.Fatal(err)
			}
		}
		want := next(len(ops))
		em, err := emitter.New(srv.Client(t), emitter.Config{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			if err := applyGo(ctx, em, op); err != nil {
				t.Fatalf("%+v: %v", op, err)
			}
		}
		got := next(len(ops))
		for i := range ops {
			if got[i].Channel != want[i].Channel {
				t.Errorf("key %q op %d (%s %s): channel %q, Node %q", key, i, ops[i].Op, ops[i].Event, got[i].Channel, want[i].Channel)
			}
			if got[i].Payload != want[i].Payload {
				t.Errorf("key %q op %d (%s %s): payload differs\n  go %s\nnode %s", key, i, ops[i].Op, ops[i].Event,
					short(got[i].Payload), short(want[i].Payload))
			}
		}
	}
}

func batches(ops []nodetest.EmitterOp, limit int) [][]nodetest.EmitterOp {
	var out [][]nodetest.EmitterOp
	var cur []nodetest.EmitterOp
	size := 0
	for _, op := range ops {
		b, _ := json.Marshal(op)
		if len(cur) > 0 && size+len(b) > limit {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, op)
		size += len(b)
	}
	return append(out, cur)
}

func short(p string) string {
	h := hex.EncodeToString([]byte(p))
	if len(h) > 400 {
		return h[:400] + "…"
	}
	return h
}

// --- delivery through real Node servers ---

// world is a cluster of two Node peers and socket.io-client clients spread
// over them, in two namespaces and several rooms.
type world struct {
	peers   []*nodetest.Peer
	clients map[string]*nodetest.Clients // client name -> its clients.js
	log     received                     // what each client received so far
	key     string
	// shardSubscribers counts SSUBSCRIBE subscribers of a channel (sharded
	// worlds only).
	shardSubscribers func(channel string) int64
}

var worldClients = []struct {
	name, nsp string
	peer      int
	rooms     []string
}{
	{"c1", "/", 0, []string{"r1"}},
	{"c2", "/", 1, []string{"r1", "r2"}},
	{"c3", "/", 0, []string{"r2"}},
	{"c4", "/admin", 1, []string{"r1"}},
	{"c5", "/admin", 0, nil},
	{"c6", "/", 1, nil},
}

type worldConfig struct {
	redisURL string
	cluster  []string
	mode     string // "classic", "sharded" or "streams"
	subMode  string
	streams  nodetest.StreamsOptions // mode "streams"
	recovery *nodetest.PeerRecovery
	// shardSubscribers, for sharded worlds.
	shardSubscribers func(channel string) int64
}

func startWorld(t *testing.T, cfg worldConfig) *world {
	t.Helper()
	w := &world{key: redistest.UniquePrefix(t), clients: map[string]*nodetest.Clients{}, log: received{}, shardSubscribers: cfg.shardSubscribers}
	for i := 0; i < 2; i++ {
		w.peers = append(w.peers, nodetest.StartPeer(t, nodetest.PeerConfig{
			Redis: cfg.redisURL, Cluster: cfg.cluster, Key: w.key, Mode: cfg.mode, SubscriptionMode: cfg.subMode,
			Streams: cfg.streams, Recovery: cfg.recovery,
			Namespaces: []string{"/", "/admin"}, ServerEvents: []string{"ping"}, Name: fmt.Sprintf("peer%d", i),
		}))
	}
	for i, p := range w.peers {
		var mine []nodetest.ClientConfig
		for _, c := range worldClients {
			if c.peer == i {
				mine = append(mine, nodetest.ClientConfig{Name: c.name, Nsp: c.nsp, Rooms: c.rooms})
			}
		}
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: p.URL(), Clients: mine})
		for _, c := range mine {
			w.clients[c.Name] = cl
		}
	}
	return w
}

// deliveryOps is the scenario run against a world; each step is either an
// emitter operation or a wait.
type step struct {
	op nodetest.EmitterOp
	// joined: after a join, wait until the room's sharded channel has this
	// many subscribers (dynamic modes subscribe asynchronously).
	waitShard string
	waitCount int64
	// barrier: wait until each client (key) has received the event (value)
	// before the next step. Volatile events are dropped by design while a
	// client's transport is busy, so the volatile step waits for quiet.
	barrier map[string]string
}

func deliverySteps() []step {
	return []step{
		{op: nodetest.EmitterOp{Op: "emit", Event: "all", Args: []any{unicodeArg, nestedArg}}},
		{op: nodetest.EmitterOp{Op: "emit", Event: "numbers", Args: numberArgs}},
		{op: nodetest.EmitterOp{Op: "emit", To: []string{"r1"}, Event: "to-r1", Args: []any{1}}},
		{op: nodetest.EmitterOp{Op: "emit", To: []string{"r1"}, Except: []string{"r2"}, Event: "r1-not-r2"}},
		{op: nodetest.EmitterOp{Op: "emit", To: []string{"r1", "r2"}, Event: "r1-or-r2"}},
		{op: nodetest.EmitterOp{Op: "emit", Nsp: "admin", Event: "admin-all", Args: []any{"a"}}},
		{op: nodetest.EmitterOp{Op: "emit", Nsp: "/admin", To: []string{"r1"}, Event: "admin-r1"},
			barrier: map[string]string{"c2": "r1-or-r2", "c3": "r1-or-r2", "c4": "admin-r1"}},
		{op: nodetest.EmitterOp{Op: "emit", To: []string{"r2"}, Volatile: true, Compress: ptr(false), Event: "volatile"}},
		{op: nodetest.EmitterOp{Op: "emit", Event: "bin", Args: []any{[]byte{1, 2, 3}, map[string]any{"nested": nodetest.Bin{4, 5}, "n": 1.5}}}},
		{op: nodetest.EmitterOp{Op: "socketsJoin", To: []string{"r2"}, Rooms: []string{"r3"}}, waitShard: "r3", waitCount: 2},
		// On a Redis Cluster, room channels and the namespace channel live on
		// different nodes with no order between them: the leave below must
		// not overtake this emit, and the disconnect not the next one.
		{op: nodetest.EmitterOp{Op: "emit", To: []string{"r3"}, Event: "to-r3"}, barrier: map[string]string{"c2": "to-r3", "c3": "to-r3"}},
		{op: nodetest.EmitterOp{Op: "socketsLeave", To: []string{"r1"}, Rooms: []string{"r3"}}},
		{op: nodetest.EmitterOp{Op: "emit", To: []string{"r3"}, Except: []string{"r1"}, Event: "to-r3-again"}, barrier: map[string]string{"c3": "to-r3-again"}},
		{op: nodetest.EmitterOp{Op: "serverSideEmit", Event: "ping", Args: []any{1, map[string]any{"x": "y"}}}},
		{op: nodetest.EmitterOp{Op: "disconnectSockets", To: []string{"r2"}, Except: []string{"r1"}}},
		{op: nodetest.EmitterOp{Op: "emit", Event: "end"}},
		{op: nodetest.EmitterOp{Op: "emit", Nsp: "/admin", Event: "end"}},
	}
}

// received is what the world observed: per client, its events in order
// (or its disconnect reason), and the server-side emits each peer got.
type received map[string][]string

// drainUntil moves what client received into the log, in order, until it
// has received event ("" means: until it is disconnected).
func (w *world) drainUntil(ctx context.Context, t *testing.T, client, event string) {
	t.Helper()
	for {
		l, err := w.clients[client].WaitFor(ctx, func(l nodetest.Line) bool {
			return l.Str("client") == client && (l.Type == "event" || l.Type == "disconnect")
		})
		if err != nil {
			t.Fatalf("%s: waiting for %q: %v (so far: %q)", client, event, err, w.log[client])
		}
		if l.Type == "disconnect" {
			w.log[client] = append(w.log[client], "disconnect: "+l.Str("reason"))
			if event == "" {
				return
			}
			continue
		}
		var ev nodetest.Event
		if err := l.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		w.log[client] = append(w.log[client], fmt.Sprintf("%s %s %s", ev.Nsp, ev.Event, joinRaw(ev)))
		if ev.Event == event {
			return
		}
	}
}

// observe waits for every client to see "end" (or to be disconnected) and
// returns what each received.
func (w *world) observe(t *testing.T) received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := w.log
	for _, c := range worldClients {
		if c.name == "c3" { // disconnected by the scenario
			w.drainUntil(ctx, t, c.name, "")
		} else {
			w.drainUntil(ctx, t, c.name, "end")
		}
	}
	for i, p := range w.peers {
		ev, err := p.WaitServerSideEmit(ctx, "/", "ping")
		if err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
		out[fmt.Sprintf("peer%d", i)] = []string{fmt.Sprintf("%s %s %s", ev.Nsp, ev.Event, joinRawArgs(ev.Args))}
	}
	return out
}

func joinRaw(ev nodetest.Event) string { return joinRawArgs(ev.Args) }

func joinRawArgs[T ~[]byte](args []T) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// run performs the scenario and returns what the world saw. apply performs
// a run of consecutive operations; the scenario is cut into such runs at
// its barriers.
func (w *world) run(t *testing.T, apply func(ops []nodetest.EmitterOp) error) received {
	t.Helper()
	var pending []nodetest.EmitterOp
	for _, st := range deliverySteps() {
		pending = append(pending, st.op)
		if st.barrier == nil && st.waitShard == "" {
			continue
		}
		if err := apply(pending); err != nil {
			t.Fatalf("%+v: %v", pending, err)
		}
		pending = nil
		for client, event := range st.barrier {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			w.drainUntil(ctx, t, client, event)
			cancel()
		}
		if st.waitShard != "" && w.shardSubscribers != nil {
			ch := w.key + "#/#" + st.waitShard + "#"
			deadline := time.Now().Add(10 * time.Second)
			for w.shardSubscribers(ch) < st.waitCount {
				if time.Now().After(deadline) {
					t.Fatalf("%s: fewer than %d subscribers", ch, st.waitCount)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	if err := apply(pending); err != nil {
		t.Fatalf("%+v: %v", pending, err)
	}
	return w.observe(t)
}

// goApply performs operations with the Go emitter.
func goApply(em *emitter.Emitter) func([]nodetest.EmitterOp) error {
	return func(ops []nodetest.EmitterOp) error {
		for _, op := range ops {
			if err := applyGo(context.Background(), em, op); err != nil {
				return err
			}
		}
		return nil
	}
}

// reference is what clients receive when the Node emitter drives a classic
// Node cluster; every Go run must match it exactly.
func reference(t *testing.T, srv *redistest.Server) received {
	t.Helper()
	w := startWorld(t, worldConfig{redisURL: srv.URL(), mode: "classic"})
	return w.run(t, func(ops []nodetest.EmitterOp) error {
		return nodetest.RunEmitter(t, nodetest.EmitterConfig{Redis: srv.URL(), Key: w.key, Ops: ops})
	})
}

func checkReference(t *testing.T, ref received) {
	t.Helper()
	// A few absolute expectations, so that the reference itself is checked.
	want := map[string][]string{
		"c1": {"to-r1", "r1-not-r2", "r1-or-r2", "bin"},
		"c2": {"to-r1", "r1-or-r2", "volatile", "to-r3"},
		"c3": {"r1-or-r2", "volatile", "to-r3", "to-r3-again", "disconnect"},
		"c4": {"admin-all", "admin-r1"},
		"c6": {"all", "numbers", "bin"},
	}
	for client, events := range want {
		got := strings.Join(ref[client], "\n")
		for _, ev := range events {
			if !strings.Contains(got, " "+ev+" ") && !strings.Contains(got, ev+":") {
				t.Errorf("reference: %s did not receive %s:\n%s", client, ev, got)
			}
		}
	}
	if strings.Contains(strings.Join(ref["c2"], " "), "to-r3-again") || strings.Contains(strings.Join(ref["c5"], " "), "admin-r1") {
		t.Errorf("reference delivered outside the target: %v", ref)
	}
	if !slices.Contains(ref["c6"], `/ bin [{"$bin":"AQID"},{"n":1.5,"nested":{"$bin":"BAU="}}]`) {
		t.Errorf("binary did not arrive as binary: %v", ref["c6"])
	}
}

// streamsReference is what a streams cluster delivers where the classic
// reference differs: notepack (the classic adapter's and the Node emitter's
// msgpack) wraps integral numbers of 2^64 and more, so 1e21 reaches
// clients as 3875820019684212700, where JSON and @msgpack/msgpack (the
// streams adapter's) keep it 1e21.
func streamsReference(ref received) received {
	out := received{}
	for k, evs := range ref {
		for _, ev := range evs {
			out[k] = append(out[k], strings.Replace(ev, ",3875820019684212700,", ",1e+21,", 1))
		}
	}
	return out
}

func diffReceived(t *testing.T, name string, ref, got received) {
	t.Helper()
	keys := make([]string, 0, len(ref))
	for k := range ref {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if d := cmp.Diff(ref[k], got[k]); d != "" {
			t.Errorf("%s: %s received differently from the Node emitter (-node +go):\n%s", name, k, d)
		}
	}
}

// TestDeliveryMatchesNodeEmitter runs one scenario of emits, joins, leaves,
// disconnects and server-side emits against two-server Node clusters, with
// the Node emitter as the reference and the Go emitter in classic, every
// sharded mode, and into streams clusters (one stream; three streams with
// sharded pub/sub).
func TestDeliveryMatchesNodeEmitter(t *testing.T) {
	nodetest.Require(t)
	srv := redistest.Start(t)
	ref := reference(t, srv)
	checkReference(t, ref)
	rdb := srv.Client(t)
	shardSubs := func(ch string) int64 {
		m, err := rdb.PubSubShardNumSub(context.Background(), ch).Result()
		if err != nil {
			t.Fatal(err)
		}
		return m[ch]
	}
	modes := []struct {
		name, mode, sub string
		streams         *nodetest.StreamsOptions
	}{
		{"classic", "classic", "", nil},
		{"sharded-dynamic", "sharded", "dynamic", nil},
		{"sharded-dynamic-private", "sharded", "dynamic-private", nil},
		{"sharded-static", "sharded", "static", nil},
		{"streams", "streams", "", &nodetest.StreamsOptions{}},
		{"streams-3-sharded", "streams", "", &nodetest.StreamsOptions{StreamName: "sio", StreamCount: 3, MaxLen: 100, UseShardedPubSub: true}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cfg := worldConfig{redisURL: srv.URL(), mode: m.mode, subMode: m.sub}
			if strings.HasPrefix(m.sub, "dynamic") {
				cfg.shardSubscribers = shardSubs // rooms have channels of their own
			}
			emCfg := emitter.Config{Sharded: m.mode == "sharded", SubscriptionMode: emitter.SubscriptionMode(m.sub)}
			if m.streams != nil {
				cfg.streams = *m.streams
				emCfg.Sharded = m.streams.UseShardedPubSub
				emCfg.Streams = streamsConfig(*m.streams)
			}
			w := startWorld(t, cfg)
			emCfg.Key = w.key
			em, err := emitter.New(srv.Client(t), emCfg)
			if err != nil {
				t.Fatal(err)
			}
			got := w.run(t, goApply(em))
			want := ref
			if m.streams != nil {
				want = streamsReference(ref)
			}
			diffReceived(t, m.name, want, got)
		})
	}
}

// TestShardedCluster drives a sharded Node cluster on a real three-master
// Redis Cluster: SPUBLISH must reach the node that owns each channel's slot.
func TestShardedCluster(t *testing.T) {
	nodetest.Require(t)
	cl := redistest.StartCluster(t, 3)
	rdb := cl.Client(t)
	shardSubs := func(ch string) int64 {
		node := cl.NodeFor(ch).Client(t)
		m, err := node.PubSubShardNumSub(context.Background(), ch).Result()
		if err != nil {
			t.Fatal(err)
		}
		return m[ch]
	}
	w := startWorld(t, worldConfig{cluster: cl.Addrs(), mode: "sharded", subMode: "dynamic", shardSubscribers: shardSubs})
	em, err := emitter.New(rdb, emitter.Config{Key: w.key, Sharded: true})
	if err != nil {
		t.Fatal(err)
	}
	// The rooms' channels must land on more than one node for this test to
	// mean anything.
	nodes := map[string]bool{}
	for _, r := range []string{"r1", "r2", "r3", ""} {
		nodes[cl.NodeFor(w.key+"#/#"+r+"#").Addr()] = true
	}
	if len(nodes) < 2 {
		t.Logf("all channels of prefix %s on one node", w.key)
	}
	got := w.run(t, goApply(em))
	checkReference(t, got)
}
