package redistest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots in a Redis Cluster.
const clusterSlots = 16384

// clusterTimeout bounds how long the nodes may take to agree on the slots.
const clusterTimeout = 30 * time.Second

// Cluster is a Redis Cluster of master nodes started by [StartCluster].
// Its methods are safe for concurrent use; see [Server] for the methods of
// its nodes.
type Cluster struct {
	nodes []*Server
	// slots[i] is the first slot of nodes[i]; nodes[i] owns slots up to
	// slots[i+1]-1 (the last node up to 16383).
	slots []int
}

// StartCluster runs masters redis-server nodes with cluster-enabled yes on
// free loopback ports, assigns the 16384 hash slots to them in equal
// contiguous ranges (node 0 gets the lowest), joins them with CLUSTER MEET
// and waits until every node reports cluster_state:ok and all nodes agree
// on who owns which slots. The nodes have no replicas. Options apply to
// every node. All processes are killed in t.Cleanup.
//
// The cluster is formed with plain commands (CLUSTER SET-CONFIG-EPOCH,
// ADDSLOTSRANGE, MEET), not with redis-cli --cluster.
func StartCluster(t testing.TB, masters int, opts ...Option) *Cluster {
	t.Helper()
	if masters < 1 || masters > 100 {
		t.Fatalf("redistest: StartCluster: masters = %d, want 1 to 100", masters)
	}
	o := buildOptions(opts)
	c := &Cluster{}
	for i := range masters {
		s := startServer(t, fmt.Sprintf("cluster node %d", i), false, true, o.cpus, func(s *Server) string {
			return dataConf(s, o.conf)
		})
		c.nodes = append(c.nodes, s)
		c.slots = append(c.slots, i*clusterSlots/masters)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := c.form(ctx); err != nil {
		t.Fatalf("redistest: StartCluster: %v%s", err, c.logs())
	}
	return c
}

// form assigns slots, joins the nodes and waits for agreement.
func (c *Cluster) form(ctx context.Context) error {
	clients := make([]*redis.Client, len(c.nodes))
	for i, n := range c.nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		defer clients[i].Close()
	}
	for i, rdb := range clients {
		last := clusterSlots - 1
		if i+1 < len(c.slots) {
			last = c.slots[i+1] - 1
		}
		// Distinct epochs avoid the collision-resolution round on start.
		if err := rdb.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return fmt.Errorf("node %s: CLUSTER SET-CONFIG-EPOCH: %w", c.nodes[i].Addr(), err)
		}
		if err := rdb.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", c.slots[i], last).Err(); err != nil {
			return fmt.Errorf("node %s: CLUSTER ADDSLOTSRANGE %d %d: %w", c.nodes[i].Addr(), c.slots[i], last, err)
		}
	}
	for _, n := range c.nodes[1:] {
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.port, n.busPort).Err(); err != nil {
			return fmt.Errorf("CLUSTER MEET %s: %w", n.Addr(), err)
		}
	}
	return c.waitAgreed(ctx, clients)
}

// waitAgreed polls every node until each reports cluster_state:ok, knows
// all nodes, and maps the slots exactly as assigned.
func (c *Cluster) waitAgreed(ctx context.Context, clients []*redis.Client) error {
	want := c.wantSlotMap()
	var last string
	for {
		last = ""
		for i, rdb := range clients {
			if problem := c.nodeProblem(ctx, rdb, want); problem != "" {
				last = fmt.Sprintf("node %s: %s", c.nodes[i].Addr(), problem)
				break
			}
		}
		if last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready: %s", last)
		case <-time.After(10 * time.Millisecond):
		}
	}
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
	if fields["cluster_known_nodes"] != strconv.Itoa(len(c.nodes)) {
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

// wantSlotMap renders the intended slot assignment like slotMap does.
func (c *Cluster) wantSlotMap() string {
	var parts []string
	for i, n := range c.nodes {
		last := clusterSlots - 1
		if i+1 < len(c.slots) {
			last = c.slots[i+1] - 1
		}
		parts = append(parts, fmt.Sprintf("%d-%d@%s", c.slots[i], last, n.Addr()))
	}
	return strings.Join(parts, ",")
}

// slotMap renders CLUSTER SLOTS as "start-end@master,..." in slot order.
func slotMap(slots []redis.ClusterSlot) string {
	slots = slices.Clone(slots)
	slices.SortFunc(slots, func(a, b redis.ClusterSlot) int { return a.Start - b.Start })
	var parts []string
	for _, s := range slots {
		master := "?"
		if len(s.Nodes) > 0 {
			master = s.Nodes[0].Addr
		}
		parts = append(parts, fmt.Sprintf("%d-%d@%s", s.Start, s.End, master))
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
	for _, n := range c.nodes {
		b.WriteString(tail(15, n.stderrPath, n.logPath))
	}
	return b.String()
}

// Nodes returns the cluster's nodes, in slot order: Nodes()[0] owns the
// lowest slots.
func (c *Cluster) Nodes() []*Server { return slices.Clone(c.nodes) }

// Addrs returns the nodes' "127.0.0.1:port" addresses, in slot order.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
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

// NodeFor returns the node that owns the hash slot of key (or channel, for
// sharded pub/sub), honouring {hash tags}, so a test can stop the node a
// subscription lives on.
func (c *Cluster) NodeFor(key string) *Server {
	slot := Slot(key)
	i, found := slices.BinarySearch(c.slots, slot)
	if !found {
		i--
	}
	return c.nodes[i]
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

// WaitReady polls until every node reports cluster_state:ok, knows every
// other node and agrees on the original slot assignment, or ctx ends. Use it
// after restarting a node ([Server.Restart] keeps the node's nodes.conf, so
// it rejoins with its old ID and slots).
func (c *Cluster) WaitReady(ctx context.Context) error {
	clients := make([]*redis.Client, len(c.nodes))
	for i, n := range c.nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		defer clients[i].Close()
	}
	if err := c.waitAgreed(ctx, clients); err != nil {
		return fmt.Errorf("redistest: %w", err)
	}
	return nil
}
