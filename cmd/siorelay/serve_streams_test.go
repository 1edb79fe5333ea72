package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// TestServeStreams: `serve --redis --adapter streams --recovery` is a member
// of a @socket.io/redis-streams-adapter cluster: a Node server's broadcast
// reaches its client with the stream entry id as offset, and a client that
// loses its connection to the Node server recovers on the relay.
func TestServeStreams(t *testing.T) {
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: rs.URL(), Key: key, Mode: "streams",
		Streams:  nodetest.StreamsOptions{StreamName: key + "s", SessionKeyPrefix: key + ":sess:"},
		Recovery: &nodetest.PeerRecovery{MaxDisconnection: time.Minute}})
	url, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--redis", rs.URL(), "--key", key, "--adapter", "streams",
		"--stream-name", key+"s", "--session-key-prefix", key+":sess:", "--recovery", "1m", "--log-level", "error")
	base := strings.TrimSuffix(url, "/socket.io/")
	waitStatus(t, base+"/readyz", http.StatusOK)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A client of the Node server, which it will lose.
	off := false
	nc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{{Name: "c1", Reconnection: &off}}})
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: base, Clients: []nodetest.ClientConfig{{Name: "c2"}}})
	if err := peer.Emit(ctx, nodetest.Target{}, "hello", 1); err != nil {
		t.Fatal(err)
	}
	e1, err := nc.WaitEvent(ctx, "c1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	e2, err := rc.WaitEvent(ctx, "c2", "hello")
	if err != nil {
		t.Fatal(err)
	}
	var o1, o2 string
	json.Unmarshal(e1.Args[1], &o1)
	json.Unmarshal(e2.Args[1], &o2)
	if o1 == "" || o1 != o2 || !strings.Contains(o1, "-") {
		t.Fatalf("offsets %q (Node) and %q (relay), want the same stream entry id", o1, o2)
	}
	id := nc.ID("c1")
	if err := peer.DropConnection(ctx, "/", id); err != nil {
		t.Fatal(err)
	}
	sess, err := peer.WaitSession(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.Emit(ctx, nodetest.Target{}, "missed", 2); err != nil {
		t.Fatal(err)
	}
	// The same client state, on the relay: what a load balancer that
	// lost the Node server would do (socket.io-client keeps pid and offset).
	rc2 := nodetest.StartClients(t, nodetest.ClientsConfig{URL: base, Clients: []nodetest.ClientConfig{
		{Name: "c1", Auth: map[string]any{"pid": sess.PID, "offset": o1}},
	}})
	if got := rc2.ID("c1"); got != id {
		t.Fatalf("on the relay: socket %s, want %s (recovered)", got, id)
	}
	if _, err := rc2.WaitEvent(ctx, "c1", "missed"); err != nil {
		t.Fatal(err)
	}
}

func TestServeStreamsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--adapter", "streams"},
		{"--adapter", "kafka", "--redis", "redis://127.0.0.1:1"},
		{"--stream-name", "x", "--redis", "redis://127.0.0.1:1"},
		{"--adapter", "streams", "--stream-count", "0", "--redis", "redis://127.0.0.1:1"},
		{"--session-key-prefix", "p:", "--redis", "redis://127.0.0.1:1"},
	} {
		err := runServe(context.Background(), append([]string{"--addr", "127.0.0.1:0"}, args...), io.Discard, io.Discard)
		var ue usageError
		if err == nil || !errorsAs(err, &ue) {
			t.Errorf("%v: err %v, want usage error", args, err)
		}
	}
}
