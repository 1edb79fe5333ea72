// Package emitter publishes Socket.IO events, room joins and leaves,
// disconnections and server-side emits into Redis, in the format of
// @socket.io/redis-adapter 8.3.0, so that every Socket.IO server of a
// cluster (Node servers with the Redis adapter, and siorelay relays)
// delivers them to its clients. It is the Go counterpart of
// @socket.io/redis-emitter 5.1.0, and it also reaches clusters that use the
// sharded adapter (createShardedAdapter, SPUBLISH), which the Node emitter
// cannot.
//
// With [Config.Streams] it targets servers using
// @socket.io/redis-streams-adapter 0.3.1 instead, writing exactly what
// their adapter writes: broadcasts, joins, leaves and disconnects become
// entries of the namespace's stream (XADD MAXLEN ~, the stream chosen per
// namespace as the adapter chooses among streamCount streams), server-side
// emits go over pub/sub (SPUBLISH with Sharded). [Operator.EmitOffset]
// also returns the entry's id, the offset recovering clients get.
//
// An Emitter holds no sockets and publishes through the
// redis.UniversalClient it is given (standalone, Sentinel or Cluster).
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	em, err := emitter.New(rdb, emitter.Config{})
//	// io.to("room1").except("room2").emit("chat", "hi", 42)
//	err = em.To("room1").Except("room2").Emit(ctx, "chat", "hi", 42)
//	// io.of("/admin").in("room1").socketsJoin("room2")
//	err = em.Of("/admin").In("room1").SocketsJoin(ctx, "room2")
//
// Arguments may be any value encoding/json could marshal: structs are named
// by their json tags, json.RawMessage is sent as the JSON value it holds,
// and []byte travels as binary, which Node clients receive as a Buffer (an
// ArrayBuffer in browsers).
//
// It can also ask the servers of the cluster, which the Node emitter
// cannot: [Operator.FetchSockets], [Emitter.ServerCount],
// [Emitter.AllRooms] and [Operator.EmitWithAck] speak the adapter's
// request/response protocol (classic or sharded), and Node servers and
// relays answer them as they answer each other:
//
//	socks, err := em.In("room1").FetchSockets(ctx) // io.in("room1").fetchSockets()
//	n, err := em.ServerCount(ctx)                  // io.of("/").adapter.serverCount()
//	acks, err := em.To("room1").Timeout(5*time.Second).EmitWithAck(ctx, "confirm")
//
// Servers are counted as the adapter counts them and every query waits
// until all of them answered, its timeout passed (then its error wraps
// [ErrTimeout] and its result holds what arrived) or its answers grew
// past Config.MaxResponseSize. A query receives the answers on a Redis
// subscription of its own, opened by the first query of a namespace and
// kept for the next ones (one connection per namespace queried, closed
// after five idle minutes or by [Emitter.Close]).
//
// Unlike the Node emitter, every action reports failure: a reserved event
// name or an argument that cannot be encoded is rejected before anything
// is published, and a Redis error is returned.
//
// A worker that waits for each publish and has Redis close by may dial with
// [SpinDialer], whose connections poll for Redis's reply for a few tens of
// microseconds before parking (about 2× the serial publish rate when Redis
// runs on another core of the host; slower when both share one core).
//
// Concurrency: an *Emitter and an Operator are immutable and safe for
// concurrent use by any number of goroutines. Concurrent actions are
// pipelined to Redis together (several publishes share one round trip); an
// action returns once Redis has acknowledged its own publish, so the
// actions of one goroutine reach Redis in the order they were made.
// Queries run concurrently too; each answer subscription has one reader
// goroutine, which hands answers to the waiting queries, and
// [Emitter.Close] waits for those goroutines; a FetchSockets decodes a
// large answer on up to GOMAXPROCS goroutines of its own and waits for
// them before it returns. Lock order (request.go,
// transport.go): subscriptions.mu before subscription.mu; requester.mu and
// call.mu are each taken alone.
package emitter
