package redisaddr_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/redisaddr"
	"github.com/siorelay/siorelay/internal/redistest"
)

// newClient is NewClient that fails the test on error and closes the
// client at cleanup.
func newClient(t *testing.T, u string) redis.UniversalClient {
	t.Helper()
	c, err := redisaddr.NewClient(u)
	if err != nil {
		t.Fatalf("NewClient(%q): %v", u, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestStandaloneAgainstRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Config("user alice on >p@ss/w ~* &* +@all"))
	ctx := context.Background()

	// db and client_name reach the server.
	c := newClient(t, srv.URL()+"/5?client_name=siorelay-test&dial_timeout=2s")
	if _, ok := c.(*redis.Client); !ok {
		t.Fatalf("client is %T, want *redis.Client", c)
	}
	info, err := c.Do(ctx, "CLIENT", "INFO").Text()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" db=5 ", " name=siorelay-test "} {
		if !strings.Contains(info, want) {
			t.Errorf("CLIENT INFO = %q, want it to contain %q", info, want)
		}
	}

	// An ACL user with a percent-encoded password authenticates.
	u := "redis://alice:" + url.QueryEscape("p@ss/w") + "@" + srv.Addr()
	alice := newClient(t, u)
	who, err := alice.Do(ctx, "ACL", "WHOAMI").Text()
	if err != nil || who != "alice" {
		t.Fatalf("ACL WHOAMI = %q, %v; want alice", who, err)
	}
	bad := newClient(t, "redis://alice:wrong@"+srv.Addr())
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("PING with a wrong password: %v, want WRONGPASS", err)
	}
}

func TestClusterAgainstRedis(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	ctx := context.Background()
	// Seeding from one node is enough; the client discovers the rest.
	for _, u := range []string{cl.URL(), "redis-cluster://" + cl.Addrs()[1]} {
		c := newClient(t, u)
		cc, ok := c.(*redis.ClusterClient)
		if !ok {
			t.Fatalf("client for %q is %T, want *redis.ClusterClient", u, c)
		}
		prefix := redistest.UniquePrefix(t)
		for i := range 30 {
			if err := cc.Set(ctx, fmt.Sprintf("%s:%d", prefix, i), i, 0).Err(); err != nil {
				t.Fatalf("SET through %q: %v", u, err)
			}
		}
		var masters atomic.Int32 // ForEachMaster calls fn concurrently
		if err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			masters.Add(1)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if masters := masters.Load(); masters != 3 {
			t.Errorf("client for %q sees %d masters, want 3", u, masters)
		}
	}
}

func TestSentinelAgainstRedis(t *testing.T) {
	t.Parallel()
	sn := redistest.StartSentinel(t)
	ctx := context.Background()
	c := newClient(t, sn.URL()+"/3")
	if _, ok := c.(*redis.Client); !ok {
		t.Fatalf("client is %T, want *redis.Client", c)
	}
	key := redistest.UniquePrefix(t)
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	// The write went to the master, in db 3.
	m := redis.NewClient(&redis.Options{Addr: sn.Master().Addr(), DB: 3})
	defer m.Close()
	if v, err := m.Get(ctx, key).Result(); err != nil || v != "v" {
		t.Fatalf("GET on the master, db 3 = %q, %v; want \"v\"", v, err)
	}

	// After a failover the same client writes to the new master.
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	newMaster, err := sn.Failover(fctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Set(ctx, key, "after", 0).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("SET kept failing after failover")
		}
		time.Sleep(20 * time.Millisecond)
	}
	nm := redis.NewClient(&redis.Options{Addr: newMaster.Addr(), DB: 3})
	defer nm.Close()
	if v, err := nm.Get(ctx, key).Result(); err != nil || v != "after" {
		t.Fatalf("GET on the new master = %q, %v; want \"after\"", v, err)
	}
}
