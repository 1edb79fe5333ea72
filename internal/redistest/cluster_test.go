package redistest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartCluster(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	c := StartCluster(t, 3)
	t.Logf("3-master cluster start took %v", time.Since(begin))

	if got := len(c.Addrs()); got != 3 {
		t.Fatalf("len(Addrs()) = %d, want 3", got)
	}
	if want := "redis-cluster://" + c.Addrs()[0] + "," + c.Addrs()[1] + "," + c.Addrs()[2]; c.URL() != want {
		t.Errorf("URL() = %q, want %q", c.URL(), want)
	}
	ctx := context.Background()
	rdb := c.Client(t)
	prefix := UniquePrefix(t)
	// Keys spread over all three nodes; the cluster client follows the slots.
	perNode := map[string]int{}
	for i := range 60 {
		key := fmt.Sprintf("%s:%d", prefix, i)
		if err := rdb.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		perNode[c.NodeFor(key).Addr()]++
	}
	if len(perNode) != 3 {
		t.Errorf("60 keys landed on %d nodes, want 3: %v", len(perNode), perNode)
	}

	// Slot and NodeFor agree with the servers themselves: each key can be
	// read from the node NodeFor names without a MOVED redirection.
	node := c.Nodes()[0].Client(t)
	for i, key := range []string{"a", "foo", "{user1000}.following", "{}x", "x{}y{z}", prefix + ":7", "socket.io#/#room1#"} {
		want, err := node.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := Slot(key); int64(got) != want {
			t.Errorf("Slot(%q) = %d, CLUSTER KEYSLOT = %d", key, got, want)
		}
		if err := rdb.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		owner := c.NodeFor(key).Client(t)
		if got, err := owner.Get(ctx, key).Int(); err != nil || got != i {
			t.Errorf("GET %q on NodeFor node %s = %d, %v; want %d, nil", key, c.NodeFor(key).Addr(), got, err, i)
		}
	}
}

// TestClusterShardedPubSub subscribes with SSUBSCRIBE through a
// ClusterClient to channels that live on different nodes and receives
// SPUBLISHes on each.
func TestClusterShardedPubSub(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	ctx := context.Background()
	rdb := c.Client(t)
	prefix := UniquePrefix(t)

	// One channel per node.
	byNode := map[*Server]string{}
	for i := 0; len(byNode) < 3 && i < 1000; i++ {
		ch := fmt.Sprintf("%s#/#room%d#", prefix, i)
		if _, ok := byNode[c.NodeFor(ch)]; !ok {
			byNode[c.NodeFor(ch)] = ch
		}
	}
	if len(byNode) != 3 {
		t.Fatalf("found channels on %d nodes, want 3", len(byNode))
	}

	// go-redis sends all channels of one SSubscribe to the node of the
	// first channel, so each slot gets its own PubSub.
	subs := map[string]*redis.PubSub{}
	for _, ch := range byNode {
		sub := rdb.SSubscribe(ctx, ch)
		defer sub.Close()
		msg, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("SSUBSCRIBE %s: %v", ch, err)
		}
		if s, ok := msg.(*redis.Subscription); !ok || s.Kind != "ssubscribe" || s.Channel != ch {
			t.Fatalf("SSUBSCRIBE %s: first reply %#v, want an ssubscribe confirmation", ch, msg)
		}
		subs[ch] = sub
	}
	for node, ch := range byNode {
		n, err := rdb.SPublish(ctx, ch, "hello "+ch).Result()
		if err != nil {
			t.Fatalf("SPUBLISH %s: %v", ch, err)
		}
		if n != 1 {
			t.Errorf("SPUBLISH %s (node %s) reached %d subscribers, want 1", ch, node.Addr(), n)
		}
	}
	for ch, sub := range subs {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		msg, err := sub.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			t.Fatalf("receive on %s: %v", ch, err)
		}
		if msg.Channel != ch || msg.Payload != "hello "+ch {
			t.Errorf("got message %q on %q, want %q on %q", msg.Payload, msg.Channel, "hello "+ch, ch)
		}
	}
}

