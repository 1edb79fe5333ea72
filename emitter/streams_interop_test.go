package emitter_test

// Interop tests for streams clusters: the Go emitter's commands against the
// real @socket.io/redis-streams-adapter 0.3.1's, as Redis receives them
// (MONITOR), and delivery to socket.io-client 4.8.4 clients of Node
// socket.io 4.8.4 servers using that adapter, on a standalone Redis and on a
// three-master Redis Cluster.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

func streamsConfig(o nodetest.StreamsOptions) *emitter.StreamsConfig {
	return &emitter.StreamsConfig{StreamName: o.StreamName, StreamCount: o.StreamCount, MaxLen: o.MaxLen}
}

// monitor reads MONITOR from a redis-server and hands out, one at a time,
// the commands that write messages (XADD, PUBLISH, SPUBLISH), except the
// marker entries peers add to learn that their readers run.
type monitor struct {
	conn  net.Conn
	lines *bufio.Reader
}

func startMonitor(t *testing.T, addr string) *monitor {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	m := &monitor{conn: conn, lines: bufio.NewReaderSize(conn, 1<<20)}
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	if l, err := m.lines.ReadString('\n'); err != nil || l != "+OK\r\n" {
		t.Fatalf("MONITOR: %q %v", l, err)
	}
	return m
}

var monitorLine = regexp.MustCompile(`^\+\d+\.\d+ \[\d+ [^\]]+\] (.*)\r\n$`)

// next returns the next message-writing command's arguments.
func (m *monitor) next(t *testing.T) []string {
	t.Helper()
	m.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		l, err := m.lines.ReadString('\n')
		if err != nil {
			t.Fatalf("MONITOR: %v", err)
		}
		sub := monitorLine.FindStringSubmatch(l)
		if sub == nil {
			continue
		}
		args := unrepr(t, sub[1])
		switch strings.ToUpper(args[0]) {
		case "XADD":
			if !strings.Contains(sub[1], `"siorelay-ready"`) {
				return args
			}
		case "PUBLISH", "SPUBLISH":
			return args
		}
	}
}

// unrepr splits a MONITOR line into its arguments, undoing Redis's
// sdscatrepr quoting.
func unrepr(t *testing.T, s string) []string {
	var args []string
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		var b []byte
		for i++; i < len(s) && s[i] != '"'; i++ {
			if s[i] != '\\' {
				b = append(b, s[i])
				continue
			}
			i++
			switch s[i] {
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'a':
				b = append(b, 7)
			case 'b':
				b = append(b, 8)
			case 'x':
				v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
				if err != nil {
					t.Fatalf("MONITOR escape in %q", s)
				}
				b = append(b, byte(v))
				i += 2
			default:
				b = append(b, s[i])
			}
		}
		args = append(args, string(b))
	}
	return args
}

// applyPeer performs op with a Node peer, as applyGo does with the Go
// emitter.
func applyPeer(ctx context.Context, p *nodetest.Peer, op nodetest.EmitterOp) error {
	nsp := op.Nsp
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	tg := nodetest.Target{Nsp: nsp, To: op.To, Except: op.Except, Volatile: op.Volatile, Compress: op.Compress}
	switch op.Op {
	case "emit":
		return p.Emit(ctx, tg, op.Event, op.Args...)
	case "socketsJoin":
		return p.SocketsJoin(ctx, tg, op.Rooms...)
	case "socketsLeave":
		return p.SocketsLeave(ctx, tg, op.Rooms...)
	case "disconnectSockets":
		return p.DisconnectSockets(ctx, tg, op.Close)
	case "serverSideEmit":
		return p.ServerSideEmit(ctx, nsp, op.Event, op.Args...)
	}
	return fmt.Errorf("unknown op %q", op.Op)
}

// withUID puts uid in place of the sender's own in a command (the XADD's
// uid field, or the uid inside a pub/sub message).
func withUID(t *testing.T, cmd []string, uid string) []string {
	t.Helper()
	out := append([]string(nil), cmd...)
	out[0] = strings.ToUpper(out[0]) // go-redis writes "publish", node-redis "PUBLISH"
	if strings.EqualFold(cmd[0], "XADD") {
		if out[6] != "uid" {
			t.Fatalf("XADD without uid first: %q", cmd)
		}
		out[7] = uid
		return out
	}
	m, err := adapter.DecodeStreamsMessage([]byte(cmd[2]))
	if err != nil {
		t.Fatalf("%s payload: %v", cmd[0], err)
	}
	out[2] = string(bytes.Replace([]byte(cmd[2]), []byte(m.UID), []byte(uid), 1))
	return out
}

