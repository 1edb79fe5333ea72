package redistest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots in a Redis Cluster.
const clusterSlots = 16384

// clusterTimeout bounds how long the nodes may take to agree on the slots.
const clusterTimeout = 30 * time.Second

// Cluster is a Redis Cluster started by [StartCluster]. Its methods are
// safe for concurrent use, but those that change roles (Failover,
// KillMaster) should not run concurrently with each other; see [Server] for
// the methods of its nodes.
type Cluster struct {
	all []*Server // every node: masters in slot order, then replicas

	mu     sync.Mutex
	shards []*shard // in slot order; guarded by mu
}

// shard is one slot range and the nodes that serve it.
type shard struct {
	first, last int
	// nodes[0] is the master as last seen by the harness, the rest its
	// replicas. Guarded by Cluster.mu.
	nodes []*Server
}

// Replicas gives every master of [StartCluster] n replicas (default 0).
// A cluster with replicas supports [Cluster.Failover], and with three or
// more masters also [Cluster.KillMaster].
func Replicas(n int) Option {
	return func(o *options) { o.replicas = n }
}

// StartCluster runs masters redis-server nodes with cluster-enabled yes on
// free loopback ports (plus their replicas, see [Replicas]), assigns the
// 16384 hash slots to the masters in equal contiguous ranges (master 0 gets
// the lowest), joins all nodes with CLUSTER MEET, attaches the replicas with
// CLUSTER REPLICATE, and waits until every node reports cluster_state:ok,
// knows every other node and agrees on who serves which slots, and every
// replica is in sync. Options apply to every node. All processes are killed
// in t.Cleanup.
//
// The cluster is formed with plain commands (CLUSTER SET-CONFIG-EPOCH,
// ADDSLOTSRANGE, MEET, REPLICATE), not with redis-cli --cluster. Nodes use
// cluster-node-timeout 2000, so a stopped master is detected in about 2 s.
func StartCluster(t testing.TB, masters int, opts ...Option) *Cluster {
	t.Helper()
	o := buildOptions(opts)
	if masters < 1 || masters > 100 {
		t.Fatalf("redistest: StartCluster: masters = %d, want 1 to 100", masters)
	}
	if o.replicas < 0 || o.replicas > 5 {
		t.Fatalf("redistest: StartCluster: %d replicas per master, want 0 to 5", o.replicas)
	}
	c := &Cluster{}
	for i := range masters {
		c.shards = append(c.shards, &shard{first: i * clusterSlots / masters, last: (i+1)*clusterSlots/masters - 1})
	}
	conf := func(s *Server) string { return dataConf(s, o.conf) }
	for i, sh := range c.shards {
		s := startServer(t, fmt.Sprintf("cluster master %d", i), false, true, o.cpus, conf)
		sh.nodes = append(sh.nodes, s)
		c.all = append(c.all, s)
	}
	for r := range o.replicas {
		for i, sh := range c.shards {
			s := startServer(t, fmt.Sprintf("cluster replica %d of master %d", r, i), false, true, o.cpus, conf)
			sh.nodes = append(sh.nodes, s)
			c.all = append(c.all, s)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := c.form(ctx); err != nil {
		t.Fatalf("redistest: StartCluster: %v%s", err, c.logs())
	}
	return c
}

// form assigns slots, joins the nodes, attaches the replicas and waits for
// agreement.
func (c *Cluster) form(ctx context.Context) error {
	clients := map[*Server]*redis.Client{}
	for _, n := range c.all {
		clients[n] = redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		defer clients[n].Close()
	}
	for i, sh := range c.shards {
		m := sh.nodes[0]
		// Distinct epochs avoid the collision-resolution round on start.
		if err := clients[m].Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return fmt.Errorf("node %s: CLUSTER SET-CONFIG-EPOCH: %w", m.Addr(), err)
		}
		if err := clients[m].Do(ctx, "CLUSTER", "ADDSLOTSRANGE", sh.first, sh.last).Err(); err != nil {
			return fmt.Errorf("node %s: CLUSTER ADDSLOTSRANGE %d %d: %w", m.Addr(), sh.first, sh.last, err)
		}
	}
	first := clients[c.all[0]]
	for _, n := range c.all[1:] {
		if err := first.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.port, n.busPort).Err(); err != nil {
			return fmt.Errorf("CLUSTER MEET %s: %w", n.Addr(), err)
		}
	}
	if len(c.all) > len(c.shards) {
		// A replica can only follow a master it knows.
		if err := c.waitKnown(ctx, clients); err != nil {
			return err
		}
		for _, sh := range c.shards {
			id, err := clients[sh.nodes[0]].Do(ctx, "CLUSTER", "MYID").Text()
			if err != nil {
				return fmt.Errorf("node %s: CLUSTER MYID: %w", sh.nodes[0].Addr(), err)
			}
			for _, r := range sh.nodes[1:] {
				if err := clients[r].Do(ctx, "CLUSTER", "REPLICATE", id).Err(); err != nil {
					return fmt.Errorf("node %s: CLUSTER REPLICATE %s: %w", r.Addr(), id, err)
				}
			}
		}
	}
	return c.waitAgreed(ctx)
}

