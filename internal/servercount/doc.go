// Package servercount counts the Socket.IO servers of a Redis adapter
// cluster as @socket.io/redis-adapter 8.3.0 counts them: the subscribers of
// one channel, PUBSUB NUMSUB of a namespace's request channel for the
// classic adapter (createAdapter) and PUBSUB SHARDNUMSUB of its channel for
// the sharded one (createShardedAdapter). On a Redis Cluster each master
// only knows its own subscribers, so the counts of every master are summed,
// as the adapter's PUBSUB helper does.
//
// The relay (whose own subscription is one of those counted) and the
// emitter (which subscribes to no such channel and is never counted) share
// it:
//
//	n, err := servercount.Count(ctx, rdb, adapter.RequestChannel("socket.io", "/"), false)
//
// Concurrency: Count is safe for concurrent use; the package holds no
// state.
package servercount
