// Package redistest runs real Redis servers for tests: a standalone
// server, a Redis Cluster, or a Sentinel set-up, each made of redis-server
// processes on free 127.0.0.1 ports with their own temporary directories.
// There are no mocks and no Docker; the redis-server binary (Debian's
// redis-server package, Redis 7.0 or newer) must be in PATH. When it is
// not, every Start function fails the test with a message saying how to
// install it; tests are never skipped for a missing Redis.
//
// Typical use, from any package's tests (no TestMain needed):
//
//	func TestPublish(t *testing.T) {
//		t.Parallel()
//		srv := redistest.Start(t)
//		rdb := srv.Client(t)              // *redis.Client, closed at cleanup
//		prefix := redistest.UniquePrefix(t) // isolate keys and channels
//		...
//		srv.Stop()    // SIGKILL: an outage
//		srv.Restart() // same port, same config, empty data
//	}
//
//	cl := redistest.StartCluster(t, 3) // cl.Client(t) is a *redis.ClusterClient
//	cl.NodeFor(channel).Stop()         // the node serving a (sharded) channel
//	cr := redistest.StartCluster(t, 3, redistest.Replicas(1))
//	cr.Failover(ctx, key)              // CLUSTER FAILOVER on key's replica
//	cr.KillMaster(ctx, key)            // SIGKILL key's master, wait for promotion
//	sn := redistest.StartSentinel(t)   // sn.Client(t) is a failover client
//	sn.Failover(ctx)                   // promote the replica and wait for it
//	sn.KillMaster(ctx)                 // SIGKILL the master, wait for the sentinels
//
// Each Start function registers a t.Cleanup that kills its processes
// (SIGKILL, then waits for them) and removes their directories; on Linux
// the processes also die with the test binary if it is killed. Servers keep
// no data on disk (save "", appendonly no). Each server logs to a file in
// its directory ([Server.LogPath]); when a start fails, the test's failure
// message ends with the tail of that log.
//
// Readiness is awaited by polling with a deadline, never by fixed sleeps.
// Measured on a 2-core machine: a standalone server is ready in about
// 15 ms. A cluster takes about 2.1 s, almost all of it Redis's own 2 s
// delay before a freshly started master declares the cluster ok; with one
// replica per master about 3-4 s. [Cluster.Failover] takes 0.3-1 s and
// [Cluster.KillMaster] about 4 s. A sentinel set-up with one sentinel takes
// about 0.15 s, with three about 2.2 s (they must discover each other);
// [Sentinel.Failover] takes about 1.1 s and [Sentinel.KillMaster] with
// three sentinels about 2.3 s.
//
// Concurrency: the Start functions, [UniquePrefix] and every method are
// safe to call from parallel tests (t.Parallel); ports are drawn at random
// from a range below the ephemeral port range and a start is retried on a
// port conflict. The Start functions and the methods that can fail the
// test ([Server.Restart], [Server.Pause], [Server.Resume],
// [Sentinel.Master]) call t.Fatal and so must be called from the goroutine
// running the test; Failover, KillMaster and WaitReady return errors
// instead.
package redistest