// waitKnown waits until every node knows every other node.
func (c *Cluster) waitKnown(ctx context.Context, clients map[*Server]*redis.Client) error {
	want := strconv.Itoa(len(c.all))
	for {
		last := ""
		for _, n := range c.all {
			info, err := clients[n].ClusterInfo(ctx).Result()
			if err != nil {
				last = fmt.Sprintf("node %s: CLUSTER INFO: %v", n.Addr(), err)
				break
			}
			if got := infoFields(info)["cluster_known_nodes"]; got != want {
				last = fmt.Sprintf("node %s: cluster_known_nodes:%s, want %s", n.Addr(), got, want)
				break
			}
		}
		if last == "" {
			return nil
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return fmt.Errorf("nodes did not meet: %s: %w", last, err)
		}
	}
}

// waitAgreed polls every running node until each reports
// cluster_state:ok, knows all nodes, and maps the slots to the masters the
// harness expects with all running replicas listed, and every running
// replica is in sync with its master.
func (c *Cluster) waitAgreed(ctx context.Context) error {
	clients := map[*Server]*redis.Client{}
	for _, n := range c.all {
		clients[n] = redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		defer clients[n].Close()
	}
	for {
		want, replicas, masters := c.expectation()
		last := ""
		for _, n := range c.all {
			if !n.Running() {
				continue
			}
			if problem := c.nodeProblem(ctx, clients[n], want); problem != "" {
				last = fmt.Sprintf("node %s: %s", n.Addr(), problem)
				break
			}
		}
		for i, r := range replicas {
			if last != "" {
				break
			}
			if p := replicaProblem(ctx, clients[r], masters[i]); p != "" {
				last = fmt.Sprintf("replica %s: %s", r.Addr(), p)
			}
		}
		if last == "" {
			return nil
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return fmt.Errorf("cluster not ready: %s: %w", last, err)
		}
	}
}

// expectation returns the expected slot map (see slotMap) and the running
// replicas with their masters' addresses.
func (c *Cluster) expectation() (slots string, replicas []*Server, masters []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, sh := range c.shards {
		running := 0
		for _, r := range sh.nodes[1:] {
			if r.Running() {
				running++
				replicas = append(replicas, r)
				masters = append(masters, sh.nodes[0].Addr())
			}
		}
		parts = append(parts, fmt.Sprintf("%d-%d@%s+%d", sh.first, sh.last, sh.nodes[0].Addr(), running))
	}
	return strings.Join(parts, ","), replicas, masters
}

// nodeProblem returns why one node is not ready yet, or "".
func (c *Cluster) nodeProblem(ctx context.Context, rdb *redis.Client, want string) string {
	info, err := rdb.ClusterInfo(ctx).Result()
	if err != nil {
		return "CLUSTER INFO: " + err.Error()
	}
	fields := infoFields(info)
	if fields["cluster_state"] != "ok" {
		return "cluster_state:" + fields["cluster_state"]
	}
	if fields["cluster_known_nodes"] != strconv.Itoa(len(c.all)) {
		return "cluster_known_nodes:" + fields["cluster_known_nodes"]
	}
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return "CLUSTER SLOTS: " + err.Error()
	}
	if got := slotMap(slots); got != want {
		return fmt.Sprintf("CLUSTER SLOTS = %s, want %s", got, want)
	}
	return ""
}