// TestStreamsCommandsMatchNodeAdapter performs the same operations with a
// Node server using the streams adapter and with the Go emitter, and
// compares the commands Redis receives: every XADD argument (stream,
// MAXLEN ~, fields, data) and every PUBLISH/SPUBLISH channel and payload,
// the sender's uid aside.
func TestStreamsCommandsMatchNodeAdapter(t *testing.T) {
	nodetest.Require(t)
	for _, tc := range []struct {
		name string
		key  string
		opts nodetest.StreamsOptions
	}{
		{"defaults", "", nodetest.StreamsOptions{}},
		// "/notifications" hashes negative: both write to "sio--2".
		{"three streams sharded", "myapp", nodetest.StreamsOptions{StreamName: "sio", StreamCount: 3, MaxLen: 500, UseShardedPubSub: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t)
			peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL(), Mode: "streams", Key: tc.key, Streams: tc.opts,
				Namespaces: []string{"/", "/admin", "/custom", "/notifications"}})
			mon := startMonitor(t, srv.Addr())
			em, err := emitter.New(srv.Client(t), emitter.Config{Key: tc.key, Sharded: tc.opts.UseShardedPubSub, Streams: streamsConfig(tc.opts)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			ops := append(byteOps(),
				nodetest.EmitterOp{Op: "emit", Nsp: "/notifications", To: []string{"x"}, Event: "lost", Args: []any{1}},
				nodetest.EmitterOp{Op: "serverSideEmit", Nsp: "/notifications", Event: "sse"})
			for i, op := range ops {
				if err := applyPeer(ctx, peer, op); err != nil {
					t.Fatalf("op %d %+v on the Node server: %v", i, op, err)
				}
				uid := peer.UID("/" + strings.TrimPrefix(op.Nsp, "/"))
				want := withUID(t, mon.next(t), uid)
				if err := applyGo(ctx, em, op); err != nil {
					t.Fatalf("op %d %+v with the Go emitter: %v", i, op, err)
				}
				got := withUID(t, mon.next(t), uid)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("op %d (%s %s): command differs (-node +go):\n%s", i, op.Op, op.Event, shortDiff(d))
				}
			}
			if s := em.Of("/notifications").Stream(); s != peer.Stream("/notifications") {
				t.Errorf("Stream() = %q, Node %q", s, peer.Stream("/notifications"))
			}
		})
	}
}

func shortDiff(d string) string {
	if len(d) > 2000 {
		return d[:2000] + "…"
	}
	return d
}

// TestStreamsCluster runs the delivery scenario on a three-master Redis
// Cluster: three streams (spread over the masters), sharded pub/sub.
func TestStreamsCluster(t *testing.T) {
	nodetest.Require(t)
	cl := redistest.StartCluster(t, 3)
	opts := nodetest.StreamsOptions{StreamCount: 3, UseShardedPubSub: true}
	w := startWorld(t, worldConfig{cluster: cl.Addrs(), mode: "streams", streams: opts})
	em, err := emitter.New(cl.Client(t), emitter.Config{Key: w.key, Sharded: true, Streams: streamsConfig(opts)})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]bool{}
	for _, nsp := range []string{"/", "/admin"} {
		nodes[cl.NodeFor(em.Of(nsp).Stream()).Addr()] = true
	}
	if len(nodes) < 2 {
		t.Errorf("the streams of / and /admin are on one node: the test would not cross nodes")
	}
	got := w.run(t, goApply(em))
	checkReference(t, got)
}

var entryID = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// TestStreamsOffset checks that a client of a Node server with
// connectionStateRecovery receives an emitted broadcast with the stream
// entry's id as its last argument (EmitOffset returns it), and a volatile
// one without.
func TestStreamsOffset(t *testing.T) {
	nodetest.Require(t)
	srv := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	opts := nodetest.StreamsOptions{StreamCount: 2}
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL(), Mode: "streams", Key: key, Streams: opts,
		Recovery: &nodetest.PeerRecovery{}, Namespaces: []string{"/", "/admin"}})
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{
		{Name: "c", Rooms: []string{"r"}}, {Name: "a", Nsp: "/admin"}}})
	em, err := emitter.New(srv.Client(t), emitter.Config{Key: key, Streams: streamsConfig(opts)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	id, err := em.To("r").EmitOffset(ctx, "with-offset", 1, []byte{2})
	if err != nil || !entryID.MatchString(id) {
		t.Fatalf("EmitOffset = %q, %v", id, err)
	}
	ev, err := cl.WaitEvent(ctx, "c", "with-offset")
	if err != nil {
		t.Fatal(err)
	}
	args, err := ev.Values()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]any{1.0, []byte{2}, id}, normalize(args)); d != "" {
		t.Errorf("with-offset args (-want +got):\n%s", d)
	}

	if err := em.Of("/admin").Volatile().Emit(ctx, "volatile", "v"); err != nil {
		t.Fatal(err)
	}
	if err := em.Of("/admin").Emit(ctx, "plain", "p"); err != nil {
		t.Fatal(err)
	}
	entries, err := srv.Client(t).XRevRangeN(ctx, em.Of("/admin").Stream(), "+", "-", 1).Result()
	if err != nil || len(entries) != 1 {
		t.Fatalf("XREVRANGE: %v %v", entries, err)
	}
	for _, want := range []struct {
		event string
		args  []any
	}{{"volatile", []any{"v"}}, {"plain", []any{"p", entries[0].ID}}} {
		ev, err := cl.WaitEvent(ctx, "a", want.event)
		if err != nil {
			t.Fatal(err)
		}
		args, err := ev.Values()
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want.args, args); d != "" {
			t.Errorf("%s args (-want +got):\n%s", want.event, d)
		}
	}
	// EmitOffset needs a streams cluster.
	plain, err := emitter.New(srv.Client(t), emitter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.EmitOffset(ctx, "x"); err == nil {
		t.Error("EmitOffset without Streams succeeded")
	}
}

// normalize turns json.Number into float64 for comparisons.
func normalize(v []any) []any {
	out := make([]any, len(v))
	for i, x := range v {
		if n, ok := x.(interface{ Float64() (float64, error) }); ok {
			f, _ := n.Float64()
			out[i] = f
			continue
		}
		out[i] = x
	}
	return out
}