func TestClusterNodeRestart(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := c.Client(t)
	key := UniquePrefix(t)
	node := c.NodeFor(key)

	node.Stop()
	if err := rdb.Set(ctx, key, "v", 0).Err(); err == nil {
		t.Fatal("SET succeeded while the key's node was down")
	}
	node.Restart()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatalf("SET after the node came back: %v", err)
	}
}

func TestStartClusterOneNode(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 1)
	if err := c.Client(t).Set(context.Background(), UniquePrefix(t), 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestClusterReplicasFailover(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	c := StartCluster(t, 3, Replicas(1))
	t.Logf("3 masters + 3 replicas cluster start took %v", time.Since(begin))
	if got := len(c.Nodes()); got != 3 {
		t.Fatalf("len(Nodes()) = %d, want 3", got)
	}
	if got := len(c.Replicas()); got != 3 {
		t.Fatalf("len(Replicas()) = %d, want 3", got)
	}
	if got := len(c.Addrs()); got != 6 {
		t.Fatalf("len(Addrs()) = %d, want 6", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := c.Client(t)
	key := UniquePrefix(t)
	if err := rdb.Set(ctx, key, "before", 0).Err(); err != nil {
		t.Fatal(err)
	}

	old := c.NodeFor(key)
	begin = time.Now()
	promoted, err := c.Failover(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster Failover took %v", time.Since(begin))
	if promoted == old {
		t.Fatal("Failover returned the old master")
	}
	if c.NodeFor(key) != promoted {
		t.Fatalf("NodeFor = %s after Failover, want %s", c.NodeFor(key).Addr(), promoted.Addr())
	}
	if role, err := roleOf(ctx, old.Addr()); err != nil || role != "slave" {
		t.Fatalf("old master role = %q, %v; want slave", role, err)
	}
	// Replication carried the key over, and the cluster client follows
	// the MOVED redirection to the new master.
	if v, err := promoted.Client(t).Get(ctx, key).Result(); err != nil || v != "before" {
		t.Fatalf("GET on the promoted node = %q, %v; want \"before\"", v, err)
	}
	if err := rdb.Set(ctx, key, "after", 0).Err(); err != nil {
		t.Fatalf("SET after Failover: %v", err)
	}
	if v, err := promoted.Client(t).Get(ctx, key).Result(); err != nil || v != "after" {
		t.Fatalf("GET on the promoted node = %q, %v; want \"after\"", v, err)
	}

	// Sharded pub/sub works against the new master. A fresh client: rdb
	// may still map the slot to the old master (go-redis reloads its slot
	// map lazily), and an SSUBSCRIBE there lands on what is now a replica.
	fresh := c.Client(t)
	sub := fresh.SSubscribe(ctx, key)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := fresh.SPublish(ctx, key, "hi").Result(); err != nil || n != 1 {
		t.Fatalf("SPUBLISH = %d, %v; want 1 subscriber", n, err)
	}
	if m, err := sub.ReceiveMessage(ctx); err != nil || m.Payload != "hi" {
		t.Fatalf("message = %v, %v; want \"hi\"", m, err)
	}
}

func TestClusterKillMaster(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3, Replicas(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rdb := c.Client(t)
	key := UniquePrefix(t)
	old := c.NodeFor(key)

	begin := time.Now()
	promoted, err := c.KillMaster(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster KillMaster took %v", time.Since(begin))
	if promoted == old || old.Running() {
		t.Fatalf("KillMaster: promoted %s, old %s running=%v", promoted.Addr(), old.Addr(), old.Running())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := rdb.Set(ctx, key, "v", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SET after KillMaster: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The old master comes back as a replica of the promoted node.
	old.Restart()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if role, err := roleOf(ctx, old.Addr()); err != nil || role != "slave" {
		t.Fatalf("restarted old master role = %q, %v; want slave", role, err)
	}
	if !slices.Contains(c.Replicas(), old) {
		t.Fatal("Replicas() does not list the restarted old master")
	}
}
