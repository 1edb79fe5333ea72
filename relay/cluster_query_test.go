package relay_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
	"github.com/siorelay/siorelay/relay"
)

// TestClusterQueryDetails: EmitWithAcks names this relay's sockets that
// answered and counts clients and servers; FetchSockets and AllRooms keep
// the answers that arrived when a server never answers.
func TestClusterQueryDetails(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: rs.URL(), Key: key})
	srv, url, _ := clusterRelay(t, rs.Client(t), key, "relay1", nil)
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
		{Name: "r1", Rooms: []string{"room1"}},
		{Name: "rsilent", Rooms: []string{"room1"}, NoAck: true},
	}})
	nc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{
		{Name: "n1", Rooms: []string{"room1"}},
	}})
	ctx := ctxT(t, 60*time.Second)

	actx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	res, err := srv.Of("/").To("room1").EmitWithAcks(actx, "ask")
	if !errors.Is(err, relay.ErrAckTimeout) {
		t.Fatalf("err = %v; want ErrAckTimeout (rsilent never acks)", err)
	}
	if res.Clients != 3 || res.Servers != 2 || len(res.Answers) != 2 {
		t.Fatalf("%+v; want 3 clients, 2 servers, 2 answers", res)
	}
	var sids []string
	for _, a := range res.Answers {
		sids = append(sids, a.SocketID)
		if got := mustJSON(t, a.Value).(map[string]any)["client"]; a.SocketID == rc.ID("r1") && got != "r1" || a.SocketID == "" && got != "n1" {
			t.Errorf("answer %s from %q", a.Value, a.SocketID)
		}
	}
	slices.Sort(sids)
	if d := cmp.Diff([]string{"", rc.ID("r1")}, sids); d != "" {
		t.Errorf("socket ids (-want +got):\n%s", d)
	}

	// A subscriber of the request channel is a server that never answers.
	ps := rs.Client(t).Subscribe(ctx, adapter.RequestChannel(key, "/"))
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	fctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	socks, err := srv.Of("/").To("room1").FetchSockets(fctx)
	if !errors.Is(err, relay.ErrRequestTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FetchSockets err = %v; want ErrRequestTimeout", err)
	}
	var got []string
	for _, s := range socks {
		got = append(got, s.ID)
	}
	slices.Sort(got)
	want := []string{rc.ID("r1"), rc.ID("rsilent"), nc.ID("n1")}
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("partial sockets (-want +got):\n%s", d)
	}
	rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	rooms, err := srv.AllRooms(rctx, "/")
	if !errors.Is(err, relay.ErrRequestTimeout) || !slices.Contains(rooms, nc.ID("n1")) || !slices.Contains(rooms, "room1") {
		t.Fatalf("AllRooms = %v, %v; want the partial rooms and ErrRequestTimeout", rooms, err)
	}
}
