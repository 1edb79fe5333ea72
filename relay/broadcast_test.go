package relay

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRoomsAndExcept(t *testing.T) {
	srv, base := testServer(t, Config{
		OnEvent: func(ctx context.Context, s *Socket, ev Event, ack AckFunc) {
			if ev.Name == "join" {
				var room string
				json.Unmarshal(ev.Args[0], &room)
				s.Join(room)
				ack()
			}
		},
	})
	ctx := context.Background()
	clients := make([]*wsClient, 4)
	ids := make([]string, 4)
	for i := range clients {
		clients[i] = openWS(t, base)
		ids[i] = clients[i].connect("/")
	}
	join := func(i int, room string) {
		clients[i].send(`421["join","` + room + `"]`)
		clients[i].expect("431[]")
	}
	join(0, "a")
	join(1, "a")
	join(1, "b")
	join(2, "b")
	srv.Of("/").In(ids[3]).SocketsJoin(ctx, "c")

	// got returns which clients received ev, by reading one frame from
	// each client that should and checking nothing else arrives later via
	// a final broadcast marker.
	check := func(name string, op Operator, want []int) {
		t.Helper()
		if err := op.Emit(ctx, name); err != nil {
			t.Fatal(err)
		}
		if err := srv.Of("/").Emit(ctx, "marker"); err != nil {
			t.Fatal(err)
		}
		var got []int
		for i, c := range clients {
			f := c.read()
			if f.data == `42["`+name+`"]` {
				got = append(got, i)
				f = c.read()
			}
			if f.data != `42["marker"]` {
				t.Fatalf("%s: client %d got %q", name, i, f.data)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s recipients (-want +got):\n%s", name, diff)
		}
	}
	check("all", srv.Of("/"), []int{0, 1, 2, 3})
	check("a", srv.Of("/").To("a"), []int{0, 1})
	check("a+b once each", srv.Of("/").To("a", "b"), []int{0, 1, 2})
	check("a except b", srv.Of("/").To("a").Except("b"), []int{0})
	check("all except a", srv.Of("/").Except("a"), []int{2, 3})
	check("socket id room", srv.Of("/").To(ids[2]), []int{2})
	check("except socket id", srv.Of("/").To("b").Except(ids[1]), []int{2})
	check("joined by server", srv.Of("/").To("c"), []int{3})
	check("volatile", srv.Of("/").To("c").Volatile(), []int{3})

	srv.Of("/").In("a").SocketsLeave(ctx, "a")
	check("a after leave", srv.Of("/").To("a"), nil)

	got := srv.Of("/").To("b").Sockets()
	sort.Strings(got)
	want := []string{ids[1], ids[2]}
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sockets (-want +got):\n%s", diff)
	}

	srv.Of("/").In("b").DisconnectSockets(ctx, true)
	clients[1].expect("41")
	clients[1].expectClosed()
	clients[2].expect("41")
	clients[2].expectClosed()
	clients = []*wsClient{clients[0], clients[3]}
	check("after disconnect", srv.Of("/"), []int{0, 1})
}

func TestEmitErrors(t *testing.T) {
	srv, _ := testServer(t, Config{})
	ctx := context.Background()
	if err := srv.Of("/").Emit(ctx, "disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Errorf("reserved: %v", err)
	}
	if err := srv.Of("/").Emit(ctx, "x", func() {}); err == nil {
		t.Error("unencodable argument accepted")
	}
	if err := srv.Of("/nope").Emit(ctx, "x"); err != nil {
		t.Errorf("unknown namespace: %v", err)
	}
}

