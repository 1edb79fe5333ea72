// Package redisaddr turns the --redis URL that every siorelay subcommand
// takes into go-redis options and a client. It names the three Redis
// deployments by scheme:
//
//	redis://[user:password@]host[:port][/db][?options]                       one server
//	redis-sentinel://[user:password@]host[:port][,host...]/master[/db][?options] Sentinel
//	redis-cluster://[user:password@]host[:port][,host...][?options]          Cluster
//
// and rediss://, rediss-sentinel://, rediss-cluster:// for TLS. [Help] is
// the full description for --help output. Query options use go-redis's
// names and value rules (a standalone URL gives exactly the options
// redis.ParseURL gives; a test checks that).
//
// Typical use, in a main package:
//
//	rdb, err := redisaddr.NewClient(cfg.RedisURL)
//	if err != nil {
//		return err // "redisaddr: unknown scheme "http" (want redis, ...)"
//	}
//	defer rdb.Close()
//	logger.Info("redis", "url", redisaddr.Redacted(cfg.RedisURL))
//
// [NewClient] returns a *redis.Client for a standalone URL, a failover
// *redis.Client (redis.NewFailoverClient) for a sentinel URL and a
// *redis.ClusterClient for a cluster URL; code that needs sharded pub/sub
// can type-assert to *redis.ClusterClient. To adjust options first, call
// [Parse], change the *redis.UniversalOptions, then [New].
//
// Errors are single lines starting with "redisaddr: " that name the
// problem and never contain a password; no input makes Parse, New or
// NewClient panic (a fuzz test checks that).
//
// Concurrency: every function is safe for concurrent use; they share no
// state.
package redisaddr
