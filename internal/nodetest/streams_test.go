package nodetest_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// TestTwoPeersStreams runs the two-peer scenario over the streams adapter,
// with two streams and sharded pub/sub.
func TestTwoPeersStreams(t *testing.T) {
	t.Parallel()
	testTwoPeers(t, nodetest.PeerConfig{Mode: "streams", Streams: nodetest.StreamsOptions{StreamCount: 2, UseShardedPubSub: true}})
}

var entryID = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// TestStreamsRecovery checks the recovery plumbing of a streams peer: the
// offset a client gets is the stream entry's id, a dropped connection's
// session is reported once stored, and another peer restores it, replaying
// what was missed.
func TestStreamsRecovery(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := nodetest.PeerConfig{Redis: srv.URL(), Mode: "streams", Recovery: &nodetest.PeerRecovery{MaxDisconnection: time.Minute},
		Streams: nodetest.StreamsOptions{StreamName: "s", SessionKeyPrefix: "sess:"}}
	a := nodetest.StartPeer(t, cfg)
	b := nodetest.StartPeer(t, cfg)
	if a.Stream("/") != "s" {
		t.Fatalf("Stream(/) = %q", a.Stream("/"))
	}
	cb := nodetest.StartClients(t, nodetest.ClientsConfig{URL: b.URL(), Clients: []nodetest.ClientConfig{{Name: "c", Rooms: []string{"r"}}}})
	ctx := testContext(t)
	rdb := srv.Client(t)

	if err := a.Emit(ctx, nodetest.Target{To: []string{"r"}}, "e1", 1); err != nil {
		t.Fatal(err)
	}
	ev, err := cb.WaitEvent(ctx, "c", "e1")
	if err != nil {
		t.Fatal(err)
	}
	args := values(t, ev)
	offset, _ := args[len(args)-1].(string)
	if last := lastEntry(ctx, t, rdb, "s"); len(args) != 2 || !entryID.MatchString(offset) || offset != last {
		t.Fatalf("e1 args %v: want [1, %s] (the stream entry's id)", args, last)
	}

	if err := b.DropConnection(ctx, "/", cb.ID("c")); err != nil {
		t.Fatal(err)
	}
	sess, err := b.WaitSession(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if sess.Key != "sess:"+sess.PID || sess.PX != 60000 {
		t.Errorf("session %+v", sess)
	}
	if ttl, err := rdb.PTTL(ctx, sess.Key).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("PTTL %s = %v, %v", sess.Key, ttl, err)
	}
	if err := a.Emit(ctx, nodetest.Target{To: []string{"r"}}, "e2", 2); err != nil {
		t.Fatal(err)
	}
	// A client presenting the session's pid and its last offset to A.
	ca := nodetest.StartClients(t, nodetest.ClientsConfig{URL: a.URL(), Clients: []nodetest.ClientConfig{
		{Name: "again", Auth: map[string]any{"pid": sess.PID, "offset": offset}}}})
	l, err := a.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "connection" })
	if err != nil {
		t.Fatal(err)
	}
	if l.Str("id") != cb.ID("c") || string(l.Field("recovered")) != "true" {
		t.Errorf("connection at A: %s, want socket %s recovered", l, cb.ID("c"))
	}
	ev, err = ca.WaitEvent(ctx, "again", "e2")
	if err != nil {
		t.Fatal(err)
	}
	if args := values(t, ev); len(args) != 2 || args[1] != lastEntry(ctx, t, rdb, "s") {
		t.Errorf("replayed e2 args %v", args)
	}
	if n, err := rdb.Exists(ctx, sess.Key).Result(); err != nil || n != 0 {
		t.Errorf("session still stored after the restore: %d %v", n, err)
	}
}

// lastEntry returns the id of the last entry of stream that has a
// namespace (peers add marker entries without one).
func lastEntry(ctx context.Context, t *testing.T, rdb *redis.Client, stream string) string {
	t.Helper()
	entries, err := rdb.XRevRangeN(ctx, stream, "+", "-", 10).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Values["nsp"] != nil {
			return e.ID
		}
	}
	t.Fatalf("no entry in %s", stream)
	return ""
}