// replicaProblem returns why a replica is not in sync with master, or "".
func replicaProblem(ctx context.Context, rdb *redis.Client, master string) string {
	info, err := rdb.Info(ctx, "replication").Result()
	if err != nil {
		return "INFO replication: " + err.Error()
	}
	f := infoFields(info)
	if got := net.JoinHostPort(f["master_host"], f["master_port"]); f["role"] != "slave" || got != master {
		return fmt.Sprintf("role %s of %s, want slave of %s", f["role"], got, master)
	}
	if f["master_link_status"] != "up" {
		return "master_link_status:" + f["master_link_status"]
	}
	return ""
}

// slotMap renders CLUSTER SLOTS as "start-end@master+replicas,..." in slot
// order.
func slotMap(slots []redis.ClusterSlot) string {
	slots = slices.Clone(slots)
	slices.SortFunc(slots, func(a, b redis.ClusterSlot) int { return a.Start - b.Start })
	var parts []string
	for _, s := range slots {
		master := "?"
		if len(s.Nodes) > 0 {
			master = s.Nodes[0].Addr
		}
		parts = append(parts, fmt.Sprintf("%d-%d@%s+%d", s.Start, s.End, master, max(len(s.Nodes)-1, 0)))
	}
	return strings.Join(parts, ",")
}

// infoFields parses "key:value" lines of an INFO-style reply.
func infoFields(info string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// logs returns the log tails of all nodes, for failure messages.
func (c *Cluster) logs() string {
	var b strings.Builder
	for _, n := range c.all {
		b.WriteString(tail(15, n.stderrPath, n.logPath))
	}
	return b.String()
}

// Nodes returns the masters, in slot order: Nodes()[0] serves the lowest
// slots. After [Cluster.Failover] or [Cluster.KillMaster] it returns the
// promoted replicas in place of the old masters.
func (c *Cluster) Nodes() []*Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var masters []*Server
	for _, sh := range c.shards {
		masters = append(masters, sh.nodes[0])
	}
	return masters
}

// Replicas returns every replica (none unless started with [Replicas]).
func (c *Cluster) Replicas() []*Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var replicas []*Server
	for _, sh := range c.shards {
		replicas = append(replicas, sh.nodes[1:]...)
	}
	return replicas
}

// Addrs returns the "127.0.0.1:port" addresses of all nodes, masters (in
// slot order) first, as started.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.all))
	for i, n := range c.all {
		addrs[i] = n.Addr()
	}
	return addrs
}

// URL returns "redis-cluster://127.0.0.1:p1,127.0.0.1:p2,...", the form
// internal/redisaddr accepts.
func (c *Cluster) URL() string {
	return "redis-cluster://" + strings.Join(c.Addrs(), ",")
}

// Client returns a *redis.ClusterClient seeded with every node, closed in
// t.Cleanup.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// NodeFor returns the master serving the hash slot of key (or channel, for
// sharded pub/sub), honouring {hash tags}, so a test can stop the node a
// subscription lives on.
func (c *Cluster) NodeFor(key string) *Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shardFor(key).nodes[0]
}

// shardFor returns the shard serving key. Callers hold c.mu or only read
// the immutable slot bounds.
func (c *Cluster) shardFor(key string) *shard {
	slot := Slot(key)
	i, _ := slices.BinarySearchFunc(c.shards, slot, func(sh *shard, slot int) int {
		switch {
		case sh.last < slot:
			return -1
		case sh.first > slot:
			return 1
		default:
			return 0
		}
	})
	return c.shards[i]
}

// WaitReady polls until every running node reports cluster_state:ok, knows
// every node, agrees on which master serves which slots, and every running
// replica is in sync, or ctx ends. Use it after restarting a node
// ([Server.Restart] keeps the node's nodes.conf, so it rejoins with its old
// ID; a restarted former master comes back as a replica).
func (c *Cluster) WaitReady(ctx context.Context) error {
	if err := c.waitAgreed(ctx); err != nil {
		return fmt.Errorf("redistest: %w", err)
	}
	return nil
}

