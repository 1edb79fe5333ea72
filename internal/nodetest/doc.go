// Package nodetest lets Go tests drive real Node.js Socket.IO peers, clients
// and emitters at pinned versions (socket.io 4.8.4, socket.io-client 4.8.4,
// @socket.io/redis-adapter 8.3.0, @socket.io/redis-emitter 5.1.0,
// @socket.io/redis-streams-adapter 0.3.1, redis 4.7.1),
// so that compatibility claims are tested against the real packages rather
// than against a reading of them.
//
// The Node side lives in clients/compat ([Dir]): small scripts that take a JSON
// config as argv[2], print one JSON object per line on stdout and, where they
// take commands, read one JSON object per line on stdin. Binary values travel
// as {"$bin":"<base64>"} ([Bin], [Decode]). Its node_modules come from the
// committed package-lock.json (`make deps-compat`, or
// `npm ci --prefix clients/compat`); [Require] fails a test, never skips it,
// when node or node_modules is missing.
//
// Typical use, with a real Redis from internal/redistest:
//
//	srv := redistest.Start(t)
//	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL()})
//	cl := nodetest.StartClients(t, nodetest.ClientsConfig{
//		URL:     peer.URL(),
//		Clients: []nodetest.ClientConfig{{Name: "c1", Rooms: []string{"r1"}}},
//	})
//	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
//	defer cancel()
//	if err := peer.Emit(ctx, nodetest.Target{To: []string{"r1"}}, "hello", 1); err != nil {
//		t.Fatal(err)
//	}
//	ev, err := cl.WaitEvent(ctx, "c1", "hello") // ev.Args[0] is json `1`
//
// [StartPeer] returns once the peer's adapter subscriptions are confirmed by
// Redis, and a client counts as connected only after it has joined the rooms
// in its auth (and, for the sharded adapter, the room channels are
// subscribed). Peer commands answer after the PUBLISH/SPUBLISH they caused was
// acknowledged by Redis. Note the classic adapter's own semantics: socketsJoin,
// socketsLeave and disconnectSockets only publish, and every peer (the sender
// included) applies them when the request comes back from Redis, so their
// effect is not yet visible when the command returns. Also mind that
// serverCount is PUBSUB NUMSUB of the request channel (classic) or
// SHARDNUMSUB of the main channel (sharded): a test's own SSUBSCRIBE on
// "<key>#<nsp>#" counts as a server and makes sharded requests wait for an
// answer that never comes (a PSUBSCRIBE spy is not counted).
//
// A peer with Mode "streams" runs @socket.io/redis-streams-adapter with the
// options of [StreamsOptions] (and socket.io's connectionStateRecovery with
// [PeerRecovery]); StartPeer returns once its readers are running, proven by
// marker entries without "nsp" that every reader skips. [Peer.Stream] names
// a namespace's stream, [Peer.WaitSession] reports stored sessions and
// [Peer.DropConnection] cuts a socket's connection as a network loss would:
//
//	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL(), Mode: "streams",
//		Streams:  nodetest.StreamsOptions{StreamCount: 2, UseShardedPubSub: true},
//		Recovery: &nodetest.PeerRecovery{MaxDisconnection: time.Minute}})
//	err := peer.DropConnection(ctx, "/", socketID)
//	sess, err := peer.WaitSession(ctx, "") // sess.PID, sess.Key
//
// Every process is stopped at t.Cleanup (stdin closed, then killed after a
// grace period); when the test failed, its stderr and last stdout lines are
// logged. Processes also exit when their stdin closes, so they do not outlive
// a killed test binary.
//
// Concurrency: a [Proc] (and so a [Peer] or [Clients]) is safe for concurrent
// use; several goroutines may Call, WaitFor and Next at the same time. Each
// stdout line is consumed by exactly one Next or WaitFor; lines nobody has
// consumed yet stay queued, so tests can wait for events in any order.
// Functions that take a testing.TB and call t.Fatal must run on the test's
// goroutine.
package nodetest
