package relay

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/internal/redistest"
)

// slowSet is a go-redis hook that holds every SET for a while on its way
// to Redis, telling started when it begins to wait: a session write
// queued behind others, as when thousands of sockets leave at once.
type slowSet struct {
	delay   time.Duration
	started chan string // the key of each held SET
}

func (h slowSet) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h slowSet) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "set" {
			h.started <- cmd.Args()[1].(string)
			time.Sleep(h.delay)
		}
		return next(ctx, cmd)
	}
}

func (h slowSet) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestStreamsSessionStoredBeforeTaken: in a streams cluster, a client that
// comes back to the same relay while that relay's SET of its session is
// still on its way to Redis is recovered, not given a new socket. The
// session is stored asynchronously when the socket leaves (keepSession)
// and taken with MULTI GET DEL EXEC on another connection of the pool, so
// the GET could overtake the SET: `loadgen recovery-streams` saw 5 of 200
// and 21 of 1,000 clients that reconnected at once to the same relay get
// a new socket (siorelay_recovery_failed_total{reason="unknown"}), while
// the Node adapter, which sends the SET and the later MULTI on one
// connection in that order, recovered them all. Here the SET is held
// 300 ms, and the client reconnects as soon as the relay has sent it.
func TestStreamsSessionStoredBeforeTaken(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	hook := slowSet{delay: 300 * time.Millisecond, started: make(chan string, 4)}
	rdb.AddHook(hook)
	srv, base := testServer(t, Config{
		Redis: rdb, Key: redistest.UniquePrefix(t), Streams: &Streams{},
		Recovery: &Recovery{MaxDisconnection: time.Minute},
	})
	waitUntil(t, 10*time.Second, "ready", srv.Ready)

	c := openWS(t, base)
	first, offset := recoverableSocket(t, srv, c)

	c.conn.Close()
	select {
	case key := <-hook.started:
		if !strings.HasSuffix(key, first.PID) {
			t.Fatalf("SET %s, want the session of %s", key, first.PID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the relay stored no session for the dropped socket")
	}
	c2 := reconnect(t, base, first, offset)
	wantRecovered(t, srv, c2, first)
}

// socketIDs are the ids of a CONNECT reply with connection state recovery.
type socketIDs struct{ SID, PID string }

// recoverableSocket connects c to "/" and has srv broadcast one event,
// returning the socket's ids and the event's offset: what its client
// reconnects with.
func recoverableSocket(t *testing.T, srv *Server, c *wsClient) (ids socketIDs, offset string) {
	t.Helper()
	c.send("40")
	if f := c.read(); !strings.HasPrefix(f.data, "40{") || json.Unmarshal([]byte(f.data[2:]), &ids) != nil || ids.PID == "" {
		t.Fatalf("CONNECT reply %q, want sid and pid", f.data)
	}
	if err := srv.Of("/").Emit(t.Context(), "n", 1); err != nil {
		t.Fatal(err)
	}
	for {
		f := c.read()
		if f.data == "2" {
			continue
		}
		var args []any
		if !strings.HasPrefix(f.data, "42") || json.Unmarshal([]byte(f.data[2:]), &args) != nil || len(args) != 3 {
			t.Fatalf("got %q, want the event with its offset", f.data)
		}
		offset, _ = args[2].(string)
		return ids, offset
	}
}

// reconnect opens a new connection to base and sends the CONNECT of a
// client that comes back with ids' pid and offset.
func reconnect(t *testing.T, base string, ids socketIDs, offset string) *wsClient {
	t.Helper()
	c := openWS(t, base)
	auth, _ := json.Marshal(map[string]string{"pid": ids.PID, "offset": offset})
	c.send("40" + string(auth))
	return c
}

// wantRecovered reads c's CONNECT reply and fails unless it carries ids:
// the socket was recovered.
func wantRecovered(t *testing.T, srv *Server, c *wsClient, ids socketIDs) {
	t.Helper()
	var again socketIDs
	if f := c.read(); !strings.HasPrefix(f.data, "40{") || json.Unmarshal([]byte(f.data[2:]), &again) != nil {
		t.Fatalf("CONNECT reply %q", f.data)
	}
	if again != ids {
		t.Fatalf("reconnected as %+v, want %+v (recovered); recovery stats %+v", again, ids, srv.Stats().Recovery)
	}
}