func TestEmitWithAck(t *testing.T) {
	connected := make(chan *Socket, 1)
	_, base := testServer(t, Config{OnConnection: func(ctx context.Context, s *Socket) { connected <- s }})
	c := openWS(t, base)
	c.connect("/")
	sk := <-connected
	type result struct {
		args []json.RawMessage
		atts [][]byte
		err  error
	}
	res := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a, b, err := sk.EmitWithAck(ctx, "ask", 1)
		res <- result{a, b, err}
	}()
	c.expect(`420["ask",1]`)
	c.send(`461-0["yes",{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{7})
	r := <-res
	if r.err != nil || len(r.args) != 2 || string(r.args[0]) != `"yes"` || len(r.atts) != 1 || r.atts[0][0] != 7 {
		t.Fatalf("ack: %+v", r)
	}
	// Timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := sk.EmitWithAck(ctx, "ask", 2); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("err %v, want ErrAckTimeout", err)
	}
	c.expect(`421["ask",2]`)
	// Disconnect while waiting.
	go func() {
		_, _, err := sk.EmitWithAck(context.Background(), "ask", 3)
		res <- result{err: err}
	}()
	c.expect(`422["ask",3]`)
	c.conn.Close()
	if r := <-res; !errors.Is(r.err, ErrSocketClosed) {
		t.Fatalf("err %v, want ErrSocketClosed", r.err)
	}
	select {
	case <-sk.Context().Done():
	case <-time.After(time.Second):
		t.Fatal("socket context not cancelled")
	}
}

// TestStuckClientDoesNotStallOthers: a client that never reads does not
// delay deliveries to the others, gets its volatile packets dropped, and
// is disconnected once over its queue limit.
func TestStuckClientDoesNotStallOthers(t *testing.T) {
	reasons := make(chan string, 4)
	srv, base := testServer(t, Config{
		MaxQueueBytes:      4 << 20,
		VolatileQueueBytes: 256 << 10,
		WriteTimeout:       time.Hour, // only the queue limit applies
		OnDisconnect:       func(s *Socket, reason string) { reasons <- reason },
	})
	stuck := openWS(t, base)
	stuck.connect("/")
	good := openWS(t, base)
	good.connect("/")
	ctx := context.Background()
	payload := strings.Repeat("x", 16<<10)
	want := `42["big","` + payload + `"]`
	deadline := time.Now().Add(20 * time.Second)
	var maxQueued int64 // the largest WebSocket send queue seen in Stats
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("stuck client never disconnected")
		}
		maxQueued = max(maxQueued, srv.Stats().WebSocketQueuedBytes)
		if err := srv.Of("/").Volatile().Emit(ctx, "v", i); err != nil {
			t.Fatal(err)
		}
		if err := srv.Of("/").Emit(ctx, "big", payload); err != nil {
			t.Fatal(err)
		}
		// The good client gets every packet right away.
		good.expect(`42["v",` + itoaInt(i) + `]`)
		good.expect(want)
		select {
		case r := <-reasons:
			if r != "transport error" {
				t.Fatalf("stuck client reason %q", r)
			}
			st := srv.Stats()
			if st.SlowConsumers != 1 || st.WriteTimeouts != 0 || st.DroppedVolatile == 0 {
				t.Fatalf("stats %+v", st)
			}
			// Volatile packets were dropped, so the stuck client's queue
			// was seen above the volatile threshold at some point.
			if maxQueued < 256<<10 {
				t.Fatalf("largest WebSocketQueuedBytes seen %d, want ≥ %d", maxQueued, 256<<10)
			}
			return
		default:
		}
	}
}

func itoaInt(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestWriteTimeoutDisconnects: a client that stops reading while its
// queue is under the limit is disconnected by the write timeout, and
// counted as such.
func TestWriteTimeoutDisconnects(t *testing.T) {
	reasons := make(chan string, 1)
	srv, base := testServer(t, Config{
		MaxQueueBytes: 256 << 20, // only the write timeout applies
		WriteTimeout:  300 * time.Millisecond,
		OnDisconnect:  func(s *Socket, reason string) { reasons <- reason },
	})
	stuck := openWS(t, base)
	stuck.connect("/")
	ctx := context.Background()
	payload := strings.Repeat("x", 64<<10)
	// Fill the kernel's socket buffers (a few MB on loopback) until the
	// relay holds megabytes it cannot write, then wait for the timeout.
	deadline := time.Now().Add(20 * time.Second)
	var reason string
	for reason == "" {
		if time.Now().After(deadline) {
			t.Fatal("stuck client not disconnected by the write timeout")
		}
		select {
		case reason = <-reasons:
			continue
		default:
		}
		if srv.Stats().WebSocketQueuedBytes < 16<<20 {
			if err := srv.Of("/").Emit(ctx, "big", payload); err != nil {
				t.Fatal(err)
			}
			continue
		}
		select {
		case reason = <-reasons:
		case <-time.After(time.Until(deadline)):
		}
	}
	if reason != "transport error" {
		t.Fatalf("reason %q", reason)
	}
	if st := srv.Stats(); st.SlowConsumers != 1 || st.WriteTimeouts != 1 {
		t.Fatalf("SlowConsumers %d, WriteTimeouts %d; want 1, 1", st.SlowConsumers, st.WriteTimeouts)
	}
}
