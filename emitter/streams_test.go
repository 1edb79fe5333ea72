package emitter

import (
	"context"
	"strings"
	"testing"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/redistest"
)

func TestStreamsConfig(t *testing.T) {
	for _, bad := range []Config{
		{Streams: &StreamsConfig{StreamCount: -1}},
		{Streams: &StreamsConfig{MaxLen: -5}},
		{Streams: &StreamsConfig{}, Sharded: true, SubscriptionMode: Static},
	} {
		if _, err := New(newOffline(t, Config{}).c.pipe.rdb, bad); err == nil {
			t.Errorf("New(%+v) succeeded", bad)
		}
	}
	em := newOffline(t, Config{Key: "app", Streams: &StreamsConfig{StreamName: "s", StreamCount: 3, MaxLen: 50}})
	if s := em.Stream(); s != "s-2" {
		t.Errorf("Stream() = %q", s)
	}
	if s := em.Of("notifications").Stream(); s != "s--2" {
		t.Errorf("Stream() of a negative hash = %q", s)
	}
	if s := newOffline(t, Config{}).Stream(); s != "" {
		t.Errorf("Stream() without streams = %q", s)
	}

	m, err := em.To("r").Except("x").Volatile().EmitMessage("e", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"packet":{"type":2,"data":["e",1]},"opts":{"rooms":["r"],"except":["x"],"flags":{"volatile":true}}}`
	if m.Channel != "s-2" || string(m.Payload) != want || m.typ != adapter.ShardedBroadcast {
		t.Errorf("EmitMessage = %q %s %d", m.Channel, m.Payload, m.typ)
	}
	args := m.xaddArgs()
	if args[0] != "XADD" || args[1] != "s-2" || args[4] != int64(50) || args[7] != em.c.uid || args[11] != "3" {
		t.Errorf("XADD %v", args)
	}
	m = em.In("a").SocketsJoinMessage()
	if string(m.Payload) != `{"opts":{"rooms":["a"],"except":[],"flags":{}},"rooms":[]}` || m.typ != adapter.SocketsJoin {
		t.Errorf("SocketsJoinMessage = %s %d", m.Payload, m.typ)
	}
	if m = em.SocketsLeaveMessage("b"); m.typ != adapter.SocketsLeave {
		t.Errorf("SocketsLeaveMessage type %d", m.typ)
	}
	if m = em.DisconnectSocketsMessage(true); string(m.Payload) != `{"opts":{"rooms":[],"except":[],"flags":{}},"close":true}` || m.typ != adapter.DisconnectSockets {
		t.Errorf("DisconnectSocketsMessage = %s", m.Payload)
	}
	m, err = em.ServerSideEmitMessage("ping")
	if err != nil || m.Channel != "app#/#" || m.stream != nil {
		t.Errorf("ServerSideEmitMessage = %+v %v", m, err)
	}
	if _, err := em.EmitMessage("disconnect"); err == nil {
		t.Error("reserved event accepted")
	}
	if _, err := em.EmitOffset(context.Background(), "connect"); err == nil {
		t.Error("EmitOffset accepted a reserved event")
	}
}

// TestStreamsRedisErrors checks that XADD failures come back, from Emit,
// from Publish and from EmitOffset.
func TestStreamsRedisErrors(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	em, err := New(rdb, Config{Streams: &StreamsConfig{StreamName: "notastream"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := rdb.Set(ctx, "notastream", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := em.Emit(ctx, "e"); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") || !strings.Contains(err.Error(), `stream "notastream"`) {
		t.Errorf("Emit into a string key: %v", err)
	}
	if _, err := em.EmitOffset(ctx, "e"); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Errorf("EmitOffset into a string key: %v", err)
	}
	m1, _ := em.EmitMessage("a")
	m2 := em.SocketsJoinMessage("r")
	if err := em.Publish(ctx, m1, m2); err == nil || !strings.Contains(err.Error(), "2 of 2") {
		t.Errorf("Publish: %v", err)
	}
	if err := rdb.Del(ctx, "notastream").Err(); err != nil {
		t.Fatal(err)
	}
	if err := em.Publish(ctx, m1, m2); err != nil {
		t.Fatal(err)
	}
	n, err := rdb.XLen(ctx, "notastream").Result()
	if err != nil || n != 2 {
		t.Errorf("XLEN = %d, %v; want 2", n, err)
	}
}
