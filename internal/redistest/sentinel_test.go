package redistest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartSentinel(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	s := StartSentinel(t)
	t.Logf("sentinel set-up (1 sentinel) start took %v", time.Since(begin))

	if s.MasterName() != "mymaster" {
		t.Errorf("MasterName() = %q, want mymaster", s.MasterName())
	}
	if got := len(s.SentinelAddrs()); got != 1 {
		t.Fatalf("len(SentinelAddrs()) = %d, want 1", got)
	}
	if want := "redis-sentinel://" + s.SentinelAddrs()[0] + "/mymaster"; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	if m := s.Master(); m != s.Servers()[0] {
		t.Errorf("Master() = %s, want the first data server %s", m.Addr(), s.Servers()[0].Addr())
	}

	ctx := context.Background()
	key := UniquePrefix(t)
	if err := s.Client(t).Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatalf("SET through the failover client: %v", err)
	}
	// The write went to the master and replicates to the replica.
	replica := s.Servers()[1].Client(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := replica.Get(ctx, key).Result()
		if err == nil && v == "v" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica GET = %q, %v; want \"v\"", v, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// receiveOne publishes through pub every 20 ms until sub gets the message
// or the deadline passes; it returns how long that took.
func publishUntilReceived(t *testing.T, pub *redis.Client, sub *redis.PubSub, ch, payload string) time.Duration {
	t.Helper()
	ctx := context.Background()
	begin := time.Now()
	msgs := sub.Channel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	_ = pub.Publish(ctx, ch, payload).Err()
	for {
		select {
		case m := <-msgs:
			if m.Payload != payload {
				t.Fatalf("payload %q, want %q", m.Payload, payload)
			}
			return time.Since(begin)
		case <-tick.C:
			// Errors are expected while the client finds the new master.
			_ = pub.Publish(ctx, ch, payload).Err()
		case <-deadline:
			t.Fatalf("%q not received on %s within 15s", payload, ch)
		}
	}
}

// subscribeOn subscribes to ch directly on srv and waits for the
// confirmation.
func subscribeOn(t *testing.T, srv *Server, ch string) *redis.PubSub {
	t.Helper()
	sub := srv.Client(t).Subscribe(context.Background(), ch)
	t.Cleanup(func() { _ = sub.Close() })
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatalf("subscribe on %s: %v", srv.Addr(), err)
	}
	return sub
}

func TestSentinelFailoverKeepsPublishing(t *testing.T) {
	t.Parallel()
	s := StartSentinel(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub := s.Client(t)
	ch := UniquePrefix(t)

	oldMaster := s.Master()
	publishUntilReceived(t, pub, subscribeOn(t, oldMaster, ch), ch, "before")

	begin := time.Now()
	newMaster, err := s.Failover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Failover took %v", time.Since(begin))
	if newMaster == oldMaster {
		t.Fatalf("Failover returned the old master %s", oldMaster.Addr())
	}
	if m := s.Master(); m != newMaster {
		t.Fatalf("Master() = %s after Failover, want %s", m.Addr(), newMaster.Addr())
	}
	if role, err := roleOf(ctx, oldMaster.Addr()); err != nil || role != "slave" {
		t.Fatalf("old master role = %q, %v; want slave", role, err)
	}

	// The same failover client now publishes to the new master.
	took := publishUntilReceived(t, pub, subscribeOn(t, newMaster, ch), ch, "after")
	t.Logf("failover client reached the new master %v after Failover returned", took)

	// Writes work too, and land on the new master.
	key := UniquePrefix(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := pub.Set(ctx, key, "v", 0).Err()
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "READONLY") || time.Now().After(deadline) {
			t.Fatalf("SET after failover: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v, err := newMaster.Client(t).Get(ctx, key).Result(); err != nil || v != "v" {
		t.Fatalf("GET on new master = %q, %v; want \"v\"", v, err)
	}

	// The set-up is whole again, so a second failover goes back.
	again, err := s.Failover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again != oldMaster {
		t.Fatalf("second Failover promoted %s, want %s", again.Addr(), oldMaster.Addr())
	}
	publishUntilReceived(t, pub, subscribeOn(t, oldMaster, ch), ch, "after second failover")
}

func TestSentinelKillMaster(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	s := StartSentinel(t, Sentinels(3))
	t.Logf("sentinel set-up (3 sentinels) start took %v", time.Since(begin))
	if got := len(s.SentinelAddrs()); got != 3 {
		t.Fatalf("len(SentinelAddrs()) = %d, want 3", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rdb := s.Client(t)
	old := s.Master()

	begin = time.Now()
	newMaster, err := s.KillMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("KillMaster (3 sentinels, quorum 2) took %v", time.Since(begin))
	if newMaster == old {
		t.Fatal("KillMaster returned the killed master")
	}
	if old.Running() {
		t.Fatal("old master still running")
	}
	key := UniquePrefix(t)
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
}