// Failover promotes a replica of the master serving key with CLUSTER
// FAILOVER (a coordinated, lossless switch; the old master becomes its
// replica) and waits until every node agrees. It returns the new master.
// The cluster must have been started with [Replicas].
func (c *Cluster) Failover(ctx context.Context, key string) (*Server, error) {
	c.mu.Lock()
	sh := c.shardFor(key)
	if len(sh.nodes) < 2 {
		c.mu.Unlock()
		return nil, fmt.Errorf("redistest: cluster failover: slot %d has no replica (start the cluster with Replicas)", Slot(key))
	}
	replica := sh.nodes[1]
	c.mu.Unlock()

	rdb := redis.NewClient(&redis.Options{Addr: replica.Addr(), MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
		return nil, fmt.Errorf("redistest: CLUSTER FAILOVER on %s: %w", replica.Addr(), err)
	}
	if err := waitRole(ctx, replica.Addr(), "master"); err != nil {
		return nil, fmt.Errorf("redistest: cluster failover: %w%s", err, c.logs())
	}
	c.promote(sh, replica)
	if err := c.waitAgreed(ctx); err != nil {
		return nil, fmt.Errorf("redistest: cluster failover: %w%s", err, c.logs())
	}
	return replica, nil
}

// KillMaster stops the master serving key with SIGKILL, as an outage
// would, and waits until the cluster promotes one of its replicas (after
// cluster-node-timeout, 2 s, plus the replica election, about 1 s) and every
// running node agrees. It returns the new master. The cluster needs
// [Replicas] and at least three masters, so that a majority of masters is
// left to authorise the failover. [Server.Restart] brings the old master
// back as a replica; then call [Cluster.WaitReady].
func (c *Cluster) KillMaster(ctx context.Context, key string) (*Server, error) {
	c.mu.Lock()
	sh := c.shardFor(key)
	if len(sh.nodes) < 2 {
		c.mu.Unlock()
		return nil, fmt.Errorf("redistest: cluster kill master: slot %d has no replica (start the cluster with Replicas)", Slot(key))
	}
	old := sh.nodes[0]
	replicas := slices.Clone(sh.nodes[1:])
	c.mu.Unlock()

	old.Stop()
	for {
		for _, r := range replicas {
			if role, err := roleOf(ctx, r.Addr()); err == nil && role == "master" {
				c.promote(sh, r)
				if err := c.waitAgreed(ctx); err != nil {
					return nil, fmt.Errorf("redistest: cluster kill master: %w%s", err, c.logs())
				}
				return r, nil
			}
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return nil, fmt.Errorf("redistest: cluster kill master: no replica of %s was promoted: %w%s", old.Addr(), err, c.logs())
		}
	}
}

// promote records newMaster as the master of sh and the other nodes as
// its replicas.
func (c *Cluster) promote(sh *shard, newMaster *Server) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nodes := []*Server{newMaster}
	for _, n := range sh.nodes {
		if n != newMaster {
			nodes = append(nodes, n)
		}
	}
	sh.nodes = nodes
}

// waitRole waits until ROLE on addr reports want.
func waitRole(ctx context.Context, addr, want string) error {
	for {
		role, err := roleOf(ctx, addr)
		if err == nil && role == want {
			return nil
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return fmt.Errorf("%s has role %q (%v), want %s: %w", addr, role, err, want, ctx.Err())
		}
	}
}

// Slot returns the Redis Cluster hash slot of key: CRC16 (XMODEM) of the
// key, or of the first non-empty {hash tag} in it, modulo 16384.
func Slot(key string) int {
	if start := strings.IndexByte(key, '{'); start >= 0 {
		if end := strings.IndexByte(key[start+1:], '}'); end > 0 {
			key = key[start+1 : start+1+end]
		}
	}
	return int(crc16(key)) % clusterSlots
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), as used by
// Redis Cluster key hashing.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
